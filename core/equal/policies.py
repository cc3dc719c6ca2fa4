"""Bandit policies over clusters (arms), vectorised over the ``k`` arms.

Arm policies share one protocol::

    arms = policy.select(state, n_arms, rng)     # indices of the arms to play this round
    policy.update(state, arm, reward)             # after each pull

``state`` is a :class:`BanditState` holding ``arm_to_count`` / ``arm_to_sum`` (with
neighbour sharing these include shared observations), ``arm_to_pulls`` (own pulls) and the
``available`` mask (arms with documents left). ``rng`` is a ``numpy.random.Generator`` the
run derives from ``(seed, round)``, so a resumed run selects exactly as an uninterrupted one.
Ties are broken at random. Exhausted arms are never selected.

Every arm policy implements :class:`ArmPolicy` (``select``/``update``/``calc_scores``).
Document policies (the paper's baselines) pick documents, not arms, and implement
:class:`DocumentPolicy`: ``policy.select_docs(arm_docs, n_docs, rng)``; a policy that ranks by
similarity to the reference set (``needs_similarity``) is handed each document's mean cosine to
``D_r`` once through ``policy.prepare(doc_similarity)``. :class:`RandomDocs` (uniform over all
remaining documents), :class:`AllDocs` (every document in corpus order) and :class:`AvgSimDocs`;
and :class:`LearnedDocs` (EQUAL's default since issue #28: Avg-sim's ranking corrected by what the
run's own reads predict: the run hands it its document model's score through ``use_scorer``).
The run dispatches on the protocol (``isinstance(policy, DocumentPolicy)``), never on a name.

EQUAL's DS score (Zhang et al., arXiv 2505.12250, Stage C)::

    DS_j = mean_j + alpha * sqrt(2 ln(sum_k T_k) / (T_j + 1))

with ``alpha = 1/(sum_k T_k + 1)`` ("paper") or a constant (code: 0.001). Neighbour sharing:
a reward on arm ``i`` is also added to every neighbour ``c`` of ``i`` (``sum_c += lam * r``,
``count_c += lam``), ``lam = neighbour_weight``: 1 is the paper (a neighbour's pull counts as
much as the arm's own), a smaller weight pools neighbours as weaker evidence (measured in
:mod:`core.equal.run`, "Exploration").

``mean_j`` of an arm (``BanditState.unplayed``; EQUAL.md leaves the initialisation open, see
:mod:`core.equal.run` for the measured effect of each):

* ``"zero"`` (the paper): ``S_j / T_j``, and 0 for an unplayed arm.
* ``"mean"``: ``S_j / T_j``, and the mean of all pull rewards so far for an unplayed arm.
* ``"prior"``: empirical Bayes on a free covariate, ``x_j`` = the mean over the cluster's
  documents of their cosine to the nearest reference example (:func:`calc_arm_prior`; no
  extraction needed). A line ``r ~ a + b x`` (``b >= 0``) is fitted by count-weighted least
  squares to the observed arm means once 3 arms are observed (before: unit slope through the
  running mean), and

      mean_j = (w * pred_j + S_j) / (w + T_j)

  i.e. ``w`` (``prior_weight``) pseudo-pulls at the predicted reward: unplayed arms are
  probed most promising first, and one unlucky pull does not bury a promising cluster.
* ``"eb"``: as ``"prior"``, with ``w`` learned from the rewards instead of fixed (variance-aware
  empirical Bayes, the normal-normal model): ``w = sigma^2 / tau^2``, where ``sigma^2`` is the
  pooled within-arm variance of pull rewards (how noisy one pull is: a 3-document probe that
  happens to find one pair) and ``tau^2`` the between-arm variance of the arm means around the
  prior line, less their sampling noise (how much the arms really differ), by the method of
  moments; ``w`` is clipped to ``[0.5, 50]`` and is ``prior_weight`` until two arms have two pulls.
  Noisy rewards lean on the prior longer; clearly different arms leave it sooner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from core.equal.choices import ARM_POLICY_SET, ArmEstimate, Policy, values
from core.validate import RefusedError, Rule, check_rule

UNPLAYED_PRIORS = values(ArmEstimate)
ARM_POLICIES = tuple(p for p in values(Policy) if p in ARM_POLICY_SET)
DOC_POLICIES = tuple(p for p in values(Policy) if p not in ARM_POLICY_SET)
PRIOR_MIN_ARMS = 3
POLICIES = ARM_POLICIES + DOC_POLICIES


class PolicyConfigError(RefusedError):
    """A policy parameter is out of range; the message names it, and a parameter's range refused carries its
    :class:`~core.validate.Refusal` (``refusal``), which a form words."""


@dataclass
class BanditState:
    """Per-arm statistics, all shape ``(k,)``.

    ``record`` implements both reward estimates: ``cumulative=False`` adds the reward to the
    arm's sum (mean of pull rewards); ``cumulative=True`` sets the arm's sum so that its mean
    equals the newest reward (the OT of all its pairs so far), keeping the count.
    """

    k: int
    neighbours: NDArray[np.bool_] | None = None
    share_neighbours: bool = False
    cumulative: bool = False
    unplayed: str = "zero"
    arm_prior: NDArray[np.float64] | None = None
    prior_weight: float = 4.0
    neighbour_weight: float = 1.0
    arm_to_count: NDArray[np.float64] = field(init=False)
    arm_to_sum: NDArray[np.float64] = field(init=False)
    arm_to_pulls: NDArray[np.int64] = field(init=False)
    arm_to_last: NDArray[np.float64] = field(init=False)
    arm_to_own_sum: NDArray[np.float64] = field(init=False)
    arm_to_own_sumsq: NDArray[np.float64] = field(init=False)
    available: NDArray[np.bool_] = field(init=False)
    reward_total: float = field(init=False, default=0.0)
    reward_n: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise PolicyConfigError(f"BanditState.k must be >= 1, got {self.k}")
        if self.unplayed not in UNPLAYED_PRIORS:
            raise PolicyConfigError(f"BanditState.unplayed must be one of {UNPLAYED_PRIORS}, got {self.unplayed!r}")
        if not (np.isfinite(self.prior_weight) and self.prior_weight >= 0):
            raise PolicyConfigError(f"BanditState.prior_weight must be >= 0, got {self.prior_weight!r}")
        if not (np.isfinite(self.neighbour_weight) and 0 <= self.neighbour_weight <= 1):
            raise PolicyConfigError(f"BanditState.neighbour_weight must be in [0, 1], got {self.neighbour_weight!r}")
        if self.unplayed in ("prior", "eb"):
            if self.arm_prior is None:
                raise PolicyConfigError(
                    f"BanditState(unplayed={self.unplayed!r}) needs arm_prior (see calc_arm_prior): "
                    "pass doc_emb to the run"
                )
            prior = np.asarray(self.arm_prior, dtype=np.float64)
            if prior.shape != (self.k,) or not np.isfinite(prior).all():
                raise PolicyConfigError(
                    f"BanditState.arm_prior must be {self.k} finite numbers, got shape {prior.shape}"
                )
            self.arm_prior = prior
        self.arm_to_count = np.zeros(self.k)
        self.arm_to_sum = np.zeros(self.k)
        self.arm_to_pulls = np.zeros(self.k, dtype=np.int64)
        self.arm_to_last = np.full(self.k, np.nan)
        self.arm_to_own_sum = np.zeros(self.k)
        self.arm_to_own_sumsq = np.zeros(self.k)
        self.available = np.ones(self.k, dtype=bool)
        if self.neighbours is not None:
            nb = np.asarray(self.neighbours, dtype=bool)
            if nb.shape != (self.k, self.k):
                raise PolicyConfigError(f"BanditState.neighbours must have shape ({self.k}, {self.k}), got {nb.shape}")
            nb = nb.copy()
            np.fill_diagonal(nb, False)
            self.neighbours = nb

    @property
    def total_count(self) -> float:
        return float(self.arm_to_count.sum())

    @property
    def prior_mean(self) -> float:
        """0 with ``unplayed="zero"``, else the mean of all pull rewards so far (0 before any)."""
        if self.unplayed != "zero" and self.reward_n:
            return self.reward_total / self.reward_n
        return 0.0

    @property
    def arm_to_mean(self) -> NDArray[np.float64]:
        """Estimated reward per arm (see the module docstring for each ``unplayed`` rule)."""
        if self.unplayed in ("prior", "eb"):
            pred = self.calc_prior_prediction()
            w = self.prior_weight if self.unplayed == "prior" else self.calc_prior_weight(pred)
            return np.divide(
                w * pred + self.arm_to_sum, w + self.arm_to_count, out=pred.copy(), where=(w + self.arm_to_count) > 0
            )
        out = np.full(self.k, self.prior_mean)
        return np.divide(self.arm_to_sum, self.arm_to_count, out=out, where=self.arm_to_count > 0)

    def calc_prior_weight(self, pred: NDArray[np.float64]) -> float:
        """``unplayed="eb"``: pseudo-pulls ``sigma^2 / tau^2`` from the pull rewards (see the module docstring)."""
        n = self.arm_to_pulls.astype(np.float64)
        multi = n >= 2
        if multi.sum() < 2:
            return self.prior_weight
        within = self.arm_to_own_sumsq[multi] - self.arm_to_own_sum[multi] ** 2 / n[multi]
        sigma2 = max(float(within.sum() / (n[multi] - 1).sum()), 1e-8)
        seen = n > 0
        resid = self.arm_to_own_sum[seen] / n[seen] - pred[seen]
        tau2 = float(np.average(resid**2, weights=n[seen]) - sigma2 * seen.sum() / n[seen].sum())
        return float(np.clip(sigma2 / max(tau2, 1e-8), 0.5, 50.0))

    def calc_prior_prediction(self) -> NDArray[np.float64]:
        """Reward predicted from :attr:`arm_prior` alone, shape ``(k,)`` (``unplayed="prior"``).

        With at least :data:`PRIOR_MIN_ARMS` observed arms: the count-weighted least-squares
        line through their means, slope clipped at 0 (a covariate that does not predict the
        reward gives every arm the weighted mean). Before: slope 1 through the running mean.
        """
        x = self.arm_prior
        assert x is not None, "unplayed='prior' is checked to come with an arm_prior"
        seen = self.arm_to_count > 0
        if seen.sum() < PRIOR_MIN_ARMS:
            return self.prior_mean + (x - x.mean())
        w = self.arm_to_count[seen]
        y = self.arm_to_sum[seen] / w
        xs = x[seen]
        xm, ym = np.average(xs, weights=w), np.average(y, weights=w)
        var = float(np.sum(w * (xs - xm) ** 2))
        slope = max(0.0, float(np.sum(w * (xs - xm) * (y - ym))) / var) if var > 1e-12 else 0.0
        return ym + slope * (x - xm)

    def record(self, arm: int, reward: float) -> None:
        """Add one observation of ``reward`` on ``arm`` (and its neighbours when sharing)."""
        arm = int(arm)
        self.arm_to_pulls[arm] += 1
        self.arm_to_last[arm] = reward
        self.arm_to_own_sum[arm] += reward
        self.arm_to_own_sumsq[arm] += reward * reward
        self.reward_total += float(reward)
        self.reward_n += 1
        if self.cumulative:
            self.arm_to_count[arm] += 1
            self.arm_to_sum[arm] = reward * self.arm_to_count[arm]
        else:
            self.arm_to_count[arm] += 1
            self.arm_to_sum[arm] += reward
        if self.share_neighbours and self.neighbours is not None and self.neighbour_weight > 0:
            nb = self.neighbours[arm]
            self.arm_to_sum[nb] += self.neighbour_weight * reward
            self.arm_to_count[nb] += self.neighbour_weight


def _top(scores: NDArray, available: NDArray[np.bool_], n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Indices of the ``n`` highest ``scores`` among available arms, ties broken at random."""
    idx = np.flatnonzero(available)
    if len(idx) == 0 or n <= 0:
        return np.empty(0, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)[idx]
    order = np.lexsort((rng.random(len(idx)), -s))
    return idx[order[:n]].astype(np.int64)


