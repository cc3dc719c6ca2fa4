"""The heavy objects pages share, cached once per process (``st.cache_resource``): the encoder, the sidebar's
corpus, the corpus map's settings, memo and figures (the map itself is also cached on disk by
``core.corpus.mapping``; :func:`pages.upgrade_panel.corpus_map` builds it)."""

from __future__ import annotations

import math
import threading

import streamlit as st

from core import access
from core.corpus.builtin import load_builtin_corpus
from core.corpus.encoders import Encoder, chunking_options, load_encoder, model_folder
from core.corpus.load import Corpus, LoadReport, load_corpus, load_corpus_bytes
from core.corpus.mapping import MapSettings
from core.corpus.views import MapMemo, apply_overrides, cluster_names
from core.equal.baselines import BaselineCache
from core.equal.extract import Extractor, make_extractor
from core.equal.extract.cache import kept_on_disk
from pages._lib.choices import (
    SOURCES,
    builtin_limit,
    encoder_name,
    seed,
    server_path,
    sidebar_value,
    uploaded_file,
)


@st.cache_resource(show_spinner="Loading the encoder…")
def encoder(name: str) -> Encoder:
    """The encoder ``name``, loaded once per process; a local model folder's files are checked against the
    roots first (:func:`check_typed_model`)."""
    check_typed_model(name)  # once per load: the loader opens these files
    return load_encoder(name)


def check_typed_model(name: str) -> None:
    """When ``name`` loads the sidebar's typed model folder (it passed the gate in :func:`encoder_name`): every file
    in it, links followed, lies under the roots (:func:`core.access.check_model_files`), checked before the model
    or its tokenizer (the corpus's chunking) opens one. Raises :class:`core.access.PathNotAllowedError`."""
    typed = str(sidebar_value("sb_encoder_path", "")).strip()
    folder = model_folder(name)
    if typed and folder is not None and folder == model_folder(typed):
        access.check_model_files(folder)


def warm_encoder(name: str) -> None:
    """Load ``name`` into :func:`encoder`'s cache in a background thread, once, so the page's first
    search does not wait for it (a run that asks meanwhile waits on the cache's lock, not twice)."""
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
    return load_builtin_corpus(limit=limit)


def builtin_size() -> int:
    """Documents in the whole built-in corpus (the sidebar's default size)."""
    return len(_builtin(None))


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=4)
def _uploaded(data: bytes, filename: str, text_field: str | None, encoder: str) -> tuple[Corpus, LoadReport]:
    check_typed_model(encoder)  # its tokenizer chunks the documents
    return load_corpus_bytes(data, filename, text_field=text_field or None, **chunking_options(encoder))


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=4)
def _from_path(path: str, text_field: str | None, mtime: float, encoder: str) -> tuple[Corpus, LoadReport]:
    check_typed_model(encoder)  # its tokenizer chunks the documents
    return load_corpus(path, text_field=text_field or None, roots=access.allowed_roots(), **chunking_options(encoder))


def corpus_source() -> tuple[Corpus, LoadReport | None]:
    """The sidebar's corpus (built-in by default) and its load report; bad input raises a readable
    ``ValueError`` that pages show with :func:`pages._lib.errors.show_error`."""
    source = sidebar_value("sb_source", SOURCES[0])
    text_field = sidebar_value("sb_text_field", "").strip() or None
    upload = uploaded_file() if source == SOURCES[1] else None
    if upload is not None:
        return _uploaded(upload[1], upload[0], text_field, encoder_name())
    path = server_path("sb_path") if source == SOURCES[2] else None  # gated before any stat
    if path is not None:
        if not path.exists():
            raise ValueError(f"{path} does not exist")
        return _from_path(str(path), text_field, path.stat().st_mtime, encoder_name())
    return _builtin(builtin_limit()), None


def builtin_corpus() -> bool:
    """Whether :func:`corpus_source` gives the built-in corpus (its documents carry provenance labels)."""
    source = sidebar_value("sb_source", SOURCES[0])
    if source == SOURCES[1] and uploaded_file() is not None:
        return False
    return not (source == SOURCES[2] and server_path("sb_path") is not None)


@st.cache_resource(max_entries=4, show_spinner=False)
def baseline_cache(corpus_hash: str, map_key: str, encoder: str, extractor: str = "rules") -> BaselineCache:
    """Extracted pairs and embeddings shared by every baselines job (Bandit page) and tuning grid (Tuning lab) on
    one corpus map, encoder and extractor."""
    return BaselineCache()


def baseline_extractor(kind: str = "rules") -> Extractor:
    """The extractor of every baselines job (Bandit page) and tuning grid (Tuning lab), beside
    :func:`baseline_cache`: what it extracts is kept on disk as it is extracted, in the app's cache folder
    (``EQUALCTAR_HOME/extractions``; :func:`core.equal.extract.cache.kept_on_disk`, as ``python -m core.equal
    tune`` keeps it), so a closed tab or a restart loses none of it and the next job reads it back instead of
    extracting again. Keyed by the extractor's name and version (the rules' source and limits; an endpoint's
    model, prompts and answer settings): a changed setting or rule extracts again."""
    return kept_on_disk(make_extractor(kind))


def default_k(n_docs: int) -> int:
    """sqrt(n/2) clusters, between 2 and 200 (at most n): ~40 for 3,000 documents (override on the map page)."""
    return int(min(200, max(1, n_docs), max(2, round(math.sqrt(n_docs / 2)))))


def map_settings(corpus: Corpus) -> MapSettings:
    base = MapSettings(encoder_name=encoder_name(), k=default_k(len(corpus)), seed=seed())
    return apply_overrides(base, sidebar_value("map_overrides", {}).get(corpus.content_hash, {}), len(corpus))


def set_map_overrides(corpus: Corpus, values: dict) -> None:
    """The Map settings form's choices, for this corpus only (another corpus keeps its own defaults; the seed is
    the sidebar's)."""
    st.session_state["map_overrides"] = {**st.session_state.get("map_overrides", {}), corpus.content_hash: values}


@st.cache_resource(show_spinner=False)
def map_memo() -> MapMemo:
    """The corpus maps in memory, shared by every session (four at most)."""
    return MapMemo(max_entries=4)


def forget_encoder(name: str) -> None:
    """Drop the in-memory encoder, maps and map figures of ``name``: its model folder was just rewritten."""
    encoder.clear(name)
    map_memo().forget_encoder(name)
    _map_figure.clear()  # keyed by corpus and settings, which a rewritten model folder leaves unchanged


@st.cache_resource(show_spinner=False, max_entries=32)
def _map_figure(map_key: str, highlight: int | None, stars: tuple[str, ...], seed: int, _cmap):
    from core.viz.corpus_map import MAX_POINTS, make_corpus_map_figure  # plotly: only when a map is drawn

    return make_corpus_map_figure(_cmap.documents_frame(), highlight_cluster=highlight, highlight_ids=stars,
                                  max_points=MAX_POINTS, seed=seed, cluster_names=cluster_names(_cmap))


def map_figure(cmap, highlight: int | None = None, stars=(), seed: int = 0):
    """The corpus map's figure for one view (a highlighted cluster, starred documents, the display seed),
    built once and shared by every session and page (the Corpus map, the tour): ``st.plotly_chart`` only
    reads it, and building it is most of a page run's CPU (~0.2 s at 3,000 points)."""
    return _map_figure(f"{cmap.corpus.content_hash}|{cmap.settings!r}", highlight, tuple(stars), int(seed), cmap)
