"""CTAR's generator as a vectorised, seeded, chunked numpy sampler, with interventions.

Contract (used by the debiasing lab):

``sample(config, inputs=None, exposure=None, outcome=None, progress=None, *, obstag=None,
intervention=None) -> CTARSample``

* ``inputs``: :class:`~core.ctar.inputs.CatalogueInputs` (real or MovieLens),
  a prepared :class:`~core.ctar.inputs.Catalogue`, or ``None`` for the seeded synthetic catalogue.
* ``exposure``: an :class:`~core.ctar.mechanisms.ExposurePolicy` for the rating observation
  ``O^Y`` (default CTAR's MAR :class:`~core.ctar.mechanisms.PopularityExposure`); ``obstag``:
  the voluntary-tagging policy (default CTAR's MNAR :class:`~core.ctar.mechanisms.ObsTagExposure`);
  ``outcome``: an :class:`~core.ctar.mechanisms.OutcomePolicy` giving the recorded rating values
  (default the latent rating).
* ``progress(fraction, message)``: called after each chunk.

:class:`CTARSample` keeps the ground truth: ``liked (U, V) bool`` (``L_u``),
``catalogue.movie_tags (M, K)`` (``T_m``), ``quality (M,)`` (the ``q_m`` the ratings used: the
do() value under ``do(Q = q)``, as ``n_match`` holds the do() value under ``do(N = k)``) beside
``quality_natural (M,)`` (the natural draw of step 6), the full rating matrix
``rating_full (U, M) int8``, the propensities ``propensity_rating``/``propensity_obstag
(U, M) float32``, the masks ``observed``/``tagged (U, M) bool`` and ``n_match (U, M) int8`` (all
kept up to ``config.keep_full_max_pairs`` pairs; :meth:`CTARSample.regenerate` recomputes any
chunk exactly otherwise), the ObsTag/RCTTag tables, the forgotten tags, the test sets, and
:meth:`CTARSample.tables` (CTAR's layout: rating, obstag, rcttag, movie, tests).

Interventions: ``intervene(config, Intervention(exposure="uniform"))`` or
``intervene(config, tag_effect=0.0)``, ``intervene(config, n_match=2)`` ... samples the mutilated
model with the *same* random streams (common random numbers), so a do() sample differs from the
observational one only through the cut mechanism.

The generative steps per chunk of users (``docs/CTAR.md`` numbering):

4. ``L_u``: ``k_u ~ UniformInt{liked_min..liked_max}`` tags from ``pi`` without replacement
   (Gumbel-top-k: the ``k_u`` largest ``log pi_t + Gumbel`` keys; same law as sequential draws);
5. ``N_um = |T_m ∩ L_u|``;
6. ``q_m = b_m + N(0, quality_sigma^2)`` (once, all movies);
7. ``Y_um = clip(rint(q_m - offset + tag_effect N_um + N(0, noise_sigma^2)), 1, 5)``
   (``rint`` rounds halves to even, as Python's ``round`` did in the original);
8. ``O^Y ~ Bernoulli(exposure)``; 9. ``O^T ~ Bernoulli(obstag)``;
10. written tags of tagged pairs: "-1" if ``S_um`` empty, else the first liked tag in the movie's
    tag order always and each further one unless forgotten (``forget_prob``);
11. RCTTag: ``rct_users`` random users x ``rct_movies`` random movies, all liked tags written.

Random streams: ``SeedSequence(seed)`` keyed by purpose (catalogue padding, quality, RCT design,
test sets) and by (chunk index, purpose) for users, so results depend on ``(seed,
chunk_pairs)`` only and each mechanism has its own stream. Memory: O(chunk_pairs) for the
chunk's float arrays plus the kept matrices (about 11 bytes per pair).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.ctar.config import CTARConfig, CTARConfigError, Exceeds, InterventionError
from core.ctar.equations import gumbel_top_k, rating_equation
from core.ctar.inputs import Catalogue, CatalogueInputs, make_synthetic_inputs, prepare_catalogue
from core.ctar.mechanisms import (
    ExposurePolicy,
    LatentOutcome,
    ObsTagExposure,
    OutcomePolicy,
    PairContext,
    PopularityExposure,
    UniformExposure,
)
from core.ctar.tables import CTARTables
from core.ctar.testsets import build_test_sets
from core.validate import Refusal, Rule

Progress = Callable[[float, str], object]  # the return value is ignored

_STREAMS = {"catalogue": 1, "quality": 2, "design": 3, "tests": 4}
_CHUNK_STREAMS = (
    "liked",
    "noise",
    "exposure_policy",
    "exposure_draw",
    "outcome",
    "obstag_policy",
    "obstag_draw",
    "forget",
)


def _refused(refusal: Refusal, message: str = "") -> InterventionError:
    """An intervention's ``refusal``, said by ``message`` where its notation is not the refusal's own."""
    return InterventionError(message or str(refusal), refusal)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (what a form shows), anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Intervention:
    """A do() on the per-pair mechanism; ``None`` fields leave a mechanism as specified.

    Attributes
    ----------
    exposure : ExposurePolicy or "uniform" or None
        Replace the rating exposure ``O^Y`` (``"uniform"``: MCAR at ``rating_rate``; cuts Pop -> O^Y).
    obstag : ExposurePolicy or "uniform" or None
        Replace voluntary tagging ``O^T`` (``"uniform"``: MCAR at ``obstag_rate``; cuts Y, Pop -> O^T).
    tag_effect : float or None
        ``do(tag effect = value)`` in the rating equation (0 cuts N -> Y).
    n_match : int or None
        ``do(N = k)`` for every pair (cuts T, L -> N; reasons written still follow ``S_um``).
    quality : float or None
        ``do(Q = value)`` for every movie (cuts b -> Q).
    rating : int or None
        ``do(Y = value)`` for every pair (cuts Q, N -> Y).
    """

    exposure: Any = None
    obstag: Any = None
    tag_effect: float | None = None
    n_match: int | None = None
    quality: float | None = None
    rating: int | None = None

    def __post_init__(self) -> None:
        for name in ("exposure", "obstag"):
            value = getattr(self, name)
            if value is not None and value != "uniform" and not isinstance(value, ExposurePolicy):
                raise _refused(Refusal(name, Rule(kind="'uniform' or an ExposurePolicy"), value))
        if self.rating is not None and (
            isinstance(self.rating, bool)
            or not isinstance(self.rating, (int, float, np.number))
            or self.rating not in (1, 2, 3, 4, 5)
        ):
            raise _refused(Refusal("rating", Rule(lo=1, hi=5, kind="a whole number"), _plain(self.rating)),
                           f"rating must be a whole number in 1..5 (a rating level), got {self.rating!r}")
        if self.n_match is not None:
            if (
                isinstance(self.n_match, bool)
                or float(self.n_match) != int(float(self.n_match))
                or not 0 <= int(self.n_match) <= 127
            ):
                raise _refused(Refusal("n_match", Rule(lo=0, hi=127, kind="a whole number"), _plain(self.n_match)),
                               f"n_match must be a whole number in 0..127 (matching tags per pair, stored as "
                               f"int8; a movie has tags_per_movie tags), got {self.n_match}")
        for name in ("tag_effect", "quality"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float, np.number)) and np.isfinite(value)):
                raise _refused(Refusal(name, Rule(kind="a finite number"), value))

    def calc_quality(self, natural: NDArray[np.float64]) -> NDArray[np.float64]:
        """(M,) the qualities the ratings use: the natural draws ``natural``, or the do() value for every movie."""
        return natural if self.quality is None else np.full_like(natural, float(self.quality))

    def check_config(self, config: CTARConfig) -> None:
        """Refuse a do() that ``config`` makes impossible: ``do(N = k)`` needs ``k <= tags_per_movie``
        (``N = |T_m ∩ L_u|`` counts the movie's tags). Called by :func:`plan_sample`; a form calls it to
        show the message before sampling."""
        if self.n_match is not None and int(self.n_match) > config.tags_per_movie:
            too_many = Exceeds("n_match", int(self.n_match), "tags_per_movie", config.tags_per_movie,
                               why="do(N = k) sets the matching tags per pair, at most the movie's tags")
            raise InterventionError(str(too_many), detail=too_many)

    @property
    def is_empty(self) -> bool:
        return all(
            getattr(self, n) is None for n in ("exposure", "obstag", "tag_effect", "n_match", "quality", "rating")
        )

    def cut_edges(self) -> list[tuple[str, str]]:
        """Edges of the node-level graph (:mod:`core.ctar.graph`) removed by this intervention."""
        cut: list[tuple[str, str]] = []
        if self.exposure is not None:
            cut += [("Pop", "OY")]
        if self.obstag is not None:
            cut += [("Y", "OT"), ("Pop", "OT")]
        if self.tag_effect is not None and self.tag_effect == 0:
            cut += [("N", "Y")]
        if self.n_match is not None:
            cut += [("S", "N")]
        if self.quality is not None:
            cut += [("b", "Q")]
        if self.rating is not None:
            cut += [("Q", "Y"), ("N", "Y")]
        return list(dict.fromkeys(cut))

    def describe(self) -> str:
        parts = []
        for name in ("exposure", "obstag", "tag_effect", "n_match", "quality", "rating"):
            value = getattr(self, name)
            if value is not None:
                shown = value if isinstance(value, (str, int, float)) else getattr(value, "name", type(value).__name__)
                parts.append(f"do({name} = {shown})")
        return ", ".join(parts) or "no intervention"


@dataclass
class SampleCounts:
    """Aggregates over *every* pair, accumulated chunk by chunk (the full matrix need not be kept).

    Attributes
    ----------
    rating_full : (5,) int64, latent ratings 1..5 over all pairs
    n_match_by_movie : (M, K+1) int64, counts of ``N_um = n`` per movie
    rating_by_match : (K+1, 5) int64, latent rating counts by ``N``
    p_rating_by_movie, observed_by_movie : (M,) float64 / int64, summed propensity and observed count
    obstag_by_rating : (5,) int64 tagged pairs by latent rating; pairs_by_rating (5,) all pairs
    p_obstag_by_decile_rating : (10, 5) float64 summed ObsTag propensity; pairs_by_decile_rating (10, 5)
    rating_by_decile : (10, 5) int64, latent rating counts by popularity decile
    """

    rating_full: NDArray[np.int64]
    n_match_by_movie: NDArray[np.int64]
    rating_by_match: NDArray[np.int64]
    p_rating_by_movie: NDArray[np.float64]
    observed_by_movie: NDArray[np.int64]
    obstag_by_rating: NDArray[np.int64]
    pairs_by_rating: NDArray[np.int64]
    p_obstag_by_decile_rating: NDArray[np.float64]
    pairs_by_decile_rating: NDArray[np.int64]
    rating_by_decile: NDArray[np.int64]

    @classmethod
    def zeros(cls, n_movies: int, k: int) -> SampleCounts:
        return cls(
            np.zeros(5, np.int64),
            np.zeros((n_movies, k + 1), np.int64),
            np.zeros((k + 1, 5), np.int64),
            np.zeros(n_movies),
            np.zeros(n_movies, np.int64),
            np.zeros(5, np.int64),
            np.zeros(5, np.int64),
            np.zeros((10, 5)),
            np.zeros((10, 5), np.int64),
            np.zeros((10, 5), np.int64),
        )


@dataclass
class ChunkResult:
    """One chunk's arrays (all ``(n, M)`` unless stated) and its sparse rows."""

    ctx: PairContext
    p_rating: NDArray[np.float64]
    observed: NDArray[np.bool_]
    recorded: NDArray[Any]
    p_obstag: NDArray[np.float64]
    tagged: NDArray[np.bool_]
    obstag_rows: pd.DataFrame
    obstag_pairs: pd.DataFrame
    forgotten: pd.DataFrame
    rct_rows: pd.DataFrame

    def rating_rows(self, start: int) -> pd.DataFrame:
        """rating.csv's rows of this chunk (userid, movieid, rating) int64: the recorded value of each observed pair."""
        ou, om = np.nonzero(self.observed)
        recorded = np.asarray(self.recorded)[ou, om].astype(np.int64)
        return pd.DataFrame({"userid": ou + start, "movieid": om, "rating": recorded}).astype(np.int64)


@dataclass
class CTARSample:
    """A generated dataset with its ground truth (see the module docstring for the contract)."""

    config: CTARConfig
    catalogue: Catalogue
    intervention: Intervention
    exposure: ExposurePolicy
    obstag_policy: ExposurePolicy
    outcome: OutcomePolicy
    liked: NDArray[np.bool_]
    quality: NDArray[np.float64]  # used by the ratings (the do() value under do(Q = q))
    quality_natural: NDArray[np.float64]  # the natural draw q_m = b_m + N(0, quality_sigma^2)
    rct_design: NDArray[np.int64]
    rating: pd.DataFrame
    obstag: pd.DataFrame
    rcttag: pd.DataFrame
    obstag_pairs: pd.DataFrame
    forgotten: pd.DataFrame
    tests: dict[str, pd.DataFrame]
    counts: SampleCounts
    rating_full: NDArray[np.int8] | None = None
    n_match: NDArray[np.int8] | None = None
    observed: NDArray[np.bool_] | None = None
    tagged: NDArray[np.bool_] | None = None
    propensity_rating: NDArray[np.float32] | None = None
    propensity_obstag: NDArray[np.float32] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_users(self) -> int:
        return int(self.config.n_users)

    @property
    def n_movies(self) -> int:
        return int(self.catalogue.n_movies)

    @property
    def movie_tags(self) -> NDArray[np.int64]:
        """(M, K) ``T_m`` as tag ids."""
        return self.catalogue.movie_tags

    @property
    def keeps_full(self) -> bool:
        return self.rating_full is not None

    def movie_frame(self) -> pd.DataFrame:
        """movie.csv: movieid (= popularity rank), taglist."""
        taglist = [",".join(str(int(t)) for t in row) for row in self.catalogue.movie_tags]
        return pd.DataFrame({"movieid": np.arange(self.n_movies, dtype=np.int64), "taglist": taglist})

    def tables(self) -> CTARTables:
        """The observable dataset in CTAR's layout."""
        return CTARTables(
            self.rating,
            self.obstag,
            self.rcttag,
            self.movie_frame(),
            self.tests,
            n_users=self.n_users,
            n_movies=self.n_movies,
        )

    def chunk_bounds(self) -> list[tuple[int, int]]:
        step = self.config.users_per_chunk
        return [(s, min(s + step, self.n_users)) for s in range(0, self.n_users, step)]

    def regenerate(self, chunk: int) -> ChunkResult:
        """Recompute chunk ``chunk`` exactly (same streams): the full matrices of its users."""
        bounds = self.chunk_bounds()
        if not 0 <= chunk < len(bounds):
            raise CTARConfigError(f"chunk must be in [0, {len(bounds)}), got {chunk}")
        return _sample_chunk(
            self.config,
            self.catalogue,
            self.quality_natural,
            self.rct_design,
            chunk,
            bounds[chunk],
            self.exposure,
            self.obstag_policy,
            self.outcome,
            self.intervention,
        )

    def full_rating(self) -> NDArray[np.int8]:
        """(U, M) latent ratings, from memory or regenerated chunk by chunk."""
        if self.rating_full is not None:
            return self.rating_full
        return np.concatenate([self.regenerate(c).ctx.rating for c in range(len(self.chunk_bounds()))])

    def calc_rating_propensity(self) -> NDArray[np.float32]:
        """(U, M) rating-observation propensities, from memory or regenerated."""
        if self.propensity_rating is not None:
            return self.propensity_rating
        return np.concatenate([self.regenerate(c).p_rating.astype(np.float32) for c in range(len(self.chunk_bounds()))])

    def truth_frames(self) -> dict[str, pd.DataFrame]:
        """Ground-truth tables: liked tags, movies (quality used, its natural draw, popularity, tags), tags (names,
        pi), forgotten."""
        u, t = np.nonzero(self.liked)
        cat = self.catalogue
        movies = pd.DataFrame(
            {
                "movieid": np.arange(self.n_movies, dtype=np.int64),
                "source_movieid": cat.movie_source_ids,
                "title": cat.movie_titles.astype(str),
                "popularity": cat.popularity,
                "base_rating": cat.base_rating,
                "quality": self.quality,
                "quality_natural": self.quality_natural,
                "n_real_tags": cat.n_real_tags,
            }
        )
        tags = pd.DataFrame(
            {
                "tagid": np.arange(cat.n_tags, dtype=np.int64),
                "source_tagid": cat.tag_source_ids,
                "name": cat.tag_names.astype(str),
                "pi": cat.pi,
            }
        )
        return {
            "liked": pd.DataFrame({"userid": u.astype(np.int64), "tagid": t.astype(np.int64)}),
            "movies": movies,
            "tags": tags,
            "forgotten": self.forgotten,
            "obstag_pairs": self.obstag_pairs,
        }


def _chunk_rngs(seed: int, chunk: int) -> dict[str, np.random.Generator]:
    ss = np.random.SeedSequence(seed, spawn_key=(100, chunk))
    return {name: np.random.default_rng(child) for name, child in zip(_CHUNK_STREAMS, ss.spawn(len(_CHUNK_STREAMS)))}


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAMS[name],)))