@runtime_checkable
class ArmPolicy(Protocol):
    """A policy over arms (clusters): it selects arms and learns from each pull's reward.

    ``select`` returns up to ``n_arms`` distinct available arm indices, shape ``(<= n_arms,)``;
    ``update`` records one pull's reward (usually through ``state.record``); ``calc_scores``
    gives the per-arm score shown in the run's tables, shape ``(k,)``.
    """

    name: str

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]: ...

    def select(self, state: BanditState, n_arms: int, rng: np.random.Generator) -> NDArray[np.int64]: ...

    def update(self, state: BanditState, arm: int, reward: float) -> None: ...


@runtime_checkable
class DocumentPolicy(Protocol):
    """A policy over documents (the paper's baselines): it picks documents, whatever their cluster.

    ``select_docs(arm_docs, n_docs, rng)`` returns up to ``n_docs`` untaken document indices
    (:class:`core.equal.arms.ArmDocs` knows which are left). ``needs_similarity``: the run must
    call ``prepare(doc_similarity)`` with each document's mean cosine to the reference set,
    shape ``(n,)``, before the first selection (and refuses to start without corpus embeddings).
    ``update``/``calc_scores`` keep the arm table comparable with arm policies.
    """

    name: str
    needs_similarity: bool

    def prepare(self, doc_similarity: NDArray[np.float64]) -> None: ...

    def select_docs(self, arm_docs, n_docs: int, rng: np.random.Generator) -> NDArray[np.int64]: ...

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]: ...

    def update(self, state: BanditState, arm: int, reward: float) -> None: ...


