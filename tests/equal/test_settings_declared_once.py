"""Each run setting is declared once (core.equal.settings): the CLI, the Bandit page and its link offer exactly the
choices core declares, with the same defaults, and RunConfig's validation agrees with each setting's range."""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from core.equal.choices import Policy
from core.equal.config import RunConfig, RunConfigError
from core.equal.reward import OTReward
from core.equal.settings import (
    BY_NAME,
    NUMBER,
    PAGE_SETTINGS,
    SETTINGS,
    check_setting,
    config_from_values,
    settings_link,
    values_of,
    widget_state,
)
from pages._lib.links import page_params, restore_link

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "bandit.py")

#: settings unlike the defaults in every way a setting can differ (a choice, a word, a number, a condition)
ODD = RunConfig(policy="ucb1", policy_params={"c": 2.5}, batch_arms=4, docs_per_pull=6, budget_kind="calls",
                budget=40.0, stop="plateau", patience=7, reward=OTReward(method="sinkhorn", offset=0.2,
                                                                         estimate="cumulative", empty_reward=0.5,
                                                                         credit="pull"),
                share_neighbours=True, neighbour_weight=0.5, doc_order="file", exhaust="strict", unplayed="prior",
                prior_weight=2.0, first_pull_docs=2)


def _run_parser() -> argparse.ArgumentParser:
    from core.equal.__main__ import _add_run

    sub = argparse.ArgumentParser().add_subparsers(dest="command")
    _add_run(sub)
    return sub.choices["run"]


def _condition(spec) -> dict:
    """Settings under which ``spec`` applies (its condition's first value)."""
    return {} if spec.when is None else {spec.when[0]: spec.when[1][0]}


# ------------------------------------------------------------------ the CLI
def test_cli_offers_every_setting_with_cores_choices_and_defaults():
    actions = {a.option_strings[0]: a for a in _run_parser()._actions if a.option_strings}
    for spec in SETTINGS:
        action = actions[spec.flag]
        assert tuple(action.choices or ()) == spec.choices, spec.name
        assert action.default == (None if spec.default_by else spec.default), spec.name
    not_settings = {"-h", "--corpus", "--limit", "--k", "--encoder", "--map-seed", "--reference", "--store",
                    "--price-in", "--price-out", "--resume", "--quiet",
                    "--arms-from-tag"}  # which documents are arms, like --corpus and --k: the space, not a setting
    assert set(actions) - not_settings == {s.flag for s in SETTINGS}  # no run setting of the CLI's own


def test_cli_and_core_build_the_same_config():
    from core.equal.__main__ import _make_config

    flags = ["--reference", "x", "--policy", "ucb1", "--c", "2.5", "--batch-arms", "4", "--docs-per-pull", "6",
             "--budget-kind", "calls", "--budget", "40", "--stop", "plateau", "--patience", "7", "--method", "sinkhorn",
             "--offset", "0.2", "--estimate", "cumulative", "--empty-reward", "0.5", "--credit", "pull",
             "--neighbour-weight", "0.5", "--doc-order", "file", "--exhaust", "strict", "--unplayed", "prior",
             "--prior-weight", "2", "--first-pull-docs", "2"]
    assert _make_config(_run_parser().parse_args(flags)) == ODD
    assert _make_config(_run_parser().parse_args(["--reference", "x"])) == RunConfig()
    calls = _make_config(_run_parser().parse_args(["--reference", "x", "--budget-kind", "calls"]))
    assert calls.budget == BY_NAME["budget"].default_for({"budget_kind": "calls"}) == 100.0  # not 0.05 calls
    with pytest.raises(SystemExit):  # a choice core does not declare
        _run_parser().parse_args(["--reference", "x", "--credit", "per-token"])


# ------------------------------------------------------------------ core: the specs and RunConfig agree
def test_defaults_are_run_configs():
    assert config_from_values({}) == RunConfig()
    assert {s.name for s in SETTINGS if "." not in s.name} == set(RunConfig.__dataclass_fields__) - {
        "policy_params", "reward"}  # every field has a setting
    for spec in SETTINGS:
        assert config_from_values({**_condition(spec), spec.name: spec.default}) == config_from_values(
            _condition(spec)), spec.name


