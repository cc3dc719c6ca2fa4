"""Sizes checked against memory before anything is allocated, with the largest size that fits.

A generator asked for 10^9 users should say so in one line, not die in a 995 GiB allocation.
Every entry point (CLI and page) calls the same core check: the config's ``__post_init__``
estimates the peak bytes of the job from its sizes (:func:`core.ctar.config.estimate_sample_bytes`,
:func:`core.debias.data.estimate_world_bytes`) and :func:`check_fits` refuses it when the
estimate exceeds :func:`memory_budget`, naming the largest value of the parameter that fits.

``EQUALCTAR_MEMORY_BUDGET`` (bytes, or with a ``K``/``M``/``G`` suffix) overrides the budget,
which is otherwise 80% of what the machine has available (``MemAvailable`` in
``/proc/meminfo``, capped by ``RLIMIT_AS``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SizeError", "TooBig", "available_memory_bytes", "check_fits", "format_bytes", "largest_fitting",
           "memory_budget", "parse_bool", "parse_count", "parse_size", "too_big"]


class SizeError(ValueError):
    """A size whose job would not fit in memory (or a count that is not a count)."""


def available_memory_bytes() -> int:
    """Bytes the process may still allocate: ``MemAvailable`` (or total RAM), capped by ``RLIMIT_AS``."""
    avail = 0
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if not avail:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            avail = 8 << 30
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            avail = min(avail, soft)
    except (ImportError, ValueError, OSError):
        pass
    return int(avail)


_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str, name: str) -> int:
    """Bytes from ``text``: a number of bytes or a size with a ``K``/``M``/``G``/``T`` suffix (``4G``, ``1.5GiB``).

    Raises :class:`SizeError` naming ``name`` for anything else.

    >>> parse_size("1.5GiB", "X"), parse_size("512", "X")
    (1610612736, 512)
    >>> parse_size("1.2.3G", "EQUALCTAR_MEMORY_BUDGET")
    Traceback (most recent call last):
    ...
    core.limits.SizeError: EQUALCTAR_MEMORY_BUDGET must be bytes or a size like 4G or 1.5G, got '1.2.3G'

    A fraction without a unit is no number of bytes (read as a share of memory it was 0 bytes, and every size
    was refused as not fitting in '0 bytes'):

    >>> parse_size("0.5", "EQUALCTAR_MEMORY_BUDGET")
    Traceback (most recent call last):
    ...
    core.limits.SizeError: EQUALCTAR_MEMORY_BUDGET must be bytes or a size like 4G or 1.5G, got '0.5'
    """
    raw = text.strip().upper().removesuffix("B").removesuffix("I")
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([KMGT]?)", raw)
    if not match or (not match.group(2) and not float(match.group(1)).is_integer()):
        raise SizeError(f"{name} must be bytes or a size like 4G or 1.5G, got {text.strip()!r}")
    return int(float(match.group(1)) * _SUFFIX[match.group(2)])


def memory_budget() -> int:
    """The most bytes one job may plan to use: ``EQUALCTAR_MEMORY_BUDGET`` (:func:`parse_size`; a malformed value
    raises :class:`SizeError` naming it) or 80% of what is available."""
    given = os.environ.get("EQUALCTAR_MEMORY_BUDGET", "").strip()
    if given:
        return parse_size(given, "EQUALCTAR_MEMORY_BUDGET")
    return int(0.8 * available_memory_bytes())


def format_bytes(n: float) -> str:
    """``1536 -> '1.5 KiB'``."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n)} bytes"


def largest_fitting(estimate: Callable[[int], float], budget: float, low: int = 1, high: int = 10**15) -> int:
    """The largest ``v`` in ``[low, high]`` with ``estimate(v) <= budget`` (``estimate`` non-decreasing);
    ``low - 1`` when even ``low`` does not fit."""
    if estimate(low) > budget:
        return low - 1
    while low < high:
        mid = (low + high + 1) // 2
        if estimate(mid) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