class _ScorePolicy:
    """Select the top-``n`` arms by a deterministic score; record rewards in the state."""

    name = "score"

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]:  # pragma: no cover - abstract
        raise NotImplementedError

    def select(self, state: BanditState, n_arms: int, rng: np.random.Generator) -> NDArray[np.int64]:
        return _top(self.calc_scores(state), state.available, n_arms, rng)

    def update(self, state: BanditState, arm: int, reward: float) -> None:
        state.record(arm, reward)


class EqualDS(_ScorePolicy):
    """EQUAL's DS score. ``alpha="paper"`` gives ``1/(sum T + 1)``; a float gives a constant (code: 0.001)."""

    name = "equal"

    def __init__(self, alpha: str | float = "paper") -> None:
        rule = Rule(lo=0, words=("paper",)) if isinstance(alpha, str) else Rule(lo=0)
        check_rule("alpha", alpha, rule, owner="EqualDS", error=PolicyConfigError)
        self.alpha = alpha

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]:
        total = state.total_count
        alpha = 1.0 / (total + 1.0) if self.alpha == "paper" else float(self.alpha)
        bonus = np.sqrt(2.0 * np.log(max(total, 1.0)) / (state.arm_to_count + 1.0))
        return state.arm_to_mean + alpha * bonus


class UCB1(_ScorePolicy):
    """``mean_j + c sqrt(2 ln N / T_j)`` (Auer et al. 2002); unplayed arms score +inf."""

    name = "ucb1"

    def __init__(self, c: float = 1.0) -> None:
        check_rule("c", c, Rule(lo=0), owner="UCB1", error=PolicyConfigError)
        self.c = float(c)

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]:
        n = max(state.total_count, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = np.sqrt(2.0 * np.log(n) / state.arm_to_count)
        return np.where(state.arm_to_count > 0, state.arm_to_mean + self.c * bonus, np.inf)


class GaussianThompson:
    """Thompson sampling with a conjugate Gaussian posterior per arm.

    Prior ``N(0, prior_sigma^2)``, known reward noise ``sigma``: after ``T_j`` observations
    summing to ``S_j`` the posterior has variance ``v_j = 1 / (1/prior_sigma^2 + T_j/sigma^2)``
    and mean ``v_j S_j / sigma^2``. Each round one draw per arm; the top ``n`` draws play.
    ``calc_scores`` gives the posterior mean.
    """

    name = "thompson"

    def __init__(self, sigma: float = 0.1, prior_sigma: float = 0.5) -> None:
        for name, value in (("sigma", sigma), ("prior_sigma", prior_sigma)):
            check_rule(name, value, Rule(lo=0, lo_open=True), owner="GaussianThompson", error=PolicyConfigError)
        self.sigma = float(sigma)
        self.prior_sigma = float(prior_sigma)

    def _posterior(self, state: BanditState) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        var = 1.0 / (1.0 / self.prior_sigma**2 + state.arm_to_count / self.sigma**2)
        return var * state.arm_to_sum / self.sigma**2, var

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]:
        return self._posterior(state)[0]

    def select(self, state: BanditState, n_arms: int, rng: np.random.Generator) -> NDArray[np.int64]:
        mean, var = self._posterior(state)
        return _top(mean + rng.standard_normal(state.k) * np.sqrt(var), state.available, n_arms, rng)

    def update(self, state: BanditState, arm: int, reward: float) -> None:
        state.record(arm, reward)


