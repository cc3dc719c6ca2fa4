"""What every page shares: the sidebar's choices, the cached encoder, corpus and corpus map.

The sidebar itself is drawn by ``app.py`` (see :mod:`pages.sidebar`, with presentation mode); pages read its choices
through the small accessors here, which fall back to defaults so a page also runs alone
(``AppTest.from_file("pages/...")``). Heavy objects are cached once per process
(``st.cache_resource``) and the corpus map is also cached on disk by ``core.corpus.mapping``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import streamlit as st

from core import access, ui_state
from core.corpus.encoders import DEFAULT_MODEL, STATIC_MODEL, Encoder, chunking_options, load_encoder
from core.corpus.load import Corpus, LoadReport
from core.corpus.views import MapMemo, apply_overrides, upload_types
from core.errors import describe_failure
from core.text import md_escape

ENCODER_CHOICES = {
    "MiniLM (best; fast map first)": DEFAULT_MODEL,  # short labels: the sidebar cuts long ones
    "Static (fast, from MiniLM)": STATIC_MODEL,
    "Hashing (instant, no model)": "hashing",
}
SOURCES = ("Built-in: Python documentation", "Upload a file", "Local file or folder")
UPLOAD_TYPES = upload_types()


def _state(key: str, default):
    """A session value; while presenting, a sidebar value not drawn comes from the saved view."""
    saved = st.session_state.get(SAVED_VIEW, {}).get("values", {})
    return st.session_state.get(key, saved.get(key, default))


DEMO_NOTES = {  # demo mode: what the audience is looking at, in plain words, above each page
    "Corpus map": "Every dot is one document. Documents about the same thing land together; the colours are the "
                  "groups the bandit will choose between. Click a dot to read it, or search by meaning to see where "
                  "answers live.",
    "Bandit": "The bandit decides which groups of documents are worth paying to process. Press Start: the bars show "
              "which group it would try next, the table how each has paid off, and the budget chart how much closer "
              "to the task it gets than picking documents at random or processing everything in order.",
    "CTAR generator": "A realistic movie-rating dataset in which we know why every rating exists: the tags a user "
                      "likes, why a rating was seen, and what was never seen. Press Generate, then compare with the "
                      "published CTAR data.",
    "Debiasing lab": "Real feedback is biased by what people choose to rate. Here the truth is known, so we can see "
                     "which corrections recover it. Pick a bias and run the sweep: a method is right when its "
                     "estimate sits on the dashed line of the true loss.",
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


def restore_link(page: str | None) -> None:
    """Once per session and page, before any widget: set the session from the link's query parameters.

    Called by ``app.py``: with ``None`` before it builds the navigation (presentation mode, seed),
    then with the page's URL path. What the link could not restore is kept for
    :func:`page_header` to say, and the rest of the view is shown.
    """
    from pages._lib.links import restore_link as decode

    flag = f"link_restored:{page}"
    if st.session_state.get(flag):
        return
    st.session_state[flag] = True
    values, problems = decode(page, st.query_params.to_dict())
    st.session_state.update(**values)
    if "sb_demo" in values:  # a link's presentation mode
        st.session_state[PRESENTING] = values["sb_demo"]
    if problems:
        st.session_state["link_problems"] = st.session_state.get("link_problems", []) + problems


def keep_views(page: str) -> None:
    """Every page's view (the keys its links carry) survives leaving the page (:func:`core.ui_state.carry`);
    ``page`` (its URL path) is the one about to draw."""
    from pages._lib.links import view_keys

    ui_state.carry(st.session_state, view_keys(), view_keys(page))


def share_view(page: str, **current) -> None:
    """Write the page's current view into the URL, so copying the address shares it.

    ``current`` overrides session values for parameters the page derives (the live run's id, the
    highlighted cluster). Values at their default are left out.
    """
    from core.links import encode_view
    from pages._lib.links import page_params

    want = encode_view({**st.session_state.to_dict(), **current}, page_params(page))
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


def page_header(title: str, caption: str | None = None) -> None:
    """Title and caption; in demo mode also the page's plain-language note (:data:`DEMO_NOTES`).

    A link that could not be fully restored says here what it could not restore.
    """
    leave_pages_directory_mode()
    st.title(title)
    if caption and not presenting():
        st.caption(caption)
    link_warning()
    if demo_mode() and title in DEMO_NOTES:
        st.info(DEMO_NOTES[title], icon=":material/co_present:")


def link_warning() -> None:
    """What the page's link could not restore, each value named (escaped: a link's text is data, never Markdown)."""
    problems = st.session_state.pop("link_problems", None)
    if problems:
        st.warning("This link could not restore " + md_escape("; ".join(problems)) + ". The rest of the view is shown.",
                   icon=":material/link_off:")


def seed() -> int:
    return int(_state("sb_seed", 0))


def demo_mode() -> bool:
    """Presentation preset: settings start folded away and each page opens with a plain-language note."""
    return bool(st.session_state.get(PRESENTING, _state("sb_demo", False)))


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


#: The path boxes of the app, by session key (tests/faults/test_path_gate.py runs the path faults on each).
PATH_KEYS = {"sb_path": "Local file or folder", "sb_encoder_path": "Local model path", "lm_path": "Large corpus",
             "ctar_folder": "CTAR folder"}


def server_path(key: str) -> Path | None:
    """The path typed in the box ``key``, through :func:`core.access.gate` (the browser may name paths; under
    the roots, links followed); ``None`` when blank. Raises :class:`core.access.PathNotAllowedError`."""
    text = str(_state(key, "")).strip()
    return access.gate(text, access.peer_address(st.context)) if text else None


def encoder_name() -> str:
    """The sidebar's encoder; a local model path passes :func:`core.access.gate_model` (raises when refused)."""
    custom = _state("sb_encoder_path", "").strip()
    choice = ui_state.kept(st.session_state, "sb_encoder")
    if choice == "Local model path" and custom:
        return access.gate_model(custom, access.peer_address(st.context))
    if choice in ENCODER_CHOICES:
        return ENCODER_CHOICES[choice]
    return os.environ.get("EQUALCTAR_ENCODER", DEFAULT_MODEL)


