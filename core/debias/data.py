"""The lab's semi-synthetic rating worlds: drawn by the CTAR generator, or by a compact twin.

Two world sources (``WorldConfig.generator``), both with CTAR's rating equation
(Lyu et al. 2022, arXiv 2202.11351; see ``docs/CTAR.md``)
``Y_ui = clip(round(q_i - offset + tag_effect * N_ui + N(0, noise_sigma^2)), 1, 5)``:

``"ctar"`` (default)
    The world *is* a :func:`core.ctar.sampler.sample` draw: CTAR's seeded synthetic catalogue
    (:func:`core.ctar.inputs.make_synthetic_inputs` with ``n_items`` movies and ``n_tags`` tags,
    seeded by ``seed``) or a user's CTAR-format / MovieLens folder (``WorldConfig.source``, or
    prepared inputs passed to :func:`make_world`), CTAR's steps 1-7 (popularity ranks, ``pi``,
    ``T_m``, liked tags ``L_u`` by Gumbel-top-k, ``N_um``, quality, latent ratings), CTAR's own
    exposure and tagging draws, a tiny randomized slice and tiny test sets (so the sample is
    complete and valid but cheap). :func:`context_from_ctar_sample` turns its ground truth into a
    :class:`BiasContext` (``rating = rating_full``), and the sample itself rides along in
    ``extras["ctar_sample"]``. The compact-only fields (``zipf``, ``base_*``) are ignored: CTAR's
    catalogue has its own popularity law and base ratings.
``"compact"``
    :func:`make_compact_world`, an array-only re-implementation of the same structure:

    1. items sorted by a heavy-tailed popularity ``pop_j ∝ (j + 1)^(-zipf)``, rank ``j`` (0 = most
       popular); base rating ``b_j`` rises with log popularity (popularity is a confounder);
    2. ``k`` tags per item drawn from a tag popularity ``pi_t ∝ (t + 1)^(-1)`` (Gumbel-top-k);
    3. user liked tags: ``k_u ~ UniformInt{liked_min..liked_max}`` drawn from ``pi`` (Gumbel-top-k);
    4. ``N_ui = |T_i ∩ L_u|``; quality ``q_i = b_i + N(0, quality_sigma^2)``;
    5. the rating equation above.

Cost per world (one seed; measured on 2 busy cores, means of 5-20 seeds):

==================  ==========  =========
users x items       compact     CTAR
==================  ==========  =========
60 x 80             0.6 ms      13-18 ms
150 x 200           3-4 ms      18-22 ms
300 x 400           11-15 ms    26-40 ms
1,000 x 1,000       250 ms      165 ms
==================  ==========  =========

CTAR pays a fixed ~15 ms of pandas work (catalogue preparation, tag tables, test sets) and is
otherwise *cheaper* (its Gumbel-top-k uses ``argpartition`` where the compact twin sorts); a lab
sweep runs several mechanisms and strengths per world, so the difference is smaller still. The
default is therefore ``"ctar"``: the lab's truths are the CTAR generator's, as issue #5 asks;
``"compact"`` stays for tiny, very fast worlds and for comparison.

Both give a :class:`BiasContext`, duck-type compatible with ``core.ctar.mechanisms.PairContext``
(``users``, ``rating``, ``quality``, ``pop_rank``, ``popularity``, ``n_match``, ``rng``) whose
``extras`` hold ``liked (U, T) bool`` and ``item_tags (M, T) bool`` (what
:func:`core.debias.tags.make_tag_task` needs), so the bias mechanisms of
:mod:`core.debias.mechanisms` run on either. :func:`context_from_pair_context` adapts a CTAR
context seen inside the sampler (see :func:`core.debias.mechanisms.as_ctar_policies`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.ctar.config import CTARConfig, CTARConfigError
from core.ctar.equations import gumbel_top_k, rating_equation
from core.ctar.inputs import Catalogue, CatalogueInputs, CTARInputError, load_inputs, make_synthetic_inputs
from core.ctar.mechanisms import PairContext
from core.ctar.sampler import CTARSample, sample

GENERATORS = ("ctar", "compact")
SYNTHETIC = "synthetic"
#: CTARConfig parameter -> the WorldConfig field it comes from (for error messages)
_CTAR_NAMES = {"n_movies": "n_items", "tags_per_movie": "tags_per_item", "rating_offset": "offset"}


class DebiasConfigError(ValueError):
    """A debiasing configuration value is out of range; the message names the parameter."""


def estimate_world_bytes(n_users: int, n_items: int, n_tags: int = 80) -> float:
    """Peak bytes of one world and its estimates: ~20 float64 arrays of ``(n_users, n_items)`` (latent
    and observed ratings, propensities, masks, each estimator's errors; 160 B a pair), the CTAR
    sampler's own rows (~12 B a pair), and the per-user tag draw (``n_users x n_tags`` Gumbel keys,
    order and ranks, 24 B each)."""
    u, m = float(n_users), float(n_items)
    return u * m * 172.0 + u * float(n_tags) * 24.0 + m * 512.0 + (64 << 20)


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
    generator : {"ctar", "compact"}
        Who draws the world: the CTAR sampler (default) or the compact twin (module docstring).
        ``zipf`` and ``base_*`` apply to ``"compact"`` only.
    source : str
        ``"synthetic"`` (CTAR's seeded synthetic catalogue) or a folder with CTAR's
        ``movie_tag_ct.csv`` + ``movie_rating.csv`` or MovieLens' ``tags.csv`` + ``ratings.csv`` +
        ``movies.csv`` (:func:`core.ctar.inputs.load_inputs`); ``generator="ctar"`` only. With a
        folder, ``n_tags`` is the catalogue's and ``n_items`` must not exceed its rated, tagged movies.
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
    generator: str = "ctar"
    source: str = SYNTHETIC

    def __post_init__(self) -> None:
        if self.generator not in GENERATORS:
            raise DebiasConfigError(f"generator must be one of {list(GENERATORS)}, got {self.generator!r}")
        if not isinstance(self.source, str) or not self.source.strip():
            raise DebiasConfigError(f"source must be 'synthetic' or a folder path, got {self.source!r}")
        if self.source != SYNTHETIC:
            if self.generator != "ctar":
                raise DebiasConfigError(
                    f"source={self.source!r} (real inputs) needs generator='ctar', got {self.generator!r}"
                )
            if not Path(self.source).is_dir():
                raise DebiasConfigError(f"source must be 'synthetic' or an existing folder, got {self.source!r}")
        for name in ("n_users", "n_items", "n_tags", "tags_per_item", "liked_min", "liked_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise DebiasConfigError(f"{name} must be a whole number >= 1, got {value!r}")
        self.check_memory()  # before any (n_users, n_items) allocation, the CTAR sampler's checks included
        if self.tags_per_item > self.n_tags:
            raise DebiasConfigError(f"tags_per_item ({self.tags_per_item}) exceeds n_tags ({self.n_tags})")
        if not self.liked_min <= self.liked_max <= self.n_tags:
            raise DebiasConfigError(
                f"need liked_min <= liked_max <= n_tags, got {self.liked_min}, {self.liked_max}, {self.n_tags}"
            )
        for name in ("zipf", "base_mean", "base_pop_slope", "base_sigma", "quality_sigma", "offset", "tag_effect",
                     "noise_sigma"):  # every generator: the compact one has no CTARConfig to check them
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise DebiasConfigError(f"{name} must be a finite number, got {value!r}")
        for name in ("zipf", "base_sigma", "quality_sigma", "noise_sigma"):
            if getattr(self, name) < 0:
                raise DebiasConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.generator == "ctar":
            make_ctar_config(self, 0)  # CTAR's own checks, in this config's names

    @property
    def n_pairs(self) -> int:
        return self.n_users * self.n_items

    def estimate_bytes(self, n_users: int | None = None, n_items: int | None = None) -> float:
        """:func:`estimate_world_bytes` of this world (optionally with other sizes)."""
        return estimate_world_bytes(
            self.n_users if n_users is None else n_users, self.n_items if n_items is None else n_items, self.n_tags
        )

    def check_memory(self, budget: int | None = None) -> None:
        """Refuse a world that would not fit in memory, naming the largest ``n_users`` that fits."""
        from core.limits import check_fits

        what = f"a debiasing world of {self.n_users:,} users x {self.n_items:,} items"
        check_fits(
            what,
            self.estimate_bytes(),
            "n_users",
            self.n_users,
            lambda v: self.estimate_bytes(n_users=v),
            DebiasConfigError,
            budget,
        )


@dataclass
class BiasContext(PairContext):
    """Everything a bias mechanism may look at, for ``n`` users x ``M`` items.

    A :class:`core.ctar.mechanisms.PairContext` (same fields: ``users``, ``rating`` the latent
    full ratings ``r(1)``, ``quality``, ``pop_rank``, ``popularity``, ``n_match``, ``rng``,
    ``extras``) that a mechanism may re-derive: ``extras`` carries what it adds in
    :meth:`~core.debias.mechanisms.BiasMechanism.prepare` (e.g. the hidden confounder ``h``) so
    that its exposure uses the same draw as its outcome shift.
    """

    def with_rating(self, rating: NDArray[np.int8], **extras: Any) -> BiasContext:
        return replace(self, rating=rating, extras={**self.extras, **extras})


def make_world(
    config: WorldConfig, seed: int, inputs: CatalogueInputs | Catalogue | str | Path | None = None
) -> BiasContext:
    """Draw one world with ``config.generator``: the CTAR sampler or the compact twin.

    Parameters
    ----------
    config : WorldConfig
    seed : int >= 0 for ``"ctar"`` (CTAR's ``SeedSequence``), any numpy seed for ``"compact"``
    inputs : optional, ``"ctar"`` only
        Prepared CTAR inputs (:class:`~core.ctar.inputs.CatalogueInputs` from
        :func:`~core.ctar.inputs.load_ctar_original` / :func:`~core.ctar.inputs.load_movielens`, or a
        :class:`~core.ctar.inputs.Catalogue` of exactly ``n_items`` movies) or a folder; overrides
        ``config.source``.

    Returns
    -------
    BiasContext
        ``rating (U, M) int8`` is the full latent truth; ``rng`` is a stream of its own for the
        mechanisms' draws; ``extras`` hold ``liked`` and ``item_tags`` (and, for CTAR, ``movie_tags``
        and ``ctar_sample``).
    """
    if not isinstance(config, WorldConfig):
        raise DebiasConfigError(f"config must be a WorldConfig, got {type(config).__name__}")
    if config.generator == "compact":
        if inputs is not None:
            raise DebiasConfigError("inputs (a real catalogue) need generator='ctar', got generator='compact'")
        return make_compact_world(config, seed)
    return context_from_ctar_sample(sample_ctar_world(config, seed, inputs), seed)


def make_compact_world(config: WorldConfig, seed: int) -> BiasContext:
    """Draw one compact world: popularity, tags, liked tags, matches, quality and the full ratings.

    Returns a :class:`BiasContext` whose ``rng`` continues the seeded stream (mechanisms draw
    their observations from it). Cost is O(n_users * n_items * (tags_per_item + log n_tags)).
    """
    rng = np.random.default_rng(seed)
    c = config
    ranks = np.arange(c.n_items)
    popularity = ((ranks + 1.0) ** (-c.zipf)).astype(np.float64)
    popularity = popularity / popularity.sum() * c.n_users * c.n_items * 0.02  # counts-like scale
    logpop = np.log(popularity)
    z = (logpop - logpop.mean()) / (logpop.std() or 1.0)
    base = np.clip(c.base_mean + c.base_pop_slope * z + rng.normal(0, c.base_sigma, c.n_items), 1, 5)
    log_pi = -np.log(np.arange(c.n_tags) + 1.0)
    item_tag_mask = gumbel_top_k(rng, log_pi, np.full(c.n_items, c.tags_per_item), dtype=np.float64)
    k_u = rng.integers(c.liked_min, c.liked_max + 1, size=c.n_users)
    liked = gumbel_top_k(rng, log_pi, k_u, k_max=c.liked_max, dtype=np.float64)
    n_match = liked.astype(np.int32) @ item_tag_mask.astype(np.int32).T  # (U, I)
    quality = base + rng.normal(0, c.quality_sigma, c.n_items)
    noise = rng.standard_normal((c.n_users, c.n_items))  # the draws of rng.normal(0, noise_sigma, ...)
    rating = rating_equation(
        noise, quality, n_match, offset=c.offset, tag_effect=c.tag_effect, noise_sigma=c.noise_sigma
    )
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


def _ctar_error(exc: Exception) -> DebiasConfigError:
    text = str(exc)
    for ctar_name, ours in _CTAR_NAMES.items():
        text = re.sub(rf"\b{ctar_name}\b", ours, text)
    return DebiasConfigError(f"CTAR generator: {text}")


def make_ctar_config(config: WorldConfig, seed: int) -> CTARConfig:
    """The :class:`~core.ctar.config.CTARConfig` of a CTAR world: ``config``'s sizes and rating constants.

    ``n_movies = n_items``, ``tags_per_movie = tags_per_item``, ``rating_offset = offset``; liked
    range, ``quality_sigma``, ``tag_effect``, ``noise_sigma`` as given; CTAR's exposure and tagging
    at its defaults (mode ``"exact"``); a randomized slice of at most 10 users x 5 movies and test
    sets of 20 rows (6 positive) each, so the sample is complete but cheap; the full matrices kept.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DebiasConfigError(f"seed must be an integer >= 0 for the CTAR generator, got {seed!r}")
    try:
        return CTARConfig(
            n_users=int(config.n_users),
            n_movies=int(config.n_items),
            seed=int(seed),
            tags_per_movie=int(config.tags_per_item),
            liked_min=int(config.liked_min),
            liked_max=int(config.liked_max),
            quality_sigma=float(config.quality_sigma),
            rating_offset=float(config.offset),
            tag_effect=float(config.tag_effect),
            noise_sigma=float(config.noise_sigma),
            rct_users=min(10, int(config.n_users)),
            rct_movies=min(5, int(config.n_items)),
            test_identifiable_n=20,
            test_identifiable_pos=6,
            test_inidentifiable_n=20,
            test_inidentifiable_pos=6,
            keep_full_max_pairs=max(CTARConfig.keep_full_max_pairs, config.n_pairs),
        )
    except CTARConfigError as exc:
        raise _ctar_error(exc) from exc