class EpsilonGreedy:
    """Top arms by mean (unplayed: 0); each slot is replaced by a random available arm with probability ``epsilon``."""

    name = "epsilon-greedy"

    def __init__(self, epsilon: float = 0.1) -> None:
        check_rule("epsilon", epsilon, Rule(lo=0, hi=1), owner="EpsilonGreedy", error=PolicyConfigError)
        self.epsilon = float(epsilon)

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]:
        return state.arm_to_mean

    def select(self, state: BanditState, n_arms: int, rng: np.random.Generator) -> NDArray[np.int64]:
        greedy = _top(self.calc_scores(state), state.available, n_arms, rng)
        explore = rng.random(len(greedy)) < self.epsilon
        if not explore.any():
            return greedy
        keep = greedy[~explore]
        pool = np.setdiff1d(np.flatnonzero(state.available), keep)
        extra = (
            rng.choice(pool, size=min(int(explore.sum()), len(pool)), replace=False)
            if len(pool)
            else np.empty(0, np.int64)
        )
        return np.concatenate([keep, extra]).astype(np.int64)

    def update(self, state: BanditState, arm: int, reward: float) -> None:
        state.record(arm, reward)


class EXP3:
    """EXP3 (Auer et al. 2002) with batched play (``n`` arms drawn without replacement).

    ``p = (1 - gamma) w / sum w + gamma / K`` over available arms; a reward ``r`` is mapped to
    ``x = clip((r - lo) / (hi - lo), 0, 1)`` (defaults: OT rewards lie in ``[-1.12, 0.88]``) and
    ``log w_j += gamma * x / (p_j K)``. ``calc_scores`` gives ``p``.
    """

    name = "exp3"

    def __init__(self, gamma: float = 0.1, reward_range: tuple[float, float] = (-1.12, 0.88)) -> None:
        check_rule("gamma", gamma, Rule(lo=0, hi=1, lo_open=True), owner="EXP3", error=PolicyConfigError)
        lo, hi = reward_range
        if not hi > lo:
            raise PolicyConfigError(f"EXP3.reward_range must be (lo, hi) with hi > lo, got {reward_range!r}")
        self.gamma = float(gamma)
        self.reward_range = (float(lo), float(hi))
        self.log_w: NDArray[np.float64] | None = None
        self._p: NDArray[np.float64] | None = None

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]:
        if self.log_w is None or len(self.log_w) != state.k:
            self.log_w = np.zeros(state.k)
        avail = state.available
        p = np.zeros(state.k)
        n_av = int(avail.sum())
        if n_av == 0:
            return p
        w = np.exp(self.log_w[avail] - self.log_w[avail].max())
        p[avail] = (1.0 - self.gamma) * w / w.sum() + self.gamma / n_av
        return p

    def select(self, state: BanditState, n_arms: int, rng: np.random.Generator) -> NDArray[np.int64]:
        p = self.calc_scores(state)
        self._p = p
        n = min(n_arms, int((p > 0).sum()))
        if n == 0:
            return np.empty(0, dtype=np.int64)
        return rng.choice(state.k, size=n, replace=False, p=p / p.sum()).astype(np.int64)

    def update(self, state: BanditState, arm: int, reward: float) -> None:
        state.record(arm, reward)
        if self.log_w is None:
            self.log_w = np.zeros(state.k)
        p = self._p if self._p is not None and self._p[arm] > 0 else self.calc_scores(state)
        lo, hi = self.reward_range
        x = min(max((reward - lo) / (hi - lo), 0.0), 1.0)
        k = max(int((p > 0).sum()), 1)
        self.log_w[arm] += self.gamma * x / (max(p[arm], 1e-12) * k)


