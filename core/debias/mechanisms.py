"""Bias mechanisms, one per row of the survey's taxonomy, as injectable exposure/outcome policies.

Source: Wu, Li, Deng et al., "On the Opportunity of Causal Learning in Recommendation
Systems" (arXiv 2201.06716), see ``docs/DEBIAS.md``. Each mechanism is

* an **exposure policy** (``calc_propensity(ctx) -> (n, M) float64 in [0, 1]``, the protocol
  of ``core.ctar.mechanisms.ExposurePolicy``), and optionally
* an **outcome policy** (``observe(ctx, observed) -> (n, M)`` recorded ratings, the protocol of
  ``core.ctar.mechanisms.OutcomePolicy``), and
* :meth:`BiasMechanism.prepare`, which lets a mechanism change the *truth* itself (popularity
  ``beta``, the hidden confounder ``h``) before exposure is drawn.

Inside the CTAR sampler (:func:`core.ctar.sampler.sample`): wrap a mechanism with
:func:`as_ctar_policies` and pass the one adapter as both policies,
``pol = as_ctar_policies(mech); sample(config, exposure=pol, outcome=pol)``. The CTAR protocols
have no ``prepare`` hook, so the adapter calls it on each chunk's ``PairContext`` before the
propensities and reuses that prepared truth for the recorded outcome (one hidden draw ``h``
shared by exposure and rating, as in the lab). CTAR keeps its latent ``Y`` as ``rating_full``;
where ``prepare`` changes the truth the mechanism's ``r(1)`` is :meth:`CTARPolicies.calc_truth`.
Mechanisms whose ``prepare`` is the identity may also be passed bare; the two that change the
truth (popularity with ``beta != 0``, confounder) refuse a bare ``PairContext`` with a message
naming the mechanism and the adapter.

Each states the assumption it violates **given what the estimator conditions on**
(:meth:`BiasMechanism.violated_assumptions`): A1 consistency/SUTVA, A2 unconfoundedness
``r(1) ⊥ o | x``, A3 positivity ``0 < P(o=1 | x) < 1``. Condition names used across the lab:
``"popularity"``, ``"rating"`` (a propensity model of P(o | r), e.g. naive Bayes with the
randomized slice), ``"match"`` (the user-item affinity the system scores on), ``"position"``,
``"confounder"`` (only an oracle sees it), ``"others_feedback"``.

All propensities have a mean observation ``rate`` and lie in [0, 1]: the logistic ones (exposure, confounder) by
an intercept solved for the rate, the others rescaled to it and clipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from core.ctar.mechanisms import PairContext, sigmoid, solve_intercept
from core.debias.data import BiasContext, DebiasConfigError, context_from_pair_context

# "name: words (notation)": the words first, for a newcomer; the notation after them as a gloss
ASSUMPTIONS = {
    "A1": "Consistency / SUTVA: one version of exposure, no interference between pairs.",
    "A2": "Unconfoundedness: whether a rating is seen says nothing more about it once the estimator accounts for "
          "what it conditions on (r(1) ⊥ o | x).",
    "A3": "Positivity: every pair has some chance of being rated and some of not being rated (0 < P(o=1 | x) < 1).",
}
# what goes wrong when each assumption breaks, in words for presentation mode (no notation shown)
PLAIN_BREAKS = {
    "A1": "one rating changes another",
    "A2": "something the correction does not account for drives both what gets rated and how it is rated",
    "A3": "some user-movie pairs can never be rated",
}


def assumption_status(name: str, broken: bool) -> str:
    """What the lab's box for assumption ``name`` says (Markdown): whether it holds, its name, then it in words
    with its notation after them.

    >>> assumption_status("A1", broken=True)
    '**A1** broken — Consistency / SUTVA: one version of exposure, no interference between pairs.'
    """
    title, says = ASSUMPTIONS[name].split(": ", 1)
    return f"**{name}** {'broken' if broken else 'holds'} — {title}: {says}"


@runtime_checkable
class ExposurePolicy(Protocol):
    name: str

    def calc_propensity(self, ctx) -> NDArray[np.float64]: ...


@runtime_checkable
class OutcomePolicy(Protocol):
    def observe(self, ctx, observed: NDArray[np.bool_]) -> NDArray[np.float64]: ...


def _rescale(weight: NDArray[np.float64], rate: float) -> NDArray[np.float64]:
    """Scale non-negative weights to mean ``rate``, clip to [0, 1] (then re-scale once more)."""
    w = np.asarray(weight, dtype=float)
    mean = w.mean()
    if mean <= 0:
        return np.zeros_like(w)
    p = np.clip(w * (rate / mean), 0.0, 1.0)
    if p.mean() < rate * 0.999 and (p < 1).any():  # clipped mass: give it back to the rest
        free = p < 1
        p[free] = np.clip(p[free] * (rate * p.size - (~free).sum()) / p[free].sum(), 0, 1)
    return p


def _logistic_at_rate(logits: NDArray[np.float64], rate: float) -> NDArray[np.float64]:
    """``sigmoid(logits + b)`` with the one intercept ``b`` that makes the mean ``rate`` (every p in [0, 1]).

    The spec's logistic mechanisms (exposure ``sigmoid(a * score + b)``; a hidden ``h`` in ``logit(p)``):
    rescaling ``sigmoid(logits)`` instead would bend the logit and cap p at ``rate / mean sigmoid``.
    """
    x = np.asarray(logits, dtype=float)
    if rate >= 1:
        return np.ones_like(x)
    return sigmoid(x + solve_intercept(x.reshape(1, -1), rate)[0])


def _z(x: NDArray[np.float64]) -> NDArray[np.float64]:
    x = np.asarray(x, dtype=float)
    s = x.std()
    return (x - x.mean()) / (s if s > 0 else 1.0)


def _check_rate(rate: float) -> None:
    if not 0 < rate <= 1:
        raise DebiasConfigError(f"rate must be in (0, 1], got {rate}")


def _refuse_unprepared(mech: BiasMechanism, ctx: Any, why: str) -> None:
    """A bare CTAR ``PairContext`` never went through ``prepare``: refuse, naming the mechanism."""
    if isinstance(ctx, PairContext) and not isinstance(ctx, BiasContext):
        raise DebiasConfigError(
            f"mechanism {mech.name!r} {why} in prepare(), which CTAR's sampler never calls: inject it with "
            f"as_ctar_policies(mechanism) (core.debias.mechanisms)"
        )


def _check_interval(name: str, value: float, interval: str) -> None:
    """Refuse ``value`` outside ``interval`` written as ``"(0, 1]"``, ``"[0, inf)"``, ..., naming ``name``."""
    lo, hi = (float(x) for x in interval[1:-1].split(","))
    above = value > lo if interval[0] == "(" else value >= lo
    below = value < hi if interval[-1] == ")" else value <= hi
    if not (above and below):
        bound = f">= {lo:g}" if interval[0] == "[" else f"> {lo:g}"
        raise DebiasConfigError(
            f"{name} must be {bound}, got {value}"
            if hi == float("inf")
            else f"{name} must be in {interval}, got {value}"
        )


@dataclass(frozen=True)
class BiasMechanism:
    """Base: MCAR exposure at ``rate``, recorded ratings equal the truth, truth unchanged."""

    rate: float = 0.1
    name = "mcar"
    label = "No bias (MCAR)"
    knob = "none"
    graph_edges: ClassVar[tuple[tuple[str, str], ...]] = ()  # the causal-graph edges it adds
    shares_prepared_draw: ClassVar[bool] = False  # prepare() draws randomness that exposure and outcome must share
    explanation = "Every pair has the same chance to be observed: the observed sample is a fair sample."

    knob_field: ClassVar[str] = ""  # the dataclass field the strength knob sets ("" = no knob)
    knob_range: ClassVar[str] = ""  # its allowed interval, e.g. "(0, 1]" or "[0, inf)"

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        if self.knob_field:
            _check_interval(self.knob_field, getattr(self, self.knob_field), self.knob_range)

    @property
    def strength(self) -> float:
        return float(getattr(self, self.knob_field)) if self.knob_field else 0.0

    def prepare(self, ctx: BiasContext) -> BiasContext:
        """Return the context whose ``rating`` is the truth ``r(1)`` under this mechanism."""
        return ctx

    def calc_propensity(self, ctx) -> NDArray[np.float64]:
        return np.full(np.shape(ctx.rating), float(self.rate))

    def observe(self, ctx, observed: NDArray[np.bool_]) -> NDArray[np.float64]:
        return np.asarray(ctx.rating, dtype=float)

    def calc_observable_propensity(self, ctx) -> NDArray[np.float64]:
        """The best propensity an estimator can know: the true one, unless part of it is hidden."""
        return self.calc_propensity(ctx)

    def violated_assumptions(self, conditioned_on: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The assumptions (subset of A1/A2/A3) this mechanism breaks for an estimator using ``conditioned_on``."""
        return []

    def describe(self, conditioned_on: set[str] | frozenset[str] = frozenset(), plain: bool = False) -> str:
        """Plain-language statement of the mechanism and what it breaks for this estimator.

        ``plain=True`` (presentation mode) names no assumption by its label or notation:

        >>> m = make_mechanism("popularity", 1.5)
        >>> "A2" in m.describe() and "A2" not in m.describe(plain=True)
        True
        """
        broken = self.violated_assumptions(set(conditioned_on))
        if plain:
            why = "; and ".join(PLAIN_BREAKS[a] for a in broken)
            return (f"{self.explanation} Uncorrected, the ratings we see mislead, because {why}."
                    if broken else f"{self.explanation} The ratings we see are a fair sample for this correction.")
        verdict = (
            "breaks " + ", ".join(f"{a} ({ASSUMPTIONS[a].split(':')[0]})" for a in broken)
            if broken
            else "breaks no assumption"
        )
        given = ", ".join(sorted(conditioned_on)) or "nothing"
        return f"{self.explanation} Given what the estimator conditions on ({given}), it {verdict}."


