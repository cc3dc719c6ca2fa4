"""Every constant of the CTAR generator in one frozen, validated dataclass.

Source: Lyu, Dai, Wu et al., "A Semi-Synthetic Dataset Generation Framework for Causal
Inference in Recommender Systems" (arXiv 2202.11351), code KID-22/CTAR (MIT); see
``docs/CTAR.md``. Defaults equal the released generator's command-line defaults.

Two modes (``mode``):

``"exact"``
    The original formulas. Rating exposure ``p_j = 2 r sigmoid(a (M/2 - j))`` (``r`` =
    ``rating_rate``, ``a`` = ``rating_slope``), ObsTag ``p_um ∝ sigmoid(b_Y (M/1000) Y_um - b_j j)``
    rescaled per user to mean ``obstag_rate``. Because the rescaling happens after the sigmoid,
    some rates give ``p > 1`` (the original then crashes in ``np.random.binomial``); such rates
    are refused here, naming the parameter and the largest value the mode allows.
``"normalised"``
    The rank is normalised, ``j' = 1000 j / M``, so the logit range does not grow with M (it is
    the original's at M = 1000), and an intercept is solved (per user for ObsTag) so that the
    mean observation probability equals the rate exactly with every ``p`` in ``[0, 1]``; any rate
    in ``(0, 1)`` is feasible.

Known defects of the original that this configuration fixes: the "missing rate" flags are
observation rates (named ``*_rate`` here); ``--recsys`` was ignored (the exposure is an
injected :class:`~core.ctar.mechanisms.ExposurePolicy` instead); the ``weightedsum`` rater was
broken (only CTAR's ``qualitybase`` rater is offered); test-set quotas could loop forever
(``test_max_rounds`` bounds them); Test I leaked known positives (``test_exact_compat=False``
removes them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from core.limits import TooBig
from core.validate import Refusal, RefusedError, Rule, refusal_of

MODES = ("exact", "normalised")
#: What a form offers for a choice field, in words (the value stays the field's: links and ``--set`` use it).
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "mode": {"exact": "CTAR's own formulas (exact)", "normalised": "Normalised: any rate holds (normalised)"}}
RATING_LEVELS = (1, 2, 3, 4, 5)
REFERENCE_N_MOVIES = 1000  # the M at which the normalised rank equals the original rank


@dataclass(frozen=True)
class Exceeds:
    """A value above another that bounds it (``rct_users`` above ``n_users``), as data; ``str()`` is the message
    (``must``: said as ``"must be <="`` rather than ``"exceeds"``; ``why``: the reason, in words naming no field,
    said after ``field=got exceeds limit_field=limit`` with what to change).

    >>> print(Exceeds("n_match", 9, "tags_per_movie", 8, why="a movie has no more tags"))
    n_match=9 exceeds tags_per_movie=8: a movie has no more tags; lower n_match or raise tags_per_movie
    """

    field: str
    got: Any
    limit_field: str
    limit: Any
    must: bool = False
    why: str = ""

    def __str__(self) -> str:
        if self.why:
            return (f"{self.field}={self.got} exceeds {self.limit_field}={self.limit}: {self.why}; lower {self.field} "
                    f"or raise {self.limit_field}")
        said = "must be <=" if self.must else "exceeds"
        return f"{self.field} ({self.got}) {said} {self.limit_field} ({self.limit})"

    def in_words(self, label: Callable[[str], str] | None = None) -> str:
        """Said with the form's labels (``label``, else :func:`parameter_label`)."""
        name, limit = (f'"{(label or parameter_label)(f)}"' for f in (self.field, self.limit_field))
        if self.why:
            return f"{name} = {self.got} is more than {limit} = {self.limit}: {self.why}; lower {name} or raise {limit}"
        said = "must be at most" if self.must else "is more than"
        return f"{name} ({self.got}) {said} {limit} ({self.limit})"