class RandomDocs:
    """Baseline: each round, documents drawn uniformly from all remaining documents."""

    name = "random"
    needs_similarity = False

    def prepare(self, doc_similarity: NDArray[np.float64]) -> None:
        """Nothing to prepare: the draw ignores similarity."""

    def calc_scores(self, state: BanditState) -> NDArray[np.float64]:
        return state.arm_to_mean

    def select_docs(self, arm_docs, n_docs: int, rng: np.random.Generator) -> NDArray[np.int64]:
        left = arm_docs.untaken()
        return np.sort(rng.choice(left, size=min(n_docs, len(left)), replace=False)).astype(np.int64)

    def update(self, state: BanditState, arm: int, reward: float) -> None:
        state.record(arm, reward)


class AllDocs(RandomDocs):
    """Baseline: every document, in corpus order (MAmmoTH2-style "extract everything")."""

    name = "all"

    def select_docs(self, arm_docs, n_docs: int, rng: np.random.Generator) -> NDArray[np.int64]:
        return arm_docs.untaken()[:n_docs]


class AvgSimDocs(RandomDocs):
    """Baseline (the paper's Avg-sim): documents by their mean cosine to the reference set, highest first.

    ``doc_scores`` ``(n,)`` comes from :meth:`prepare` (the run passes the mean cosine of
    :func:`calc_doc_similarity` over the corpus embeddings); it needs no extraction.
    """

    name = "avg-sim"
    needs_similarity = True

    def __init__(self) -> None:
        self.doc_scores: NDArray[np.float64] | None = None

    def prepare(self, doc_similarity: NDArray[np.float64]) -> None:
        """Rank by ``doc_similarity`` ``(n,)`` from now on."""
        self.doc_scores = np.asarray(doc_similarity, dtype=np.float64)

    def select_docs(self, arm_docs, n_docs: int, rng: np.random.Generator) -> NDArray[np.int64]:
        if self.doc_scores is None:
            raise PolicyConfigError("policy 'avg-sim' ranks documents by their embeddings: pass doc_emb to the run")
        left = arm_docs.untaken()
        best = np.argsort(-self.doc_scores[left], kind="stable")[:n_docs]
        return np.sort(left[best]).astype(np.int64)