def builtin_limit() -> int | None:
    env = os.environ.get("EQUALCTAR_BUILTIN_LIMIT")
    value = _state("sb_builtin_limit", int(env) if env else 3000)
    return int(value) if value else None


@st.cache_resource(show_spinner="Loading the encoder…")
def encoder(name: str) -> Encoder:
    """The encoder ``name``, loaded once per process; a local model folder's files are checked against the
    roots first (:func:`core.access.check_model_files`: the folder itself passed the gate in :func:`encoder_name`)."""
    typed = str(_state("sb_encoder_path", "")).strip()
    if typed and access.is_model_path(typed) and name == str(Path(typed).expanduser().resolve()):
        access.check_model_files(name)  # once per load: the loader opens these files
    return load_encoder(name)


def warm_encoder(name: str) -> None:
    """Load ``name`` into :func:`encoder`'s cache in a background thread, once, so the page's first
    search does not wait for it (a run that asks meanwhile waits on the cache's lock, not twice)."""
    import threading

    if name not in _WARMING:
        _WARMING.add(name)
        threading.Thread(target=_load_quietly, args=(name,), name="warm-encoder", daemon=True).start()


def _load_quietly(name: str) -> None:
    try:
        encoder(name)
    except Exception:  # noqa: BLE001 - the page's own call reports a model that cannot load
        pass


_WARMING: set[str] = set()


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
    path = server_path("sb_path") if source == SOURCES[2] else None  # gated before any stat
    if path is not None:
        if not path.exists():
            raise ValueError(f"{path} does not exist")
        return _from_path(str(path), text_field, path.stat().st_mtime, encoder_name())
    return _builtin(builtin_limit()), None


def default_k(n_docs: int) -> int:
    """sqrt(n/2) clusters, between 2 and 200 (at most n): ~40 for 3,000 documents (override on the map page)."""
    return int(min(200, max(1, n_docs), max(2, round(math.sqrt(n_docs / 2)))))


def map_settings(corpus: Corpus):
    from core.corpus.mapping import MapSettings

    base = MapSettings(encoder_name=encoder_name(), k=default_k(len(corpus)), seed=seed())
    return apply_overrides(base, _state("map_overrides", {}).get(corpus.content_hash, {}), len(corpus))


def set_map_overrides(corpus: Corpus, values: dict) -> None:
    """The Map settings form's choices, for this corpus only (another corpus keeps its own defaults; the seed is
    the sidebar's)."""
    st.session_state["map_overrides"] = {**st.session_state.get("map_overrides", {}), corpus.content_hash: values}


@st.cache_resource(show_spinner=False)
def _maps() -> MapMemo:
    return MapMemo(max_entries=4)


def forget_encoder(name: str) -> None:
    """Drop the in-memory encoder, maps and map figures of ``name``: its model folder was just rewritten."""
    encoder.clear(name)
    _maps().forget_encoder(name)
    _map_figure.clear()  # keyed by corpus and settings, which a rewritten model folder leaves unchanged