@dataclass(frozen=True)
class RateCap:
    """A rate above the largest that exact mode's formulas allow (:func:`max_rating_rate_exact`,
    :func:`max_obstag_rate_exact`), as data: the rate's ``field``, the value ``got``, the largest allowed ``top`` and
    the ``n_movies`` it holds at. ``str()`` is the message, :meth:`in_words` what a form says."""

    field: Literal["rating_rate", "obstag_rate"]
    got: float
    top: float
    n_movies: int

    def __str__(self) -> str:
        return self._say(f"{self.field}={self.got} exceeds", f"n_movies={self.n_movies}", "mode='exact'",
                         "mode='normalised'")

    def in_words(self, label: Callable[[str], str] | None = None) -> str:
        """Said with the form's labels (``label``, else :func:`parameter_label`)."""
        rate, movies, mode = (f'"{(label or parameter_label)(f)}" = ' for f in (self.field, "n_movies", "mode"))
        return self._say(f"{rate}{self.got} is more than", f"{movies}{self.n_movies}", f"{mode}exact",
                         f"{mode}normalised")

    def _say(self, rate_exceeds: str, movies: str, exact: str, normalised: str) -> str:
        return (f"{rate_exceeds} {self.top:.4f}, the largest rate the exact formulas ({exact}) allow at {movies}: a "
                f"higher one {_RATE_RISK[self.field]}; the normalised formulas ({normalised}) allow any rate below 1")


_RATE_RISK = {"rating_rate": "gives the most popular movies a chance of being rated above 1",
              "obstag_rate": "can give a pair a chance of being tagged above 1"}


class CTARConfigError(RefusedError):
    """A CTAR configuration value is impossible; the message names the parameter. What it refused may come as
    data, which :func:`in_words` words for a form: a value out of its range as its
    :class:`~core.validate.Refusal` (``refusal``); as ``detail``, a value above another that bounds it
    (:class:`Exceeds`), a rate above exact mode's cap (:class:`RateCap`) or sizes that do not fit in memory
    (:class:`~core.limits.TooBig`). Without either, the message alone says it (and a form shows it as it is)."""

    def __init__(self, message: object = "", refusal: Refusal | None = None,
                 detail: Exceeds | RateCap | TooBig | None = None) -> None:
        super().__init__(message, refusal)
        self.detail = detail


class InterventionError(CTARConfigError):
    """An intervention (:class:`~core.ctar.sampler.Intervention`) is refused: the fields its refusal names are the
    intervention's (:data:`INTERVENTION_LABELS`), before the configuration's."""


def _refused(name: str, rule: Rule, value: Any) -> CTARConfigError:
    return CTARConfigError(str(refusal := Refusal(name, rule, value)), refusal)


def _said(detail: Exceeds | RateCap | TooBig, error: type[CTARConfigError] = CTARConfigError) -> CTARConfigError:
    return error(str(detail), detail=detail)


def _exceeds(field: str, got: Any, limit_field: str, limit: Any, *, must: bool = False) -> CTARConfigError:
    return _said(Exceeds(field, got, limit_field, limit, must))


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def max_rating_rate_exact(n_movies: int, rating_slope: float) -> float:
    """Largest ``rating_rate`` for which the exact rating exposure keeps every ``p_j <= 1``.

    ``max_j 2 r sigmoid(a (M/2 - j)) = 2 r sigmoid(a M / 2) <= 1``.
    """
    return float(1.0 / (2.0 * _sigmoid(rating_slope * n_movies / 2.0)))


def max_obstag_rate_exact(n_movies: int, rating_slope: float, rank_slope: float) -> float:
    """Largest ``obstag_rate`` the exact ObsTag mechanism allows for *every* possible rating matrix.

    Per user ``p_uj = r w_uj / mean_j w_uj`` with ``w_uj = sigmoid(b_Y (M/1000) Y_uj - b_j j)``.
    The worst case puts the largest weight (at ``j = 0``, as ``b_j >= 0``) over the smallest mean.
    Over the ratings 1..5 the largest weight has ``Y_hi`` and the smallest ``Y_lo``, with
    ``(Y_lo, Y_hi) = (1, 5)`` for ``b_Y >= 0`` and ``(5, 1)`` for a negative slope, so
    ``r <= mean_j sigmoid(b_Y (M/1000) Y_lo - b_j j) / sigmoid(b_Y (M/1000) Y_hi)``
    guarantees ``p <= 1`` whatever ratings are drawn.

    >>> round(max_obstag_rate_exact(1000, 1.0, 0.005), 3), round(max_obstag_rate_exact(200, -5.0, 0.005), 3)
    (0.261, 0.016)
    """
    scale = rating_slope * n_movies / REFERENCE_N_MOVIES
    y_lo, y_hi = (min(RATING_LEVELS), max(RATING_LEVELS)) if scale >= 0 else (max(RATING_LEVELS), min(RATING_LEVELS))
    j = np.arange(n_movies)
    low_mean = float(_sigmoid(scale * y_lo - rank_slope * j).mean())
    return low_mean / float(_sigmoid(scale * y_hi))


