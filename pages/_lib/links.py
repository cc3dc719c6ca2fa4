"""Which page's link carries what: each page's view as :class:`core.links.Param` objects, and the checks across them.

The generic encoding and decoding live in :mod:`core.links`; this module composes the pages'
views from the domain packages (the CTAR generator's fields, the debiasing mechanisms, the
bandit's settings), so core's root imports none of them. Pure functions, tested without a browser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from core.links import (
    TOUR_STEPS,
    ListParam,
    Param,
    SlugParam,
    decode_view,
    describe_problem,
    parse_bool,
    parse_choice,
    parse_choices,
    parse_float,
    parse_int_in,
    parse_map_version,
    parse_run_id,
    parse_text,
)


def common_params() -> list[Param]:
    """What every page shares: presentation mode and the seed."""
    return [Param("demo", "sb_demo", parse_bool, False), Param("seed", "sb_seed", parse_int_in(0, 2**31 - 1), 0)]


def corpus_map_params(n_clusters: int | None = None) -> list[Param]:
    """The search text, whether the map stars its matches and how many, the highlighted cluster (checked against
    the map's clusters when known), the column the map is coloured by and the map's version (the page
    says when the linked version no longer exists, and draws the current one)."""
    hi = (n_clusters - 1) if n_clusters else 10_000
    return [Param("q", "cm_query", parse_text, ""), Param("star", "cm_star", parse_bool, False),
            Param("matches", "cm_top_n", parse_int_in(5, 100), 20),
            Param("cluster", "cm_cluster_link", parse_int_in(0, hi), once=True),
            Param("color", "cm_color", parse_text, "cluster"),
            Param("map", "cm_map_link", parse_map_version, once=True)]


def bandit_params() -> list[Param]:
    """The stored run shown live (reopened from the run store), the reference task (a shipped preset; an
    upload or a tag stays out of the link), and every run setting by its slug (:mod:`core.equal.settings`;
    the page writes only those that apply and are not at their default)."""
    from core.equal.reference import DEFAULT_PRESET, list_presets
    from core.equal.settings import PAGE_SETTINGS

    return [Param("run", "bd_link_run", parse_run_id, once=True),
            Param("reference", "bd_preset", parse_choice(list_presets()), DEFAULT_PRESET)] + [
        Param(s.slug, s.key, s.parse, extra_keys=(s.rule_key,) if s.word is not None else ()) for s in PAGE_SETTINGS]


INTERVENTION_SLUGS = ("none", "exposure", "obstag", "tag-effect", "n-match", "rating")


def ctar_params() -> list[Param]:
    """Every generator setting a form shows (``ctar_<field>``), parsed by its type or its choices (CTARConfig's
    field metadata) and checked by CTARConfig, and the intervention."""
    from core.ctar.config import FORM_FIELDS, CTARConfig, field_meta
    from core.ctar.presets import INTERVENTIONS

    defaults = CTARConfig()
    out = []
    for name in FORM_FIELDS:
        default = getattr(defaults, name)
        choices = field_meta(name)["choices"]
        if choices:
            parse: Callable[[str], Any] = parse_choice(choices)
        elif isinstance(default, bool):
            parse = parse_bool
        elif isinstance(default, int):
            parse = parse_int_in(0, 10**9)
        elif isinstance(default, float):
            parse = parse_float
        else:
            parse = str
        out.append(Param(name, f"ctar_{name}", parse, default))
    names = list(INTERVENTIONS)
    by_slug = dict(zip(INTERVENTION_SLUGS, names))
    out.append(SlugParam("do", "ctar_intervention", lambda t: by_slug[parse_choice(INTERVENTION_SLUGS)(t)], names[0],
                         slugs={v: k for k, v in by_slug.items()}))
    return out


def check_ctar_together(values: dict[str, Any]) -> list[str]:
    """Check a link's generator settings with each other (``rct_users <= n_users``, ``liked_min <= liked_max``) by
    :class:`CTARConfig` itself, so a link cannot set what the form would refuse, and a valid combination is kept
    whole. While the combination is refused, the last setting whose removal would let it through is dropped from
    ``values`` and named by its link name, the reason in the form's labels (:func:`core.ctar.config.in_words`;
    checked against the defaults alone, ``n_users=50`` is refused by ``rct_users``'s 100).

    >>> check_ctar_together(v := {"ctar_n_users": 50, "ctar_rct_users": 30}), v
    ([], {'ctar_n_users': 50, 'ctar_rct_users': 30})
    >>> check_ctar_together(v := {"ctar_n_users": 50}), v
    (['n_users \\'50\\': "Randomized slice: users" (100) is more than "Users" (50)'], {})
    """
    from core.ctar.config import CTARConfig, in_words

    fields = {k.removeprefix("ctar_"): v for k, v in values.items()
              if k.startswith("ctar_") and k != "ctar_intervention"}
    problems = []
    while fields:
        refused = _ctar_refusal(CTARConfig, fields)
        if refused is None:
            break
        culprit = next((n for n in reversed(fields) if _ctar_refusal(CTARConfig, {**fields, n: None}) is None),
                       next(reversed(fields)))
        problems.append(describe_problem(culprit, str(fields.pop(culprit)), in_words(refused)))
        values.pop(f"ctar_{culprit}")
    return problems


def _ctar_refusal(config_class: type, fields: Mapping[str, Any]) -> ValueError | TypeError | None:
    """Why ``config_class`` refuses ``fields`` over its defaults (a ``None`` value: that field left at its default),
    or ``None`` when it accepts them."""
    try:
        replace(config_class(), **{k: v for k, v in fields.items() if v is not None})
    except (ValueError, TypeError) as exc:
        return exc
    return None


def debias_params() -> list[Param]:
    """The bias, its strength (checked against the bias's grid), whether the estimator conditions on popularity and
    what else it conditions on (both change the verdict)."""
    from core.debias.mechanisms import CONDITIONS, MECHANISMS

    return [Param("bias", "dl_mech", parse_choice(MECHANISMS), "popularity"),
            Param("strength", "dl_strength", parse_float),
            Param("on_pop", "dl_on_pop", parse_bool, False),
            ListParam("cond", "dl_cond", parse_choices(list(CONDITIONS)), [])]


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
def link_keys(page: str | None = None) -> tuple[str, ...]:
    """The session keys of the view ``page``'s links carry (every page's when ``None``), kept when the page is left so
    that it comes back as it was (:func:`pages._lib.routing.keep_views`; a page's other kept settings are declared
    at their widgets: :func:`pages._lib.routing.kept_key`). Asked on every run: computed once."""
    pages = list(PAGE_PARAMS) if page is None else [page]
    return tuple(dict.fromkeys(k for pg in pages for p in PAGE_PARAMS.get(pg, lambda: [])() if not p.once
                               for k in (p.key, *p.extra_keys)))


def page_params(page: str) -> list[Param]:
    """The shared parameters and those of ``page`` (its URL path; ``""`` is the default page)."""
    return common_params() + PAGE_PARAMS.get(page, lambda: [])()


def restore_link(page: str | None, query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Decode a link opened on ``page``: the session values to set, and what could not be restored.

    ``page=None`` decodes only the shared parameters (presentation mode, seed), which the app
    needs before it builds its navigation; a page's own parameters are decoded with its path.
    Cross-checks what one parameter alone cannot: a debiasing strength must lie on the chosen
    bias's grid (else it is dropped and named, and the bias is kept); a bandit setting is checked by
    ``RunConfig`` together with the link's other settings (:func:`core.equal.settings.decode_link`).
    """
    params = common_params() if page is None else PAGE_PARAMS.get(page, lambda: [])()
    if page == "bandit":
        from core.equal.settings import decode_link

        # the run and the reference task alone; the run settings are checked together by RunConfig
        run_values, run_problems = decode_view(query, [p for p in params if p.key in ("bd_link_run", "bd_preset")])
        values, problems = decode_link(query)
        return {**run_values, **values}, run_problems + problems
    values, problems = decode_view(query, params)
    if page == "ctar_generator":
        problems += check_ctar_together(values)
    if "dl_strength" in values:
        try:
            check_strength(values.get("dl_mech", "popularity"), values["dl_strength"])
        except ValueError as exc:
            problems.append(f"strength {values.pop('dl_strength'):g}: {exc}")
    return values, problems
