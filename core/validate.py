"""One way to check parameters: named errors whose message says which parameter, what it got and what is allowed.

Every check raises :class:`ValidationError` (a ``ValueError``, so existing ``except ValueError``
handlers in pages and the CLI keep working). Configs raise their own subclass by passing
``error=``. A range or choice refused carries itself as data, a :class:`Refusal` (the field, its
owner, the :class:`Rule` and the value got) on the error's ``refusal`` when the error is a
:class:`RefusedError`: a form words it from there (:meth:`Rule.in_words`), never by parsing the
message, which stays the notation the command line and the logs show::

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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Num = TypeVar("Num", int, float)

_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")


@dataclass(frozen=True)
class Rule:
    """What a value must be, as data: within bounds (``None``: unbounded; ``*_open``: that end excluded), one of
    ``choices``, or of a ``kind`` (``"a whole number"``, ``"finite"``; with bounds, the kind of number they bound:
    ``"an integer"``). ``words``: words taken instead of a number (EQUAL's ``alpha="paper"``). ``str()`` is the
    notation a message writes; :meth:`in_words` what a form says. :meth:`admits` reads the bounds, choices and
    words, not the kind.

    >>> rule = Rule(lo=0, hi=1, lo_open=True)
    >>> str(rule), rule.in_words(), rule.admits(0.0), rule.admits(1)
    ('in (0, 1]', 'above 0 and at most 1', False, True)
    >>> str(Rule(lo=0, words=("paper",))), Rule(lo=0, words=("paper",)).in_words()
    ("'paper' or a number >= 0", "'paper' or a number of at least 0")
    >>> str(Rule(choices=("share", "calls"))), Rule(choices=("share", "calls")).in_words()
    ("one of ('share', 'calls')", 'one of: share, calls')
    >>> Rule(lo=0, hi=1).in_words(), Rule(lo=0, hi=1, hi_open=True).in_words(), Rule(lo=1).in_words()
    ('from 0 to 1', 'at least 0 and below 1', 'at least 1')
    >>> str(Rule(lo=1, kind="an integer")), Rule(lo=1, kind="an integer").in_words()
    ('an integer >= 1', 'a whole number of at least 1')
    >>> Rule(lo=1, hi=5, kind="a whole number").in_words()
    'a whole number from 1 to 5'
    """

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[Any, ...] | None = None
    kind: str = ""
    words: tuple[str, ...] = ()

    @property
    def bounded(self) -> bool:
        """Whether the rule has a bound."""
        return self.lo is not None or self.hi is not None

    def __str__(self) -> str:
        if self.choices is not None:
            return f"one of {self.choices}"
        if not self.bounded:
            return self.kind
        bounds = _describe(self.lo, self.hi, self.lo_open, self.hi_open)
        number = self.kind or ("a number" if self.words else "")
        return " or ".join([*map(repr, self.words), f"{number} {bounds}" if number else bounds])

    def in_words(self) -> str:
        """The rule as a form says it: bounds in words (``"above 0 and at most 1"``), choices listed plainly."""
        if self.choices is not None:
            return "one of: " + ", ".join(str(c) for c in self.choices)
        if not self.bounded:
            return _KIND_WORDS.get(self.kind, self.kind)
        bounds = _bounds_in_words(self.lo, self.hi, self.lo_open, self.hi_open)
        number = _KIND_WORDS.get(self.kind, self.kind) or ("a number" if self.words else "")
        number += "" if not number or bounds.startswith("from") else " of"  # "a whole number from 1 to 5"
        return " or ".join([*map(repr, self.words), f"{number} {bounds}" if number else bounds])

    def admits(self, value: Any) -> bool:
        """Whether ``value`` keeps the rule: one of the choices or words, or a finite number within the bounds
        (booleans are not numbers here)."""
        if self.choices is not None or (self.words and isinstance(value, str)):
            return value in (self.choices if self.choices is not None else self.words)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        low_bad = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        high_bad = self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi)
        return not (low_bad or high_bad)


@dataclass(frozen=True)
class Refusal:
    """A value refused, as data: the ``field`` (``"gamma"``), its ``owner`` (``"EXP3"``; ``""``: none), the
    :class:`Rule` it broke, the value it ``got``, and a ``note`` on the field (``"None or a count"``). ``str()`` is
    the message the command line and the logs show.

    >>> str(Refusal("gamma", Rule(lo=0, hi=1, lo_open=True), 0.0, owner="EXP3"))
    'EXP3.gamma must be in (0, 1], got 0.0'
    """

    field: str
    rule: Rule
    got: Any
    owner: str = ""
    note: str = ""

    def __str__(self) -> str:
        name = f"{self.owner}.{self.field}" if self.owner else self.field
        note = f" ({self.note})" if self.note else ""
        return f"{name}{note} must be {self.rule}, got {self.got!r}"


class RefusedError(ValueError):
    """A ``ValueError`` that may carry what it refused (:attr:`refusal`; ``None``: the message alone says it).

    Configs' errors derive from it (``RunConfigError``, ``PolicyConfigError``, ...), so the types callers catch stay.
    """

    def __init__(self, message: object = "", refusal: Refusal | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal


class ValidationError(RefusedError):
    """A parameter is out of range or not one of the allowed values; the message names it."""


def refused(refusal: Refusal, error: type[ValueError] = ValidationError) -> ValueError:
    """An ``error`` saying ``refusal``, carrying it when ``error`` is a :class:`RefusedError` (raise it)."""
    if issubclass(error, RefusedError):
        return error(str(refusal), refusal)
    return error(str(refusal))


def refusal_of(exc: BaseException) -> Refusal | None:
    """The :class:`Refusal` ``exc`` carries, else ``None``."""
    return exc.refusal if isinstance(exc, RefusedError) else None


def check_rule(name: str, value: T, rule: Rule, *, owner: str = "", note: str = "",
               error: type[ValueError] = ValidationError) -> T:
    """``value`` if it keeps ``rule`` (:meth:`Rule.admits`), else ``error`` saying the rule's notation.

    >>> check_rule("c", -1.0, Rule(lo=0), owner="UCB1")
    Traceback (most recent call last):
    ...
    core.validate.ValidationError: UCB1.c must be >= 0, got -1.0
    """
    if not rule.admits(value):
        raise refused(Refusal(name, rule, value, owner, note), error)
    return value


def check_range(name: str, value: Num, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
                hi_open: bool = False, owner: str = "", note: str = "",
                error: type[ValueError] = ValidationError) -> Num:
    """``value`` if it is a finite number within ``[lo, hi]`` (open ends with ``lo_open``/``hi_open``), else ``error``.

    Booleans are refused (``True`` is not a count); NaN and infinities always fail. ``owner`` and ``note`` go into
    the :class:`Refusal` (``RunConfig``, ``"None or a count"``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise refused(Refusal(name, Rule(kind="a finite number"), value, owner, note), error)
    return check_rule(name, value, Rule(lo, hi, lo_open, hi_open), owner=owner, note=note, error=error)


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None, *, strict: bool = False,
              owner: str = "", note: str = "", error: type[ValueError] = ValidationError) -> int:
    """``value`` as an ``int`` if it is a whole number within ``[lo, hi]``, else ``error``.

    Python and numpy integers pass; so does an integral float (``3.0``) unless ``strict``. Booleans never do.
    """
    integral = isinstance(value, numbers.Integral) or (not strict and isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral:
        raise refused(Refusal(name, Rule(kind="a whole number"), value, owner, note), error)
    return int(check_range(name, int(value), lo, hi, owner=owner, note=note, error=error))


def check_choice(name: str, value: T, choices: Iterable[T], *, owner: str = "",
                 error: type[ValueError] = ValidationError) -> T:
    """``value`` if it is one of ``choices``, else ``error`` listing them."""
    return check_rule(name, value, Rule(choices=tuple(choices)), owner=owner, error=error)


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


def _bounds_in_words(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    low = f"{'above' if lo_open else 'at least'} {lo}" if lo is not None else ""
    high = f"{'below' if hi_open else 'at most'} {hi}" if hi is not None else ""
    if low and high and not (lo_open or hi_open):
        return f"from {lo} to {hi}"
    return " and ".join(part for part in (low, high) if part)


_KIND_WORDS = {"an integer": "a whole number"}
