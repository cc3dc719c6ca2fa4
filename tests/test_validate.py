"""core.validate: one way to check parameters, with messages that name the parameter."""

from __future__ import annotations

import math

import pytest

from core.validate import ValidationError, check_choice, check_int, check_range, parse_bool


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
