"""What every page shares: the sidebar's choices, the cached encoder, corpus and corpus map.

The sidebar itself is drawn by ``app.py`` (see :func:`draw_sidebar`); pages read its choices
through the small accessors here, which fall back to defaults so a page also runs alone
(``AppTest.from_file("pages/...")``). Heavy objects are cached once per process
(``st.cache_resource``) and the corpus map is also cached on disk by ``core.corpus.mapping``.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import streamlit as st

from core import ui_state
from core.corpus import access
from core.corpus.load import SUPPORTED_EXTENSIONS, Corpus, LoadReport
from core.corpus.encoders import DEFAULT_MODEL, STATIC_MODEL, Encoder, chunking_options, load_encoder
from core.errors import describe_failure

ENCODER_CHOICES = {
    "all-MiniLM-L6-v2 (packaged; a static map first while it embeds)": DEFAULT_MODEL,
    "Static (model2vec distilled from MiniLM; fast)": STATIC_MODEL,
    "Hashing (instant, no model; for quick looks)": "hashing",
}
SOURCES = ("Built-in: Python documentation", "Upload a file", "Local file or folder")
UPLOAD_TYPES = [e.lstrip(".") for e in SUPPORTED_EXTENSIONS]


def _state(key: str, default):
    return st.session_state.get(key, default)


DEMO_NOTES = {  # demo mode: what the audience is looking at, in plain words, above each page
    "Corpus map": "Every dot is one document. Documents about the same thing land together; the colours are the "
                  "groups the bandit will choose between. Hover to read one, or search by meaning to see where answers live.",
    "Bandit": "The bandit decides which groups of documents are worth paying to process. Press Start: the bars show "
              "which group it would try next, the table how each has paid off, and the budget chart how much closer "
              "to the task it gets than picking documents at random or processing everything in order.",
    "CTAR generator": "A realistic movie-rating dataset in which we know why every rating exists: the tags a user likes, "
                      "why a rating was seen, and what was never seen. Press Generate, then compare with the published CTAR data.",
    "Debiasing lab": "Real feedback is biased by what people choose to rate. Here the truth is known, so we can see which "
                     "corrections recover it. Pick a bias and run the sweep: a method is right when its estimate sits on the dashed line of the true loss.",
}


def leave_pages_directory_mode() -> None:
    """Make a deep link that is a fresh server's first request land in ``app.py``'s navigation.

    Until some session has run ``app.py`` (which calls ``st.navigation``), Streamlit treats the
    ``pages/`` folder as a v1 multipage app: a first request for ``/bandit`` runs
    ``pages/bandit.py`` alone, without ``app.py``'s sidebar and page config, and lists every
    file (``common`` included) as a page. Streamlit switches modes through a process-wide flag
    that ``st.navigation`` clears; clearing it here and rerunning sends this same request through
    ``app.py``, whose pages use their file names as URL paths, so the page hash is unchanged and
    the user lands on the page they asked for.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the v1 flag has nothing to leave
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_header(title: str, caption: str | None = None) -> None:
    """Title and caption; in demo mode also the page's plain-language note (:data:`DEMO_NOTES`)."""
    leave_pages_directory_mode()
    st.title(title)
    if caption:
        st.caption(caption)
    if demo_mode() and title in DEMO_NOTES:
        st.info(DEMO_NOTES[title], icon=":material/co_present:")


def seed() -> int:
    return int(_state("sb_seed", 0))


def demo_mode() -> bool:
    """Presentation preset: settings start folded away and each page opens with a plain-language note."""
    return bool(_state("sb_demo", False))


def server_paths_allowed() -> bool:
    """Whether this browser may type server-side paths (:mod:`core.corpus.access`)."""
    return access.server_paths_allowed(access.peer_address(st.context))


def encoder_name() -> str:
    custom = _state("sb_encoder_path", "").strip() if server_paths_allowed() else ""
    choice = ui_state.kept(st.session_state, "sb_encoder")
    if choice == "Local model path" and custom:
        return custom
    if choice in ENCODER_CHOICES:
        return ENCODER_CHOICES[choice]
    return os.environ.get("EQUALCTAR_ENCODER", DEFAULT_MODEL)


def builtin_limit() -> int | None:
    env = os.environ.get("EQUALCTAR_BUILTIN_LIMIT")
    value = _state("sb_builtin_limit", int(env) if env else 3000)
    return int(value) if value else None


@st.cache_resource(show_spinner="Loading the encoder…")
def encoder(name: str) -> Encoder:
    return load_encoder(name)


@st.cache_resource(show_spinner="Harvesting the built-in corpus…")
def _builtin(limit: int | None) -> Corpus:
    from core.corpus.builtin import load_builtin_corpus

    return load_builtin_corpus(limit=limit)


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=4)
def _uploaded(data: bytes, filename: str, text_field: str | None, encoder: str) -> tuple[Corpus, LoadReport]:
    from core.corpus.load import load_corpus_bytes

    return load_corpus_bytes(data, filename, text_field=text_field or None, **chunking_options(encoder))


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=4)
def _from_path(path: str, text_field: str | None, mtime: float, encoder: str) -> tuple[Corpus, LoadReport]:
    from core.corpus.load import load_corpus

    return load_corpus(path, text_field=text_field or None, roots=access.allowed_roots(), **chunking_options(encoder))