@lru_cache(maxsize=4)
def _load_folder(folder: str, stamp: float) -> CatalogueInputs:
    return load_inputs(folder)


def _folder_stamp(folder: Path) -> float:
    return max((f.stat().st_mtime for f in folder.glob("*.csv")), default=0.0)


def make_ctar_inputs(
    config: WorldConfig, seed: int, inputs: CatalogueInputs | Catalogue | str | Path | None = None
) -> CatalogueInputs | Catalogue:
    """The catalogue inputs of a CTAR world.

    ``inputs`` if given (a folder is read with :func:`core.ctar.inputs.load_inputs`), else
    ``config.source`` (a folder, read once per process while its CSV files are unchanged), else
    CTAR's synthetic catalogue of ``n_items`` movies and ``n_tags`` tags seeded by ``seed`` (every
    seed a new catalogue, as every compact world has new base ratings).
    """
    if inputs is None and config.source != SYNTHETIC:
        inputs = config.source
    if isinstance(inputs, (str, Path)):
        folder = Path(inputs)
        if not folder.is_dir():
            raise DebiasConfigError(
                f"inputs must be a folder, CatalogueInputs or a Catalogue, got {str(inputs)!r} (not a folder)"
            )
        try:
            return _load_folder(str(folder.resolve()), _folder_stamp(folder))
        except CTARInputError as exc:
            raise DebiasConfigError(f"source: {exc}") from exc
    if inputs is not None:
        if not isinstance(inputs, (CatalogueInputs, Catalogue)):
            raise DebiasConfigError(
                f"inputs must be a folder, CatalogueInputs or a Catalogue, got {type(inputs).__name__}"
            )
        return inputs
    k = int(config.tags_per_item)
    return make_synthetic_inputs(
        seed=int(seed),
        n_movies=int(config.n_items),
        n_tags=int(config.n_tags),
        tags_per_movie=k,
        short_share=0.15 if k > 2 else 0.0,
    )  # short movies get 2..k-1 tags