@dataclass(frozen=True)
class TooBig:
    """A job refused for memory, as data: ``what`` it is (``"a CTAR sample of 1,000 movies"``), the bytes it
    ``needed`` and the ``budget``, the ``parameter`` sized and its ``value``, and the largest value that ``fits``
    (``0``: none). ``str()`` is the message; :meth:`in_words` says it with a form's labels.

    >>> big = TooBig("a sample", 3 << 30, 1 << 30, "n_users", 3000, 1000)
    >>> str(big).split("; ")
    ['a sample needs about 3.0 GiB of memory and 1.0 GiB is available (n_users=3,000)', \
'the largest n_users that fits is 1,000 (set EQUALCTAR_MEMORY_BUDGET to change the budget)']
    >>> big.in_words({"n_users": "Users"}.get).split("; ")[1]
    'the largest "Users" that fits is 1,000 (set EQUALCTAR_MEMORY_BUDGET to change the budget)'
    """

    what: str
    needed: float
    budget: int
    parameter: str
    value: int
    fits: int

    def __str__(self) -> str:
        return self._say(self.parameter, f"{self.parameter}=")

    def in_words(self, label: Callable[[str], str | None] = lambda name: None) -> str:
        """Said with ``label(parameter)`` (the parameter's name where it gives ``None``), quoted."""
        name = f'"{label(self.parameter) or self.parameter}"'
        return self._say(name, f"{name} = ")

    def _say(self, name: str, name_is: str) -> str:
        fits = (f"the largest {name} that fits is {self.fits:,}" if self.fits >= 1
                else f"nothing fits even with {name_is}1; reduce the other sizes")
        return (f"{self.what} needs about {format_bytes(self.needed)} of memory and {format_bytes(self.budget)} is "
                f"available ({name_is}{int(self.value):,}); {fits} (set EQUALCTAR_MEMORY_BUDGET to change the budget)")


def too_big(what: str, needed: float, parameter: str, value: int, estimate: Callable[[int], float],
            budget: int | None = None) -> TooBig | None:
    """What :func:`check_fits` refuses, as data (``None``: it fits)."""
    budget = memory_budget() if budget is None else budget
    if needed <= budget:
        return None
    return TooBig(what, needed, budget, parameter, value, largest_fitting(estimate, budget, 1, max(1, int(value))))


def check_fits(what: str, needed: float, parameter: str, value: int, estimate: Callable[[int], float],
               error: type[Exception] = SizeError, budget: int | None = None) -> None:
    """Raise ``error`` when ``needed`` bytes exceed the budget, naming the largest ``parameter`` that fits
    (:class:`TooBig`; :func:`too_big` gives it as data).

    ``estimate(v)`` is the job's bytes with ``parameter = v`` and every other size unchanged.
    """
    big = too_big(what, needed, parameter, value, estimate, budget)
    if big is not None:
        raise error(str(big))


def parse_count(text: str | int | float, name: str, low: int = 0, error: type[Exception] = SizeError) -> int:
    """A whole number from ``text``: ``"1000"``, ``"1_000"``, ``"1e9"`` (integral only), at least ``low``.

    >>> parse_count("1e3", "n_users"), parse_count("2_000", "n_users")
    (1000, 2000)
    """
    if isinstance(text, bool):
        raise error(f"{name} must be a whole number, got {text!r}")
    if isinstance(text, int):
        value = text
    else:
        raw = str(text).strip().replace("_", "")
        try:
            value = int(raw)
        except ValueError:
            try:
                number = float(raw)
            except ValueError:
                raise error(f"{name} must be a whole number, got {text!r}") from None
            if not math.isfinite(number) or number != int(number):
                raise error(f"{name} must be a whole number, got {text!r}") from None
            value = int(number)
    if value < low:
        raise error(f"{name} must be >= {low}, got {value:,}")
    return value


def parse_bool(text: str | bool, name: str, error: type[Exception] = SizeError) -> bool:
    """``true/false``, ``yes/no``, ``on/off``, ``1/0`` (any case); anything else is an error naming ``name``.

    The one strict boolean parser is :func:`core.validate.parse_bool`; this keeps the limits' error type.
    """
    from core.validate import parse_bool as strict_bool

    return strict_bool(text, name, error)