def corpus_source() -> tuple[Corpus, LoadReport | None]:
    """The sidebar's corpus (built-in by default) and its load report; bad input raises a readable
    ``ValueError`` that pages show with :func:`show_error`."""
    source = _state("sb_source", SOURCES[0])
    text_field = _state("sb_text_field", "").strip() or None
    if source == SOURCES[1] and _state("sb_upload", None) is not None:
        up = st.session_state["sb_upload"]
        return _uploaded(up.getvalue(), up.name, text_field, encoder_name())
    if source == SOURCES[2] and _state("sb_path", "").strip():
        access.require_server_paths(access.peer_address(st.context))
        path = access.check_path(_state("sb_path", ""))  # before any stat
        if not path.exists():
            raise ValueError(f"{path} does not exist")
        return _from_path(str(path), text_field, path.stat().st_mtime, encoder_name())
    return _builtin(builtin_limit()), None


def default_k(n_docs: int) -> int:
    """sqrt(n/2) clusters, between 2 and 200 (at most n): ~40 for 3,000 documents (override on the map page)."""
    return int(min(200, max(1, n_docs), max(2, round(math.sqrt(n_docs / 2)))))


def map_settings(corpus: Corpus):
    from core.corpus.mapping import MapSettings

    overrides = dict(_state("map_overrides", {}))
    base = MapSettings(encoder_name=encoder_name(), k=default_k(len(corpus)), seed=seed())
    valid = {k: v for k, v in overrides.items() if hasattr(base, k)}
    if "k" in valid:
        valid["k"] = max(1, min(int(valid["k"]), len(corpus)))
    return replace(base, **valid)


@st.cache_resource(show_spinner=False)
def _maps() -> dict:
    return {}


def forget_encoder(name: str) -> None:
    """Drop the in-memory encoder and maps of ``name``: its model folder was just rewritten."""
    encoder.clear(name)
    maps = _maps()
    for key in [k for k in maps if k[1].encoder_name == name]:
        del maps[key]


def corpus_map():
    """The corpus map for the sidebar's corpus and the map settings (see :func:`pages.upgrade_panel.corpus_map`:
    memory, disk cache, else built with progress; a static map first while MiniLM embeds in the background)."""
    from pages import upgrade_panel

    return upgrade_panel.corpus_map()


def use_encoder(path: str) -> None:
    """Switch the sidebar encoder to a local model folder. An ``on_click`` callback: it runs
    before the next script run draws the sidebar widgets, so their keys may be set here; a
    map-settings override of the encoder is dropped so the choice takes effect."""
    st.session_state["sb_encoder"] = "Local model path"
    st.session_state["sb_encoder_path"] = str(path)
    overrides = dict(st.session_state.get("map_overrides", {}))
    overrides.pop("encoder_name", None)
    st.session_state["map_overrides"] = overrides


def show_error(exc: BaseException, what: str | None = None) -> str | None:
    """Bad input as ``"<what>: <message>"``; a bug as one line and an id (:mod:`core.errors`)."""
    error_id, message = describe_failure(exc, what)
    st.error(message, icon="⚠️")
    return error_id


def draw_sidebar() -> None:
    """The shared sidebar (app.py, every run). Values survive a cut-short first render
    (:mod:`core.ui_state`); a browser that may not name server paths gets uploads only."""
    paths_ok = server_paths_allowed()
    sources = SOURCES if paths_ok else SOURCES[:2]
    with st.sidebar:
        st.toggle("Demo mode", key="sb_demo", help="Presentation preset: settings folded away, a plain-language note on each page.")
        st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="sb_seed")
        st.subheader("Corpus")
        ui_state.restore(st.session_state, "sb_source", SOURCES[0], sources)
        source = st.radio("Documents", sources, key="sb_source", label_visibility="collapsed")
        if source == SOURCES[0]:
            st.number_input(
                "Documents to use", min_value=100, max_value=50_000, step=500, key="sb_builtin_limit",
                value=builtin_limit() or 3000,
                help="An evenly spread subset of the harvested Python documentation.",
            )
        elif source == SOURCES[1]:
            st.file_uploader("JSONL, JSON, CSV, Parquet, text, or a .zip of text files", type=UPLOAD_TYPES, key="sb_upload")
        else:
            ui_state.restore(st.session_state, "sb_path", "")
            st.text_input("Path to a file or a folder of .txt/.md", key="sb_path",
                          help="Only under the server's allowed folders (EQUALCTAR_ROOTS).")
        if source != SOURCES[0]:
            st.text_input("Text field (blank: detect)", key="sb_text_field")
        st.subheader("Encoder")
        options = list(ENCODER_CHOICES) + (["Local model path"] if paths_ok else [])
        env_default = os.environ.get("EQUALCTAR_ENCODER", DEFAULT_MODEL)
        default_label = next((k for k, v in ENCODER_CHOICES.items() if v == env_default), options[0])
        ui_state.restore(st.session_state, "sb_encoder", default_label, options)  # use_encoder() sets it
        choice = st.selectbox("Encoder", options, key="sb_encoder", label_visibility="collapsed")
        for key in ("sb_source", "sb_path", "sb_encoder"):
            ui_state.keep(st.session_state, key)
        if choice == "Local model path":
            st.text_input("Model folder or name", key="sb_encoder_path")
        from pages import upgrade_panel

        upgrade_panel.draw_tier_figures()
