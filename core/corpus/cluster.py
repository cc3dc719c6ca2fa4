"""Clusters of document embeddings: faiss k-means, the elbow curve, keywords, representatives,
and EQUAL's cluster neighbour graph.

Sources: EQUAL (Zhang et al., arXiv 2505.12250), stage B: faiss k-means on L2-normalised
embeddings, seed 42; clusters whose squared 2-Wasserstein distance between diagonal-Gaussian
fits is below 0.2 are neighbours. Keywords: class-based TF-IDF as in BERTopic
(Grootendorst 2022).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray


@dataclass(frozen=True)
class KMeansResult:
    """``labels`` shape (n,) int64; ``centroids`` shape (k, d) float32; ``inertia`` = sum of
    squared distances of *every* point to its centroid; ``sizes`` shape (k,) int64, every one > 0.

    ``requested_k``: the ``k`` asked for (``0``: not recorded); ``distinct``: the number of distinct rows, counted
    only when a cluster came out empty (``None`` otherwise)."""

    labels: NDArray[np.int64]
    centroids: NDArray[np.float32]
    inertia: float
    sizes: NDArray[np.int64]
    requested_k: int = 0
    distinct: int | None = None

    @property
    def k(self) -> int:
        """The number of clusters, all of them non-empty."""
        return len(self.centroids)

    def k_note(self) -> str:
        """Why ``k`` is below the one asked for (``""`` when it is not): :func:`k_lowered_note`."""
        return k_lowered_note(self.requested_k, self.k, self.distinct)


def k_lowered_note(requested: int, kept: int, distinct: int | None = None) -> str:
    """The words for a k-means that kept fewer clusters than asked (``""`` when it kept them all).

    >>> k_lowered_note(12, 3, 3)
    'k lowered to 3: only 3 distinct documents (every other one embeds exactly like one of them).'
    >>> k_lowered_note(12, 10, 40)
    'k lowered to 10: 2 of the 12 clusters came out empty and were dropped.'
    >>> k_lowered_note(5, 5, None)
    ''
    """
    if not requested or kept >= requested:
        return ""
    if distinct is not None and distinct < requested:
        extra = f"; {distinct - kept} more came out empty and were dropped" if kept < distinct else ""
        return (f"k lowered to {kept}: only {distinct} distinct documents (every other one embeds exactly like one "
                f"of them){extra}.")
    return f"k lowered to {kept}: {requested - kept} of the {requested} clusters came out empty and were dropped."


def without_empty_clusters(labels: NDArray[np.integer], centroids: NDArray[np.float32],
                   k: int) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.int64]]:
    """Drop the clusters no point is nearest to, renumbering the others ``0..k'-1`` in their order."""
    sizes = np.bincount(labels, minlength=k).astype(np.int64)
    kept = np.flatnonzero(sizes)
    new_of_old = np.full(k, -1, dtype=np.int64)
    new_of_old[kept] = np.arange(len(kept))
    return new_of_old[labels], np.ascontiguousarray(centroids[kept]), sizes[kept]