def sample_ctar_world(
    config: WorldConfig, seed: int, inputs: CatalogueInputs | Catalogue | str | Path | None = None, **policies: Any
) -> CTARSample:
    """The CTAR sample behind a world: ``sample(make_ctar_config(config, seed), make_ctar_inputs(...), **policies)``.

    ``policies`` are passed on (``exposure=``, ``outcome=``, ``obstag=``, ``intervention=``), e.g. a
    bias mechanism wrapped by :func:`core.debias.mechanisms.as_ctar_policies`. CTAR's refusals
    come back as :class:`DebiasConfigError` in this config's names (``n_items``, ``tags_per_item``).
    """
    ctar_config = make_ctar_config(config, seed)
    try:
        return sample(ctar_config, make_ctar_inputs(config, seed, inputs), **policies)
    except (CTARConfigError, CTARInputError) as exc:
        raise _ctar_error(exc) from exc


def context_from_ctar_sample(ctar: CTARSample, seed: int) -> BiasContext:
    """A :class:`BiasContext` holding a CTAR sample's ground truth.

    ``rating = rating_full (U, M) int8``, ``quality``, ``pop_rank = 0..M-1`` (CTAR's column is the
    rank), ``popularity = catalogue.popularity``, ``n_match (U, M) int64``; ``extras``: ``liked``
    ``(U, V) bool``, ``item_tags = catalogue.movie_tag_mask (M, V) bool``, ``movie_tags (M, K)`` and
    the sample as ``ctar_sample``; ``rng`` a stream of ``seed`` that CTAR's own streams never use.
    """
    if ctar.rating_full is None or ctar.n_match is None:  # not keeps_full
        raise DebiasConfigError(
            f"the CTAR sample did not keep its full matrices ({ctar.config.n_pairs:,} pairs > "
            f"keep_full_max_pairs={ctar.config.keep_full_max_pairs:,})"
        )
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0xDEB1A5,)))
    cat = ctar.catalogue
    return BiasContext(
        users=np.arange(ctar.n_users, dtype=np.int64),
        rating=ctar.rating_full,
        quality=np.asarray(ctar.quality, dtype=float),
        pop_rank=np.arange(ctar.n_movies, dtype=np.int64),
        popularity=np.asarray(cat.popularity, dtype=float),
        n_match=ctar.n_match.astype(np.int64),
        rng=rng,
        extras={
            "liked": ctar.liked,
            "item_tags": cat.movie_tag_mask,
            "movie_tags": cat.movie_tags,
            "ctar_sample": ctar,
        },
    )


def context_from_pair_context(ctx: Any) -> BiasContext:
    """Adapt a ``core.ctar.mechanisms.PairContext`` (or anything with its fields) to :class:`BiasContext`.

    Arrays are shared, not copied; ``extras`` (CTAR's ``liked``, ``movie_tags``) are carried over.
    """
    missing = [
        n for n in ("users", "rating", "quality", "pop_rank", "popularity", "n_match", "rng") if not hasattr(ctx, n)
    ]
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
        extras=dict(getattr(ctx, "extras", None) or {}),
    )
