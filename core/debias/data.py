"""A small, array-level semi-synthetic rating world with CTAR's rating equation.

The debiasing lab needs hundreds of worlds per second (a sweep over seeds), so it does not
run the full CTAR sampler (tags written, test sets, RCT tables) for every seed. This module
draws only what the estimators and learners need, with the same causal structure as CTAR
(Lyu et al. 2022, arXiv 2202.11351; see ``docs/CTAR.md``):

1. items sorted by a heavy-tailed popularity ``pop_j ∝ (j + 1)^(-zipf)``, rank ``j`` (0 = most
   popular); base rating ``b_j`` rises with log popularity (popularity is a confounder);
2. ``k`` tags per item drawn from a tag popularity ``pi_t ∝ (t + 1)^(-1)`` (Gumbel-top-k);
3. user liked tags: ``k_u ~ UniformInt{liked_min..liked_max}`` drawn from ``pi`` (Gumbel-top-k);
4. ``N_ui = |T_i ∩ L_u|``; quality ``q_i = b_i + N(0, quality_sigma^2)``;
5. ``Y_ui = clip(round(q_i - offset + tag_effect * N_ui + N(0, noise_sigma^2)), 1, 5)``.

The result is a :class:`BiasContext`, duck-type compatible with ``core.ctar.mechanisms.PairContext``
(``users``, ``rating``, ``quality``, ``pop_rank``, ``popularity``, ``n_match``, ``rng``), so the
bias mechanisms of :mod:`core.debias.mechanisms` run on either. :func:`context_from_pair_context`
adapts a CTAR context when the full sampler is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray


class DebiasConfigError(ValueError):
    """A debiasing configuration value is out of range; the message names the parameter."""


@dataclass(frozen=True)
class WorldConfig:
    """Size and constants of the semi-synthetic rating world (CTAR's rating equation).

    Parameters
    ----------
    n_users, n_items : int
        Matrix shape ``(n_users, n_items)``; ``n_users * n_items`` pairs.
    n_tags, tags_per_item : int
        Tag vocabulary size and tags per item (CTAR: 8 of the site's top tags).
    liked_min, liked_max : int
        Range of liked tags per user (CTAR: 10..20 of ~1,700 tags; scaled to the vocabulary).
    zipf : float
        Popularity exponent, ``pop_j ∝ (j + 1)^(-zipf)``.
    base_mean, base_pop_slope, base_sigma : float
        Base rating ``b_j = base_mean + base_pop_slope * z(log pop_j) + N(0, base_sigma^2)``.
    quality_sigma, offset, tag_effect, noise_sigma : float
        CTAR's rating equation constants (0.75, 0.7, 0.5, 0.25).
    """

    n_users: int = 300
    n_items: int = 400
    n_tags: int = 80
    tags_per_item: int = 4
    liked_min: int = 6
    liked_max: int = 12
    zipf: float = 0.9
    base_mean: float = 3.5
    base_pop_slope: float = 0.35
    base_sigma: float = 0.3
    quality_sigma: float = 0.75
    offset: float = 0.7
    tag_effect: float = 0.5
    noise_sigma: float = 0.25

    def __post_init__(self) -> None:
        for name in ("n_users", "n_items", "n_tags", "tags_per_item", "liked_min", "liked_max"):
            if int(getattr(self, name)) < 1:
                raise DebiasConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.tags_per_item > self.n_tags:
            raise DebiasConfigError(f"tags_per_item ({self.tags_per_item}) exceeds n_tags ({self.n_tags})")
        if not self.liked_min <= self.liked_max <= self.n_tags:
            raise DebiasConfigError(
                f"need liked_min <= liked_max <= n_tags, got {self.liked_min}, {self.liked_max}, {self.n_tags}"
            )
        for name in ("zipf", "base_sigma", "quality_sigma", "noise_sigma"):
            if getattr(self, name) < 0:
                raise DebiasConfigError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def n_pairs(self) -> int:
        return self.n_users * self.n_items


@dataclass
class BiasContext:
    """Everything a bias mechanism may look at, for ``n`` users x ``M`` items.

    Duck-type compatible with ``core.ctar.mechanisms.PairContext``; ``extras`` carries what a
    mechanism adds in :meth:`~core.debias.mechanisms.BiasMechanism.prepare` (e.g. the hidden
    confounder ``h``) so that its exposure uses the same draw as its outcome shift.

    Attributes
    ----------
    users : (n,) int
    rating : (n, M) int8, latent full ratings ``r(1)`` on 1..5
    quality : (M,) float
    pop_rank : (M,) int, 0 = most popular
    popularity : (M,) float
    n_match : (n, M) int, liked-tag matches ``N_ui``
    rng : numpy Generator
    extras : dict
    """

    users: NDArray[np.int64]
    rating: NDArray[np.int8]
    quality: NDArray[np.float64]
    pop_rank: NDArray[np.int64]
    popularity: NDArray[np.float64]
    n_match: NDArray[np.int64]
    rng: np.random.Generator
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.rating.shape  # type: ignore[return-value]

    def with_rating(self, rating: NDArray[np.int8], **extras: Any) -> "BiasContext":
        return replace(self, rating=rating, extras={**self.extras, **extras})


def _gumbel_top_k(rng: np.random.Generator, log_w: NDArray[np.float64], n_rows: int, k: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Rows of a boolean (n_rows, len(log_w)) mask with ``k[r]`` items drawn without replacement ∝ w."""
    keys = log_w[None, :] + rng.gumbel(size=(n_rows, log_w.size))
    order = np.argsort(-keys, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(log_w.size)[None, :].repeat(n_rows, 0), axis=1)
    return ranks < k[:, None]


def make_world(config: WorldConfig, seed: int) -> BiasContext:
    """Draw one world: popularity, tags, liked tags, matches, quality and the full ratings.

    Returns a :class:`BiasContext` whose ``rng`` continues the seeded stream (mechanisms draw
    their observations from it). Cost is O(n_users * n_items * tags_per_item).
    """
    rng = np.random.default_rng(seed)
    c = config
    ranks = np.arange(c.n_items)
    popularity = (ranks + 1.0) ** (-c.zipf)
    popularity = popularity / popularity.sum() * c.n_users * c.n_items * 0.02  # counts-like scale
    logpop = np.log(popularity)
    z = (logpop - logpop.mean()) / (logpop.std() or 1.0)
    base = np.clip(c.base_mean + c.base_pop_slope * z + rng.normal(0, c.base_sigma, c.n_items), 1, 5)
    log_pi = -np.log(np.arange(c.n_tags) + 1.0)
    item_tag_mask = _gumbel_top_k(rng, log_pi, c.n_items, np.full(c.n_items, c.tags_per_item))
    k_u = rng.integers(c.liked_min, c.liked_max + 1, size=c.n_users)
    liked = _gumbel_top_k(rng, log_pi, c.n_users, k_u)
    n_match = liked.astype(np.int32) @ item_tag_mask.astype(np.int32).T  # (U, I)
    quality = base + rng.normal(0, c.quality_sigma, c.n_items)
    latent = quality[None, :] - c.offset + c.tag_effect * n_match + rng.normal(0, c.noise_sigma, (c.n_users, c.n_items))
    rating = np.clip(np.rint(latent), 1, 5).astype(np.int8)
    return BiasContext(
        users=np.arange(c.n_users),
        rating=rating,
        quality=quality,
        pop_rank=ranks,
        popularity=popularity,
        n_match=n_match.astype(np.int64),
        rng=rng,
        extras={"liked": liked, "item_tags": item_tag_mask},
    )


def context_from_pair_context(ctx: Any) -> BiasContext:
    """Adapt a ``core.ctar.mechanisms.PairContext`` (or anything with its fields) to :class:`BiasContext`."""
    missing = [n for n in ("users", "rating", "quality", "pop_rank", "popularity", "n_match", "rng") if not hasattr(ctx, n)]
    if missing:
        raise DebiasConfigError(f"context lacks PairContext fields {missing}")
    return BiasContext(
        users=np.asarray(ctx.users),
        rating=np.asarray(ctx.rating, dtype=np.int8),
        quality=np.asarray(ctx.quality, dtype=float),
        pop_rank=np.asarray(ctx.pop_rank),
        popularity=np.asarray(ctx.popularity, dtype=float),
        n_match=np.asarray(ctx.n_match),
        rng=ctx.rng,
    )