def draw_liked(rng: np.random.Generator, pi: NDArray[np.float64], n: int, k_min: int, k_max: int) -> NDArray[np.bool_]:
    """(n, V) bool: ``k_u ~ UniformInt{k_min..k_max}`` tags per row drawn from ``pi`` without replacement.

    :func:`~core.ctar.equations.gumbel_top_k` with float32 keys: the ``k`` largest of ``log pi_t + G_t``
    (``G`` i.i.d. Gumbel) are a sample without replacement with probabilities ``pi`` (Vieira 2014;
    Kool et al. 2019).
    """
    k_u = rng.integers(k_min, k_max + 1, size=n)
    with np.errstate(divide="ignore"):
        log_pi = np.log(pi)
    return gumbel_top_k(rng, log_pi, k_u, k_max=k_max, dtype=np.float32)


def draw_quality(config: CTARConfig, catalogue: Catalogue) -> NDArray[np.float64]:
    """``q_m = b_m + N(0, quality_sigma^2)`` from the quality stream."""
    rng = _stream(config.seed, "quality")
    return catalogue.base_rating + rng.normal(0.0, config.quality_sigma, catalogue.n_movies)


def draw_rct_design(config: CTARConfig, n_movies: int) -> NDArray[np.int64]:
    """(rct_users, 1 + rct_movies) int64: each row a user then its ``rct_movies`` random movies."""
    rng = _stream(config.seed, "design")
    users = np.sort(rng.choice(config.n_users, size=config.rct_users, replace=False))
    movies = np.argsort(rng.random((config.rct_users, n_movies)), axis=1)[:, : config.rct_movies]
    return np.concatenate([users[:, None], np.sort(movies, axis=1)], axis=1).astype(np.int64)


