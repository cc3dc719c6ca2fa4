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


def progressive(encoder_name: str) -> bool:
    """Whether a map for ``encoder_name`` is first drawn with the static tier while the encoder
    embeds the corpus in the background (the packaged MiniLM; ``EQUALCTAR_PROGRESSIVE=0`` turns it off)."""
    return encoder_name == DEFAULT_MODEL and os.environ.get("EQUALCTAR_PROGRESSIVE", "1") != "0"


def upgrade_job():
    """The background upgrade job behind the map on show, or ``None`` when the map is final."""
    from core.corpus.upgrade import UpgradeJob

    folder = _state("map_upgrade_job", None)
    return UpgradeJob(Path(folder)) if folder else None


def _map_with_progress(corpus: Corpus, settings):
    from core.corpus.mapping import build_corpus_map, load_corpus_map

    cmap = load_corpus_map(corpus, settings)
    if cmap is None:
        bar = st.progress(0.0, text=f"Building the corpus map of {len(corpus):,} documents…")

        def report(p) -> None:
            bar.progress(p.fraction, text=f"{p.describe()} — map of {len(corpus):,} documents, encoder {settings.encoder_name}")

        cmap = build_corpus_map(corpus, settings, encoder=encoder(settings.encoder_name), report=report)
        bar.empty()
    return cmap


def corpus_map():
    """The :class:`core.corpus.mapping.CorpusMap` for the sidebar's corpus and the map settings.

    Memory first, then the on-disk cache, else built here with a progress line per stage
    (done/total, rate, time left, one-time). For the packaged MiniLM (:func:`progressive`)
    the first open builds the map with the static tier and starts the MiniLM embeddings in a
    background process (:mod:`core.corpus.upgrade`); :func:`upgrade_job` then names the job,
    and once it is done the next run builds and returns the MiniLM map.
    """
    from core.corpus.mapping import load_corpus_map

    corpus, _ = corpus_source()
    settings = map_settings(corpus)
    st.session_state["map_upgrade_job"] = None
    if progressive(settings.encoder_name) and (corpus.content_hash, settings) not in _maps():
        if load_corpus_map(corpus, settings) is None:
            from core.corpus.upgrade import ensure_upgrade

            from core.corpus.encoders import static_model_ready

            job = ensure_upgrade(corpus, settings.encoder_name)
            if job.state != "done":  # the fastest tier built: static (made at set-up), else hashing
                st.session_state["map_upgrade_job"] = str(job.folder)
                settings = replace(settings, encoder_name=STATIC_MODEL if static_model_ready() else "hashing")
    key = (corpus.content_hash, settings)
    maps = _maps()
    if key in maps:
        return maps[key]
    cmap = _map_with_progress(corpus, settings)
    if len(maps) >= 4:
        maps.pop(next(iter(maps)))
    maps[key] = cmap
    return cmap


def show_upgrade(job) -> None:
    """The background upgrade's progress line (done/total, rate, time left), polled every 2 s
    while the job runs; when it finishes the whole page reruns and shows the MiniLM map."""
    live = job.state in ("starting", "running")

    @st.fragment(run_every=2.0 if live else None)
    def _panel() -> None:
        state, p = job.state, job.progress()
        if state == "done":
            st.rerun()
        if state == "failed":
            st.warning(f"The MiniLM embeddings could not be computed: {job.status().get('error')}. The static map stays; "
                       "the finished part is kept, reopen the page to retry.", icon="⚠️")
            return
        if state == "stopped":
            st.info(f"The MiniLM upgrade stopped at {p.done:,}/{p.total:,} documents; it resumes on the next open.")
            return
        st.progress(p.fraction, text=f"Upgrading this map to MiniLM in the background — {p.describe()}. "
                                     "The map switches by itself when it is done; everything stays usable meanwhile.")

    _panel()


@st.cache_data(show_spinner=False, max_entries=32)
def _tier_line(content_hash: str, tier: str, job_folder: str, n_done_bucket: int) -> str | None:
    from core.corpus.tiers import measure_from_upgrade
    from core.corpus.upgrade import UpgradeJob

    corpus, _ = corpus_source()
    q = measure_from_upgrade(corpus, UpgradeJob(Path(job_folder)), encoder(tier))
    return None if q is None else q.describe()


def tier_figures(corpus: Corpus) -> dict[str, str]:
    """Measured figures per encoder tier on this corpus (static and hashing against MiniLM),
    from the MiniLM vectors the background job has made so far; empty until there are some."""
    from core.corpus.upgrade import UpgradeJob, job_folder

    folder = job_folder(corpus.content_hash, DEFAULT_MODEL)
    if not (folder / "job.json").exists():
        return {}
    job = UpgradeJob(folder)
    p = job.progress()
    out: dict[str, str] = {}
    if p.rate is not None:
        out[DEFAULT_MODEL] = f"{p.rate:,.1f} docs/s here (the reference)"
    bucket = min(p.done, 1024) // 256
    for tier in (STATIC_MODEL, "hashing"):
        try:
            line = _tier_line(corpus.content_hash, tier, str(folder), bucket) if bucket else None
        except (RuntimeError, ValueError, OSError) as exc:
            line = f"not measured: {exc}"
        if line:
            out[tier] = line
    return out


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
        _draw_tier_figures()


def _draw_tier_figures() -> None:
    """Each tier's measured documents/s, neighbour recall@10 and ARI against MiniLM on this corpus."""
    try:
        corpus, _ = corpus_source()
        figures = tier_figures(corpus)
    except (ValueError, RuntimeError, OSError):
        return
    labels = {v: k.split(" (")[0] for k, v in ENCODER_CHOICES.items()}
    if figures:
        st.caption("Measured on this corpus: " + " · ".join(f"**{labels.get(t, t)}**: {line}" for t, line in figures.items()))
    else:
        st.caption("Tier figures (docs/s, neighbour recall@10 and k-means ARI against MiniLM) appear once MiniLM has "
                   "embedded a few hundred documents of this corpus in the background.")
