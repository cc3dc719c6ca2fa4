"""Shareable links: a page's view as URL query parameters, and back, with what could not be restored.

Each page declares its view as :class:`Param` objects (the query parameter's name, the session
key its widget uses, and a parser that turns the text into a valid value or raises
``ValueError`` with a readable reason). :func:`decode_view` reads a link's parameters into
session values and a list of problems ("bias 'wobbly': must be one of ..."), so a stale or
invalid link restores what it can and says what it could not. :func:`encode_view` writes the
current view, leaving out values at their default, so links stay short.

The page-specific parameter sets (:func:`corpus_map_params`, :func:`ctar_params`, ...) are here
too, so their validation is tested without a browser.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
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

    def encode(self, value: Any) -> str | None:
        """The text for ``value``; ``None`` when it is the default (left out of the link)."""
        if value is None or value == self.default or value == "":
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        return str(value)


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
            shown = text if len(text) <= 60 else text[:59] + "…"
            problems.append(f"{p.name} {shown!r}: {exc}")
    return values, problems


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
    """A map version (``core.viz.webgl_map.MapPoints.version``: 16 hex digits)."""
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


def parse_choice(options) -> Callable[[str], str]:
    options = list(options)

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"must be one of {', '.join(map(str, options))}")
        return text

    return parse


# ---------------------------------------------------------------------- the pages' views
def common_params() -> list[Param]:
    """What every page shares: presentation mode and the seed."""
    return [Param("demo", "sb_demo", parse_bool, False), Param("seed", "sb_seed", parse_int_in(0, 2**31 - 1), 0)]


def corpus_map_params(n_clusters: int | None = None) -> list[Param]:
    """The search text, whether the map stars its matches, the highlighted cluster (checked against
    the map's clusters when known), the column the map is coloured by and the map's version (the page
    says when the linked version no longer exists, and draws the current one)."""
    hi = (n_clusters - 1) if n_clusters else 10_000
    return [Param("q", "cm_query", parse_text, ""), Param("star", "cm_star", parse_bool, False),
            Param("cluster", "cm_cluster_link", parse_int_in(0, hi), once=True),
            Param("color", "cm_color", parse_text, "cluster"),
            Param("map", "cm_map_link", parse_map_version, once=True)]


def bandit_params() -> list[Param]:
    """The stored run shown live (reopened from the run store)."""
    return [Param("run", "bd_link_run", parse_run_id, once=True)]


INTERVENTION_SLUGS = ("none", "exposure", "obstag", "tag-effect", "n-match", "rating")


def ctar_params() -> list[Param]:
    """Every generator setting (``ctar_<field>``), checked against its type, and the intervention."""
    from core.ctar.config import CTARConfig
    from core.ctar.presets import INTERVENTIONS

    defaults = CTARConfig()
    out = []
    for f in fields(CTARConfig):
        if f.name in ("seed", "chunk_pairs", "keep_full_max_pairs"):
            continue
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            parse: Callable[[str], Any] = parse_bool
        elif isinstance(default, int):
            parse = parse_int_in(0, 10**9)
        elif isinstance(default, float):
            parse = parse_float
        else:
            parse = parse_choice(["exact", "normalised"]) if f.name == "mode" else str
        out.append(Param(f.name, f"ctar_{f.name}", _checked_by_config(f.name, parse), default))
    names = list(INTERVENTIONS)
    by_slug = dict(zip(INTERVENTION_SLUGS, names))
    out.append(_SlugParam("do", "ctar_intervention", lambda t: by_slug[parse_choice(INTERVENTION_SLUGS)(t)], names[0],
                          slugs={v: k for k, v in by_slug.items()}))
    return out


def _checked_by_config(name: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, then the value checked by :class:`CTARConfig` itself (its range), so a link cannot set a value
    the form would refuse."""
    from core.ctar.config import CTARConfig, CTARConfigError

    def checked(text: str) -> Any:
        value = parse(text)
        try:
            replace(CTARConfig(), **{name: value})
        except CTARConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value

    return checked


@dataclass(frozen=True)
class _SlugParam(Param):
    """A choice whose label is long (``"do(Y = 5): cut Q, N → Y"``): the link carries a short slug."""

    slugs: Mapping[str, str] | None = None

    def encode(self, value: Any) -> str | None:
        if value is None or value == self.default:
            return None
        return (self.slugs or {}).get(value)


def debias_params() -> list[Param]:
    """The bias, its strength (checked against the bias's grid) and whether the estimator conditions on popularity."""
    from core.debias.mechanisms import MECHANISMS

    return [Param("bias", "dl_mech", parse_choice(MECHANISMS), "popularity"),
            Param("strength", "dl_strength", parse_float),
            Param("on_pop", "dl_on_pop", parse_bool, False)]


def check_strength(mechanism: str, strength: float) -> float:
    """``strength`` when it is on ``mechanism``'s grid, else ``ValueError`` naming the grid."""
    from core.debias.mechanisms import default_grid

    grid = default_grid(mechanism)
    if strength not in grid:
        raise ValueError(f"must be one of {', '.join(f'{g:g}' for g in grid)} for {mechanism}")
    return strength


def tour_params() -> list[Param]:
    return [Param("step", "tour_step", parse_int_in(1, TOUR_STEPS), 1)]


PAGE_PARAMS: dict[str, Callable[[], list[Param]]] = {
    "": corpus_map_params, "corpus_map": corpus_map_params, "bandit": bandit_params, "ctar_generator": ctar_params,
    "debiasing_lab": debias_params, "tour": tour_params,
}


@functools.cache
def view_keys(page: str | None = None) -> tuple[str, ...]:
    """The session keys of ``page``'s view (every page's when ``None``): what its links carry, kept when the
    page is left so that it comes back as it was (:func:`core.ui_state.carry`). Asked on every run: computed once."""
    makers = PAGE_PARAMS.values() if page is None else [PAGE_PARAMS.get(page, lambda: [])]
    return tuple(dict.fromkeys(p.key for make in makers for p in make() if not p.once))


def page_params(page: str) -> list[Param]:
    """The shared parameters and those of ``page`` (its URL path; ``""`` is the default page)."""
    return common_params() + PAGE_PARAMS.get(page, lambda: [])()


def restore_link(page: str | None, query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Decode a link opened on ``page``: the session values to set, and what could not be restored.

    ``page=None`` decodes only the shared parameters (presentation mode, seed), which the app
    needs before it builds its navigation; a page's own parameters are decoded with its path.
    Cross-checks what one parameter alone cannot: a debiasing strength must lie on the chosen
    bias's grid (else it is dropped and named, and the bias is kept).
    """
    params = common_params() if page is None else PAGE_PARAMS.get(page, lambda: [])()
    values, problems = decode_view(query, params)
    if "dl_strength" in values:
        try:
            check_strength(values.get("dl_mech", "popularity"), values["dl_strength"])
        except ValueError as exc:
            problems.append(f"strength {values.pop('dl_strength'):g}: {exc}")
    return values, problems
