"""The corpus map: embeddings, clusters, keywords, neighbour graph and a 2-D layout in one object.

``build_corpus_map`` runs embed -> cluster -> project -> keywords and writes everything to
``cache_dir("maps")/<key>/`` (arrays as ``.npy``, the cluster table as JSON, a ``done``
marker last), keyed by the corpus content hash and every field of :class:`MapSettings`.
``load_corpus_map`` reads it back (embeddings memory-mapped), recomputing nothing.
``CorpusMap.engine`` names the engine that embedded the corpus (``"local"`` or ``"ray"``,
read from the embedding cache's provenance; kept in ``engine.json`` beside the map).
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.corpus.cluster import cluster_keywords, cluster_w2_distances, kmeans, neighbour_graph, representatives
from core.corpus.embed import embed_corpus, embedding_provenance
from core.corpus.encoders import DEFAULT_MODEL, Encoder, load_encoder, space_id
from core.corpus.load import Corpus
from core.corpus.progress import ProgressCallback, ProgressTracker
from core.corpus.project import preload_umap, umap_project
from core.disk import naming_disk_full, temp_path
from core.settings import cache_dir
from core.validate import Refusal, Rule, check_int, check_range, refused

StageProgress = Callable[[str, float], None]
_FORMAT = 1


@dataclass(frozen=True)
class MapSettings:
    """Everything that changes a corpus map (all of it is part of the cache key).

    ``k`` clusters (EQUAL chooses it by the elbow method), k-means ``seed``/``niter``,
    UMAP ``umap_neighbors``/``umap_min_dist``, and ``w2_threshold`` for neighbour clusters
    (EQUAL's code: 0.2).
    """

    encoder_name: str = DEFAULT_MODEL
    k: int = 20
    seed: int = 42
    niter: int = 25
    umap_neighbors: int = 15
    umap_min_dist: float = 0.1
    w2_threshold: float = 0.2

    def __post_init__(self) -> None:
        """Refuses a value out of its range (:data:`MAP_FIELDS` declares each) with a
        :class:`~core.validate.Refusal` (a form words it from that)."""
        check_int("niter", self.niter, lo=1)
        for spec in MAP_FIELDS.values():
            spec.check(getattr(self, spec.name))

    @property
    def validated(self) -> MapSettings:
        """Self (validation happens in ``__post_init__``); kept for call sites that chain it."""
        return self


@dataclass(frozen=True)
class MapField:
    """One box of the Corpus map's Map settings form, declared once: the :class:`MapSettings` field it sets, its
    ``label`` and ``help`` in words, and the range ``MapSettings`` accepts. ``MapSettings`` checks its values with
    :meth:`check`; the page draws its form from :data:`MAP_FIELDS`, and a refusal is worded with the label
    (:func:`core.corpus.views.settings_from_form`).

    ``kind``: ``str`` (a choice), ``int`` or ``float``; ``lo``/``hi``: the bounds (``None``: unbounded);
    ``per_document``: at most the corpus's number of documents too (the clusters); ``step``: the box's step;
    ``slider``: drawn as a slider from ``lo`` to ``hi``. ``help`` may name ``{n_docs}`` (:meth:`help_for`).

    >>> MAP_FIELDS["umap_neighbors"].check(1)
    Traceback (most recent call last):
    ...
    core.validate.ValidationError: umap_neighbors must be >= 2, got 1
    >>> MAP_FIELDS["k"].check(50, n_docs=40)
    Traceback (most recent call last):
    ...
    core.validate.ValidationError: k must be in [1, 40], got 50
    """

    name: str
    label: str
    help: str
    kind: type = float
    lo: float | None = None
    hi: float | None = None
    per_document: bool = False
    step: float = 1.0
    slider: bool = False

    def check(self, value: Any, n_docs: int | None = None) -> Any:
        """``value`` if it is in range (a whole number for ``int``; at most ``n_docs`` when :attr:`per_document` and
        ``n_docs`` is given), else a :class:`~core.validate.ValidationError` carrying its refusal."""
        if self.kind is str:  # the encoder: any name not blank (loading it says what it cannot find)
            if isinstance(value, str) and value.strip():
                return value
            raise refused(Refusal(self.name, Rule(kind="a model name, local path or 'hashing'"), value))
        hi = n_docs if self.per_document and n_docs is not None else self.hi
        if self.kind is int:
            return check_int(self.name, value, None if self.lo is None else int(self.lo),
                             None if hi is None else int(hi))
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)  # numpy's floats too
        return check_range(self.name, float(value) if real else value, self.lo, hi)

    def help_for(self, n_docs: int) -> str:
        """The help, naming the corpus's number of documents where it says ``{n_docs}``."""
        return self.help.format(n_docs=n_docs)


#: the Map settings form's boxes by the :class:`MapSettings` field they set, in the form's order
MAP_FIELDS: dict[str, MapField] = {spec.name: spec for spec in (
    MapField("encoder_name", "Encoder", "Model name, local path or 'hashing'.", kind=str),
    MapField("k", "Number of clusters", "How many clusters k-means makes (the bandit's arms): at most the number of "
             "documents ({n_docs:,}). The elbow of the inertia curve, below the map, suggests one.",
             kind=int, lo=1, per_document=True),
    MapField("umap_neighbors", "UMAP neighbours", "How many nearest documents UMAP weighs for each when it lays "
             "out the map, at least 2: fewer keep small groups apart, more show the overall shape. Only the "
             "picture changes, not the clusters.", kind=int, lo=2),
    MapField("umap_min_dist", "UMAP minimum distance", "How close UMAP may draw points together, from 0 (tight "
             "clumps) to 1 (evenly spread). Only the picture changes, not the clusters.",
             lo=0, hi=1, step=0.05, slider=True),
    MapField("w2_threshold", "Neighbour threshold", "Two clusters are neighbours, and the bandit shares a pull's "
             "reward between them, when the squared 2-Wasserstein distance between them is below this, at least 0 "
             "(EQUAL's code: 0.2).", lo=0, step=0.05),
)}


@dataclass
class CorpusMap:
    """A built corpus map. Shapes: ``embeddings (n, d)``, ``labels (n,)`` int64,
    ``centroids (k, d)``, ``xy (n, 2)``, ``w2 (k, k)``, ``neighbours (k, k)`` bool; ``clusters``
    has columns ``cluster, size, keywords (str), representatives (list of doc ids)``, one row per non-empty
    cluster: ``k`` (:attr:`k`) is at most ``settings.k``, lower when the corpus has fewer distinct documents
    (``k_note`` says so)."""

    corpus: Corpus
    settings: MapSettings
    embeddings: NDArray[np.float32]
    labels: NDArray[np.int64]
    centroids: NDArray[np.float32]
    xy: NDArray[np.float32]
    clusters: pd.DataFrame
    w2: NDArray[np.float64]
    neighbours: NDArray[np.bool_]
    engine: str = "local"
    k_note: str = ""  # why the map has fewer clusters than settings.k ("" when it has them all; cluster.k_lowered_note)
    _index: Any = field(default=None, repr=False, compare=False)  # faiss index, built on the first search
    _frame: Any = field(default=None, repr=False, compare=False)  # documents_frame, built on the first ask

    @property
    def k(self) -> int:
        """The number of clusters (every one holds a document; ``settings.k`` is the number asked for)."""
        return len(self.clusters)

    @property
    def space_id(self) -> str:
        """Stable id of the embedding space of ``embeddings`` (see ``core.corpus.encoders.space_id``):
        a run, warm-up or export records it and never mixes vectors of two spaces."""
        return space_id(self.settings.encoder_name)

    def documents_frame(self) -> pd.DataFrame:
        """Columns ``doc_id, text, source, cluster, x, y`` (:data:`core.corpus.columns.FRAME_COLUMNS`), then the
        corpus file's own columns (:attr:`~core.corpus.load.Corpus.columns`, missing values blank), one row per
        document, corpus order.

        Built once per map and shared (a server keeps one map for all its sessions: ~3 MB and ~40 ms
        for 3,000 documents, not one copy per page run and session). Read it, do not modify it in
        place: derive a new frame (pandas' copy-on-write keeps derived frames apart).
        """
        if self._frame is None:
            self._frame = pd.DataFrame({
                "doc_id": list(self.corpus.ids), "text": list(self.corpus.texts),
                "source": list(self.corpus.sources), "cluster": np.asarray(self.labels, dtype=np.int64),
                "x": np.asarray(self.xy[:, 0], dtype=np.float32), "y": np.asarray(self.xy[:, 1], dtype=np.float32),
                **{col.name: col.to_series() for col in self.corpus.columns},
            })
        return self._frame

    def search(self, query, encoder: Encoder | None = None, top_n: int = 20) -> pd.DataFrame:
        """Nearest documents by cosine similarity: columns ``doc_id, score, cluster``, best first.

        ``query`` is a text (encoded with ``encoder``, default the map's encoder) or a vector ``(d,)``. A text the
        encoder knows no word of (an emoji to the static tier, punctuation to the hashing one) encodes to zeros, which
        score every document 0 alike: no document is nearest, so the frame is empty.
        """
        import faiss

        if isinstance(query, str):
            if not query.strip():
                raise ValueError("the search query is empty")
            encoder = encoder or load_encoder(self.settings.encoder_name)
            vec = encoder.encode([query])
        else:
            vec = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if vec.shape[1] != self.embeddings.shape[1]:
            raise ValueError(f"query has dimension {vec.shape[1]}, the map's embeddings {self.embeddings.shape[1]}")
        if not np.any(vec):
            return pd.DataFrame({"doc_id": pd.Series(dtype=object), "score": pd.Series(dtype=float),
                                 "cluster": pd.Series(dtype=np.int64)})
        vec = np.ascontiguousarray(vec / max(float(np.linalg.norm(vec)), 1e-12), dtype=np.float32)
        if self._index is None:
            index = faiss.IndexFlatIP(self.embeddings.shape[1])
            index.add(np.ascontiguousarray(self.embeddings, dtype=np.float32))
            self._index = index
        top = min(int(top_n), len(self.corpus))
        scores, idx = self._index.search(vec, top)
        idx = idx[0]
        return pd.DataFrame({"doc_id": [self.corpus.ids[i] for i in idx], "score": scores[0].astype(float),
                             "cluster": np.asarray(self.labels)[idx].astype(np.int64)})


def default_map_settings(encoder_name: str, n_docs: int, seed: int = 0) -> MapSettings:
    """The Corpus map page's settings before any override: ``sqrt(n/2)`` clusters (2..200, at most n), seed 0."""
    k = int(min(200, max(1, n_docs), max(2, round(float(np.sqrt(n_docs / 2))))))
    return MapSettings(encoder_name=encoder_name, k=k, seed=int(seed))


def map_cache_path(corpus: Corpus, settings: MapSettings) -> Path:
    """Folder of the cached map for this corpus and these settings."""
    payload = json.dumps({"corpus": corpus.content_hash, "format": _FORMAT, **asdict(settings)}, sort_keys=True)
    return cache_dir("maps") / hashlib.sha256(payload.encode()).hexdigest()[:32]


def _cluster_table(corpus: Corpus, labels, centroids, emb, k: int) -> pd.DataFrame:
    words = cluster_keywords(corpus.texts, labels, top_n=8, k=k)
    reps = representatives(emb, labels, centroids, n=3)
    sizes = np.bincount(labels, minlength=k)
    return pd.DataFrame({"cluster": np.arange(k, dtype=np.int64), "size": sizes.astype(np.int64),
                         "keywords": [", ".join(w) for w in words],
                         "representatives": [[corpus.ids[i] for i in r] for r in reps]})


def build_corpus_map(corpus: Corpus, settings: MapSettings, encoder: Encoder | None = None,
                     progress: StageProgress | None = None, use_cache: bool = True,
                     report: ProgressCallback | None = None) -> CorpusMap:
    """Embed, cluster, project and describe ``corpus``; read from / write to the map cache.

    ``progress(stage, fraction)`` is called with stages ``"embed"``, ``"cluster"``,
    ``"project"``, ``"keywords"`` (fraction in [0, 1] within the stage); ``report`` receives the
    same steps as :class:`core.corpus.progress.Progress` snapshots (done/total, rate, time left,
    one-time). ``encoder`` must be the one ``settings.encoder_name`` loads (aliases such as
    ``"hashing"`` for ``"hashing-128"`` are fine); by default it is loaded from that name.
    """
    if settings.k > len(corpus):
        raise ValueError(f"k={settings.k} clusters requested but the corpus has {len(corpus)} documents")
    if use_cache:
        cached = load_corpus_map(corpus, settings)
        if cached is not None:
            if progress is not None:
                progress("keywords", 1.0)
            return cached
    n = len(corpus)
    trackers = {stage: ProgressTracker(stage, report) for stage in ("embed", "cluster", "project", "keywords")}

    def step(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done / max(total, 1))
        trackers[stage].update(done, total)

    preload_umap()  # its import overlaps the embedding
    encoder = encoder or load_encoder(settings.encoder_name)
    step("embed", 0, n)
    emb = embed_corpus(corpus, encoder, progress=lambda done, total: step("embed", done, total), use_cache=use_cache)
    engine = str(embedding_provenance(corpus, encoder).get("engine", "local")) if use_cache else "local"
    trackers["cluster"].started = time.perf_counter()
    step("cluster", 0, n)
    km = kmeans(emb, settings.k, seed=settings.seed, niter=settings.niter)  # km.k <= settings.k, none empty
    w2 = cluster_w2_distances(emb, km.labels, km.k)
    nb = neighbour_graph(w2, settings.w2_threshold)
    step("cluster", n, n)
    trackers["project"].started = time.perf_counter()
    step("project", 0, n)
    xy = umap_project(emb, settings.umap_neighbors, settings.umap_min_dist, settings.seed)
    step("project", n, n)
    trackers["keywords"].started = time.perf_counter()
    step("keywords", 0, n)
    table = _cluster_table(corpus, km.labels, km.centroids, emb, km.k)
    step("keywords", n, n)
    cmap = CorpusMap(corpus, settings, emb, km.labels, km.centroids, xy, table, w2, nb, engine=engine,
                     k_note=km.k_note())
    if use_cache:
        save_corpus_map(cmap)
    return cmap


def setup_maps_dir() -> Path:
    """Maps ``make setup`` built (the built-in corpus's first map, ``python -m core.corpus prepare --setup``),
    beside the static model in the virtualenv; :func:`load_corpus_map` reads them when a home has none."""
    from core.corpus.encoders import setup_models_dir

    return setup_models_dir().parent / "maps"


def save_corpus_map(cmap: CorpusMap, root: Path | None = None) -> Path:
    """Write ``cmap`` to its cache folder (atomically: a temp folder renamed into place), under
    ``root`` instead of ``cache_dir("maps")`` when given. A full disk raises :class:`~core.disk.DiskFullError`
    naming the map, and removes the temporary folder."""
    final = map_cache_path(cmap.corpus, cmap.settings)
    if root is not None:
        final = Path(root) / final.name
        final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)  # this call's own: two sessions may save the same map at once
    try:
        with naming_disk_full(f"the map cache could not save the map of {len(cmap.corpus):,} documents", "maps"):
            tmp.mkdir(parents=True)
            for name in ("embeddings", "labels", "centroids", "xy", "w2", "neighbours"):
                np.save(tmp / f"{name}.npy", np.asarray(getattr(cmap, name)))
            cmap.clusters.to_json(tmp / "clusters.json", orient="records")
            (tmp / "engine.json").write_text(json.dumps({"engine": cmap.engine, "k_note": cmap.k_note}))
            (tmp / "done").write_text(json.dumps(asdict(cmap.settings)))
    except BaseException:  # a full disk gets the half-written folder's space back; earlier maps are untouched
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError:  # another process won the race; its copy is equivalent
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def load_corpus_map(corpus: Corpus, settings: MapSettings) -> CorpusMap | None:
    """The cached map of ``corpus`` with ``settings`` (this home's, else one built at set-up), or ``None``
    when absent or unreadable."""
    path = map_cache_path(corpus, settings)
    if not (path / "done").exists():
        path = setup_maps_dir() / path.name
    if not (path / "done").exists():
        return None
    try:
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r" if name == "embeddings" else None)
                  for name in ("embeddings", "labels", "centroids", "xy", "w2", "neighbours")}
        clusters = pd.read_json(path / "clusters.json", orient="records")
    except (OSError, ValueError):
        return None
    try:
        recorded = json.loads((path / "engine.json").read_text())
        engine, k_note = str(recorded.get("engine", "local")), str(recorded.get("k_note", ""))
    except (OSError, ValueError, AttributeError):
        engine, k_note = "local", ""  # maps written before engines were recorded
    if len(arrays["labels"]) != len(corpus) or (clusters["size"] == 0).any():
        return None  # another corpus; or a map from before empty clusters were dropped: built again
    clusters["representatives"] = clusters["representatives"].map(lambda r: [str(x) for x in r])
    clusters["keywords"] = clusters["keywords"].fillna("").astype(str)
    return CorpusMap(corpus, settings, **arrays, clusters=clusters, engine=engine, k_note=k_note)
