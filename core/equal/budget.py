"""What a run's budget counts and when it stops, as strategy objects chosen once from the config.

A :class:`Budget` turns ``RunConfig.budget`` into a target in its units and reads what a run has
spent: :class:`ShareBudget` counts documents read (a share of the corpus, ``ceil(budget * n)``),
:class:`CallsBudget` billable extraction calls, :class:`CostBudget` cost in currency units. A
share or calls budget trims a round's last pulls so it is not overrun (:meth:`Budget.room`); cost
is known only after a call, so it is not trimmed. A :class:`StopRule` says whether a run ends
before its budget: :class:`BudgetStop` never (the budget ends it), :class:`PlateauStop` after
``patience`` rounds whose mean reward did not beat the best round.

>>> budget = make_budget("share", 0.05)
>>> budget.target(3000), budget.spent(docs=12, calls=4, cost=0.5), budget.room(150, 148.0)
(150, 12, 2)
>>> make_budget("cost", 2.0).room(2.0, 0.5) is None, make_stop_rule("plateau", 3).stops(stale_rounds=3)
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from core.equal.choices import BudgetKind, StopRule


def share_of(share: float, n: int) -> int:
    """``ceil(share * n)``, the product rounded to 9 decimals first: 7% of 100 is 7, not ``ceil(7.000000000000001)``.

    >>> share_of(0.07, 100), share_of(0.05, 3000), share_of(0.05, 11917)
    (7, 150, 596)
    """
    return math.ceil(round(share * n, 9))


@dataclass(frozen=True)
class Budget:
    """A budget of ``amount`` in the units of :attr:`kind` (subclasses say what they count)."""

    amount: float
    kind: ClassVar[BudgetKind]
    trims: ClassVar[bool] = True  # a round's last pulls are cut to the room left
    needs_prices: ClassVar[bool] = False  # the extractor must price its calls

    def target(self, n_docs: int) -> float:
        """The budget in its units, for a corpus of ``n_docs`` documents."""
        return self.amount

    def spent(self, docs: int, calls: int, cost: float) -> float:  # pragma: no cover - abstract
        """What a run that read ``docs`` documents in ``calls`` calls costing ``cost`` has spent, in its units."""
        raise NotImplementedError

    def room(self, target: float, spent: float) -> int | None:
        """Units a round may still spend (``None``: not trimmed), ``ceil(target - spent)`` and at least 0."""
        return int(max(0, math.ceil(target - spent))) if self.trims else None


class ShareBudget(Budget):
    """A share of the corpus' documents (the paper: 5%): ``ceil(amount * n_docs)`` documents read."""

    kind = BudgetKind.SHARE

    def target(self, n_docs: int) -> float:
        return share_of(self.amount, n_docs)

    def spent(self, docs: int, calls: int, cost: float) -> float:
        return docs


class CallsBudget(Budget):
    """Billable extraction calls."""

    kind = BudgetKind.CALLS

    def spent(self, docs: int, calls: int, cost: float) -> float:
        return calls


class CostBudget(Budget):
    """Cost in currency units, from the extractor's prices; not trimmed (a call's cost is known after it)."""

    kind = BudgetKind.COST
    trims = False
    needs_prices = True

    def spent(self, docs: int, calls: int, cost: float) -> float:
        return cost


BUDGETS: dict[str, type[Budget]] = {b.kind.value: b for b in (ShareBudget, CallsBudget, CostBudget)}


def make_budget(kind: str, amount: float) -> Budget:
    """The budget strategy of ``RunConfig.budget_kind`` (already validated by ``RunConfig``)."""
    return BUDGETS[str(kind)](amount)


@dataclass(frozen=True)
class BudgetStop:
    """The budget alone ends the run (or the corpus running out)."""

    rule: ClassVar[StopRule] = StopRule.BUDGET

    def stops(self, stale_rounds: int) -> bool:
        return False


@dataclass(frozen=True)
class PlateauStop:
    """Also stop after ``patience`` rounds in a row whose mean reward did not beat the best round so far."""

    patience: int
    rule: ClassVar[StopRule] = StopRule.PLATEAU

    def stops(self, stale_rounds: int) -> bool:
        return stale_rounds >= self.patience


def make_stop_rule(rule: str, patience: int) -> BudgetStop | PlateauStop:
    """The stop-rule strategy of ``RunConfig.stop`` with its ``patience``."""
    return PlateauStop(patience) if StopRule(rule) is StopRule.PLATEAU else BudgetStop()
