"""CTAR's rating equation and its Gumbel-top-k draw, each written once.

Every generator in this codebase uses these: the CTAR sampler (:mod:`core.ctar.sampler`), the
pgmpy pair template (:mod:`core.ctar.graph`, the analytic ``P(Y | q, n)``) and the debiasing
lab's compact twin (:mod:`core.debias.data`).

The rating equation (Lyu et al. 2022, ``docs/CTAR.md`` step 7)::

    Y_um = clip(rint(q_m - offset + tag_effect * N_um + noise_sigma * Z_um), 1, 5),  Z_um ~ N(0, 1)

``rint`` rounds halves to even, as Python's ``round`` did in the released generator.

Examples
--------
>>> import numpy as np
>>> rating_equation(np.zeros((1, 3)), np.array([1.0, 3.2, 6.0]), np.array([[0, 1, 0]]),
...                 offset=0.7, tag_effect=0.5, noise_sigma=0.25).tolist()
[[1, 3, 5]]
>>> gumbel_top_k(np.random.default_rng(0), np.log(np.full(6, 1 / 6)), np.array([2, 4])).sum(axis=1).tolist()
[2, 4]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

RATING_LOW, RATING_HIGH = 1, 5


def rating_mean(quality: ArrayLike, n_match: ArrayLike, *, offset: float, tag_effect: float) -> NDArray[np.float64]:
    """The rating equation's mean ``mu = q - offset + tag_effect * N`` (float64; shapes broadcast).

    ``rating_mean(q[:, None], np.arange(K + 1)[None, :], ...)`` is the ``(M, K+1)`` table of means
    for every movie and match count.
    """
    return np.asarray(np.asarray(quality, dtype=np.float64) - offset + tag_effect * np.asarray(n_match))


def rating_equation(
    noise: NDArray[np.floating[Any]],
    quality: NDArray[np.float64],
    n_match: NDArray[np.integer[Any]],
    *,
    offset: float,
    tag_effect: float,
    noise_sigma: float,
) -> NDArray[np.int8]:
    """Draw ratings ``clip(rint(q - offset + tag_effect N + noise_sigma Z), 1, 5)`` from standard normals.

    Parameters
    ----------
    noise : (U, M) float32 or float64, standard normal draws ``Z``; overwritten (the work is done in
        place, in its dtype, so a float32 chunk costs 4 bytes a pair)
    quality : (M,) float64, ``q_m``
    n_match : (U, M) integer, ``N_um`` (after any ``do(N)``)
    offset, tag_effect, noise_sigma : the equation's constants

    Returns
    -------
    (U, M) int8 ratings in 1..5. The sum is formed as ``(sigma Z + (q - offset)) + tag_effect N`` in
    ``noise``'s dtype; this order is part of the contract (seeded outputs depend on it bit for bit).
    """
    kind = noise.dtype.type
    latent = noise
    latent *= kind(noise_sigma)
    latent += (quality - offset).astype(kind)[None, :]
    latent += kind(tag_effect) * n_match
    np.rint(latent, out=latent)
    np.clip(latent, RATING_LOW, RATING_HIGH, out=latent)
    return latent.astype(np.int8)


def rating_probs(mu: ArrayLike, sigma: float) -> NDArray[np.float64]:
    """``P(clip(rint(mu + N(0, sigma^2)), 1, 5) = y)`` for y = 1..5, shape ``mu.shape + (5,)``.

    The exact law of :func:`rating_equation` given its mean (:func:`rating_mean`); the cut points
    are the rounding boundaries 1.5 .. 4.5.
    """
    mu_ = np.asarray(mu, dtype=float)[..., None]
    upper = np.array([1.5, 2.5, 3.5, 4.5, np.inf])
    lower = np.array([-np.inf, 1.5, 2.5, 3.5, 4.5])
    if sigma <= 0:
        return ((mu_ >= lower) & (mu_ < upper)).astype(float)
    return np.asarray(norm.cdf((upper - mu_) / sigma) - norm.cdf((lower - mu_) / sigma))


def rating_probs_by_match(
    quality: NDArray[np.float64], max_match: int, *, offset: float, tag_effect: float, noise_sigma: float
) -> NDArray[np.float64]:
    """(M, K+1, 5): ``P(Y = y | q_m, N = n)`` for every movie and ``n = 0..max_match`` (``K = max_match``)."""
    mu = rating_mean(quality[:, None], np.arange(max_match + 1)[None, :], offset=offset, tag_effect=tag_effect)
    return rating_probs(mu, noise_sigma)


def gumbel_top_k(
    rng: np.random.Generator,
    log_w: NDArray[np.float64],
    k: NDArray[np.integer[Any]],
    *,
    k_max: int | None = None,
    dtype: type[np.floating[Any]] = np.float32,
) -> NDArray[np.bool_]:
    """(n, V) bool: row ``r`` marks ``k[r]`` items drawn without replacement with probabilities ∝ ``w``.

    Gumbel-top-k: the ``k[r]`` largest of ``log w_t + G_rt`` (``G`` i.i.d. standard Gumbel) are a
    sample without replacement with probabilities ``w`` (Vieira 2014; Kool, van Hoof & Welling
    2019). Draws ``rng.gumbel(size=(n, V))`` once. Keys are kept in ``dtype`` (float32 halves the
    memory of a chunk); only the ``k_max`` (default ``max(k)``) largest keys of each row are sorted.
    ``log w = -inf`` (weight 0) is never drawn while positive weights remain.

    Parameters
    ----------
    rng : the stream the Gumbel keys come from
    log_w : (V,) log weights (need not be normalised)
    k : (n,) items per row, each in ``0..V``
    k_max : an upper bound of ``k`` (the caller's range, so the work does not depend on the draw)
    dtype : float32 (the CTAR sampler) or float64 (the compact twin)
    """
    n, v = int(k.size), int(log_w.size)
    keys = rng.gumbel(size=(n, v)).astype(dtype, copy=False)
    keys += log_w.astype(dtype)
    top_n = int(k.max(initial=0)) if k_max is None else int(k_max)
    mask = np.zeros((n, v), dtype=bool)
    if top_n <= 0:
        return mask
    top = np.argpartition(-keys, top_n - 1, axis=1)[:, :top_n] if top_n < v else np.tile(np.arange(v), (n, 1))
    order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    take = np.arange(top.shape[1])[None, :] < k[:, None]
    rows = np.repeat(np.arange(n), top.shape[1])[take.ravel()]
    mask[rows, top.ravel()[take.ravel()]] = True
    return mask
