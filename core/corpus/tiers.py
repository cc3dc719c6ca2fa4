"""Encoder tiers, measured and honest: speed and agreement with MiniLM on the current corpus.

A tier is an encoder the map can be built with: the static model2vec model (fast), the
packaged MiniLM (the reference), and the hashing test encoder. :func:`measure_tier` embeds a
sample of the corpus with a tier and compares it with MiniLM vectors of the same documents:

- documents/s of the tier (encode only, timed on the sample);
- neighbour recall@10: for each sample document, the share of its 10 nearest neighbours
  (cosine, within the sample) under MiniLM that are also among its 10 nearest under the tier;
- ARI between k-means clusterings of the sample in both spaces (same k and seed).

MiniLM vectors come from whatever is already embedded (the background upgrade job's chunks),
so measuring costs no extra transformer time once the upgrade has started. Results are cached
as JSON under ``cache_dir("tiers")`` keyed by corpus hash, tier, reference and sample size.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from core.disk import write_atomic
from core.settings import cache_dir

TIER_LABELS = {
    "static-minilm": "Static (model2vec distilled from MiniLM)",
    "all-MiniLM-L6-v2 (packaged)": "MiniLM (all-MiniLM-L6-v2, torch)",
    "hashing": "Hashing (no model)",
}


@dataclass(frozen=True)
class TierQuality:
    """One tier measured against the reference on ``n_sample`` documents of one corpus.

    ``docs_per_s`` of the tier and, when known, of the reference (``ref_docs_per_s``);
    ``recall_at_10`` in [0, 1]; ``ari`` in [-0.5, 1] (1 = the same clusters).
    """

    tier: str
    reference: str
    n_sample: int
    docs_per_s: float
    ref_docs_per_s: float | None
    recall_at_10: float
    ari: float
    k: int

    @property
    def speedup(self) -> float | None:
        return None if not self.ref_docs_per_s else self.docs_per_s / self.ref_docs_per_s

    def describe(self) -> str:
        speed = f"{self.docs_per_s:,.0f} docs/s"
        if self.speedup is not None:
            speed += f" ({self.speedup:,.0f}x MiniLM)"
        return (f"{speed}; neighbour recall@10 vs MiniLM {self.recall_at_10:.2f}, k-means ARI {self.ari:.2f} "
                f"(on {self.n_sample:,} documents)")


def unit_rows(x) -> NDArray[np.float32]:
    """``x (n, d)`` as float32 with each row scaled to unit length (a zero row stays zero); a new array.

    >>> unit_rows([[3.0, 4.0], [0.0, 0.0]]).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def neighbour_recall(a: NDArray[np.float32], b: NDArray[np.float32], k: int = 10) -> float:
    """Mean share of each row's ``k`` nearest neighbours in ``b`` (the reference) also nearest in ``a``.

    ``a (n, d1)`` and ``b (n, d2)`` hold the same ``n`` documents in two spaces; cosine
    similarity, self excluded, exact. 1.0 when both spaces order neighbours alike.
    """
    if len(a) != len(b):
        raise ValueError(f"both spaces must hold the same documents: {len(a)} vs {len(b)} rows")
    n = len(a)
    if n < 2:
        raise ValueError("neighbour recall needs at least 2 documents")
    k = min(int(k), n - 1)
    hits = 0
    for start in range(0, n, 2048):  # blocks keep the (block, n) similarity matrices small
        rows = slice(start, min(start + 2048, n))
        top = []
        for x in (unit_rows(a), unit_rows(b)):
            sims = x[rows] @ x.T
            sims[np.arange(sims.shape[0]), np.arange(rows.start, rows.stop)] = -np.inf
            top.append(np.argpartition(-sims, k, axis=1)[:, :k])
        hits += sum(len(np.intersect1d(p, q, assume_unique=True)) for p, q in zip(*top))
    return hits / (n * k)


def kmeans_ari(a: NDArray[np.float32], b: NDArray[np.float32], k: int, seed: int = 42) -> float:
    """Adjusted Rand index between faiss k-means clusterings of the same documents in two spaces."""
    from sklearn.metrics import adjusted_rand_score

    from core.corpus.cluster import kmeans

    k = max(2, min(int(k), len(a) - 1))
    labels_b, labels_a = (kmeans(unit_rows(x), k, seed=seed).labels for x in (b, a))
    return float(adjusted_rand_score(labels_b, labels_a))


def _quality_path(content_hash: str, tier: str, reference: str, n: int) -> Path:
    key = hashlib.sha256(f"{content_hash}|{tier}|{reference}|{n}".encode()).hexdigest()[:24]
    return cache_dir("tiers") / f"{key}.json"


def measure_tier(texts, reference_vectors: NDArray[np.float32], tier_encoder, content_hash: str,
                 reference: str = "all-MiniLM-L6-v2 (packaged)", ref_docs_per_s: float | None = None,
                 k: int | None = None, use_cache: bool = True, read_only: bool = False) -> TierQuality | None:
    """Measure ``tier_encoder`` against ``reference_vectors (n, d)`` of the same ``texts`` (cached).

    ``content_hash`` names the corpus (with the sample size it keys the cache); ``k`` defaults
    to ``sqrt(n / 2)`` clusters, as the map does. ``read_only``: the cached figures or ``None``,
    never a measurement.
    """
    texts = list(texts)
    n = len(texts)
    if n != len(reference_vectors):
        raise ValueError(f"{n} texts but {len(reference_vectors)} reference vectors")
    if n < 20:
        raise ValueError(f"measuring a tier needs at least 20 documents embedded by the reference, got {n}")
    path = _quality_path(content_hash, tier_encoder.name, reference, n)
    if use_cache and path.exists():
        try:
            return TierQuality(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            pass
    if read_only:
        return None
    tier_encoder.encode(texts[: min(n, 64)])  # warm-up: first calls pay one-time set-up
    t = time.perf_counter()
    vecs = tier_encoder.encode(texts)
    speed = n / max(time.perf_counter() - t, 1e-9)
    k = int(k or max(2, round(np.sqrt(n / 2))))
    quality = TierQuality(tier_encoder.name, reference, n, float(speed), ref_docs_per_s,
                          float(neighbour_recall(vecs, reference_vectors)), kmeans_ari(vecs, reference_vectors, k), k)
    if use_cache:
        write_atomic(path, lambda tmp: tmp.write_text(json.dumps(asdict(quality))),
                     f"the measurement of the {tier_encoder.name} tier could not be saved", "tiers")
    return quality


def measure_from_upgrade(corpus, job, tier_encoder, max_sample: int = 1024, step: int = 256,
                         compute: bool | None = None) -> TierQuality | None:
    """Measure ``tier_encoder`` on the documents the background job (:mod:`core.corpus.upgrade`)
    has embedded so far (a random sample, since the job embeds in a seeded random order).

    The sample size is rounded down to a multiple of ``step`` (at most ``max_sample``), so the
    figures are measured a few times as the job advances and cached in between; ``None`` until
    ``step`` documents are done. The reference's documents/s is the job's own rate. While the
    job's worker runs it measures each step itself, before it reports the step done
    (``compute=None``: only a caller of a job without a live worker measures; the page then
    never spends seconds of a rerun on it).
    """
    rows, vecs = job.done_rows()
    n = min(len(rows), int(max_sample)) // int(step) * int(step)
    if n == 0:
        return None
    read_only = job.state == "running" if compute is None else not compute
    return measure_tier([corpus.texts[int(r)] for r in rows[:n]], vecs[:n], tier_encoder, corpus.content_hash,
                        reference=job.spec["encoder"], ref_docs_per_s=job.progress().rate, read_only=read_only)
