"""Metrics of a prediction matrix against the full truth and on CTAR's test sets.

* :func:`calc_mse`, :func:`calc_mae` over all pairs (``(n, M)`` prediction vs truth);
* :func:`calc_auc` rank-based ROC AUC (Mann-Whitney U with mid-ranks for ties), vectorised;
* :func:`calc_ndcg_at_k` mean per-user NDCG@K with graded relevance (gain ``2^rel - 1``);
* :func:`calc_auc_on_pairs` AUC on a list of (row, column, label) pairs, e.g. CTAR Test I/II/III
  as the released protocol scores them (labels ``islike``);
* :func:`popularity_scores` the non-personalised baseline (each item's observation count).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from core.debias.data import DebiasConfigError


def _same_shape(a, b, what: str):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise DebiasConfigError(f"{what}: prediction {a.shape} and truth {b.shape} differ in shape")
    return a, b


def calc_mse(pred, truth) -> float:
    p, t = _same_shape(pred, truth, "mse")
    return float(np.mean((p - t) ** 2))


def calc_mae(pred, truth) -> float:
    p, t = _same_shape(pred, truth, "mae")
    return float(np.mean(np.abs(p - t)))


def calc_auc(scores, labels) -> float:
    """ROC AUC of ``scores`` for binary ``labels`` (any shape, flattened); NaN if one class is missing."""
    s = np.asarray(scores, float).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    if s.shape != y.shape:
        raise DebiasConfigError(f"auc: scores {s.shape} and labels {y.shape} differ in shape")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calc_ndcg_at_k(pred, relevance, k: int = 10) -> float:
    """Mean over users of DCG@K / ideal DCG@K, gain ``2^rel - 1``, discount ``1/log2(rank + 1)``."""
    p, rel = _same_shape(pred, relevance, "ndcg")
    if k < 1:
        raise DebiasConfigError(f"k must be >= 1, got {k}")
    k = min(k, p.shape[1])
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    top = np.argsort(-p, axis=1)[:, :k]
    dcg = ((2.0 ** np.take_along_axis(rel, top, axis=1) - 1) * disc).sum(axis=1)
    ideal = ((2.0 ** np.sort(rel, axis=1)[:, ::-1][:, :k] - 1) * disc).sum(axis=1)
    ok = ideal > 0
    return float(np.mean(dcg[ok] / ideal[ok])) if ok.any() else float("nan")


def calc_auc_on_pairs(pred, rows, cols, labels) -> float:
    """AUC of ``pred[rows, cols]`` for ``labels`` (e.g. a CTAR test set's ``islike``)."""
    p = np.asarray(pred, float)
    rows, cols = np.asarray(rows, int), np.asarray(cols, int)
    if rows.size and (rows.max() >= p.shape[0] or cols.max() >= p.shape[1] or rows.min() < 0 or cols.min() < 0):
        raise DebiasConfigError(f"test pairs index outside the prediction matrix {p.shape}")
    return calc_auc(p[rows, cols], labels)


def popularity_scores(observed) -> NDArray[np.float64]:
    """Non-personalised baseline: every user gets each item's observation count."""
    o = np.asarray(observed, float)
    return np.broadcast_to(o.sum(axis=0, keepdims=True), o.shape).astype(float)


def summarize_prediction(pred, truth, threshold: float = 4.0, k: int = 10) -> dict[str, float]:
    """MSE, MAE vs the full truth; AUC of ``truth >= threshold``; NDCG@k with the truth as relevance."""
    t = np.asarray(truth, float)
    return {
        "mse": calc_mse(pred, t),
        "mae": calc_mae(pred, t),
        "auc": calc_auc(pred, t >= threshold),
        f"ndcg@{k}": calc_ndcg_at_k(pred, t, k),
    }
