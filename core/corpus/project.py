"""2-D projection of document embeddings: UMAP (cosine) fed with faiss exact nearest neighbours.

UMAP's own nearest-neighbour search (NN-descent) dominates its run time; a faiss
inner-product search on unit vectors is much faster, so it is passed as ``precomputed_knn``.
Up to ``EXACT_MAX`` points the search is exact (``IndexFlatIP``); above, where the exact
search grows as n^2 (100k x 384 would be ~8 TFLOP), an inverted-file index (``IndexIVFFlat``,
``sqrt(n)`` lists trained on a sample, ``nprobe`` = 1/8 of them) searches ~12% of the points;
UMAP's own NN-descent is approximate too, and recall stays above 0.95 (tested). Distances are
``1 - cos`` clipped at 0, the cosine distance UMAP would compute itself.

Small inputs: ``n_neighbors`` is capped at ``n - 1``. For ``n < 4`` UMAP's spectral layout is
undefined, so the projection is the first two principal components (scaled to unit spread,
zero-padded when there are fewer), which keeps the map drawable for a tiny corpus.

Compilation. UMAP's numba functions are compiled on first use in every process (~25 s of a
first map on the busy 2-core machine, against ~8 s for the layout itself) and, unlike
pynndescent's, are not marked ``cache=True``. :func:`cache_umap_compilation` turns numba's
on-disk cache on for them before their first call, so one compilation (at ``make setup``:
``python -m core.corpus prepare --setup``) serves every later process.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
from numpy.typing import NDArray


def _unit(emb) -> NDArray[np.float32]:
    x = np.ascontiguousarray(np.asarray(emb, dtype=np.float32))
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"embeddings must have shape (n, d) with n >= 1, got {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(norms == 0, 1.0, norms))


EXACT_MAX = 10_000
_preload: threading.Thread | None = None
_UMAP_SKIP = ("umap.plot", "umap.parametric_umap", "umap.aligned_umap", "umap.validation")


def cache_umap_compilation() -> int:
    """Turn numba's on-disk cache on for UMAP's compiled functions not yet compiled; returns how many.

    Idempotent, and harmless where the cache cannot be written (numba then compiles as before).
    """
    import importlib
    import pkgutil

    import umap
    from numba.core.registry import CPUDispatcher

    enabled = 0
    for info in pkgutil.iter_modules(umap.__path__, "umap."):
        if info.name in _UMAP_SKIP:
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # an optional part of umap whose dependency is missing
            continue
        for obj in vars(module).values():
            uncached = type(getattr(obj, "_cache", None)).__name__ == "NullCache"
            if isinstance(obj, CPUDispatcher) and uncached and not obj.signatures:
                obj.enable_caching()
                enabled += 1
    return enabled


def _index(x: NDArray[np.float32], exact: bool, seed: int = 0):
    import faiss

    d = x.shape[1]
    index: faiss.Index
    if exact:
        index = faiss.IndexFlatIP(d)
    else:
        nlist = int(np.sqrt(len(x)))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        train = x[np.random.default_rng(seed).choice(len(x), size=min(len(x), 64 * nlist), replace=False)]
        ivf.train(train)
        ivf.nprobe = max(1, nlist // 8)
        index = ivf
    index.add(x)
    return index


def knn(emb: NDArray[np.float32], k: int, exact: bool | None = None) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Cosine kNN with faiss: ``(indices, distances)``, each ``shape (n, k)``.

    Exact (``IndexFlatIP``) up to :data:`EXACT_MAX` points unless ``exact`` says otherwise,
    inverted-file above (see the module docstring). Each point is its own first neighbour
    (distance 0), as UMAP expects. ``distances = 1 - cos``, clipped at 0; a row the
    approximate search could not fill (fewer than ``k`` points probed) repeats its last neighbour.
    """
    x = _unit(emb)
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n={n}, got {k}")
    sims, idx = _index(x, n <= EXACT_MAX if exact is None else exact).search(x, k)
    short = idx < 0
    if short.any():  # IVF: a probed region held fewer than k points
        rows = np.flatnonzero(short.any(axis=1))
        last = np.maximum((~short[rows]).sum(axis=1) - 1, 0)
        for r, j in zip(rows, last):
            idx[r, j + 1:], sims[r, j + 1:] = idx[r, j], sims[r, j]
    # make sure self comes first (ties between duplicates may order it second)
    own = np.arange(n)
    for i in np.flatnonzero(idx[:, 0] != own):
        row = [j for j in dict.fromkeys(idx[i]) if j != i and j >= 0][: k - 1]
        row += [row[-1] if row else i] * (k - 1 - len(row))
        idx[i] = [i] + row
        sims[i] = np.concatenate([[1.0], x[row] @ x[i]]) if row else [1.0]
    dist = np.maximum(1.0 - sims, 0.0).astype(np.float32)
    dist[:, 0] = 0.0
    return idx.astype(np.int64), dist


def preload_umap() -> None:
    """Start importing UMAP (~6 s of numba, scipy and scikit-learn on the busy machine) in a daemon thread,
    once, so it overlaps the embedding that comes before the layout; a later ``import umap`` waits for it."""
    global _preload
    if _preload is None and "umap" not in sys.modules:
        import importlib

        _preload = threading.Thread(target=importlib.import_module, args=("umap",), name="preload-umap", daemon=True)
        _preload.start()


def umap_project(emb: NDArray[np.float32], n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 42,
                 n_epochs: int | None = 200) -> NDArray[np.float32]:
    """UMAP 2-D layout (metric cosine) with faiss kNN; ``shape (n, 2)`` float32.

    Parameters
    ----------
    n_neighbors : int
        UMAP's neighbourhood size (capped at ``n - 1``).
    min_dist : float
        UMAP's minimum distance in the layout, in ``[0, 1]``.
    seed : int
        ``random_state`` (UMAP then runs single-threaded, deterministic).
    n_epochs : int, optional
        200 (UMAP's own choice above 10,000 points; below it would run 500, 2.5x the time of a
        first map's layout for no visible change); ``None`` for UMAP's default.
    """
    if n_neighbors < 2:
        raise ValueError(f"n_neighbors must be >= 2, got {n_neighbors}")
    if not 0.0 <= min_dist <= 1.0:
        raise ValueError(f"min_dist must be in [0, 1], got {min_dist}")
    x = _unit(emb)
    n = len(x)
    if n < 4:
        centred = x - x.mean(axis=0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        xy = np.zeros((n, 2), dtype=np.float32)
        comps = centred @ vt[:2].T
        xy[:, : comps.shape[1]] = comps
        spread = np.abs(xy).max() or 1.0
        return (xy / spread).astype(np.float32)
    import warnings

    if _preload is not None:  # two threads importing scikit-learn at once can each see the other's half-made module
        _preload.join()  # ("cannot import name 'clone' from partially initialized module 'sklearn.base'"): both fail
    import umap

    cache_umap_compilation()
    k = min(int(n_neighbors), n - 1)
    idx, dist = knn(x, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state", spectral fallbacks
        reducer = umap.UMAP(n_neighbors=k, min_dist=float(min_dist), metric="cosine", random_state=int(seed),
                            n_components=2, precomputed_knn=(idx, dist), init="spectral" if n > k + 1 else "random",
                            n_epochs=n_epochs)
        xy = reducer.fit_transform(x)
    return np.asarray(xy, dtype=np.float32)