@pytest.mark.parametrize("spec", [s for s in SETTINGS if s.choices], ids=lambda s: s.name)
def test_run_config_accepts_exactly_the_declared_choices(spec):
    for choice in spec.choices:
        assert values_of(config_from_values({**_condition(spec), spec.name: choice}))[spec.name] == choice
    with pytest.raises(ValueError):
        check_setting(spec, "no-such-choice")


@pytest.mark.parametrize("spec", [s for s in SETTINGS if s.kind in (int, float)], ids=lambda s: s.name)
def test_run_config_refuses_exactly_outside_the_declared_range(spec):
    context = {**_condition(spec), "budget_kind": "share"}
    step = 1 if spec.kind is int else 1e-6
    for end, is_open, outward in ((spec.lo, spec.lo_open, -step), (spec.hi, spec.hi_open, step)):
        if end is None:
            continue
        inside = end - outward if is_open else end
        check_setting(spec, spec.kind(inside), context)  # accepted
        with pytest.raises(ValueError, match=re.escape(spec.label_for(context))):  # named as the form labels it
            check_setting(spec, spec.kind(end if is_open else end + outward), context)
    if spec.lo is None and spec.kind is float:  # unbounded below: any finite number, never NaN
        with pytest.raises(ValueError):
            check_setting(spec, math.nan, context)


def test_settings_that_do_not_apply_take_their_default_and_the_rules_that_tie_them():
    assert config_from_values({"policy": "equal", "policy_params.c": 5.0}).policy_params == {}
    assert config_from_values({"reward.credit": "document", "reward.offset": 0.5}).reward.offset == 0.12
    assert not config_from_values({"neighbour_weight": 0.0}).share_neighbours  # weight 0 shares nothing
    assert config_from_values({"docs_per_pull": 2, "first_pull_docs": 5}).first_pull_docs == 2
    with pytest.raises(RunConfigError, match="unknown run setting"):
        config_from_values({"bach_arms": 3})


def test_a_config_survives_the_widgets_and_the_link():
    for config in (RunConfig(), ODD, replace(ODD, policy="equal", policy_params={"alpha": 0.002}),
                   replace(ODD, policy="exp3", policy_params={"gamma": 0.3}, extractor="openai", max_failures=2)):
        assert config_from_values(values_of(config)) == config
        query = dict(p.split("=", 1) for p in settings_link(config).split("&") if p)
        state, problems = restore_link("bandit", query)
        assert problems == []
        assert {k: v for k, v in widget_state(config).items() if k in state} == state
    assert settings_link(RunConfig()) == ""  # defaults stay out of the link


# ------------------------------------------------------------------ the link
def test_link_carries_every_page_setting_and_exactly_the_declared_choices():
    assert {p.name for p in page_params("bandit")} >= {"run"} | {s.slug for s in PAGE_SETTINGS}
    for spec in PAGE_SETTINGS:
        for choice in spec.choices:
            state, problems = restore_link("bandit", {**{k: str(v) for k, v in _condition(spec).items()},
                                                      spec.slug: choice})
            assert problems == [] and state[spec.key] == choice, (spec.name, choice)
        if spec.choices:
            _, problems = restore_link("bandit", {spec.slug: "no-such-choice"})
            assert problems and problems[0].startswith(f"{spec.slug} 'no-such-choice': must be one of "
                                                       + ", ".join(spec.choices))


def test_every_choice_the_page_offers_reads_in_words_and_the_link_keeps_the_code_value():
    """A choice box shows a label declared beside the choices (the Bandit page showed 'eb', 'ipot', 'file', 'max',
    'next' ...: the values links and the CLI carry); the link still writes the value."""
    for spec in PAGE_SETTINGS:
        for choice in (*spec.choices, *spec.word_choices):
            label = spec.choice_labels.get(choice)
            assert label and label != choice, (spec.name, choice)
    config = config_from_values({"unplayed": "zero", "doc_order": "file", "reward.method": "ipot"})
    assert settings_link(config) == "unplayed=zero&doc_order=file&method=ipot"


