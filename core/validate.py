"""One way to check parameters: named errors whose message says which parameter, what it got and what is allowed.

Every check raises :class:`ValidationError` (a ``ValueError``, so existing ``except ValueError``
handlers in pages and the CLI keep working). Configs raise their own subclass by passing
``error=``::

    >>> check_range("batch_arms", 3, lo=1)
    3
    >>> check_range("budget", 0.0, lo=0, lo_open=True)
    Traceback (most recent call last):
    ...
    core.validate.ValidationError: budget must be > 0, got 0.0
    >>> check_choice("stop", "plateau", ("budget", "plateau"))
    'plateau'
    >>> parse_bool("maybe", name="strict")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    core.validate.ValidationError: strict must be true or false (...), got 'maybe'
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")
Num = TypeVar("Num", int, float)

_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")


class ValidationError(ValueError):
    """A parameter is out of range or not one of the allowed values; the message names it."""


def check_range(name: str, value: Num, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
                hi_open: bool = False, error: type[ValueError] = ValidationError) -> Num:
    """``value`` if it is a finite number within ``[lo, hi]`` (open ends with ``lo_open``/``hi_open``), else ``error``.

    Booleans are refused (``True`` is not a count); NaN and infinities always fail.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise error(f"{name} must be a finite number, got {value!r}")
    low_bad = lo is not None and (value <= lo if lo_open else value < lo)
    high_bad = hi is not None and (value >= hi if hi_open else value > hi)
    if low_bad or high_bad:
        raise error(f"{name} must be {_describe(lo, hi, lo_open, hi_open)}, got {value!r}")
    return value


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None, *, strict: bool = False,
              error: type[ValueError] = ValidationError) -> int:
    """``value`` as an ``int`` if it is a whole number within ``[lo, hi]``, else ``error``.

    Python and numpy integers pass; so does an integral float (``3.0``) unless ``strict``. Booleans never do.
    """
    integral = isinstance(value, numbers.Integral) or (not strict and isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral:
        raise error(f"{name} must be a whole number, got {value!r}")
    return int(check_range(name, int(value), lo, hi, error=error))


def check_choice(name: str, value: T, choices: Iterable[T], *, error: type[ValueError] = ValidationError) -> T:
    """``value`` if it is one of ``choices``, else ``error`` listing them."""
    options = tuple(choices)
    if value not in options:
        raise error(f"{name} must be one of {options}, got {value!r}")
    return value


def parse_bool(value: Any, name: str = "value", error: type[Exception] = ValidationError) -> bool:
    """Strict boolean: ``True``/``False``, ``1``/``0`` or one of true/false, yes/no, on/off, y/n, t/f, 1/0 (any case).

    Anything else (``"maybe"``, ``""``, ``2``) is an ``error`` -- never silently ``False``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise error(f"{name} must be true or false (also yes/no, on/off, 1/0), got {value!r}")


def _describe(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    return f"{'<' if hi_open else '<='} {hi}"


_NUM = r"-?[\d.]+(?:e-?\d+)?|inf"
_INTERVAL = re.compile(rf"\bin ([\[(])\s*({_NUM}),\s*({_NUM})\s*([\])])")
_BOUND = re.compile(rf"(>=|<=|>|<) ({_NUM})")
_BOUND_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}


def rule_in_words(rule: str) -> str:
    """A rule written in notation (what :func:`check_range` says a value must be) said in words, for a form.

    >>> rule_in_words("in (0, 1]"), rule_in_words("in [0, 1]"), rule_in_words("in [0, 1)")
    ('above 0 and at most 1', 'from 0 to 1', 'at least 0 and below 1')
    >>> rule_in_words(">= 1"), rule_in_words("> 0"), rule_in_words("'paper' or a number >= 0")
    ('at least 1', 'above 0', "'paper' or a number of at least 0")
    >>> rule_in_words("one of ('share', 'calls')"), rule_in_words("a whole number")
    ('one of: share, calls', 'a whole number')
    """
    def interval(m: re.Match[str]) -> str:
        lo, hi = m[2], m[3]
        if m[1] == "[" and m[4] == "]":
            return f"from {lo} to {hi}"
        return f"{'above' if m[1] == '(' else 'at least'} {lo} and {'at most' if m[4] == ']' else 'below'} {hi}"

    text = _INTERVAL.sub(interval, rule)
    text = re.sub(rf"a number (?=(?:{'|'.join(map(re.escape, _BOUND_WORDS))}) )", "a number of ", text)
    text = _BOUND.sub(lambda m: f"{_BOUND_WORDS[m[1]]} {m[2]}", text)
    choices = re.fullmatch(r"one of \((.*)\)", text)
    if choices:
        text = "one of: " + ", ".join(c.strip().strip("'\"") for c in choices[1].split(",") if c.strip())
    return text
