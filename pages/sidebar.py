"""The shared sidebar and presentation mode (drawn by ``app.py`` on every run, before the page).

Presentation mode is a state that cannot lose the presenter's settings: entering it saves every
sidebar value and the page (:data:`pages._lib.choices.SAVED_VIEW`), leaving it restores them exactly and
returns to that page; the mode itself lives in a key no widget owns (:data:`pages._lib.choices.PRESENTING`).
Pages read the choices through :mod:`pages._lib.choices`' accessors.
"""

from __future__ import annotations

import streamlit as st

from core import ui_state
from core.corpus.encoders import ENCODER_ENV, env_encoder
from core.corpus.views import label_of
from core.settings import BUILTIN_LIMIT_MAX, BUILTIN_LIMIT_MIN, builtin_limit_setting
from core.text import md_escape
from pages import upgrade_panel
from pages._lib.choices import (
    DEMO_ON,
    ENCODER_CHOICES,
    LOCAL_MODEL,
    PRESENTING,
    SAVED_VIEW,
    SIDEBAR_KEYS,
    SOURCES,
    UPLOAD_KEPT,
    UPLOAD_TYPES,
    builtin_limit,
    path_input,
    presenting,
    server_paths_allowed,
)
from pages._lib.loaders import builtin_size


def _enter_by_toggle() -> None:
    """The toggle drawn outside presentation mode (``sb_demo``) only enters it: a value of ``False`` here is a
    browser that has not yet heard the mode was left (see :func:`draw_sidebar`), never a reason to act."""
    if st.session_state.get("sb_demo"):
        _enter_presentation()


def _leave_by_toggle() -> None:
    """The toggle drawn in presentation mode (:data:`DEMO_ON`) only leaves it, on ``False``."""
    if not st.session_state.get(DEMO_ON, True):
        exit_presentation()


def _enter_presentation() -> None:
    """Entering presentation mode saves the view (every sidebar value and the page) and goes to the Tour.
    A callback: it runs before the next run draws any widget."""
    S = st.session_state
    S[PRESENTING] = True
    S.pop(LEFT_FOR, None)
    S[SAVED_VIEW] = {"page": S.get("_page", ""), "values": ui_state.snapshot(S, SIDEBAR_KEYS)}
    S["_goto"] = "tour"


def exit_presentation() -> None:
    """Leave presentation mode (the Tour's Exit, the toggle switched off): the saved view back exactly, and the
    page it was saved on (an ``on_click`` callback)."""
    S = st.session_state
    S[PRESENTING] = False
    saved = S.pop(SAVED_VIEW, None) or {"page": "", "values": {}}  # a link opened presenting: the first page
    S.update(saved["values"])
    S["_goto"] = S[LEFT_FOR] = saved["page"] if saved["page"] != "tour" else ""


#: the page presentation mode was left for (set by :func:`exit_presentation`, dropped when the mode is entered again)
LEFT_FOR = "_presentation_left_for"
DEMO_HELP = ("Presentation mode: a guided tour of the three methods, settings and notation out of sight. "
             "Switch it off for every setting; nothing is lost.")


def tour_opened(current: str) -> None:
    """The Tour is presentation mode's page: opened by its address without ``demo=1`` (a bookmark, an address
    typed or shared), the mode goes on as the toggle would turn it on, saving the view (leaving it then opens
    the first page), so no step shows the settings. Called by app.py before the sidebar is drawn.

    Once this session has left the mode, a run of the Tour is not an address opened but a request the browser sent
    before it heard of the Exit (Streamlit runs the page a request names, and that tab still showed the Tour; the
    Tour is not in the navigation outside the mode): it goes back to the page the presenter left for.
    """
    S = st.session_state
    if current != "tour" or S.get(PRESENTING) or "_goto" in S:  # "_goto": the mode was just left, a switch pending
        return
    if LEFT_FOR in S:
        S["_goto"] = S[LEFT_FOR]
        return
    S[PRESENTING] = True
    S[SAVED_VIEW] = {"page": "", "values": ui_state.snapshot(S, SIDEBAR_KEYS)}


def pending_page(current: str) -> str | None:
    """The page to switch to after presentation mode changed (``None``: stay); remembers ``current`` as the page
    a presenter would come back to."""
    S = st.session_state
    S["_page"] = current
    goto = S.get("_goto")
    if goto is None or goto == current:  # arrived (or nothing pending): forget it only now
        S.pop("_goto", None)
        return None
    # kept until the page is reached: a request the browser sent meanwhile can replace the switch with a rerun of
    # the page it still shows (Streamlit keeps the newer request's page), and that run must switch again
    return goto