@dataclass(frozen=True)
class SelectionBias(BiasMechanism):
    """Users choose what to rate: ``p = p0 * alpha^max(0, 4 - r)`` (alpha = 1 is MCAR). MNAR."""

    alpha: float = 0.5
    name = "selection"
    label = "Selection (MNAR)"
    knob = "alpha"
    knob_field = "alpha"
    knob_range = "(0, 1]"
    graph_edges = (("R", "O"),)
    explanation = "Users mostly rate what they like, so low ratings go missing (the rating itself drives observation)."

    def calc_propensity(self, ctx) -> NDArray[np.float64]:
        r = np.asarray(ctx.rating, dtype=float)
        return _rescale(self.alpha ** np.maximum(0.0, 4.0 - r), self.rate)

    def violated_assumptions(self, conditioned_on=frozenset()) -> list[str]:
        return [] if self.alpha == 1 or "rating" in conditioned_on else ["A2"]


@dataclass(frozen=True)
class ExposureBias(BiasMechanism):
    """The system shows what it scores high: ``p = sigmoid(a * z(score) + b)`` with score = liked-tag matches."""

    a: float = 1.5
    name = "exposure"
    label = "Exposure"
    knob = "a"
    knob_field = "a"
    knob_range = "[0, inf)"
    graph_edges = (("X", "O"), ("X", "R"))
    explanation = (
        "The system only shows items it expects the user to like, and those are also the ones the user rates higher."
    )

    def calc_propensity(self, ctx) -> NDArray[np.float64]:
        score = _z(np.asarray(ctx.n_match, dtype=float))
        return _logistic_at_rate(self.a * score, self.rate)

    def violated_assumptions(self, conditioned_on=frozenset()) -> list[str]:
        broken = [] if self.a == 0 or "match" in conditioned_on else ["A2"]
        return broken + (["A3"] if self.a >= 6 else [])


