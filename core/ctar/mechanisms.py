"""Observation mechanisms of CTAR as small injectable policies, and the per-chunk context they see.

Contract (used by the debiasing lab, ``core.debias``):

* :class:`PairContext` — everything a mechanism may look at for a chunk of ``n`` users x all
  ``M`` movies: ``users (n,)``, ``rating (n, M) int8`` the *latent* full ratings on 1..5,
  ``quality (M,)``, ``pop_rank (M,)`` (0 = most popular), ``popularity (M,)``, ``n_match (n, M)``
  liked-tag matches ``N_um``, ``rng`` (a ``numpy.random.Generator`` reserved for the policy), and
  ``extras`` (``liked (n, V) bool`` liked-tag mask, ``movie_tags (M, K)`` tag indices).
* :class:`ExposurePolicy` — ``name: str`` and ``calc_propensity(ctx) -> (n, M) float64`` in
  ``[0, 1]``; the sampler draws ``observed ~ Bernoulli(p)`` itself.
* :class:`OutcomePolicy` — ``observe(ctx, observed (n, M) bool) -> (n, M)``: the rating value
  recorded where observed (default :class:`LatentOutcome`: the latent rating itself).

CTAR's own mechanisms (Lyu et al. 2022, ``docs/CTAR.md``):

* :class:`PopularityExposure` — rating exposure, MAR (popularity bias): depends on the rank
  ``j`` only. Exact: ``p_j = 2 r sigmoid(a (M/2 - j))``; normalised: ``p_j = sigmoid(c - a j')``,
  ``j' = 1000 j / M``, ``c`` solved so that ``mean_j p_j = r``.
* :class:`ObsTagExposure` — voluntary tagging, MNAR (self-selection on the latent rating).
  Exact: ``p_uj = r w_uj / mean_j w_uj``, ``w_uj = sigmoid(b_Y (M/1000) Y_uj - b_j j)``;
  normalised: ``p_uj = sigmoid(c_u + b_Y Y_uj - b_j j')`` with ``c_u`` solved per user so that
  ``mean_j p_uj = r``.
* :class:`UniformExposure` — MCAR at a rate (the policy of ``do(exposure = uniform)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from core.ctar.config import REFERENCE_N_MOVIES, CTARConfig, CTARConfigError


@dataclass
class PairContext:
    """What a mechanism sees for ``n`` users x ``M`` movies (one sampling chunk).

    Attributes
    ----------
    users : (n,) int64, global user ids of the chunk
    rating : (n, M) int8, latent full ratings ``Y_um`` on 1..5
    quality : (M,) float64, ``q_m``
    pop_rank : (M,) int64, popularity rank ``j`` (0 = most popular)
    popularity : (M,) float64, ``Pop_m = sum_t c(m, t)``
    n_match : (n, M) int8, ``N_um = |T_m ∩ L_u|``
    rng : numpy.random.Generator, a stream reserved for the policy being called
    extras : dict, ``liked`` (n, V) bool, ``movie_tags`` (M, K) int tag indices
    """

    users: NDArray[np.int64]
    rating: NDArray[np.int8]
    quality: NDArray[np.float64]
    pop_rank: NDArray[np.int64]
    popularity: NDArray[np.float64]
    n_match: NDArray[np.int8]
    rng: np.random.Generator
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.rating.shape[0]), int(self.rating.shape[1]))


@runtime_checkable
class ExposurePolicy(Protocol):
    """``calc_propensity(ctx) -> (n, M) float64`` in [0, 1]: the probability each pair is observed."""

    @property
    def name(self) -> str: ...  # read-only, so frozen dataclasses satisfy the protocol

    def calc_propensity(self, ctx: PairContext) -> NDArray[np.float64]: ...


@runtime_checkable
class OutcomePolicy(Protocol):
    """``observe(ctx, observed) -> (n, M)``: the rating recorded for each pair (read where observed)."""

    def observe(self, ctx: PairContext, observed: NDArray[np.bool_]) -> NDArray[Any]: ...


def sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Numerically stable logistic function."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def solve_intercept(logits: NDArray[np.float64], rate: float, iters: int = 60) -> NDArray[np.float64]:
    """Per row ``c`` with ``mean_j sigmoid(c + logits[i, j]) = rate`` (bisection, vectorised).

    Parameters
    ----------
    logits : (n, M) or (M,) float64
    rate : float in (0, 1)

    Returns
    -------
    (n,) float64 (or a 0-d array for 1-d ``logits``). The mean is monotone in ``c``, so the
    bracket ``[logit(rate) - max, logit(rate) - min]`` always holds the root; 60 halvings of it
    reach float precision. Cost O(iters * n * M); bisection runs on a float32 copy for speed
    and one final Newton step in float64 polishes it.
    """
    if not 0 < rate < 1:
        raise CTARConfigError(f"rate must be in (0, 1), got {rate}")
    x = np.atleast_2d(np.asarray(logits, dtype=np.float64))
    base = np.log(rate / (1 - rate))
    lo = base - x.max(axis=1)
    hi = base - x.min(axis=1)
    x32 = x.astype(np.float32)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        too_high = _mean_sigmoid(x32, mid) > rate
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
        if np.all(hi - lo < 1e-7):
            break
    c = 0.5 * (lo + hi)
    s = sigmoid(x + c[:, None])
    grad = (s * (1 - s)).mean(axis=1)
    c = c - np.where(grad > 0, (s.mean(axis=1) - rate) / np.maximum(grad, 1e-300), 0.0)
    return c if np.ndim(logits) == 2 else c[0]


def _mean_sigmoid(x32: NDArray[np.float32], c: NDArray[np.float64]) -> NDArray[np.float64]:
    z = x32 + c.astype(np.float32)[:, None]
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)
    return z.mean(axis=1, dtype=np.float64)


def _rank_from(ctx_or_rank: Any) -> NDArray[np.float64]:
    rank = getattr(ctx_or_rank, "pop_rank", ctx_or_rank)
    return np.asarray(rank, dtype=np.float64)


@dataclass(frozen=True)
class PopularityExposure:
    """CTAR's rating exposure: MAR on the popularity rank ``j`` only.

    Exact: ``p_j = 2 rate sigmoid(slope (M/2 - j))`` — the original uses ``M - j`` for
    ``j = 0..M-1`` (``range(M, 0, -1)``) minus ``M/2``, i.e. logit ``slope (M/2 - j)``.
    Normalised: ``p_j = sigmoid(c - slope 1000 j / M)`` with ``mean_j p_j = rate``.
    """

    rate: float = 0.02
    slope: float = 0.002
    mode: str = "exact"
    name: str = "popularity (MAR, CTAR)"

    @classmethod
    def from_config(cls, config: CTARConfig) -> PopularityExposure:
        return cls(rate=config.rating_rate, slope=config.rating_slope, mode=config.mode)

    def calc_by_rank(self, pop_rank: NDArray[np.int64], n_movies: int | None = None) -> NDArray[np.float64]:
        """(M,) propensities of the columns with ranks ``pop_rank``."""
        j = _rank_from(pop_rank)
        m = float(n_movies if n_movies is not None else j.size)
        if self.mode == "exact":
            p = 2.0 * self.rate * sigmoid(self.slope * (m / 2.0 - j))
            if p.max(initial=0.0) > 1.0:
                raise CTARConfigError(f"rating_rate={self.rate} gives p > 1 in mode='exact'; use mode='normalised'")
            return p
        logits = -self.slope * REFERENCE_N_MOVIES * j / m
        return sigmoid(logits + solve_intercept(logits, self.rate))

    def calc_propensity(self, ctx: PairContext) -> NDArray[np.float64]:
        p = self.calc_by_rank(ctx.pop_rank, ctx.shape[1])
        return np.broadcast_to(p, ctx.shape)


@dataclass(frozen=True)
class UniformExposure:
    """MCAR exposure: every pair observed with probability ``rate``."""

    rate: float = 0.02
    name: str = "uniform (MCAR)"

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise CTARConfigError(f"rate must be in [0, 1], got {self.rate}")

    def calc_propensity(self, ctx: PairContext) -> NDArray[np.float64]:
        return np.full(ctx.shape, float(self.rate))


@dataclass(frozen=True)
class ObsTagExposure:
    """CTAR's voluntary tagging ``O^T``: MNAR, rises with the latent rating, falls with the rank.

    Exact: ``w_uj = sigmoid(rating_slope (M/1000) Y_uj - rank_slope j)``,
    ``p_uj = rate w_uj / mean_j w_uj`` (CTAR: ``(Y M/5 + M - j) 0.005 - 0.005 M``).
    Normalised: ``p_uj = sigmoid(c_u + rating_slope Y_uj - rank_slope 1000 j / M)`` with ``c_u``
    solved so each user's mean is ``rate``. Exact-mode probabilities above 1 are clipped (the
    configuration already refuses rates that could produce them).
    """

    rate: float = 0.007
    rating_slope: float = 1.0
    rank_slope: float = 0.005
    mode: str = "exact"
    name: str = "self-selection on the latent rating (MNAR, CTAR)"

    @classmethod
    def from_config(cls, config: CTARConfig) -> ObsTagExposure:
        return cls(rate=config.obstag_rate, rating_slope=config.obstag_rating_slope,
                   rank_slope=config.obstag_rank_slope, mode=config.mode)

    def calc_logits(self, ctx: PairContext) -> NDArray[np.float64]:
        n, m = ctx.shape
        j = _rank_from(ctx)
        y = ctx.rating.astype(np.float64)
        if self.mode == "exact":
            return self.rating_slope * (m / REFERENCE_N_MOVIES) * y - (self.rank_slope * j)[None, :]
        return self.rating_slope * y - (self.rank_slope * REFERENCE_N_MOVIES * j / m)[None, :]

    def calc_propensity(self, ctx: PairContext) -> NDArray[np.float64]:
        logits = self.calc_logits(ctx)
        if self.mode == "exact":
            w = sigmoid(logits)
            p = w * (self.rate / w.mean(axis=1, keepdims=True))
            return np.minimum(p, 1.0, out=p)
        c = solve_intercept(logits, self.rate)
        logits += c[:, None]
        return sigmoid(logits)


@dataclass(frozen=True)
class LatentOutcome:
    """The recorded rating equals the latent rating (CTAR): ``observe(ctx, o) = Y``."""

    name: str = "latent rating"

    def observe(self, ctx: PairContext, observed: NDArray[np.bool_]) -> NDArray[np.int8]:
        return ctx.rating


def default_exposure(config: CTARConfig) -> PopularityExposure:
    """CTAR's rating exposure for ``config`` (MAR popularity)."""
    return PopularityExposure.from_config(config)


def default_obstag(config: CTARConfig) -> ObsTagExposure:
    """CTAR's voluntary-tagging policy for ``config`` (MNAR)."""
    return ObsTagExposure.from_config(config)