@st.cache_resource(show_spinner=False, max_entries=32)
def _map_figure(map_key: str, highlight: int | None, stars: tuple[str, ...], seed: int, _cmap):
    from core.corpus.views import cluster_names
    from core.viz.corpus_map import MAX_POINTS, make_corpus_map_figure

    return make_corpus_map_figure(_cmap.documents_frame(), highlight_cluster=highlight, highlight_ids=stars,
                                  max_points=MAX_POINTS, seed=seed, cluster_names=cluster_names(_cmap))


def map_figure(cmap, highlight: int | None = None, stars=(), seed: int = 0):
    """The corpus map's figure for one view (a highlighted cluster, starred documents, the display seed),
    built once and shared by every session and page (the Corpus map, the tour): ``st.plotly_chart`` only
    reads it, and building it is most of a page run's CPU (~0.2 s at 3,000 points)."""
    return _map_figure(f"{cmap.corpus.content_hash}|{cmap.settings!r}", highlight, tuple(stars), int(seed), cmap)


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
    st.session_state["map_overrides"] = ui_state.without_field(st.session_state.get("map_overrides", {}),
                                                               "encoder_name")


def show_error(exc: BaseException, what: str | None = None) -> str | None:
    """Bad input as ``"<what>: <message>"``; a bug as one line and an id (:mod:`core.errors`)."""
    error_id, message = describe_failure(exc, what)
    st.error(md_escape(message), icon="⚠️")  # a message may quote a file's name or a link's value
    return error_id


class PolledJob(Protocol):
    """A :class:`core.jobs.Job` with the two words a panel shows: its progress text and its cancel note."""

    status: str
    error: Exception | None

    @property
    def running(self) -> bool: ...

    def advance(self, budget_s: float = ...) -> Any: ...

    def progress(self) -> Any: ...

    def describe(self) -> str: ...

    def cancel(self) -> None: ...

    def cancel_note(self) -> str | None: ...


_Job = TypeVar("_Job", bound=PolledJob)


def job_running(key: str) -> bool:
    """Whether the job in ``st.session_state[key]`` runs; read once per full run, so its fragment refreshes
    (``run_every``) only while it does."""
    job = st.session_state.get(key)
    return job is not None and job.running


def _start_job(key: str, start: Callable[[], PolledJob]) -> None:
    st.session_state[key] = start()


def _cancel_job(key: str) -> None:
    st.session_state[key].cancel()


def poll_job_panel(key: str, polling: bool, start: Callable[[], _Job], *, start_label: str, start_key: str,
                   cancel_key: str, failed: str, budget_key: str, tick_s: float, can_start: bool = True,
                   idle: str | None = None) -> _Job | None:
    """Start and Cancel buttons for the job in ``st.session_state[key]``, and one poll of it; called
    inside the page's fragment, which refreshes while ``polling`` (:func:`job_running` at the full run).

    Running: a slice of work (``st.session_state[budget_key]`` seconds if set, as tests do, else
    ``tick_s``) and its progress bar. A job started by a click inside the fragment, or finished in
    this slice, gets a full rerun, which starts or stops the refresh. Failed: its error under
    ``failed``. Returns the job once it stopped without failing (a cancelled one with its note
    shown), for the page to show what it made; else ``None`` (``idle`` is the caption before any).
    """
    job: _Job | None = st.session_state.get(key)
    running = job is not None and job.running
    b1, b2, _ = st.columns([1, 1, 4])
    b1.button(start_label, type="primary", disabled=running or not can_start, key=start_key, on_click=_start_job,
              args=(key, start))
    b2.button("Cancel", disabled=not running, key=cancel_key, on_click=_cancel_job, args=(key,))
    if job is None:
        if idle:
            st.caption(idle)
        return None
    if running and not polling:  # started by a click inside this fragment: a full rerun starts the polling
        st.rerun()
    if running:
        job.advance(budget_s=st.session_state.get(budget_key, tick_s))
        if not job.running:
            st.rerun()  # finished: a full rerun stops the polling
        st.progress(job.progress().fraction, text=job.describe())
        return None
    if job.status == "failed":
        show_error(job.error or RuntimeError(f"{failed} without an error"), failed)
        return None
    if job.cancel_note():
        st.warning(job.cancel_note())
    return job


SIDEBAR_KEYS = ("sb_seed", "sb_source", "sb_builtin_limit", "sb_path", "sb_text_field", "sb_encoder",
                "sb_encoder_path")
#: presentation mode's saved view: ``{"page": url path, "values": {sidebar key: value}}`` while presenting
SAVED_VIEW = "_presentation_saved"
#: presentation mode itself, in a key no widget owns: a page switch (to the Tour and back) resets the toggle's
#: own widget state in Streamlit 1.67, so the toggle is drawn from this key on every run (pages/sidebar.py)
PRESENTING = "_presenting"