@dataclass(frozen=True)
class PopularityBias(BiasMechanism):
    """Popularity drives exposure ``p ∝ pop^eta`` and the rating ``r += beta * z(log pop)``."""

    eta: float = 1.0
    beta: float = 0.5
    name = "popularity"
    label = "Popularity"
    knob = "eta"
    knob_field = "eta"
    knob_range = "[0, inf)"
    graph_edges = (("Pop", "O"), ("Pop", "R"))
    explanation = (
        "Popular items are shown more and also rated higher, so the observed sample over-represents well-liked hits."
    )

    def prepare(self, ctx: BiasContext) -> BiasContext:
        if self.beta == 0:
            return ctx
        shift = self.beta * _z(np.log(np.asarray(ctx.popularity, dtype=float)))
        rating = np.clip(np.rint(np.asarray(ctx.rating, float) + shift[None, :]), 1, 5).astype(np.int8)
        return ctx.with_rating(rating)

    def calc_propensity(self, ctx) -> NDArray[np.float64]:
        if self.beta != 0:
            _refuse_unprepared(self, ctx, f"shifts the truth (beta={self.beta}; set beta=0 for exposure only)")
        pop = np.asarray(ctx.popularity, dtype=float)
        return _rescale(np.broadcast_to((pop / pop.max()) ** self.eta, np.shape(ctx.rating)).copy(), self.rate)

    def violated_assumptions(self, conditioned_on=frozenset()) -> list[str]:
        if self.eta == 0:
            return []
        if "popularity" in conditioned_on:
            return ["A3"] if self.eta >= 3 else []  # near-A3 only in the extreme long tail
        return ["A2"]