ESTIMATE_N_TAGS = 2000  # tag vocabulary assumed by the memory check (synthetic: 1,200; CTAR's release: ~1,700)


def estimate_sample_bytes(
    n_users: int, n_movies: int, *, tags_per_movie: int = 8, rating_rate: float = 0.02, obstag_rate: float = 0.007,
    chunk_pairs: int = 2_000_000, keep_full_max_pairs: int = 50_000_000, rct_users: int = 100,
    n_tags: int = ESTIMATE_N_TAGS,
) -> float:
    """Peak bytes of :func:`core.ctar.sampler.sample` for these sizes (an upper estimate).

    Per user the liked-tag matrix (``n_tags`` bools) and per-user vectors; per movie the tag
    table and counters; per chunk of ``max(chunk_pairs, M)`` pairs the working arrays (~64 B a
    pair); per pair the full matrices when kept (12 B) and the observed rows (ratings up to
    ``2 r`` of the pairs at ~120 B a row with its copies, ObsTag rows ~40 B per tag); and the RCT
    design draw (``rct_users x M`` floats).
    """
    u, m = float(n_users), float(n_movies)
    pairs = u * m
    chunk = min(pairs, max(float(chunk_pairs), m))
    kept = pairs * 12.0 if pairs <= keep_full_max_pairs else 0.0
    rows = pairs * (2.0 * rating_rate * 120.0 + obstag_rate * tags_per_movie * 40.0)
    return (u * (n_tags + 64.0) + m * (tags_per_movie * 24.0 + 256.0) + chunk * 64.0 + kept + rows
            + float(rct_users) * m * 8.0 + (64 << 20))


def _param(default: Any, label: str, group: str, about: str, *, choices: tuple[str, ...] = (),
           form: bool = True) -> Any:
    """A field of :class:`CTARConfig` with what a form needs as its metadata: ``label`` (words), ``help``, the
    mechanism ``group`` it belongs to, its ``choices`` (a text field's), and whether a ``form`` shows it."""
    return field(default=default, metadata={"label": label, "help": about, "group": group, "choices": choices,
                                            "form": form})


