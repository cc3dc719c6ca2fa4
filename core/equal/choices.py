"""The bandit's named choices, declared once as :class:`enum.StrEnum` types.

Each member's value is the string a stored run (JSON), the CLI and a link carry, so a run stored
before these types existed reopens unchanged (``Policy("ucb1") == "ucb1"``). The tuples the
modules check against (:data:`core.equal.policies.POLICIES`, :data:`core.equal.arms.DOC_ORDERS`,
...) are made from these types; :mod:`core.equal.settings` declares what each setting means.

This module imports nothing of the bandit, so every module of it can import the choices.

>>> Policy("epsilon-greedy") is Policy.EPSILON_GREEDY, Credit.DOCUMENT == "document"
(True, True)
>>> values(DocOrder)
('random', 'file', 'similar', 'learned')
"""

from __future__ import annotations

from enum import StrEnum


class Policy(StrEnum):
    """Who picks the arms (the first five) or the documents (the three baselines, and the learned value)."""

    EQUAL = "equal"
    UCB1 = "ucb1"
    THOMPSON = "thompson"
    EPSILON_GREEDY = "epsilon-greedy"
    EXP3 = "exp3"
    RANDOM = "random"
    ALL = "all"
    AVG_SIM = "avg-sim"
    LEARNED = "learned"


ARM_POLICY_SET = frozenset({Policy.EQUAL, Policy.UCB1, Policy.THOMPSON, Policy.EPSILON_GREEDY, Policy.EXP3})


class BudgetKind(StrEnum):
    """What the budget counts: a share of the corpus' documents, extraction calls, or cost."""

    SHARE = "share"
    CALLS = "calls"
    COST = "cost"


class StopRule(StrEnum):
    """When a run ends: its budget is spent, or its reward has not improved for ``patience`` rounds."""

    BUDGET = "budget"
    PLATEAU = "plateau"


class ArmEstimate(StrEnum):
    """An arm's estimate before (and for ``eb``/``prior``, while) it is observed."""

    PRIOR = "prior"
    EB = "eb"
    MEAN = "mean"
    ZERO = "zero"


class Credit(StrEnum):
    """What one pull is worth: per document read, per pair, or one OT distance per pull (the paper)."""

    DOCUMENT = "document"
    PAIR = "pair"
    PULL = "pull"


class DocOrder(StrEnum):
    """The order in which a cluster's documents are read."""

    RANDOM = "random"
    FILE = "file"
    SIMILAR = "similar"
    LEARNED = "learned"


class DocSimilarity(StrEnum):
    """A document's similarity to the reference set: its cosine to the nearest example, or its mean cosine."""

    MAX = "max"
    MEAN = "mean"


class ArmPrior(StrEnum):
    """What an arm's similarity prior averages: all the cluster's documents, or those its next pull reads."""

    CLUSTER = "cluster"
    NEXT = "next"


class Exhaust(StrEnum):
    """An arm with fewer than ``D`` documents left: its last pull takes them (partial), or it is done (strict)."""

    PARTIAL = "partial"
    STRICT = "strict"


class OTMethod(StrEnum):
    """The optimal-transport solver of the reward."""

    EMD = "emd"
    SINKHORN = "sinkhorn"
    IPOT = "ipot"


class RewardEstimate(StrEnum):
    """Per-pull OT (the authors' code) or OT of the arm's cumulative pairs (the paper's text)."""

    BATCH = "batch"
    CUMULATIVE = "cumulative"


class EmptyReward(StrEnum):
    """The word an empty pull's reward may be instead of a number: the worst reward seen so far."""

    WORST = "worst"


class AlphaRule(StrEnum):
    """The word EQUAL's exploration weight may be instead of a number: the paper's ``1/(sum T + 1)``."""

    PAPER = "paper"


class ExtractorKind(StrEnum):
    """Who extracts the QA pairs: the offline rules, or an OpenAI-compatible endpoint."""

    RULES = "rules"
    OPENAI = "openai"


def values(choice: type[StrEnum]) -> tuple[str, ...]:
    """The plain strings of ``choice``'s members, in declaration order (what messages and widgets show)."""
    return tuple(str(m.value) for m in choice)
