"""The frozen configuration of a bandit run (stored as JSON with the run; see :mod:`core.equal.run`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from core.equal.arms import DOC_ORDERS, EXHAUST_RULES
from core.equal.choices import ArmPrior, BudgetKind, DocSimilarity, StopRule, values
from core.equal.extract import EXTRACTOR_ALIASES, EXTRACTOR_KINDS
from core.equal.policies import POLICIES, UNPLAYED_PRIORS, make_policy
from core.equal.reward import OTReward
from core.validate import Refusal, RefusedError, Rule, check_choice, check_int, check_range, refused

BUDGET_KINDS = values(BudgetKind)
STOP_RULES = values(StopRule)
ARM_PRIORS = values(ArmPrior)
DOC_SIMILARITIES = values(DocSimilarity)


class RunConfigError(RefusedError):
    """A run parameter is out of range; the message names it, and a range or choice refused carries its
    :class:`~core.validate.Refusal` (``refusal``: the field, the rule, the value), which a form words."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run (stored as JSON with it).

    Parameters
    ----------
    policy : str
        One of :data:`core.equal.policies.POLICIES`. Default ``"learned"`` (issue #28): each round reads the
        documents whose similarity to ``D_r`` times the value the run's own reads predict is highest, grouped into
        one pull per cluster (:class:`~core.equal.policies.LearnedDocs`, :mod:`core.equal.docmodel`); chosen on the
        tuning half of ``benchmarks/bench_equal.py``. ``"equal"``: EQUAL's DS score over clusters (the paper).
    policy_params : dict
        Keyword parameters of the policy (e.g. ``{"alpha": 0.001}``).
    batch_arms : int
        ``B``, arms played per round (paper code: 50 for k=1000).
    docs_per_pull : int
        ``D``, documents per pull (paper code: 10).
    budget_kind, budget : see module docstring.
    stop : {"budget", "plateau"}; patience : int
    reward : OTReward
    extractor : str
        Extractor kind (recorded for provenance; the extractor object is injected).
    seed : int
    share_neighbours : bool
        EQUAL's neighbour reward sharing.
    neighbour_weight : float
        What a neighbour's pull counts for an arm, in ``[0, 1]`` (default 0.25; 1: as much as its own pull, the
        paper).
    doc_order : {"learned", "similar", "random", "file"}; exhaust : {"partial", "strict"}
        See :mod:`core.equal.arms`. Default ``"learned"`` (issue #28): a cluster's documents by the value the run's
        own reads predict for each (:mod:`core.equal.docmodel`), most similar first until 10 documents are read;
        ``"similar"``: most similar to ``D_r`` first, always (the default before #28); the paper reads them in a
        random order (``"random"``). ``"similar"`` and ``"learned"`` need ``doc_emb``. With
        ``doc_similarity="mean"`` the learned order won the tuning half of ``benchmarks/bench_equal.py`` and held
        on the confirmation half of the first family of cases (1.03x the figure of the defaults before #28; see
        benchmarks/README.md).
    order_explore : float
        With ``doc_order="similar"`` or ``"learned"``, and with ``policy="learned"``: seeded Gumbel noise on each
        document's score, in standard deviations of the similarities (see :mod:`core.equal.arms`); 0 (default)
        reads the best first, always, and the run is :attr:`deterministic`. Above 0 the seed chooses among similar
        documents, so two seeds give two runs (on the tuning half 0.1-0.5 cost more than they gained with the
        learned order, so the default stays 0).
    unplayed : {"eb", "prior", "mean", "zero"}
        How an arm's reward is estimated before (and, for "eb"/"prior", while) it is observed:
        predicted from its documents' similarity to ``D_r`` and shrunk towards that prediction by a
        weight learned from the rewards' variances ("eb", default; the run needs ``doc_emb``) or by
        ``prior_weight`` pseudo-pulls ("prior"), the running mean reward, or 0 (the paper). See
        "Exploration" in :mod:`core.equal.run` and :mod:`core.equal.policies`.
    doc_similarity : {"max", "mean"}
        A document's similarity to ``D_r``, which ``doc_order`` reads by and the ``"eb"``/``"prior"`` estimate starts
        from: its cosine to the nearest reference example (``"max"``) or its mean cosine to all of them
        (``"mean"``, default since #28: what Avg-sim ranks by).
    arm_prior : {"cluster", "next"}
        The covariate the ``"eb"``/``"prior"`` estimate predicts an arm's reward from: the mean similarity to
        ``D_r`` of all the cluster's documents (``"cluster"``, fixed), or of the documents its next pull will read
        (``"next"``, refreshed every round; with ``doc_order="learned"`` their learned value).
    prior_weight : float
        Pseudo-pulls at the predicted reward with ``unplayed="prior"`` (default 4; 0: the
        prediction only orders the unplayed arms), and with ``"eb"`` until two arms have two pulls.
    first_pull_docs : int, optional
        Documents taken on an arm's first pull, at most ``D`` (default 3; ``None``: ``D``, the paper).
    max_failures : int
        Consecutive failed extractions after which the run stops as ``"stopped: endpoint failing"`` (default 5).
    """

    policy: str = "learned"
    policy_params: Mapping[str, Any] = field(default_factory=dict)
    batch_arms: int = 3
    docs_per_pull: int = 10
    budget_kind: str = "share"
    budget: float = 0.05
    stop: str = "budget"
    patience: int = 20
    reward: OTReward = field(default_factory=OTReward)
    extractor: str = "rules"
    seed: int = 0
    share_neighbours: bool = True
    neighbour_weight: float = 0.25
    doc_order: str = "learned"
    order_explore: float = 0.0
    exhaust: str = "partial"
    unplayed: str = "eb"
    doc_similarity: str = "mean"
    arm_prior: str = "cluster"
    prior_weight: float = 4.0
    first_pull_docs: int | None = 3
    max_failures: int = 5

    def __post_init__(self) -> None:
        of: dict[str, Any] = {"owner": "RunConfig", "error": RunConfigError}
        check_choice("policy", self.policy, POLICIES, **of)
        make_policy(self.policy, **dict(self.policy_params))  # validates the parameters
        check_int("batch_arms", self.batch_arms, lo=1, **of)
        check_int("docs_per_pull", self.docs_per_pull, lo=1, **of)
        check_choice("budget_kind", self.budget_kind, BUDGET_KINDS, **of)
        check_range("budget", self.budget, lo=0, lo_open=True,
                    hi=1 if self.budget_kind == "share" else None, **of)
        check_choice("stop", self.stop, STOP_RULES, **of)
        check_int("patience", self.patience, lo=1, **of)
        if not isinstance(self.extractor, str) or self.extractor.strip().lower() not in EXTRACTOR_ALIASES:
            rule = Rule(choices=EXTRACTOR_KINDS)  # an alias is accepted too (see core.equal.extract)
            raise refused(Refusal("extractor", rule, self.extractor, "RunConfig"), RunConfigError)
        if not isinstance(self.reward, OTReward):
            raise RunConfigError("RunConfig.reward must be an OTReward")
        check_choice("doc_order", self.doc_order, DOC_ORDERS, **of)
        check_range("order_explore", self.order_explore, lo=0, **of)
        check_choice("exhaust", self.exhaust, EXHAUST_RULES, **of)
        check_choice("unplayed", self.unplayed, UNPLAYED_PRIORS, **of)
        if self.first_pull_docs is not None:
            check_int("first_pull_docs", self.first_pull_docs, lo=1, note="None or a count", **of)
        check_choice("doc_similarity", self.doc_similarity, DOC_SIMILARITIES, **of)
        check_choice("arm_prior", self.arm_prior, ARM_PRIORS, **of)
        check_range("prior_weight", self.prior_weight, lo=0, **of)
        check_range("neighbour_weight", self.neighbour_weight, lo=0, hi=1, **of)
        check_int("max_failures", self.max_failures, lo=1, **of)
        check_int("seed", self.seed, lo=0, **of)

    @property
    def deterministic(self) -> bool:
        """True when the seed changes nothing but exact ties: the run is the same for every seed.

        The document baselines Avg-sim and All read a fixed order, and so does the learned policy without
        ``order_explore``. EQUAL's DS score has no random draw, so it is fixed too when unplayed arms start
        from a predicted reward (``unplayed`` ``"eb"`` or ``"prior"``: no two arms tie) and each cluster is read
        in corpus order or most-similar-first without exploration. Unplayed arms that start equal (``"zero"``,
        ``"mean"``: the paper) tie, and the seed breaks the tie, as it does for UCB1's unplayed arms (all
        infinite). Random, Thompson, epsilon-greedy and EXP3 draw from the seed, and so does a random or explored
        order.

        >>> RunConfig(policy="avg-sim").deterministic, RunConfig().deterministic
        (True, True)
        >>> RunConfig(order_explore=0.5).deterministic, RunConfig(policy="equal", doc_order="random").deterministic
        (False, False)
        >>> [RunConfig(policy="equal", unplayed=u).deterministic for u in ("eb", "zero")]
        [True, False]
        >>> RunConfig(policy="ucb1").deterministic
        False
        """
        if self.policy in ("avg-sim", "all"):
            return True
        if self.policy == "learned":  # its exploration: seeded noise on the learned score
            return self.order_explore == 0
        if self.policy != "equal" or self.unplayed not in ("eb", "prior"):
            return False
        return self.doc_order == "file" or (self.doc_order in ("similar", "learned") and self.order_explore == 0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["policy_params"] = dict(self.policy_params)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        d = dict(d)
        # runs stored before these settings existed explored as the paper does (unplayed 0, first
        # pull D, empty pull 0) and were rewarded per pull; resume them so
        d.setdefault("unplayed", "zero")
        d.setdefault("first_pull_docs", None)
        d.setdefault("neighbour_weight", 1.0)
        d.setdefault("doc_order", "random")
        # runs stored before issue #28 read the most similar (nearest example) first, always, with a fixed arm prior
        d.setdefault("order_explore", 0.0)
        d.setdefault("doc_similarity", "max")
        d.setdefault("arm_prior", "cluster")
        d["reward"] = OTReward(**{"empty_reward": 0.0, "credit": "pull", **d.get("reward", {})})
        if "policy_params" in d and "reward_range" in d["policy_params"]:
            d["policy_params"] = {**d["policy_params"], "reward_range": tuple(d["policy_params"]["reward_range"])}
        return cls(**d)
