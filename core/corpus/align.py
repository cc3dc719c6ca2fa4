"""A ridge map from the static tier's space into MiniLM's, fitted on the corpus's own documents.

The static tier (model2vec) agrees with MiniLM on only a third of each document's nearest
neighbours. For corpora too large to embed with MiniLM, a seeded sample of a thousand
documents is embedded with both, and a linear map ``y = x W + b`` (ridge regression, its
strength chosen by cross-validation on the fitted part) takes static vectors into MiniLM's
space; every document's static vector is then mapped and re-normalised. The map costs one
matrix product per chunk; MiniLM reads only the sample (about a minute on 2 cores).

:func:`fit_alignment` fits on three quarters of the sample and measures neighbour recall@10 and
k-means ARI against MiniLM on the held-out quarter, with and without the map (so the figure
shown is one the map did not see), then refits on the whole sample. :class:`AlignedEncoder`
is a static encoder followed by the map (what a query must be encoded with to search an
aligned index); its space id names the map, so aligned and unaligned vectors never mix.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(400, 8)).astype(np.float32)
>>> y = x @ rng.normal(size=(8, 12)).astype(np.float32)
>>> alignment, report = fit_alignment(x, y, "static/demo", "minilm/demo", seed=0)
>>> alignment.weights.shape, round(float(report["held_out_cosine"]), 2)
((8, 12), 1.0)
>>> bool(np.allclose(np.linalg.norm(alignment.apply(x[:3]), axis=1), 1.0))
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from core.corpus.tiers import kmeans_ari, neighbour_recall, unit_rows

ALPHAS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)  # ridge strength, as a share of the mean feature variance


@dataclass(frozen=True)
class Alignment:
    """``y = x @ weights + bias``, then unit rows: static space ``(d_in)`` into the reference's ``(d_out)``."""

    weights: NDArray[np.float32]
    bias: NDArray[np.float32]
    alpha: float
    source_space: str
    reference_space: str

    @property
    def space_id(self) -> str:
        """The aligned space: source, reference and a digest of the map itself."""
        digest = hashlib.sha256(self.weights.tobytes() + self.bias.tobytes()).hexdigest()[:10]
        return f"{self.source_space}>ridge-{digest}>{self.reference_space}"

    @property
    def dim(self) -> int:
        return int(self.weights.shape[1])

    def apply(self, x: NDArray) -> NDArray[np.float32]:
        """Mapped unit rows ``(n, d_out)`` float32 of ``x (n, d_in)``."""
        return unit_rows(np.asarray(x, dtype=np.float32) @ self.weights + self.bias)

    def save(self, path: str | Path) -> None:
        np.savez(path, weights=self.weights, bias=self.bias, alpha=self.alpha,
                 source_space=self.source_space, reference_space=self.reference_space)

    @classmethod
    def load(cls, path: str | Path) -> Alignment:
        with np.load(path) as z:
            return cls(z["weights"].astype(np.float32), z["bias"].astype(np.float32), float(z["alpha"]),
                       str(z["source_space"]), str(z["reference_space"]))


def _ridge(x: NDArray, y: NDArray, alpha: float) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Ridge with an intercept: centre both, solve ``(XcT Xc + lam I) W = XcT Yc``, ``lam = alpha * n * mean var``."""
    x64, y64 = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mx, my = x64.mean(axis=0), y64.mean(axis=0)
    xc, yc = x64 - mx, y64 - my
    gram = xc.T @ xc
    lam = float(alpha) * max(float(np.trace(gram)) / gram.shape[0], 1e-12)
    w = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), xc.T @ yc)
    return w.astype(np.float32), (my - mx @ w).astype(np.float32)


def _mean_cosine(x: NDArray, y: NDArray, w: NDArray, b: NDArray) -> float:
    return float(np.mean(np.sum(unit_rows(x @ w + b) * unit_rows(y), axis=1)))


def _choose_alpha(x: NDArray, y: NDArray, folds: int, rng: np.random.Generator) -> float:
    """The ``ALPHAS`` value with the best mean cosine to ``y`` over ``folds``-fold cross-validation."""
    parts = np.array_split(rng.permutation(len(x)), folds)
    scores = []
    for alpha in ALPHAS:
        cos = []
        for i, test in enumerate(parts):
            train = np.concatenate([p for j, p in enumerate(parts) if j != i])
            w, b = _ridge(x[train], y[train], alpha)
            cos.append(_mean_cosine(x[test], y[test], w, b))
        scores.append(np.mean(cos))
    return float(ALPHAS[int(np.argmax(scores))])


def fit_alignment(x: NDArray, y: NDArray, source_space: str, reference_space: str, seed: int = 42,
                  held_out: float = 0.25) -> tuple[Alignment, dict]:
    """Fit the ridge map from ``x (n, d_in)`` (static vectors) to ``y (n, d_out)`` (the reference's, same rows).

    Returns the map refitted on all ``n`` rows and a report measured on the held-out share the
    first fit did not see: ``recall_static``/``recall_aligned`` (neighbour recall@10 against the
    reference), ``ari_static``/``ari_aligned`` (k-means ARI, ``k = sqrt(m / 2)``),
    ``held_out_cosine`` (mean cosine of mapped to true vectors), ``alpha``, ``docs``, ``held_out``.
    Needs at least 40 rows.
    """
    n = len(x)
    if n != len(y):
        raise ValueError(f"both spaces must hold the same documents: {n} vs {len(y)} rows")
    if n < 40:
        raise ValueError(f"a ridge map needs at least 40 documents embedded in both spaces, got {n}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    m = max(20, int(round(n * float(held_out))))
    test, train = order[:m], order[m:]
    alpha = _choose_alpha(x[train], y[train], 4, rng)
    w, b = _ridge(x[train], y[train], alpha)
    mapped = unit_rows(x[test] @ w + b)
    k = max(2, round(np.sqrt(m / 2)))
    report = {"docs": n, "held_out": m, "alpha": alpha, "held_out_cosine": _mean_cosine(x[test], y[test], w, b),
              "recall_static": neighbour_recall(x[test], y[test]), "recall_aligned": neighbour_recall(mapped, y[test]),
              "ari_static": kmeans_ari(x[test], y[test], k, seed=seed),
              "ari_aligned": kmeans_ari(mapped, y[test], k, seed=seed), "k": k}
    w, b = _ridge(x, y, alpha)
    return Alignment(w, b, alpha, source_space, reference_space), report


class AlignedEncoder:
    """A base encoder (the static tier) followed by an :class:`Alignment`: unit rows ``(n, alignment.dim)``."""

    def __init__(self, base, alignment: Alignment) -> None:
        self.base = base
        self.alignment = alignment
        self.name = f"{base.name}+ridge"
        self.space_id = alignment.space_id
        self.dim = alignment.dim
        self.max_tokens = base.max_tokens

    def encode(self, texts, batch_size: int = 1024, progress=None) -> NDArray[np.float32]:
        return self.alignment.apply(self.base.encode(texts, batch_size=batch_size, progress=progress))


def describe_alignment(report: dict) -> str:
    """One line for a page or the CLI: what the map changed, measured on held-out documents."""
    if "error" in report:
        return f"not aligned to MiniLM ({report['error']})"
    return (f"aligned to {report.get('reference', 'MiniLM')} by a ridge map fitted on {report['docs']:,} documents: "
            f"on {report['held_out']:,} held-out documents neighbour recall@10 {report['recall_static']:.2f} -> "
            f"{report['recall_aligned']:.2f}, k-means ARI {report['ari_static']:.2f} -> {report['ari_aligned']:.2f}")