# long: a declaration, not logic: ~20 fields each carrying its form label and help (the settings' one home, issue
# #22), their numpydoc, and __post_init__'s range checks
@dataclass(frozen=True)
class CTARConfig:
    """Constants of CTAR's generator (defaults = the released generator's).

    Parameters
    ----------
    mode : {"exact", "normalised"}
        Original formulas, or normalised rank with solved intercepts (see the module docstring).
    n_users : int
        Synthetic users U (CTAR: 1000).
    n_movies : int
        Kept movies M, the M most popular of the inputs (CTAR: 1000); column j is the rank.
    seed : int
        Seed of every random stream (``numpy.random.SeedSequence``); CTAR used 9527.
    tags_per_movie : int
        ``|T_m|``, top tags per movie, padded from ``pi`` when a movie has fewer (CTAR: 8).
    liked_min, liked_max : int
        ``k_u ~ UniformInt{liked_min..liked_max}`` liked tags per user (CTAR: 10..20).
    quality_sigma : float
        ``q_m = b_m + N(0, quality_sigma^2)`` (CTAR: 0.75).
    rating_offset, tag_effect, noise_sigma : float
        ``Y_um = clip(round(q_m - rating_offset + tag_effect N_um + N(0, noise_sigma^2)), 1, 5)``
        (CTAR: 0.7, 0.5, 0.25).
    rating_rate, rating_slope : float
        Rating observation rate (CTAR's ``missing_rate_rating`` 0.02) and logit slope per rank
        position (0.002).
    obstag_rate : float
        Voluntary-tagging rate per user (CTAR's ``missing_rate_obstag`` 0.007).
    obstag_rating_slope, obstag_rank_slope : float
        ObsTag logit ``obstag_rating_slope * (M/1000) * Y - obstag_rank_slope * j`` (exact) or
        ``c_u + obstag_rating_slope * Y - obstag_rank_slope * 1000 j / M`` (normalised);
        CTAR: 1.0 (= 0.005 * M/5 / (M/1000)) and 0.005.
    forget_prob : float
        Each liked tag after the first is forgotten (held out for Test I) with this probability
        (CTAR: 1 - obstag_non_missing_rate = 0.4).
    rct_users, rct_movies : int
        RCTTag design: ``rct_users`` random users x ``rct_movies`` random movies each (100 x 10).
    test_identifiable_n, test_identifiable_pos : int
        Test II size and positive quota (5000, 1500).
    test_inidentifiable_n, test_inidentifiable_pos : int
        Test III size and positive quota (4000, 1200).
    validation_share : float
        Share of each test set moved to the validation set (CTAR: 0.3).
    test_exact_compat : bool
        ``True`` keeps the original's leakage (Test I keeps forgotten tags that training facts
        already reveal; Test III ignores training facts). Default ``False``: leak-free.
    test_max_rounds : int
        Bound on the rounds of candidate draws per test set, so an unfillable quota ends with a
        shortfall (recorded in ``CTARSample.notes``) instead of looping forever.
    chunk_pairs : int
        Users are sampled in chunks of about ``chunk_pairs`` user-movie pairs (memory bound).
        Random streams are keyed by chunk, so a result depends on (seed, chunk_pairs).
    keep_full_max_pairs : int
        Keep the full (U, M) rating matrix, masks and propensities in memory up to this many
        pairs; above it :meth:`CTARSample.regenerate` recomputes any chunk.
    """

    mode: Literal["exact", "normalised"] = _param("exact", "Formulas", "Size and seed",
        "Exact: CTAR's own formulas; a high rate can push an observation probability above 1, so such rates are "
        "refused. Normalised: the popularity rank is divided by the number of movies (rank / M) and each rate is met "
        "exactly, every probability at most 1 (p <= 1).", choices=MODES)
    n_users: int = _param(1000, "Users", "Size and seed",
                          "Synthetic users U (CTAR: 1000).")
    n_movies: int = _param(1000, "Movies", "Size and seed",
                           "The M most popular movies of the inputs (CTAR: 1000).")
    seed: int = _param(9527, "Seed", "Size and seed",
                       "Seed of every random stream (CTAR: 9527).", form=False)
    tags_per_movie: int = _param(8, "Tags per movie", "Preferences and movie tags",
                                 "Top tags kept per movie, padded when a movie has fewer (CTAR: 8).")
    liked_min: int = _param(10, "Liked tags per user, at least", "Preferences and movie tags",
                            "Each user likes between this and the maximum tags (CTAR: 10).")
    liked_max: int = _param(20, "Liked tags per user, at most", "Preferences and movie tags",
                            "CTAR: 20.")
    quality_sigma: float = _param(0.75, "Movie quality spread", "Quality and rating",
                                  "Standard deviation of a movie's quality around its mean rating (CTAR: 0.75).")
    rating_offset: float = _param(0.7, "Rating offset", "Quality and rating",
                                  "Subtracted from quality before rounding to 1-5 stars (CTAR: 0.7).")
    tag_effect: float = _param(0.5, "Effect of liked tags on the rating", "Quality and rating",
                               "Stars added per liked tag the movie has, scaled (CTAR: 0.5).")
    noise_sigma: float = _param(0.25, "Rating noise", "Quality and rating",
                                "Standard deviation of the rating's noise (CTAR: 0.25).")
    rating_rate: float = _param(0.02, "Share of ratings observed", "Rating exposure (MAR)",
                                "How often a rating is seen at all (MAR; CTAR: 0.02).")
    rating_slope: float = _param(0.002, "Popularity bias of ratings", "Rating exposure (MAR)",
                                 "Logit slope per popularity rank: popular movies are rated more (CTAR: 0.002).")
    obstag_rate: float = _param(0.007, "Share of tags given", "Voluntary tagging (MNAR)",
                                "Voluntary tagging rate per user (MNAR; CTAR: 0.007).")
    obstag_rating_slope: float = _param(1.0, "Tagging follows the rating", "Voluntary tagging (MNAR)",
                                        "How much a higher rating makes a tag more likely (CTAR: 1.0).")
    obstag_rank_slope: float = _param(0.005, "Tagging follows popularity", "Voluntary tagging (MNAR)",
                                      "How much popularity rank makes a tag more likely (CTAR: 0.005).")
    forget_prob: float = _param(0.4, "Liked tags held out", "Voluntary tagging (MNAR)",
        "Each liked tag after the first is held out for Test I with this probability (CTAR: 0.4).")
    rct_users: int = _param(100, "Randomized slice: users", "Randomized slice (RCTTag)",
                            "Random users of the RCTTag design (CTAR: 100).")
    rct_movies: int = _param(10, "Randomized slice: movies per user", "Randomized slice (RCTTag)",
                             "Random movies each of them tags (CTAR: 10).")
    test_identifiable_n: int = _param(5000, "Test II size", "Test sets",
                                      "Identifiable test set (CTAR: 5000).")
    test_identifiable_pos: int = _param(1500, "Test II positives", "Test sets",
                                        "Positive quota of Test II (CTAR: 1500).")
    test_inidentifiable_n: int = _param(4000, "Test III size", "Test sets",
                                        "Inidentifiable test set (CTAR: 4000).")
    test_inidentifiable_pos: int = _param(1200, "Test III positives", "Test sets",
                                          "Positive quota of Test III (CTAR: 1200).")
    validation_share: float = _param(0.3, "Validation share", "Test sets",
                                     "Share of each test set moved to validation (CTAR: 0.3).")
    test_exact_compat: bool = _param(False, "Keep the original's test leakage", "Test sets",
        "On: test sets as CTAR built them (Test I keeps tags training reveals). Off: leak-free.")
    test_max_rounds: int = _param(50, "Rounds to fill a test set", "Test sets",
        "Bound on candidate draws, so an unfillable quota ends with a shortfall noted instead of looping.")
    chunk_pairs: int = _param(2_000_000, "User-movie pairs per chunk", "Engine",
                              "Memory bound of the sampler; results depend on it.", form=False)
    keep_full_max_pairs: int = _param(50_000_000, "Pairs kept in memory", "Engine",
                                      "Above this the full matrices are recomputed per chunk.", form=False)


    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise _refused("mode", Rule(choices=MODES), self.mode)
        for name in ("n_users", "n_movies", "tags_per_movie", "liked_min", "liked_max",
                     "test_max_rounds", "chunk_pairs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise _refused(name, Rule(lo=1, kind="an integer"), value)
        for name in ("rct_users", "rct_movies", "test_identifiable_n", "test_identifiable_pos",
                     "test_inidentifiable_n", "test_inidentifiable_pos", "keep_full_max_pairs", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise _refused(name, Rule(lo=0, kind="an integer"), value)
        if self.liked_min > self.liked_max:
            raise _exceeds("liked_min", self.liked_min, "liked_max", self.liked_max, must=True)
        if not isinstance(self.test_exact_compat, (bool, np.bool_)):
            raise _refused("test_exact_compat", Rule(kind="True or False"), self.test_exact_compat)
        for name in ("quality_sigma", "noise_sigma", "rating_slope", "obstag_rank_slope"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise _refused(name, Rule(lo=0, kind="a finite number"), value)
        for name in ("rating_offset", "tag_effect", "obstag_rating_slope"):
            if not np.isfinite(getattr(self, name)):
                raise _refused(name, Rule(kind="finite"), getattr(self, name))
        for name in ("rating_rate", "obstag_rate"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise _refused(name, Rule(lo=0, hi=1, lo_open=True, hi_open=True), value)
        for name in ("forget_prob", "validation_share"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise _refused(name, Rule(lo=0, hi=1, hi_open=True), value)
        for part, whole in (("rct_users", "n_users"), ("rct_movies", "n_movies"),
                            ("test_identifiable_pos", "test_identifiable_n"),
                            ("test_inidentifiable_pos", "test_inidentifiable_n")):
            if getattr(self, part) > getattr(self, whole):
                raise _exceeds(part, getattr(self, part), whole, getattr(self, whole))
        self.check_memory()  # before the exact-mode checks below, which allocate per movie
        if self.mode == "exact":
            top = max_rating_rate_exact(self.n_movies, self.rating_slope)
            if self.rating_rate > top:
                raise _said(RateCap("rating_rate", self.rating_rate, top, self.n_movies))
            top = max_obstag_rate_exact(self.n_movies, self.obstag_rating_slope, self.obstag_rank_slope)
            if self.obstag_rate > top:
                raise _said(RateCap("obstag_rate", self.obstag_rate, top, self.n_movies))

    def estimate_bytes(self, n_users: int | None = None, n_movies: int | None = None,
                       n_tags: int = ESTIMATE_N_TAGS) -> float:
        """:func:`estimate_sample_bytes` of this configuration (optionally with other sizes)."""
        return estimate_sample_bytes(
            self.n_users if n_users is None else n_users, self.n_movies if n_movies is None else n_movies,
            tags_per_movie=self.tags_per_movie, rating_rate=self.rating_rate, obstag_rate=self.obstag_rate,
            chunk_pairs=self.chunk_pairs, keep_full_max_pairs=self.keep_full_max_pairs, rct_users=self.rct_users,
            n_tags=n_tags)

    def check_memory(self, n_tags: int = ESTIMATE_N_TAGS, budget: int | None = None) -> None:
        """Refuse sizes whose sample would not fit in memory, naming the largest ``n_users`` (or
        ``n_movies``) that fits (:mod:`core.limits`). Called by ``__post_init__`` and by the sampler
        with the catalogue's real tag count."""
        from core.limits import too_big

        budget = budget or _budget()
        needed = self.estimate_bytes(n_tags=n_tags)
        big = None
        if self.estimate_bytes(n_users=1, n_tags=n_tags) > budget:  # the movies alone do not fit
            big = too_big(f"a CTAR sample of {self.n_movies:,} movies", needed, "n_movies", self.n_movies,
                          lambda v: self.estimate_bytes(n_users=1, n_movies=v, n_tags=n_tags), budget)
        big = big or too_big(f"a CTAR sample of {self.n_users:,} users x {self.n_movies:,} movies", needed, "n_users",
                             self.n_users, lambda v: self.estimate_bytes(n_users=v, n_tags=n_tags), budget)
        if big is not None:
            raise _said(big)

    @property
    def n_pairs(self) -> int:
        """``n_users * n_movies``."""
        return int(self.n_users) * int(self.n_movies)

    @property
    def users_per_chunk(self) -> int:
        """Users per sampling chunk, ``max(1, chunk_pairs // n_movies)``."""
        return max(1, int(self.chunk_pairs) // int(self.n_movies))

    def replace(self, **changes: Any) -> CTARConfig:
        """A validated copy with ``changes`` (unknown names are refused, naming them)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise CTARConfigError(f"unknown CTARConfig parameter(s): {unknown}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _budget() -> int:
    from core.limits import memory_budget

    return memory_budget()


PARAMETER_LABELS: dict[str, tuple[str, str]] = {  # field: (what a form shows, what its help says)
    f.name: (f.metadata["label"], f.metadata["help"]) for f in fields(CTARConfig)}


def field_meta(name: str) -> Mapping[str, Any]:
    """The form metadata of :class:`CTARConfig`'s field ``name``: ``label``, ``help``, ``group``, ``choices``, ``form``.

    >>> field_meta("mode")["choices"], field_meta("seed")["form"]
    (('exact', 'normalised'), False)
    """
    return _FIELDS[name].metadata


_FIELDS = {f.name: f for f in fields(CTARConfig)}


def parameter_label(name: str) -> str:
    """What a form calls the field ``name`` (the field name itself when it has no label).

    >>> parameter_label("n_users"), parameter_label("unknown_field")
    ('Users', 'unknown_field')
    """
    return PARAMETER_LABELS.get(name, (name, ""))[0]


def in_words(refused: BaseException) -> str:
    """A refusal of :class:`CTARConfig` or of an intervention (whose message names fields, as the command line's
    ``--set NAME=VALUE`` and ``--do NAME=VALUE`` do) said with the form's labels, its rules in words: what the page
    and a link's problems show. It is worded from what the :class:`CTARConfigError` carries (its
    :class:`~core.validate.Refusal`, or its ``detail``), never from the message; an error that carries nothing
    (an unknown parameter's name) is shown as its message.

    >>> in_words(_exceeds("rct_users", 100, "n_users", 50))
    '"Randomized slice: users" (100) is more than "Users" (50)'
    >>> in_words(_refused("rating_rate", Rule(lo=0, hi=1, lo_open=True, hi_open=True), 1.5))
    '"Share of ratings observed" must be above 0 and below 1, got 1.5'
    >>> in_words(_exceeds("liked_min", 30, "liked_max", 20, must=True))
    '"Liked tags per user, at least" (30) must be at most "Liked tags per user, at most" (20)'
    >>> in_words(CTARConfigError("n_users must be an integer >= 1, got 0"))  # nothing carried: the message
    'n_users must be an integer >= 1, got 0'
    """
    label = _intervention_label if isinstance(refused, InterventionError) else parameter_label
    detail = refused.detail if isinstance(refused, CTARConfigError) else None
    if detail is not None:
        return detail.in_words(label)
    refusal = refusal_of(refused)
    if refusal is not None:
        return f'"{label(refusal.field)}" must be {refusal.rule.in_words()}, got {refusal.got!r}'
    return str(refused)


#: An intervention's settings a refusal may name (``--do n_match=2`` on the command line), in words.
INTERVENTION_LABELS = {"exposure": "Rating exposure the intervention sets",
                       "obstag": "Voluntary tagging the intervention sets",
                       "tag_effect": "Effect of liked tags the intervention sets",
                       "n_match": "Matching tags the intervention sets",
                       "quality": "Movie quality the intervention sets",
                       "rating": "Rating the intervention sets"}


def _intervention_label(name: str) -> str:
    return INTERVENTION_LABELS.get(name) or parameter_label(name)


#: Parameters grouped by the mechanism they belong to (for forms and documentation), in field order.
PARAMETER_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(f.name for f in fields(CTARConfig) if f.metadata["group"] == group)
    for group in dict.fromkeys(f.metadata["group"] for f in fields(CTARConfig))}
#: Fields a form shows (and a link carries): all but the seed (the sidebar's) and the engine's memory bounds.
FORM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CTARConfig) if f.metadata["form"])


def refused_groups(refused: BaseException) -> tuple[str, ...]:
    """The form's groups (:data:`PARAMETER_GROUPS`) holding the parameters a refusal of :class:`CTARConfig` names,
    in the form's order: where a reader changes one of them. Read from what the refusal carries (its ``detail`` or
    :class:`~core.validate.Refusal`); an intervention's refusal, or one that carries nothing, names none.

    >>> refused_groups(_exceeds("rct_users", 100, "n_users", 50))
    ('Size and seed', 'Randomized slice (RCTTag)')
    >>> refused_groups(_refused("rating_rate", Rule(lo=0, hi=1, lo_open=True, hi_open=True), 1.5))
    ('Rating exposure (MAR)',)
    >>> refused_groups(CTARConfigError("n_users must be an integer >= 1, got 0"))
    ()
    """
    if isinstance(refused, InterventionError):
        return ()
    detail = refused.detail if isinstance(refused, CTARConfigError) else None
    names: tuple[str, ...] = ()
    if isinstance(detail, Exceeds):
        names = (detail.field, detail.limit_field)
    elif isinstance(detail, RateCap):
        names = (detail.field, "n_movies", "mode")
    elif isinstance(detail, TooBig):
        names = (detail.parameter,)
    elif (refusal := refusal_of(refused)) is not None:
        names = (refusal.field,)
    return tuple(group for group, members in PARAMETER_GROUPS.items() if set(names) & set(members))


def where_to_change(refused: BaseException) -> str:
    """A sentence naming the form's groups that hold what ``refused`` names (:func:`refused_groups`), or ``""``.

    >>> where_to_change(_exceeds("rct_users", 100, "n_users", 50))
    'Change it under "Size and seed" or "Randomized slice (RCTTag)".'
    """
    groups = refused_groups(refused)
    named = " or ".join(f'"{group}"' for group in groups)
    return f"Change it under {named}." if groups else ""