def _as_f32(emb) -> NDArray[np.float32]:
    arr = np.ascontiguousarray(np.asarray(emb, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"embeddings must have shape (n, d) with n >= 1, got {arr.shape}")
    return arr


def kmeans(
    emb: NDArray[np.float32],
    k: int,
    seed: int = 42,
    niter: int = 25,
    max_points_per_centroid: int = 256,
) -> KMeansResult:
    """faiss k-means (Lloyd, not spherical), then an exact assignment of every point; no cluster is empty.

    faiss trains on at most ``max_points_per_centroid * k`` sampled points; the labels and
    the inertia ``sum_i ||x_i - c_{l_i}||^2`` are computed on the full data afterwards. A cluster no
    point is nearest to is dropped and the others renumbered in order; when that happens and the rows hold
    fewer than ``k`` distinct vectors (a corpus of repeats), each distinct vector is one cluster (the optimum for
    that many), so ``result.k <= k`` and :meth:`KMeansResult.k_note` says why.
    """
    x = _as_f32(emb)
    n = x.shape[0]
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > n:
        raise ValueError(f"k={k} clusters requested but only n={n} documents: choose k <= {n}")
    if niter < 1:
        raise ValueError(f"niter must be >= 1, got {niter}")
    labels, centroids, inertia = _lloyd(x, int(k), seed, niter, max_points_per_centroid)
    distinct = None
    if len(np.unique(labels)) < k:  # an empty cluster: are there fewer distinct rows than clusters?
        uniq, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
        distinct = len(uniq)
        if distinct < k:  # every distinct row its own cluster (k-means' optimum: inertia 0), in order of appearance
            order = np.argsort(first, kind="stable")
            rank = np.empty(distinct, dtype=np.int64)
            rank[order] = np.arange(distinct)
            labels, centroids, inertia = rank[inverse.reshape(-1)], np.ascontiguousarray(uniq[order]), 0.0
    labels, centroids, sizes = without_empty_clusters(labels, centroids, len(centroids))
    return KMeansResult(labels, centroids, inertia, sizes, requested_k=int(k), distinct=distinct)


def _lloyd(x: NDArray[np.float32], k: int, seed: int, niter: int,
           max_points_per_centroid: int) -> tuple[NDArray[np.int64], NDArray[np.float32], float]:
    """faiss's k-means of ``x`` into ``k``, then every row's nearest centroid: ``(labels, centroids, inertia)``."""
    import faiss

    d = x.shape[1]
    km = faiss.Kmeans(d, int(k), niter=int(niter), seed=int(seed), spherical=False, verbose=False,
                      max_points_per_centroid=int(max_points_per_centroid), min_points_per_centroid=1)
    km.train(x)
    centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
    index = faiss.IndexFlatL2(d)
    index.add(centroids)
    dist, idx = index.search(x, 1)
    return idx[:, 0].astype(np.int64), centroids, float(np.maximum(dist[:, 0], 0).astype(np.float64).sum())


def inertia_curve(emb: NDArray[np.float32], ks: Sequence[int], seed: int = 42, niter: int = 25) -> pd.DataFrame:
    """Full-data inertia for each ``k`` in ``ks`` (those > n are skipped): columns ``k``, ``inertia``."""
    x = _as_f32(emb)
    rows = [(int(k), kmeans(x, int(k), seed=seed, niter=niter).inertia) for k in sorted(set(ks)) if 1 <= k <= len(x)]
    return pd.DataFrame(rows, columns=["k", "inertia"])


def suggest_k(curve: pd.DataFrame) -> int:
    """Elbow of an inertia curve: the ``k`` farthest from the chord joining its first and last point.

    Both axes are scaled to [0, 1] first, so the answer does not depend on units.
    """
    if len(curve) == 0:
        raise ValueError("the inertia curve is empty")
    c = curve.sort_values("k")
    k = c["k"].to_numpy(float)
    y = c["inertia"].to_numpy(float)
    if len(c) < 3:
        return int(k[0])
    kx = (k - k[0]) / max(k[-1] - k[0], 1e-12)
    yy = (y - y.min()) / max(y.max() - y.min(), 1e-12)
    p0, p1 = np.array([kx[0], yy[0]]), np.array([kx[-1], yy[-1]])
    chord = (p1 - p0) / max(float(np.linalg.norm(p1 - p0)), 1e-12)
    pts = np.stack([kx, yy], axis=1) - p0
    dist = np.abs(pts[:, 0] * chord[1] - pts[:, 1] * chord[0])
    return int(k[int(np.argmax(dist))])


MAX_KEYWORD_CHARS = 30


def cluster_keywords(texts: Sequence[str], labels: NDArray[np.int64], top_n: int = 8,
                     k: int | None = None) -> list[list[str]]:
    """Top ``top_n`` words per cluster by class-based TF-IDF (BERTopic's c-TF-IDF).

    All documents of a cluster form one class document; with term frequency ``tf_{t,c}``
    normalised by the class length, ``A`` the mean number of words per class and ``f_t`` the
    term's frequency over all classes, ``w_{t,c} = tf_{t,c} * log(1 + A / f_t)``. English
    stop words and words longer than :data:`MAX_KEYWORD_CHARS` are dropped. Returns one list per cluster ``0..k-1``
    (empty for an empty cluster).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels, dtype=np.int64)
    if len(texts) != len(labels):
        raise ValueError(f"texts ({len(texts)}) and labels ({len(labels)}) differ in length")
    k = int(labels.max()) + 1 if k is None else int(k)
    joined: list[list[str]] = [[] for _ in range(k)]
    for text, lab in zip(texts, labels):
        joined[lab].append(text)
    docs = [" ".join(parts) for parts in joined]
    # words of 2..MAX_KEYWORD_CHARS characters: a 5,000-character token is not a keyword (it was one,
    # and its legend entry squeezed the map to 64 px)
    vec = CountVectorizer(stop_words="english",
                          token_pattern=rf"(?u)\b[a-zA-Z][a-zA-Z0-9_]{{1,{MAX_KEYWORD_CHARS - 1}}}\b")
    try:
        counts = vec.fit_transform(docs).astype(np.float64)
    except ValueError:  # only stop words / no tokens at all
        return [[] for _ in range(k)]
    words = vec.get_feature_names_out()
    row_sums = np.asarray(counts.sum(axis=1)).ravel()
    tf = counts.multiply(1.0 / np.where(row_sums == 0, 1.0, row_sums)[:, None]).tocsr()
    f_t = np.asarray(counts.sum(axis=0)).ravel()
    avg = row_sums.mean()
    idf = np.log(1.0 + avg / np.where(f_t == 0, 1.0, f_t))
    scores = tf.multiply(idf[None, :]).tocsr()
    out = []
    for c in range(k):
        row = scores.getrow(c)
        order = np.argsort(-row.data, kind="stable")[:top_n]
        out.append([str(words[row.indices[j]]) for j in order])
    return out


def representatives(emb: NDArray[np.float32], labels: NDArray[np.int64], centroids: NDArray[np.float32],
                    n: int = 3) -> list[list[int]]:
    """Indices of the ``n`` documents of each cluster nearest (L2) to its centroid, nearest first."""
    x = _as_f32(emb)
    labels = np.asarray(labels, dtype=np.int64)
    c = np.asarray(centroids, dtype=np.float32)
    d2 = ((x - c[labels]) ** 2).sum(axis=1)
    out: list[list[int]] = []
    for j in range(len(c)):
        members = np.flatnonzero(labels == j)
        out.append(members[np.argsort(d2[members], kind="stable")[:n]].tolist())
    return out


def cluster_w2_distances(emb: NDArray[np.float32], labels: NDArray[np.int64], k: int) -> NDArray[np.float64]:
    """Squared 2-Wasserstein distances between diagonal-Gaussian fits of the clusters, ``shape (k, k)``.

    ``W2^2(i, j) = ||mu_i - mu_j||^2 + sum_d (sigma_id - sigma_jd)^2`` with ``mu``, ``sigma`` the
    per-dimension mean and (population) standard deviation of each cluster (EQUAL's code).
    An empty cluster gets ``inf`` against every other cluster.
    """
    x = _as_f32(emb).astype(np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    d = x.shape[1]
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.zeros((k, d))
    sq = np.zeros((k, d))
    np.add.at(sums, labels, x)
    np.add.at(sq, labels, x * x)
    safe = np.where(counts == 0, 1.0, counts)[:, None]
    mu = sums / safe
    sigma = np.sqrt(np.maximum(sq / safe - mu * mu, 0.0))

    def sqdist(a: np.ndarray) -> np.ndarray:
        n2 = (a * a).sum(axis=1)
        return np.maximum(n2[:, None] + n2[None, :] - 2 * a @ a.T, 0.0)

    w2 = sqdist(mu) + sqdist(sigma)
    np.fill_diagonal(w2, 0.0)
    empty = counts == 0
    w2[empty, :] = np.inf
    w2[:, empty] = np.inf
    return w2


def neighbour_graph(dist: NDArray[np.float64], threshold: float = 0.2) -> NDArray[np.bool_]:
    """``dist < threshold`` off the diagonal: EQUAL's neighbour clusters (they share rewards)."""
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    g = np.asarray(dist) < threshold
    np.fill_diagonal(g, False)
    return g