class LearnedDocs(AvgSimDocs):
    """EQUAL's default since issue #28: documents by similarity to ``D_r`` times the value the run's reads predict.

    Each round reads the ``B * D`` unread documents with the highest score of the run's
    :class:`~core.equal.docmodel.LearnedValueModel` (the run hands its ``score`` to :meth:`use_scorer`); the run
    groups them into one pull per cluster, so each pull is the cluster's top-scored unread documents and its reward
    is recorded against the cluster. Before anything is read the order is Avg-sim's; the reads then teach the model
    which documents pay (a ridge on the embedding with a per-cluster intercept), so barren look-alikes of the
    reference set fall behind the answered documents. Without a scorer it ranks as Avg-sim does. ``noise`` ``(n,)``
    (seeded Gumbel draws, ``order_explore``) is added to the score, so with exploration two seeds read two orders.
    """

    name = "learned"

    def __init__(self) -> None:
        super().__init__()
        self.scorer: Callable[[NDArray[np.int64]], NDArray[np.float64]] | None = None
        self.noise: NDArray[np.float64] | None = None

    def use_scorer(self, scorer: Callable[[NDArray[np.int64]], NDArray[np.float64]],
                   noise: NDArray[np.float64] | None = None) -> None:
        """Rank by ``scorer(indices) -> scores`` from now on, plus ``noise[indices]`` when given."""
        self.scorer, self.noise = scorer, noise

    def select_docs(self, arm_docs, n_docs: int, rng: np.random.Generator) -> NDArray[np.int64]:
        if self.scorer is None:
            return super().select_docs(arm_docs, n_docs, rng)
        left = arm_docs.untaken()
        key = np.asarray(self.scorer(left), dtype=np.float64)
        if self.noise is not None:
            key = key + self.noise[left]
        best = np.argsort(-key, kind="stable")[:n_docs]
        return np.sort(left[best]).astype(np.int64)


