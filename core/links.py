"""Shareable links, the generic part: a view as URL query parameters, and back, with what could not be restored.

A view is a list of :class:`Param` objects (the query parameter's name, the session key its
widget uses, and a parser that turns the text into a valid value or raises ``ValueError`` with
a readable reason). :func:`decode_view` reads a link's parameters into session values and a
list of problems ("bias 'wobbly': must be one of ..."), so a stale or invalid link restores
what it can and says what it could not. :func:`encode_view` writes the current view, leaving
out values at their default, so links stay short.

Which page carries which parameters is the presentation's business: ``pages/_lib/links.py``
(this module imports no domain package).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TOUR_STEPS = 4  # the presentation mode's tour (pages/tour.py): one step per idea


@dataclass(frozen=True)
class Param:
    """One query parameter: ``name`` in the URL, ``key`` in the session, ``parse`` text -> value.

    ``once``: the page consumes the value (reopens the linked run, highlights the linked cluster), so it is
    not part of the view kept when the page is left.
    """

    name: str
    key: str
    parse: Callable[[str], Any]
    default: Any = None
    once: bool = False
    extra_keys: tuple[str, ...] = ()  # more session keys the view keeps (a second widget of the same setting)

    def encode(self, value: Any) -> str | None:
        """The text for ``value``; ``None`` when it is the default (left out of the link)."""
        if value is None or value == self.default or value == "":
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        return str(value)


@dataclass(frozen=True)
class ListParam(Param):
    """A parameter whose value is a list of choices, written comma-separated (``cond=position,genre``).

    >>> ListParam("cond", "dl_cond", parse_choices(["a", "b"]), []).encode(["b", "a"])
    'b,a'
    """

    def encode(self, value: Any) -> str | None:
        if not value or list(value) == list(self.default or []):
            return None
        return ",".join(str(v) for v in value)


def decode_view(query: Mapping[str, str], params: list[Param]) -> tuple[dict[str, Any], list[str]]:
    """``(session values, problems)`` from a link's query parameters; unknown parameters are ignored."""
    values, problems = {}, []
    for p in params:
        if p.name not in query:
            continue
        text = str(query[p.name])
        try:
            values[p.key] = p.parse(text)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(describe_problem(p.name, text, exc))
    return values, problems


def describe_problem(name: str, text: str, reason: Exception | str) -> str:
    """What a link could not restore: ``"bias 'wobbly': must be one of ..."`` (long text shortened).

    >>> describe_problem("seed", "-4", "must be between 0 and 10")
    "seed '-4': must be between 0 and 10"
    """
    shown = text if len(text) <= 60 else text[:59] + "…"
    return f"{name} {shown!r}: {reason}"


def encode_view(state: Mapping[str, Any], params: list[Param]) -> dict[str, str]:
    """The query parameters of the current view (session ``state``), defaults left out."""
    out = {}
    for p in params:
        text = p.encode(state.get(p.key))
        if text is not None:
            out[p.name] = text
    return out


# ---------------------------------------------------------------------- parsers
def parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1 or 0")


def parse_text(text: str) -> str:
    if not text.strip():
        raise ValueError("is empty")
    return text.strip()


def parse_run_id(text: str) -> str:
    if not text.isalnum():
        raise ValueError("is not a run id")
    return text


def parse_map_version(text: str) -> str:
    """A map version (``core.viz.webgl_map.MapPoints.version``: 16 hex digits).

    >>> parse_map_version("0123456789abcdef")
    '0123456789abcdef'
    """
    if len(text) != 16 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("is not a map version (16 hex digits)")
    return text


def parse_int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return parse


def parse_float(text: str) -> float:
    """A finite number (``nan`` and ``inf`` are refused, not turned into a widget's 0.0)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def parse_choices(options) -> Callable[[str], list[str]]:
    """Comma-separated choices, each one of ``options`` (repeats dropped, order kept).

    >>> parse_choices(["a", "b", "c"])("c,a,c")
    ['c', 'a']
    """
    one = parse_choice(options)

    def parse(text: str) -> list[str]:
        return list(dict.fromkeys(one(t.strip()) for t in text.split(",") if t.strip()))

    return parse


def parse_choice(options) -> Callable[[str], str]:
    options = list(options)

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"must be one of {', '.join(map(str, options))}")
        return text

    return parse


@dataclass(frozen=True)
class SlugParam(Param):
    """A choice whose label is long (``"do(Y = 5): cut Q, N → Y"``): the link carries a short slug."""

    slugs: Mapping[str, str] | None = None

    def encode(self, value: Any) -> str | None:
        if value is None or value == self.default:
            return None
        return (self.slugs or {}).get(value)