def _resolve(policy: ExposurePolicy | str | None, rate: float) -> ExposurePolicy | None:
    """An intervention's exposure: ``"uniform"`` is MCAR at ``rate`` (Intervention checked the rest)."""
    return UniformExposure(rate) if policy == "uniform" else policy if isinstance(policy, ExposurePolicy) else None


def _write_tags(
    u: NDArray[np.int64],
    m: NDArray[np.int64],
    liked_local: NDArray[np.bool_],
    u_local: NDArray[np.int64],
    movie_tags: NDArray[np.int64],
    forget: float | None,
    rng: np.random.Generator | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows (userid, movieid, tagid) written for pairs (u, m), and the forgotten ones.

    The first liked tag in the movie's tag order is always written; each further one is
    forgotten with probability ``forget`` (``None``: all written, the RCT slice); pairs without a
    liked tag write -1.
    """
    T = movie_tags[m]  # (P, K)
    L = liked_local[u_local[:, None], T]
    any_liked = L.any(axis=1)
    written = L.copy()
    if forget is not None and forget > 0:
        assert rng is not None, "forgetting tags draws from rng"
        first = np.argmax(L, axis=1)
        keep = rng.random(L.shape) >= forget
        keep[np.arange(L.shape[0]), first] = True
        written &= keep
    forgotten = L & ~written
    pi, ki = np.nonzero(written)
    none = np.flatnonzero(~any_liked)
    rows = (
        pd.DataFrame(
            {
                "userid": np.concatenate([u[pi], u[none]]),
                "movieid": np.concatenate([m[pi], m[none]]),
                "tagid": np.concatenate([T[pi, ki], np.full(none.size, -1, dtype=np.int64)]),
                "_order": np.concatenate([pi * (T.shape[1] + 1) + ki, none * (T.shape[1] + 1)]),
            }
        )
        .sort_values("_order", kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    fi, fk = np.nonzero(forgotten)
    lost = pd.DataFrame({"userid": u[fi], "movieid": m[fi], "tagid": T[fi, fk]})
    return rows.astype(np.int64), lost.astype(np.int64)


def _draw_ratings(config: CTARConfig, catalogue: Catalogue, quality: NDArray[np.float64], n: int, do: Intervention,
                  rngs: dict[str, np.random.Generator]) -> tuple[NDArray[Any], ...]:
    """Liked tags, matches ``N`` (natural and after ``do``), quality and the latent ratings of ``n`` users.

    Returns ``(liked, n_match, n_eff, q, rating)``.
    """
    m_count, tags = catalogue.n_movies, catalogue.movie_tags
    liked = draw_liked(rngs["liked"], catalogue.pi, n, config.liked_min, config.liked_max)
    n_match = np.zeros((n, m_count), dtype=np.int8)
    for col in range(tags.shape[1]):
        n_match += liked[:, tags[:, col]]
    effect = config.tag_effect if do.tag_effect is None else float(do.tag_effect)
    n_eff = n_match if do.n_match is None else np.full_like(n_match, int(do.n_match))
    q = do.calc_quality(quality)
    noise = rngs["noise"].standard_normal((n, m_count), dtype=np.float32)
    rating = rating_equation(
        noise, q, n_eff, offset=config.rating_offset, tag_effect=effect, noise_sigma=config.noise_sigma
    )
    del noise
    if do.rating is not None:
        rating[:] = int(do.rating)
    return liked, n_match, n_eff, q, rating


def _tag_rows(res_ctx: PairContext, tagged: NDArray[np.bool_], p_obstag: NDArray[np.float64], config: CTARConfig,
              rct_design: NDArray[np.int64], bounds: tuple[int, int],
              rngs: dict[str, np.random.Generator]) -> tuple[pd.DataFrame, ...]:
    """A chunk's written tags: ``(obstag_rows, forgotten, obstag_pairs, rct_rows)``."""
    start, stop = bounds
    liked, tags, n_match = res_ctx.extras["liked"], res_ctx.extras["movie_tags"], res_ctx.extras["n_match_natural"]
    tu, tm = np.nonzero(tagged)
    obstag_rows, forgotten = _write_tags(tu + start, tm, liked, tu, tags, config.forget_prob, rngs["forget"])
    obstag_pairs = pd.DataFrame(
        {
            "userid": tu + start,
            "movieid": tm,
            "n_match": n_match[tu, tm].astype(np.int64),
            "rating": res_ctx.rating[tu, tm].astype(np.int64),
            "p_obstag": p_obstag[tu, tm],
        }
    )
    in_chunk = (rct_design[:, 0] >= start) & (rct_design[:, 0] < stop)
    design = rct_design[in_chunk]
    ru = np.repeat(design[:, 0], design.shape[1] - 1)
    rm = design[:, 1:].ravel()
    rct_rows, _ = _write_tags(ru, rm, liked, ru - start, tags, None, None)
    return obstag_rows, forgotten, obstag_pairs, rct_rows


def _sample_chunk(
    config: CTARConfig,
    catalogue: Catalogue,
    quality: NDArray[np.float64],
    rct_design: NDArray[np.int64],
    chunk: int,
    bounds: tuple[int, int],
    exposure: ExposurePolicy,
    obstag: ExposurePolicy,
    outcome: OutcomePolicy,
    do: Intervention,
) -> ChunkResult:
    rngs = _chunk_rngs(config.seed, chunk)
    start, stop = bounds
    n, m_count = stop - start, catalogue.n_movies
    liked, n_match, n_eff, q, rating = _draw_ratings(config, catalogue, quality, n, do, rngs)
    ctx = PairContext(
        np.arange(start, stop, dtype=np.int64),
        rating,
        q,
        np.arange(m_count, dtype=np.int64),
        catalogue.popularity,
        n_eff,
        rngs["exposure_policy"],
        extras={"liked": liked, "movie_tags": catalogue.movie_tags, "n_match_natural": n_match},
    )
    p_rating = np.asarray(exposure.calc_propensity(ctx), dtype=np.float64)
    _check_propensity(p_rating, (n, m_count), getattr(exposure, "name", "exposure"))
    observed = rngs["exposure_draw"].random((n, m_count), dtype=np.float32) < p_rating
    recorded = outcome.observe(replace(ctx, rng=rngs["outcome"]), observed)
    p_obstag = np.asarray(obstag.calc_propensity(replace(ctx, rng=rngs["obstag_policy"])), dtype=np.float64)
    _check_propensity(p_obstag, (n, m_count), getattr(obstag, "name", "obstag"))
    tagged = rngs["obstag_draw"].random((n, m_count), dtype=np.float32) < p_obstag
    obstag_rows, forgotten, obstag_pairs, rct_rows = _tag_rows(ctx, tagged, p_obstag, config, rct_design, bounds, rngs)
    return ChunkResult(
        ctx, p_rating, observed, recorded, p_obstag, tagged, obstag_rows, obstag_pairs, forgotten, rct_rows
    )


def _check_propensity(p: NDArray[np.float64], shape: tuple[int, int], name: str) -> None:
    if p.shape != shape:
        raise CTARConfigError(f"policy {name!r} returned propensities of shape {p.shape}, expected {shape}")
    lo, hi = float(p.min(initial=0.0)), float(p.max(initial=0.0))
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 1:
        raise CTARConfigError(f"policy {name!r} returned propensities outside [0, 1] (min {lo}, max {hi})")


def _accumulate(counts: SampleCounts, res: ChunkResult, decile: NDArray[np.int64], k: int) -> None:
    y = res.ctx.rating.astype(np.int64) - 1
    n_nat = res.ctx.extras["n_match_natural"].astype(np.int64)
    m_count = y.shape[1]
    counts.rating_full += np.bincount(y.ravel(), minlength=5)
    cols = np.broadcast_to(np.arange(m_count), y.shape)
    counts.n_match_by_movie += np.bincount((cols * (k + 1) + n_nat).ravel(), minlength=m_count * (k + 1)).reshape(
        m_count, k + 1
    )
    n_eff = np.minimum(res.ctx.n_match.astype(np.int64), k)
    counts.rating_by_match += np.bincount((n_eff * 5 + y).ravel(), minlength=(k + 1) * 5).reshape(k + 1, 5)
    counts.p_rating_by_movie += res.p_rating.sum(axis=0)
    counts.observed_by_movie += res.observed.sum(axis=0)
    counts.obstag_by_rating += np.bincount(y[res.tagged], minlength=5)
    counts.pairs_by_rating += np.bincount(y.ravel(), minlength=5)
    dy = (decile[None, :] * 5 + y).ravel()
    counts.p_obstag_by_decile_rating += np.bincount(dy, weights=res.p_obstag.ravel(), minlength=50).reshape(10, 5)
    dy_counts = np.bincount(dy, minlength=50).reshape(10, 5)
    counts.pairs_by_decile_rating += dy_counts
    counts.rating_by_decile += dy_counts


def popularity_decile(n_movies: int) -> NDArray[np.int64]:
    """(M,) decile 0..9 of each rank (0 = the most popular tenth)."""
    return np.minimum(np.arange(n_movies) * 10 // max(n_movies, 1), 9).astype(np.int64)


def _catalogue_for(config: CTARConfig, inputs: CatalogueInputs | Catalogue | None) -> Catalogue:
    """A prepared catalogue as given (its size checked), or steps 1-3 on ``inputs`` (synthetic when None)."""
    if isinstance(inputs, Catalogue):
        if inputs.n_movies != config.n_movies:
            raise CTARConfigError(f"n_movies={config.n_movies} differs from the prepared catalogue's {inputs.n_movies}")
        return inputs
    return prepare_catalogue(
        inputs if inputs is not None else make_synthetic_inputs(), config, _stream(config.seed, "catalogue")
    )


_FULL_MATRICES = {"rating_full": np.int8, "n_match": np.int8, "observed": bool, "tagged": bool,
                  "propensity_rating": np.float32, "propensity_obstag": np.float32}


class _Collected:
    """What the chunks leave behind: their sparse rows, the running counts, and (small runs) the full matrices."""

    def __init__(self, config: CTARConfig, catalogue: Catalogue) -> None:
        n_users, n_movies, self.k = config.n_users, catalogue.n_movies, config.tags_per_movie
        self.full: dict[str, NDArray[Any]] = {}
        if config.n_pairs <= config.keep_full_max_pairs:
            self.full = {name: np.empty((n_users, n_movies), dtype) for name, dtype in _FULL_MATRICES.items()}
        self.liked = np.zeros((n_users, catalogue.n_tags), dtype=bool)
        self.counts = SampleCounts.zeros(n_movies, self.k)
        self.decile = popularity_decile(n_movies)
        self.ratings: list[pd.DataFrame] = []
        self.obstags: list[pd.DataFrame] = []
        self.pairs: list[pd.DataFrame] = []
        self.lost: list[pd.DataFrame] = []
        self.rcts: list[pd.DataFrame] = []

    def add(self, res: ChunkResult, start: int, stop: int) -> None:
        self.liked[start:stop] = res.ctx.extras["liked"]
        self.ratings.append(res.rating_rows(start))
        self.obstags.append(res.obstag_rows)
        self.pairs.append(res.obstag_pairs)
        self.lost.append(res.forgotten)
        self.rcts.append(res.rct_rows)
        _accumulate(self.counts, res, self.decile, self.k)
        if self.full:
            chunk = {"rating_full": res.ctx.rating, "n_match": res.ctx.n_match, "observed": res.observed,
                     "tagged": res.tagged, "propensity_rating": res.p_rating, "propensity_obstag": res.p_obstag}
            for name, values in chunk.items():
                self.full[name][start:stop] = values

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The chunks' rows joined: ``(rating, obstag, rcttag, forgotten)``."""
        rating = pd.concat(self.ratings, ignore_index=True).astype(np.int64)
        return (rating, pd.concat(self.obstags, ignore_index=True), pd.concat(self.rcts, ignore_index=True),
                pd.concat(self.lost, ignore_index=True))


def sample(
    config: CTARConfig,
    inputs: CatalogueInputs | Catalogue | None = None,
    exposure: ExposurePolicy | None = None,
    outcome: OutcomePolicy | None = None,
    progress: Progress | None = None,
    *,
    obstag: ExposurePolicy | None = None,
    intervention: Intervention | None = None,
) -> CTARSample:
    """Generate a CTAR dataset (see the module docstring for the contract and the steps).

    Returns
    -------
    CTARSample
        Observable tables in CTAR's layout plus the ground truth.

    Examples
    --------
    >>> from core.ctar.config import CTARConfig
    >>> s = sample(CTARConfig(n_users=50, n_movies=40, rct_users=5, rct_movies=3,
    ...            test_identifiable_n=20, test_identifiable_pos=5, test_inidentifiable_n=20,
    ...            test_inidentifiable_pos=5, rating_rate=0.2))
    >>> s.rating_full.shape, s.rating.columns.tolist()
    ((50, 40), ['userid', 'movieid', 'rating'])
    """
    t0 = time.perf_counter()
    plan = plan_sample(config, inputs, exposure, outcome, obstag=obstag, intervention=intervention)
    config.check_memory(n_tags=plan.catalogue.n_tags)  # with the real vocabulary, before any (U, .) allocation
    got = _Collected(config, plan.catalogue)
    bounds = plan.chunk_bounds()
    for c, (start, stop) in enumerate(bounds):  # steps 4, 5 and 7-11, each chunk on its own seeded streams
        got.add(plan.sample_chunk(c), start, stop)
        if progress is not None:
            progress((c + 1) / (len(bounds) + 1), f"sampled users {stop:,} / {config.n_users:,}")
    rating, obstag_df, rcttag, forgotten = got.tables()
    tests, notes = plan.build_test_sets(got.liked, rating, obstag_df, rcttag, forgotten)
    if progress is not None:
        progress(1.0, "test sets built")
    return CTARSample(
        config=config, catalogue=plan.catalogue, intervention=plan.intervention,
        exposure=plan.exposure, obstag_policy=plan.obstag, outcome=plan.outcome,  # the mechanisms
        liked=got.liked, quality=plan.intervention.calc_quality(plan.quality), quality_natural=plan.quality,
        rct_design=plan.rct_design,  # the latent draws
        rating=rating, obstag=obstag_df, rcttag=rcttag, obstag_pairs=pd.concat(got.pairs, ignore_index=True),
        forgotten=forgotten, tests=tests,  # the tables
        counts=got.counts, notes=notes, seconds=time.perf_counter() - t0, **got.full,
    )


@dataclass(frozen=True)
class SamplePlan:
    """What every chunk of a sample shares: the catalogue, the per-movie draws and the mechanisms.

    Chunk ``c`` (users ``chunk_bounds()[c]``) is a pure function of the plan and ``c``
    (:meth:`sample_chunk`), so chunks can be sampled in any order, in any process, alone. The plan
    is plain data (picklable) for workers.
    """

    config: CTARConfig
    catalogue: Catalogue
    quality: NDArray[np.float64]
    rct_design: NDArray[np.int64]
    exposure: ExposurePolicy
    obstag: ExposurePolicy
    outcome: OutcomePolicy
    intervention: Intervention

    def chunk_bounds(self) -> list[tuple[int, int]]:
        """``[(start, stop), ...]`` user ranges of the chunks (``config.users_per_chunk`` users each)."""
        n_users, step = self.config.n_users, self.config.users_per_chunk
        return [(s, min(s + step, n_users)) for s in range(0, n_users, step)]

    def sample_chunk(self, chunk: int) -> ChunkResult:
        """Chunk ``chunk``'s arrays and rows, on its own seeded streams."""
        return _sample_chunk(self.config, self.catalogue, self.quality, self.rct_design, chunk,
                             self.chunk_bounds()[chunk], self.exposure, self.obstag, self.outcome, self.intervention)

    def build_test_sets(self, liked: NDArray[np.bool_], rating: pd.DataFrame, obstag: pd.DataFrame,
                        rcttag: pd.DataFrame, forgotten: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], list[str]]:
        """CTAR's test sets from the joined chunks (:func:`core.ctar.testsets.build_test_sets`, the tests stream)."""
        return build_test_sets(self.config, liked, self.catalogue.movie_tags, rating, obstag, rcttag, forgotten,
                               _stream(self.config.seed, "tests"))


def plan_sample(
    config: CTARConfig,
    inputs: CatalogueInputs | Catalogue | None = None,
    exposure: ExposurePolicy | None = None,
    outcome: OutcomePolicy | None = None,
    *,
    obstag: ExposurePolicy | None = None,
    intervention: Intervention | None = None,
) -> SamplePlan:
    """Steps 1-3 and 6 (the catalogue, the qualities) and the RCT design; the mechanisms resolved."""
    do = intervention or Intervention()
    do.check_config(config)
    catalogue = _catalogue_for(config, inputs)
    return SamplePlan(
        config=config,
        catalogue=catalogue,
        quality=draw_quality(config, catalogue),
        rct_design=draw_rct_design(config, catalogue.n_movies),
        exposure=_resolve(do.exposure, config.rating_rate) or exposure or PopularityExposure.from_config(config),
        obstag=_resolve(do.obstag, config.obstag_rate) or obstag or ObsTagExposure.from_config(config),
        outcome=outcome or LatentOutcome(),
        intervention=do,
    )


def intervene(
    config: CTARConfig,
    intervention: Intervention | None = None,
    *,
    inputs: CatalogueInputs | Catalogue | None = None,
    progress: Progress | None = None,
    **do: Any,
) -> CTARSample:
    """Sample the mutilated model: ``intervene(config, exposure="uniform")``, ``intervene(config, tag_effect=0)``.

    Keyword arguments are :class:`Intervention` fields; the streams are those of
    :func:`sample` with the same config, so the two samples are paired draws.
    """
    if intervention is None:
        intervention = Intervention(**do)
    elif do:
        intervention = replace(intervention, **do)
    return sample(config, inputs, progress=progress, intervention=intervention)
