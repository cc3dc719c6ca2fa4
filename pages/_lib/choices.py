"""The sidebar's choices as pages read them: seed, presentation mode, corpus source, encoder, server paths.

The sidebar itself is drawn by ``app.py`` (:mod:`pages.sidebar`); these accessors fall back to
defaults, so a page also runs alone (``AppTest.from_file("pages/...")``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import access, settings, ui_state
from core.corpus.encoders import DEFAULT_MODEL, STATIC_MODEL, env_encoder, gate_encoder
from core.corpus.views import upload_types

ENCODER_CHOICES = {
    "MiniLM (best; fast map first)": DEFAULT_MODEL,  # short labels: the sidebar cuts long ones
    "Static (fast, from MiniLM)": STATIC_MODEL,
    "Hashing (instant, no model)": "hashing",
}
#: the sidebar's encoder choice that names a model folder or cached model (browsers that may name server paths)
LOCAL_MODEL = "Local model path"
SOURCES = ("Built-in: Python documentation", "Upload a file", "Local file or folder")
UPLOAD_TYPES = upload_types()

SIDEBAR_KEYS = ("sb_seed", "sb_source", "sb_builtin_limit", "sb_path", "sb_text_field", "sb_encoder",
                "sb_encoder_path")
#: the uploaded corpus as ``(file name, bytes)``, in a key no widget owns: Streamlit forgets a file uploader's file
#: while the uploader is not drawn (presentation mode), and a file cannot be put back into an uploader
UPLOAD_KEPT = "_sb_upload_kept"
#: presentation mode's saved view: ``{"page": url path, "values": {sidebar key: value}}`` while presenting
SAVED_VIEW = "_presentation_saved"
#: presentation mode itself, in a key no widget owns: a page switch (to the Tour and back) resets the toggle's
#: own widget state in Streamlit 1.67, so the toggle is drawn from this key on every run (pages/sidebar.py)
PRESENTING = "_presenting"
#: the toggle shown in presentation mode, which only leaves it (``sb_demo``, shown otherwise, only enters it: see
#: pages/sidebar.py); its value is always on when it is drawn
DEMO_ON = "sb_demo_on"
#: The path boxes of the app, by session key (tests/faults/test_path_gate.py runs the path faults on each).
PATH_KEYS = {"sb_path": "Local file or folder", "sb_encoder_path": "Local model path", "lm_path": "Large corpus",
             "ctar_folder": "CTAR folder"}


def sidebar_value(key: str, default):
    """A session value; while presenting, a sidebar value not drawn comes from the saved view."""
    saved = st.session_state.get(SAVED_VIEW, {}).get("values", {})
    return st.session_state.get(key, saved.get(key, default))


def uploaded_file() -> tuple[str, bytes] | None:
    """The corpus file the sidebar's uploader holds, else the one it held before it was last hidden (presentation
    mode), as ``(file name, bytes)``; ``None`` when none was uploaded."""
    up = st.session_state.get("sb_upload")
    if up is not None:
        return up.name, up.getvalue()
    return st.session_state.get(UPLOAD_KEPT)


def seed() -> int:
    return int(sidebar_value("sb_seed", 0))


def demo_mode() -> bool:
    """Presentation preset: settings start folded away and each page opens with a plain-language note."""
    return bool(st.session_state.get(PRESENTING, sidebar_value("sb_demo", False)))


def presenting() -> bool:
    """Presentation mode (the sidebar's toggle): the tour leads, the corpus/encoder sidebar and notation are hidden."""
    return demo_mode()


def server_paths_allowed() -> bool:
    """Whether this browser may type server-side paths (:mod:`core.access`)."""
    return access.server_paths_allowed(access.peer_address(st.context))


def path_input(label: str, key: str, **kwargs) -> str:
    """A text box that names a file or folder on the server (one of :data:`PATH_KEYS`). Its value is
    read only through :func:`server_path`, which passes it through :func:`core.access.gate`."""
    return st.text_input(label, key=key, **kwargs)


def server_path(key: str) -> Path | None:
    """The path typed in the box ``key``, through :func:`core.access.gate` (the browser may name paths; under
    the roots, links followed); ``None`` when blank. Raises :class:`core.access.PathNotAllowedError`."""
    text = str(sidebar_value(key, "")).strip()
    return access.gate(text, access.peer_address(st.context)) if text else None


def encoder_name() -> str:
    """The sidebar's encoder; a local model path passes :func:`core.corpus.encoders.gate_encoder` (raises when
    refused). With no sidebar choice, ``EQUALCTAR_ENCODER`` (:func:`core.corpus.encoders.env_encoder`: an unknown
    name is not used; the sidebar says so)."""
    custom = sidebar_value("sb_encoder_path", "").strip()
    choice = ui_state.kept(st.session_state, "sb_encoder")
    if choice == LOCAL_MODEL and custom:
        return gate_encoder(custom, access.peer_address(st.context))
    if choice in ENCODER_CHOICES:
        return ENCODER_CHOICES[choice]
    env = env_encoder(tuple(ENCODER_CHOICES.values()))  # no sidebar drawn (a page run alone): the environment's
    return gate_encoder(env.name, access.peer_address(st.context)) if env.local else env.name


def builtin_limit() -> int | None:
    """How many built-in documents the sidebar asks for; ``None``: all of them (the default; the static tier maps
    the whole corpus in seconds, and ``make setup`` builds that first map once). ``EQUALCTAR_BUILTIN_LIMIT`` sets
    the default, clamped into the box's range (the sidebar says when it was clamped or not a number)."""
    value = sidebar_value("sb_builtin_limit", settings.builtin_limit_setting().value)
    return int(value) if value else None


def encoder_choice(name: str) -> str:
    """The sidebar's Encoder choice that draws the map of encoder ``name`` (``"hashing-128"``: the hashing one), or
    the local model box naming it."""
    for label, model in ENCODER_CHOICES.items():
        if name == model or name.startswith(f"{model}-"):
            return label
    return f"{LOCAL_MODEL}: {name}"


def use_encoder(path: str) -> None:
    """Switch the sidebar encoder to a local model folder. An ``on_click`` callback: it runs
    before the next script run draws the sidebar widgets, so their keys may be set here; a
    map-settings override of the encoder is dropped so the choice takes effect."""
    switch_encoder(f"{LOCAL_MODEL}: {path}")


def switch_encoder(choice: str) -> None:
    """Switch the sidebar encoder to ``choice``, as :func:`encoder_choice` words it (one of ``ENCODER_CHOICES``, or
    ``"Local model path: <folder or name>"``). An ``on_click`` callback, as :func:`use_encoder`."""
    if choice in ENCODER_CHOICES:
        st.session_state["sb_encoder"] = choice
    else:
        st.session_state["sb_encoder"] = LOCAL_MODEL
        st.session_state["sb_encoder_path"] = choice.removeprefix(f"{LOCAL_MODEL}: ")
    st.session_state["map_overrides"] = ui_state.without_field(st.session_state.get("map_overrides", {}),
                                                               "encoder_name")