# ------------------------------------------------------------------ the page
def _widgets(at) -> dict:
    return {w.key: w for kind in ("selectbox", "number_input", "slider", "toggle", "radio") for w in at.get(kind)
            if w.key}


@pytest.mark.slow
def test_page_offers_every_setting_with_cores_choices_and_defaults(small_builtin):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=240)
    seen: set[str] = set()
    conditions = [{}] + [{"bd_policy": p} for p in ("ucb1", "thompson", "epsilon-greedy", "exp3")] + [
        {"bd_policy": "equal", "bd_stop": "plateau", "bd_credit": "pull", "bd_extractor": "openai",
         "bd_alpha_rule": NUMBER, "bd_empty_reward_rule": NUMBER}]
    for condition in conditions:
        for key, value in condition.items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        widgets = _widgets(at)
        values = {s.name: at.session_state[s.key] for s in PAGE_SETTINGS if s.key in widgets}
        for spec in PAGE_SETTINGS:
            if spec.key not in widgets or spec.key in seen:
                continue
            seen.add(spec.key)
            widget = widgets[spec.key]
            if spec.choices:
                assert list(widget.options) == [spec.choice_labels.get(c, c) for c in spec.choices], spec.name
            if not any(spec.key.removeprefix("bd_") in c for c in condition):  # untouched: at its default
                expected = spec.number_default(values) if spec.word else spec.default_for(values)
                assert at.session_state[spec.key] == expected, spec.name
        other = {k for k in widgets if k.startswith("bd_")} - {s.key for s in PAGE_SETTINGS} - {
            s.rule_key for s in PAGE_SETTINGS}
        assert other <= {"bd_preset", "bd_speed", "bd_why_cluster", "bd_pick", "bd_ngram"}, other  # none of its own
    assert seen == {s.key for s in PAGE_SETTINGS}  # every setting is drawn under some condition


def _set(at, values: dict) -> None:
    for key, value in values.items():
        at.session_state[key] = value


@pytest.mark.slow
def test_reopening_a_run_sets_every_control_to_its_settings(small_builtin):
    """Issue #26: after Reopen (and on a ?run= link, and when another page applies a config) the controls show
    the run's settings, not the ones drawn before."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=240)
    _set(at, widget_state(replace(ODD, budget_kind="share", budget=0.5)))
    at.run()
    next(b for b in at.button if b.key == "bd_step").click().run()
    run = at.session_state["bd_loop"].run
    assert run.config.policy == Policy.UCB1 and run.config.policy_params == {"c": 2.5}
    stored = run.config
    next(b for b in at.button if b.key == "bd_reset").click().run()
    _set(at, widget_state(RunConfig()))  # another run's settings in the controls
    at.run()
    at.session_state["bd_pick"] = [run.run_id]
    at.run()
    next(b for b in at.button if b.key == "bd_reopen").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {k: at.session_state[k] for k in widget_state(stored) if k in _widgets(at)}
    assert shown == {k: v for k, v in widget_state(stored).items() if k in shown}
    assert shown["bd_policy"] == "ucb1" and shown["bd_c"] == 2.5 and shown["bd_credit"] == "pull"
    assert shown["bd_budget"] == 0.5 and shown["bd_first_pull_docs"] == 2

    fresh = AppTest.from_file(PAGE, default_timeout=240)  # a link naming the run, in a new session
    fresh.session_state["bd_link_run"] = run.run_id
    fresh.run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert fresh.session_state["bd_policy"] == "ucb1" and fresh.session_state["bd_c"] == 2.5
    assert fresh.session_state["bd_loop"].run.run_id == run.run_id

    fresh.session_state["bd_pending_config"] = replace(ODD, policy="thompson", policy_params={"sigma": 0.3})
    fresh.run()  # what the tuning lab does (pages.bandit_settings.apply_config), drawn on the next run
    assert fresh.session_state["bd_policy"] == "thompson" and fresh.session_state["bd_sigma"] == 0.3