def calc_doc_similarity(doc_emb: NDArray, reference: NDArray, chunk: int = 65536) -> tuple[NDArray, NDArray]:
    """Cosine of each document to its nearest reference example, and to the reference on average.

    ``doc_emb`` ``(n, d)``, ``reference`` ``(m, d)`` (rows are normalised here). Returns two
    arrays of shape ``(n,)``: ``(max_r cos, mean_r cos)``; computed in row chunks, so a million
    documents need ``chunk x m`` floats at a time.
    """
    from core.equal.reward import calc_cost_matrix

    doc_emb = np.asarray(doc_emb, dtype=np.float32)
    ref = np.asarray(reference, dtype=np.float32)
    if doc_emb.ndim != 2 or ref.ndim != 2 or doc_emb.shape[1] != ref.shape[1]:
        raise PolicyConfigError(
            f"document embeddings {doc_emb.shape} and reference embeddings {ref.shape} "
            "must share their dimension (embed both with the same encoder)"
        )
    top, avg = np.empty(len(doc_emb)), np.empty(len(doc_emb))
    for i in range(0, len(doc_emb), chunk):
        sims = 1.0 - calc_cost_matrix(doc_emb[i : i + chunk], ref) ** 2 / 2.0  # the reward's cost is sqrt(2 - 2 cos)
        top[i : i + chunk], avg[i : i + chunk] = sims.max(axis=1), sims.mean(axis=1)
    return top, avg


def calc_arm_prior(doc_max_sim: NDArray, labels: NDArray, k: int) -> NDArray[np.float64]:
    """Per cluster, the mean of its documents' cosine to their nearest reference example, shape ``(k,)``.

    An empty cluster gets the corpus mean (it is never played: it has no documents).
    """
    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    total = np.bincount(labels, weights=np.asarray(doc_max_sim, dtype=np.float64), minlength=k)
    fill = float(np.mean(doc_max_sim)) if len(labels) else 0.0
    return np.divide(total, sizes, out=np.full(k, fill), where=sizes > 0)


def make_policy(name: str, **params) -> ArmPolicy | DocumentPolicy:
    """Build a policy by name (one of :data:`POLICIES`) with its parameters.

    ``equal``: ``alpha``; ``ucb1``: ``c``; ``thompson``: ``sigma``, ``prior_sigma``; ``epsilon-greedy``:
    ``epsilon``; ``exp3``: ``gamma``, ``reward_range``; ``random``/``all``/``avg-sim``/``learned``: none.
    """
    table = {
        "equal": EqualDS,
        "ucb1": UCB1,
        "thompson": GaussianThompson,
        "epsilon-greedy": EpsilonGreedy,
        "exp3": EXP3,
        "random": RandomDocs,
        "all": AllDocs,
        "avg-sim": AvgSimDocs,
        "learned": LearnedDocs,
    }
    if name not in table:
        raise PolicyConfigError(f"policy must be one of {POLICIES}, got {name!r}")
    try:
        return table[name](**params)
    except TypeError as exc:
        raise PolicyConfigError(f"policy {name!r}: bad parameters {sorted(params)}: {exc}") from exc
