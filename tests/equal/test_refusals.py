"""A run setting refused reaches the Bandit form in words, read from the refusal's fields, never from its message.

RunConfig, the policies and OTReward raise refusals that carry the field, its owner, the rule and the value
(:class:`core.validate.Refusal`); :func:`core.equal.settings.in_words` words those. Before, it matched the message
with a regex, so a reworded message fell back to code notation ("EXP3.gamma must lie in (0, 1]") on the page.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from core.equal.config import RunConfigError
from core.equal.settings import SETTINGS, Setting, SettingRefusedError, config_from_values
from core.validate import Refusal


def _bad_values(spec: Setting) -> list[tuple[str, Any]]:
    """Values past each declared end of ``spec``'s range, and a non-finite number where it declares none."""
    step = 1 if spec.kind is int else 0.5
    out: list[tuple[str, Any]] = []
    if spec.lo is not None:
        out.append(("low", spec.kind(spec.lo if spec.lo_open else spec.lo - step)))
    if spec.hi is not None:
        out.append(("high", spec.kind(spec.hi if spec.hi_open else spec.hi + step)))
    if spec.lo is None and spec.hi is None:
        out.append(("infinite", math.inf))
    return out


def _context(spec: Setting) -> dict[str, Any]:
    """Other settings' values under which ``spec`` applies (UCB1 for ``c``)."""
    return {spec.when[0]: spec.when[1][0]} if spec.when is not None else {}


CASES = [pytest.param(spec, side, bad, _context(spec), id=f"{spec.name}-{side}")
         for spec in SETTINGS if spec.kind in (int, float) for side, bad in _bad_values(spec)]
CASES.append(pytest.param(next(s for s in SETTINGS if s.name == "budget"), "high", 2.0, {"budget_kind": "share"},
                          id="budget-high-share"))  # a share's upper end is RunConfig's, not declared on the setting


def _refused(spec: Setting, bad: Any, context: dict[str, Any]) -> SettingRefusedError:
    with pytest.raises(RunConfigError) as err:
        config_from_values({**context, spec.name: bad})
    assert isinstance(err.value, SettingRefusedError), f"not in words: {err.value}"
    return err.value


def _assert_in_words(spec: Setting, message: str, context: dict[str, Any]) -> None:
    label = spec.label_for(context)
    assert message.startswith(f"{label} must be "), message
    rest = message.removeprefix(label)
    assert not re.search(r"\b[A-Za-z]\w*\.[a-z_]", rest), message  # RunConfig.budget, EXP3.gamma
    assert not re.search(rf"\b{re.escape(spec.field)}\b", rest), message  # gamma, first_pull_docs
    assert not re.search(r"[<>\[\]]|\(\d", rest.split(", got ")[0]), message  # "in (0, 1]", ">= 1"


@pytest.mark.parametrize("spec, side, bad, context", CASES)
def test_every_range_check_reaches_the_form_in_words(spec, side, bad, context):
    refused = _refused(spec, bad, context)
    _assert_in_words(spec, str(refused), context)
    assert refused.for_cli().startswith(f"{spec.flag} must be ")  # the command line names its option


@pytest.mark.parametrize("spec, side, bad, context", [c for c in CASES if c.values[1] in ("low", "high")])
def test_the_refusal_carries_the_range_the_setting_declares(spec, side, bad, context):
    # the form's widgets are bounded by the setting's declared range; the refusal's rule is RunConfig's own
    refusal = _refused(spec, bad, context).refusal
    assert refusal is not None and refusal.field == spec.field and refusal.got == bad
    rule = refusal.rule
    if side == "low":
        assert (rule.lo, rule.lo_open) == (spec.lo, spec.lo_open), rule
    elif spec.hi is not None:
        assert (rule.hi, rule.hi_open) == (spec.hi, spec.hi_open), rule


def _reworded(self: Refusal) -> str:
    return f"{self.owner}.{self.field}={self.got!r} is refused: it should lie {self.rule}"


@pytest.mark.parametrize("spec, side, bad, context", CASES)
def test_a_reworded_message_still_reaches_the_form_in_words(spec, side, bad, context, monkeypatch):
    # the message is for the command line and the logs: rewording it must not leak notation into the form
    worded = str(_refused(spec, bad, context))
    monkeypatch.setattr(Refusal, "__str__", _reworded)
    assert str(_refused(spec, bad, context)) == worded
