"""The Bandit page's run settings, each drawn from its :class:`core.equal.settings.Setting` (no choice list here).

:func:`draw` draws one setting (its widget key, label, help, range and choices come from the
spec); :func:`draw_group` a group of them; :func:`draw_more` the page's folded "More settings". A
setting that does not apply (UCB1's ``c`` under EQUAL) is not drawn and takes its default.
:func:`apply_config` shows a ``RunConfig`` in the widgets from the page's next run on (a reopened
run, the tuning lab's pick): Streamlit lets a widget's value be set only before the widget is
drawn, so the page calls :func:`apply_pending` first.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.equal.config import RunConfig
from core.equal.settings import NUMBER, PAGE_GROUPS, Setting, dependent_defaults, settings_link, widget_state
from core.settings import LLMSettings

__all__ = ["apply_config", "apply_pending", "draw", "draw_group", "draw_more", "settings_link"]

PENDING = "bd_pending_config"


def apply_config(config: RunConfig) -> None:
    """Set every Bandit setting to ``config`` when the Bandit page next draws (any page may call it)."""
    st.session_state[PENDING] = config


def apply_pending() -> None:
    """Before the Bandit page draws a setting: the config :func:`apply_config` left, put into the widgets' keys."""
    config = st.session_state.pop(PENDING, None)
    if config is not None:
        st.session_state.update(**widget_state(config))


def _reset_dependents(spec: Setting) -> None:
    """A choice's ``on_change``: settings whose default depends on it take the new choice's default."""
    st.session_state.update(**dependent_defaults(spec.name, st.session_state[spec.key]))


def draw_more(values: dict[str, Any], idle_view: bool, tick_s: float, rounds_per_update: int) -> LLMSettings | None:
    """The folded "More settings": the policy, pull and reward settings in three columns, the live run's rounds per
    update (``rounds_per_update`` at first; an update also stops after ``tick_s`` s), the extractor, and for an
    endpoint extractor its address, model and key. Records each setting in ``values``; returns the endpoint typed
    (:meth:`~core.settings.LLMSettings.typed`: ``None`` for the environment's, or for the rule extractor)."""
    from pages import common

    label = "More settings" if idle_view else "More settings (used by the next new run)"
    with st.expander(label, expanded=False, key="bd_more"):  # a key: it stays open across reruns
        c1, c2, c3 = st.columns(3)  # the policy and its prior | what a pull reads | how a pull is rewarded
        for col, title, group in ((c1, "**Policy**", "policy"), (c2, "**Pulls**", "pulls"),
                                  (c3, "**Reward**", "reward")):
            col.markdown(title)
            draw_group(values, PAGE_GROUPS[group], col)
        st.session_state.setdefault("bd_speed", rounds_per_update)  # kept across pages (a default set twice warns)
        st.slider(f"Rounds per update, for the live run at once (each update also stops after {tick_s} s of work)",
                  1, 50, key=common.kept_key("bd_speed"))
        draw_group(values, PAGE_GROUPS["extractor"], st)
        if values["extractor"] != "openai":
            return None
        e1, e2, e3 = st.columns(3)
        base_url = e1.text_input("Base URL", key=common.kept_key("bd_base_url"), placeholder="http://127.0.0.1:8000/v1",
                                 help="Left empty with Model and API key: the endpoint the environment names "
                                      "(EQUAL_LLM_BASE_URL, EQUAL_LLM_MODEL, EQUAL_LLM_API_KEY).")
        model = e2.text_input("Model", key=common.kept_key("bd_model"))
        api_key = e3.text_input("API key", type="password", key=common.kept_key("bd_key"))
        return LLMSettings.typed(base_url, model, api_key)


def draw_group(values: dict[str, Any], specs: tuple[Setting, ...], where: Any) -> None:
    """:func:`draw` each of ``specs`` in ``where``, in order (a condition reads the settings drawn before it)."""
    for spec in specs:
        draw(values, spec, where)


def draw(values: dict[str, Any], spec: Setting, where: Any) -> None:
    """Draw ``spec``'s widget in ``where`` (a column or ``st``) if it applies given ``values``, and record its value
    in ``values`` under the setting's name. A widget starts at the setting's default unless its key holds a value."""
    if not spec.applies(values):
        return
    default = spec.default_for(values)
    if spec.word is not None:
        st.session_state.setdefault(spec.rule_key, default if isinstance(default, str) else NUMBER)
        rule = where.selectbox(spec.label, spec.word_choices, key=spec.rule_key, help=spec.help,
                               format_func=lambda w: spec.choice_labels.get(w, w))
        if rule != NUMBER:
            values[spec.name] = rule
            return
        default = spec.number_default(values)
    st.session_state.setdefault(spec.key, default)
    label = spec.label_for(values)  # the budget's names its kind's unit
    values[spec.name] = _widget(spec, where, label if spec.word is None else f"{label}: value")


def _widget(spec: Setting, where: Any, label: str) -> Any:
    key, about = spec.key, spec.help
    if spec.choices:
        words = spec.choice_labels
        if spec.widget == "radio":
            return where.radio(label, spec.choices, key=key, help=about, horizontal=True,
                               format_func=lambda c: words.get(c, c))
        return where.selectbox(label, spec.choices, key=key, help=about, format_func=lambda c: words.get(c, c),
                               on_change=_reset_dependents, args=(spec,))
    if spec.kind is bool:
        return (where.toggle if spec.widget == "toggle" else where.checkbox)(label, key=key, help=about)
    if spec.kind is int:
        lo = None if spec.lo is None else int(spec.lo) + int(spec.lo_open)
        return where.number_input(label, min_value=lo, max_value=None if spec.hi is None else int(spec.hi), step=1,
                                  key=key, help=about)
    if spec.widget == "slider":  # a closed range; an open end starts one step in
        step = spec.step or 0.01
        low, high = float(spec.lo or 0.0), float(spec.hi if spec.hi is not None else 1.0)
        low, high = low + step if spec.lo_open else low, high - step if spec.hi_open else high
        value = st.session_state.get(key)
        # a valid value between an open end and the slider's first step (a link, a stored run) is typed instead
        if value is None or low <= float(value) <= high:
            return where.slider(label, low, high, step=step, key=key, help=about)
    lo_f = None if spec.lo is None or spec.lo_open else float(spec.lo)  # an open end: RunConfig names a 0
    return where.number_input(label, min_value=lo_f, max_value=None if spec.hi is None else float(spec.hi),
                              step=spec.step or 0.01, format="%g", key=key, help=about)