@dataclass(frozen=True)
class ConformityBias(BiasMechanism):
    """Bandwagon: recorded ``r = (1 - lam) r(1) + lam * mean of others' observed r on the item``."""

    lam: float = 0.5
    name = "conformity"
    label = "Conformity"
    knob = "lambda"
    knob_field = "lam"
    knob_range = "[0, 1]"
    graph_edges = (("O_other", "R_obs"),)
    explanation = "People echo what others said about an item, so a recorded rating is not the user's own opinion."

    def observe(self, ctx, observed: NDArray[np.bool_]) -> NDArray[np.float64]:
        r = np.asarray(ctx.rating, dtype=float)
        o = np.asarray(observed, dtype=bool)
        col_sum = (r * o).sum(axis=0, keepdims=True)
        col_n = o.sum(axis=0, keepdims=True)
        others_n = col_n - o
        others = np.where(others_n > 0, (col_sum - r * o) / np.maximum(others_n, 1), r)
        return (1 - self.lam) * r + self.lam * others

    def violated_assumptions(self, conditioned_on=frozenset()) -> list[str]:
        return [] if self.lam == 0 else ["A1"]


@dataclass(frozen=True)
class PositionBias(BiasMechanism):
    """Examination by rank: each user sees a ranked list (by matches + noise), ``exam_k = (1/k)^eta``."""

    eta: float = 1.0
    name = "position"
    label = "Position"
    knob = "eta"
    knob_field = "eta"
    knob_range = "[0, inf)"
    graph_edges = (("X", "Rank"), ("Rank", "O"), ("X", "R"))
    explanation = "Items at the top of a list get looked at far more, and the list puts likely favourites on top."

    def prepare(self, ctx: BiasContext) -> BiasContext:
        """Draw the ranker's tie-break / exploration noise once, into ``extras["ranker_noise"]``, so that
        :meth:`calc_propensity` (and the oracle's :meth:`calc_observable_propensity`) is a function of the
        prepared context: the propensity that drew the observations, not a re-ranking with new noise."""
        noise = ctx.rng.random(np.shape(ctx.rating))
        return replace(ctx, extras={**ctx.extras, "ranker_noise": noise})

    def calc_propensity(self, ctx) -> NDArray[np.float64]:
        score = np.asarray(ctx.n_match, dtype=float)
        noise = (getattr(ctx, "extras", None) or {}).get("ranker_noise")
        if noise is None:  # a context that never went through prepare(): a fresh draw of the ranker's noise
            noise = ctx.rng.random(score.shape)
        rank = np.argsort(np.argsort(-(score + noise), axis=1), axis=1) + 1
        return _rescale((1.0 / rank) ** self.eta, self.rate)

    def violated_assumptions(self, conditioned_on=frozenset()) -> list[str]:
        # the ranked list also couples pairs (moving one item down moves others up): an A1 concern
        return [] if self.eta == 0 or {"position", "match"} & set(conditioned_on) else ["A2"]


@dataclass(frozen=True)
class ConfounderBias(BiasMechanism):
    """Unmeasured confounder ``h ~ N(0,1)`` per pair enters ``logit(p) = gamma h + b`` and the rating
    (``r += gamma h / 2``, rounded and clipped to 1..5)."""

    gamma: float = 1.0
    name = "confounder"
    label = "Unmeasured confounder"
    shares_prepared_draw = True
    knob = "gamma"
    knob_field = "gamma"
    knob_range = "[0, inf)"
    graph_edges = (("H", "O"), ("H", "R"))
    explanation = "Something nobody recorded (a mood, a friend's tip) makes a user both watch an item and like it."

    def prepare(self, ctx: BiasContext) -> BiasContext:
        h = ctx.rng.standard_normal(np.shape(ctx.rating))
        rating = np.clip(np.rint(np.asarray(ctx.rating, float) + 0.5 * self.gamma * h), 1, 5).astype(np.int8)
        return ctx.with_rating(rating, hidden=h)

    def calc_propensity(self, ctx) -> NDArray[np.float64]:
        h = ctx.extras.get("hidden") if hasattr(ctx, "extras") else None
        if h is None:
            _refuse_unprepared(self, ctx, "draws the hidden h shared by exposure and rating")
            raise DebiasConfigError("mechanism 'confounder' needs prepare(ctx) first (the hidden h must be shared)")
        return _logistic_at_rate(self.gamma * np.asarray(h, dtype=float), self.rate)

    def calc_observable_propensity(self, ctx) -> NDArray[np.float64]:
        """``E_h[p]``: nobody observes ``h``, so even an oracle on observables only knows the mean rate."""
        return np.full(np.shape(ctx.rating), float(self.calc_propensity(ctx).mean()))

    def violated_assumptions(self, conditioned_on=frozenset()) -> list[str]:
        return [] if self.gamma == 0 or "confounder" in conditioned_on else ["A2"]