def draw_sidebar() -> None:
    """The shared sidebar (called by app.py on every run, before the page).

    In presentation mode only the toggle shows; the corpus, encoder and seed widgets are not
    drawn, and their values are carried over (Streamlit forgets an undrawn widget's value), so
    switching presentation mode off loses nothing (and :data:`SAVED_VIEW` restores them exactly).
    The settings sit in one container after the toggle, which presentation mode replaces by a
    caption at once, so a slow first Tour step never shows the settings of the page before it.
    Values survive a cut-short first render (:mod:`core.ui_state`); a browser that may not name
    server paths gets uploads only.
    """
    S = st.session_state
    if PRESENTING in S:
        S["sb_demo"] = S[PRESENTING]
    with st.sidebar:
        # Two toggles, one shown at a time, each acting one way: the mode can change on the server (the Tour's Exit,
        # a Tour link) while a browser's request still carries the toggle's old value (a refresh of the Tour's live
        # race sent before the Exit reached it). One toggle read that stale "on" as a fresh switch and put the
        # presenter back in the Tour; a toggle that only enters cannot be turned back by a stale value.
        if presenting():
            S[DEMO_ON] = True
            st.toggle("Demo mode", key="sb_demo_on", on_change=_leave_by_toggle, help=DEMO_HELP)  # DEMO_ON
        else:
            st.toggle("Demo mode", key="sb_demo", on_change=_enter_by_toggle, help=DEMO_HELP)
        # Re-assigning each value keeps it while its widget is not drawn (presentation mode), and sends it with the
        # widget: a page switched while the first page still loads mounts a fresh widget in the browser, which
        # otherwise shows the widget's default ("Documents to use" 100) while the session holds 11,357.
        for key in SIDEBAR_KEYS:
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]
        if presenting():
            st.caption("Presentation mode. Use the Tour, or switch this off for every setting.")
            return
        with st.container():
            _draw_settings(server_paths_allowed())


def _keep_upload() -> None:
    """Keep the uploaded file where presentation mode cannot drop it (:data:`UPLOAD_KEPT`); a removed file goes."""
    S = st.session_state
    up = S.get("sb_upload")
    if up is None:
        S.pop(UPLOAD_KEPT, None)
    else:
        S[UPLOAD_KEPT] = (up.name, up.getvalue())


def _env_encoder_label(options: list[str]) -> str:
    """The encoder choice ``EQUALCTAR_ENCODER`` asks for: a named encoder's label, or the local model box filled
    with its folder or name (when this browser may name server paths); a value not used is said, by name."""
    env = env_encoder(tuple(ENCODER_CHOICES.values()))
    if env.local and LOCAL_MODEL in options:
        st.session_state.setdefault("sb_encoder_path", env.name)
        return LOCAL_MODEL
    note = env.note
    if env.local:
        note = (f"{ENCODER_ENV}={env.name!r} names a local model, which this browser may not choose: server "
                f"paths are off for it (EQUALCTAR_SERVER_PATHS). Using {options[0]}.")
    if note:
        st.warning(note)
    return label_of(ENCODER_CHOICES, env.name, options[0])


def _draw_settings(paths_ok: bool) -> None:
    """The sidebar's seed, corpus and encoder (not in presentation mode)."""
    sources = SOURCES if paths_ok else SOURCES[:2]
    st.session_state.setdefault("sb_seed", 0)  # defaults in the session: a link or the tour may have set them
    st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="sb_seed")
    st.subheader("Corpus")
    ui_state.restore(st.session_state, "sb_source", SOURCES[0], sources)
    source = st.radio("Documents", sources, key="sb_source", label_visibility="collapsed")
    if source == SOURCES[0]:
        # clamped: Streamlit would reset a value outside the box's range to its minimum
        st.session_state.setdefault("sb_builtin_limit", builtin_limit() or min(builtin_size(), BUILTIN_LIMIT_MAX))
        st.number_input(
            "Documents to use", min_value=BUILTIN_LIMIT_MIN, max_value=BUILTIN_LIMIT_MAX, step=500,
            key="sb_builtin_limit",
            help="All of the harvested Python documentation by default; fewer: an evenly spread subset.",
        )
        env_note = builtin_limit_setting().note
        if env_note:
            st.warning(env_note)
    elif source == SOURCES[1]:
        st.file_uploader("JSONL, JSON, CSV, Parquet, text, or a .zip of text files", type=UPLOAD_TYPES,
                         key="sb_upload", on_change=_keep_upload)
        kept = st.session_state.get(UPLOAD_KEPT)
        if st.session_state.get("sb_upload") is None and kept is not None:
            st.caption(f"Using **{md_escape(kept[0])}**, uploaded before; choose a file to replace it.")
    else:
        ui_state.restore(st.session_state, "sb_path", "")
        path_input("Path to a file or a folder of .txt/.md", "sb_path",
                   help="Only under the server's allowed folders (EQUALCTAR_ROOTS).")
    if source != SOURCES[0]:
        st.text_input("Text field (blank: detect)", key="sb_text_field")
    st.subheader("Encoder")
    options = list(ENCODER_CHOICES) + ([LOCAL_MODEL] if paths_ok else [])
    ui_state.restore(st.session_state, "sb_encoder", _env_encoder_label(options), options)  # use_encoder() sets it
    choice = st.selectbox("Encoder", options, key="sb_encoder", label_visibility="collapsed",
                          help="MiniLM: all-MiniLM-L6-v2, packaged; the map opens from the static tier in seconds and "
                               "is redrawn with MiniLM once it has embedded the corpus in the background. Static: "
                               "model2vec distilled from MiniLM. Hashing: no model, for quick looks.")
    for key in ("sb_source", "sb_path", "sb_encoder"):
        ui_state.keep(st.session_state, key)
    if choice == LOCAL_MODEL:
        path_input("Model folder or name", "sb_encoder_path",
                   help="A folder under the server's allowed folders, or a model name in the local cache.")
    upgrade_panel.draw_tier_figures()
