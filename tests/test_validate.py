"""core.validate: one way to check parameters, with messages that name the parameter."""

from __future__ import annotations

import math

import pytest

from core.validate import (
    Refusal,
    RefusedError,
    Rule,
    ValidationError,
    check_choice,
    check_int,
    check_range,
    parse_bool,
    refusal_of,
)


class MyConfigError(ValueError):
    pass


def test_check_range_bounds_open_ends_and_non_finite():
    assert check_range("x", 0.5, 0, 1) == 0.5
    with pytest.raises(ValidationError, match=r"x must be in \[0, 1\], got 1.5"):
        check_range("x", 1.5, 0, 1)
    with pytest.raises(ValidationError, match="> 0"):
        check_range("x", 0, lo=0, lo_open=True)
    for bad in (math.nan, math.inf, "3", True, None):
        with pytest.raises(ValidationError, match="finite number"):
            check_range("x", bad, 0, 10)
    with pytest.raises(MyConfigError, match="budget"):
        check_range("budget", -1, lo=0, error=MyConfigError)


def test_check_int_and_choice():
    assert check_int("k", 3.0, lo=1) == 3 and isinstance(check_int("k", 3.0), int)
    with pytest.raises(ValidationError, match="whole number"):
        check_int("k", 2.5)
    with pytest.raises(ValidationError, match=">= 1"):
        check_int("k", 0, lo=1)
    assert check_choice("stop", "budget", ("budget", "plateau")) == "budget"
    with pytest.raises(ValidationError, match=r"stop must be one of \('budget', 'plateau'\), got 'never'"):
        check_choice("stop", "never", ("budget", "plateau"))


@pytest.mark.parametrize("text,value", [("true", True), ("Yes", True), (" on ", True), ("1", True), (1, True),
                                        ("false", False), ("NO", False), ("off", False), ("0", False), (False, False)])
def test_parse_bool_accepts_the_usual_spellings(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["maybe", "", "2", 2, None, "truthy"])
def test_parse_bool_is_strict(text):
    with pytest.raises(ValidationError, match="test_exact_compat must be true or false"):
        parse_bool(text, "test_exact_compat")


class CarriedError(RefusedError):
    pass


def test_a_refusal_carries_the_field_its_owner_the_rule_and_the_value():
    with pytest.raises(CarriedError) as err:
        check_range("budget", 2.0, lo=0, hi=1, lo_open=True, owner="RunConfig", error=CarriedError)
    assert str(err.value) == "RunConfig.budget must be in (0, 1], got 2.0"  # the message the CLI and logs show
    assert err.value.refusal == Refusal("budget", Rule(lo=0, hi=1, lo_open=True), 2.0, owner="RunConfig")
    assert err.value.refusal.rule.in_words() == "above 0 and at most 1"
    with pytest.raises(ValidationError) as err:
        check_int("first_pull_docs", 2.5, lo=1, owner="RunConfig", note="None or a count")
    assert str(err.value) == "RunConfig.first_pull_docs (None or a count) must be a whole number, got 2.5"
    assert refusal_of(err.value) == Refusal("first_pull_docs", Rule(kind="a whole number"), 2.5, "RunConfig",
                                            "None or a count")
    with pytest.raises(ValidationError) as err:
        check_choice("stop", "never", ("budget", "plateau"))
    assert err.value.refusal.rule.in_words() == "one of: budget, plateau"
    with pytest.raises(MyConfigError) as plain:  # an error type that carries nothing still gets the message
        check_range("budget", -1, lo=0, error=MyConfigError)
    assert str(plain.value) == "budget must be >= 0, got -1" and refusal_of(plain.value) is None


@pytest.mark.parametrize("rule", [Rule(lo=0, hi=1), Rule(lo=0, hi=1, lo_open=True), Rule(lo=0, hi=1, hi_open=True),
                                  Rule(lo=0, hi=1, lo_open=True, hi_open=True), Rule(lo=1), Rule(lo=0, lo_open=True),
                                  Rule(hi=5), Rule(hi=5, hi_open=True), Rule(lo=0, words=("paper",)),
                                  Rule(choices=("share", "calls")), Rule(kind="a whole number"),
                                  Rule(lo=1, hi=5, kind="a whole number"), Rule(lo=1, kind="an integer")], ids=str)
def test_a_rule_in_words_has_no_notation(rule):
    # the forms word every rule from its data (Rule.in_words); nothing parses the notation (rule_in_words is gone)
    assert not any(c in rule.in_words() for c in "<>[]") and "(0" not in rule.in_words()
    assert " of from " not in rule.in_words()  # 'a whole number from 1 to 5', not 'a whole number of from ...'


def test_a_rule_admits_what_its_words_allow():
    assert Rule(lo=0, lo_open=True).admits(0.5) and not Rule(lo=0, lo_open=True).admits(0)
    assert not Rule(lo=0).admits(math.nan) and not Rule(lo=0).admits(True) and not Rule(lo=0).admits("1")
    assert Rule(lo=0, words=("paper",)).admits("paper") and not Rule(lo=0, words=("paper",)).admits("other")
    assert Rule(choices=("a", "b")).admits("b") and not Rule(choices=("a", "b")).admits("c")