@dataclass(frozen=True)
class PositivityBias(BiasMechanism):
    """Cold start / filtering: a ``share`` of the least popular items gets ``p = 0`` (MCAR elsewhere)."""

    share: float = 0.2
    name = "positivity"
    label = "Positivity violation"
    knob = "share"
    knob_field = "share"
    knob_range = "[0, 1)"
    graph_edges = (("Filter", "O"),)
    explanation = "Some items are never shown (new or filtered out), so nothing in the data speaks for them."

    def calc_propensity(self, ctx) -> NDArray[np.float64]:
        m = np.shape(ctx.rating)[1]
        blocked = np.asarray(ctx.pop_rank) >= m - int(round(self.share * m))
        p = np.full(np.shape(ctx.rating), float(self.rate))
        p[:, blocked] = 0.0
        return p

    def violated_assumptions(self, conditioned_on=frozenset()) -> list[str]:
        return ["A3"] if self.share > 0 else []


#: name -> (factory(strength, rate) -> mechanism, default strength grid, the knob's "no bias" value)
REGISTRY: dict[str, tuple[Callable[[float, float], BiasMechanism], tuple[float, ...]]] = {
    "mcar": (lambda s, rate: BiasMechanism(rate=rate), (0.0,)),
    "selection": (lambda s, rate: SelectionBias(rate=rate, alpha=s), (1.0, 0.7, 0.5, 0.3)),
    "exposure": (lambda s, rate: ExposureBias(rate=rate, a=s), (0.0, 1.0, 2.0, 3.0)),
    "popularity": (lambda s, rate: PopularityBias(rate=rate, eta=s), (0.0, 0.5, 1.0, 1.5)),
    "conformity": (lambda s, rate: ConformityBias(rate=rate, lam=s), (0.0, 0.25, 0.5, 0.75)),
    "position": (lambda s, rate: PositionBias(rate=rate, eta=s), (0.0, 0.5, 1.0, 1.5)),
    "confounder": (lambda s, rate: ConfounderBias(rate=rate, gamma=s), (0.0, 0.5, 1.0, 2.0)),
    "positivity": (lambda s, rate: PositivityBias(rate=rate, share=s), (0.0, 0.1, 0.2, 0.4)),
}
MECHANISMS = tuple(REGISTRY)
#: what the Debiasing lab lets an estimator condition on besides popularity (its own toggle), by condition name
CONDITIONS = {"match": "user-item match (what the system scores)",
              "rating": "the rating (naive Bayes with a random slice)",
              "position": "position in the list", "confounder": "the hidden confounder (oracle only)"}


def make_mechanism(name: str, strength: float, rate: float = 0.1) -> BiasMechanism:
    """Build the named mechanism at ``strength`` (its knob: alpha, a, eta, lambda, gamma or share)."""
    if name not in REGISTRY:
        raise DebiasConfigError(f"mechanism must be one of {sorted(REGISTRY)}, got {name!r}")
    return REGISTRY[name][0](float(strength), float(rate))


def default_grid(name: str) -> tuple[float, ...]:
    if name not in REGISTRY:
        raise DebiasConfigError(f"mechanism must be one of {sorted(REGISTRY)}, got {name!r}")
    return REGISTRY[name][1]


class CTARPolicies:
    """A bias mechanism as CTAR's exposure *and* outcome policy (one object, pass it as both).

    ``calc_propensity(ctx)`` adapts the chunk's :class:`~core.ctar.mechanisms.PairContext` to a
    :class:`~core.debias.data.BiasContext` (arrays shared, CTAR's ``extras`` carried), runs
    ``mechanism.prepare`` on it with the chunk's exposure-policy stream (so a hidden ``h`` is drawn
    reproducibly) and returns ``mechanism.calc_propensity`` of the prepared context, ``(n, M)``
    float64 in [0, 1], rescaled to the mechanism's ``rate`` within the chunk. ``observe(ctx, o)``
    reuses the same chunk's prepared context (matched by the identity of ``ctx.rating``) and
    returns ``mechanism.observe`` rounded to the nearest level: CTAR's rating table records
    integers, so a conformity rating of 3.6 is recorded as 4 rather than truncated by the sampler.
    A mechanism's own statistics use the whole chunk (conformity's "others" are the chunk's users;
    a chunk is every user up to ``CTARConfig.chunk_pairs`` pairs).

    Attributes
    ----------
    mechanism : BiasMechanism
    name : str
    truth : dict first user of a chunk -> ``(n, M)`` prepared ratings ``r(1)`` of that chunk
    """

    def __init__(self, mechanism: BiasMechanism) -> None:
        if not isinstance(mechanism, BiasMechanism):
            raise DebiasConfigError(
                f"mechanism must be a BiasMechanism (make_mechanism(...)), got {type(mechanism).__name__}"
            )
        self.mechanism = mechanism
        self.name = f"{mechanism.label} (debiasing lab)"
        self.truth: dict[int, NDArray[np.int8]] = {}
        self._last: tuple[Any, BiasContext] | None = None

    def __repr__(self) -> str:
        return f"CTARPolicies({self.mechanism!r})"

    def prepare(self, ctx: Any) -> BiasContext:
        """The prepared :class:`BiasContext` of one chunk (kept for :meth:`observe` and :meth:`calc_truth`)."""
        prepared = self.mechanism.prepare(context_from_pair_context(ctx))
        self._last = (ctx.rating, prepared)
        if np.size(ctx.users):
            self.truth[int(np.asarray(ctx.users)[0])] = prepared.rating
        return prepared

    def calc_propensity(self, ctx: Any) -> NDArray[np.float64]:
        return np.asarray(self.mechanism.calc_propensity(self.prepare(ctx)), dtype=np.float64)

    def observe(self, ctx: Any, observed: NDArray[np.bool_]) -> NDArray[np.float64]:
        if self._last is not None and self._last[0] is ctx.rating:
            prepared = replace(self._last[1], rng=ctx.rng)
        elif self.mechanism.shares_prepared_draw:
            raise DebiasConfigError(
                f"mechanism {self.mechanism.name!r}: observe() before calc_propensity() on this chunk; "
                "pass the same as_ctar_policies object as exposure and outcome"
            )
        else:
            prepared = self.prepare(ctx)
        return np.rint(np.asarray(self.mechanism.observe(prepared, observed), dtype=np.float64))

    def calc_truth(self, sample: Any) -> NDArray[np.int8]:
        """``(U, M)`` int8 ratings ``r(1)`` under the mechanism for a sample drawn with this adapter.

        Equals ``sample.rating_full`` (CTAR's latent ``Y``) unless ``prepare`` changes the truth
        (popularity ``beta``, the confounder's ``h``).
        """
        starts = [start for start, _ in sample.chunk_bounds()]
        missing = [s for s in starts if s not in self.truth]
        if missing:
            raise DebiasConfigError(
                f"no prepared truth for the chunks starting at users {missing[:5]}: "
                "calc_truth needs the sample drawn with this adapter as its exposure"
            )
        return np.concatenate([np.asarray(self.truth[s], dtype=np.int8) for s in starts])


def as_ctar_policies(mechanism: BiasMechanism) -> CTARPolicies:
    """Wrap ``mechanism`` to run inside :func:`core.ctar.sampler.sample` as exposure and outcome.

    Examples
    --------
    >>> from core.ctar.config import CTARConfig
    >>> from core.ctar.sampler import sample
    >>> pol = as_ctar_policies(make_mechanism("confounder", 1.0, rate=0.2))
    >>> s = sample(CTARConfig(n_users=40, n_movies=30, rct_users=4, rct_movies=3, test_identifiable_n=10,
    ...            test_identifiable_pos=3, test_inidentifiable_n=10, test_inidentifiable_pos=3),
    ...            exposure=pol, outcome=pol)
    >>> round(float(s.propensity_rating.mean()), 2), pol.calc_truth(s).shape
    (0.2, (40, 30))
    """
    return CTARPolicies(mechanism)
