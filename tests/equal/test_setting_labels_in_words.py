"""Run settings are labelled in words a newcomer reads: no comparison signs, no paper letters and no symbol names
(the paper's symbol goes in the help: "Documents per pull" is D in the paper, UCB1's exploration weight its c)."""

from __future__ import annotations

import re

import pytest

from core.equal.settings import SETTINGS


def _labels(spec) -> list[str]:
    return [spec.label, *(spec.label_by[1].values() if spec.label_by else ())]


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.name)
def test_a_setting_label_has_no_notation(spec):
    for label in _labels(spec):
        assert not re.search(r"[<>=≤≥]", label), label
        assert not re.search(r"(?<!\()\b[A-Z]\b(?!\))", label), label  # "< D docs": a bare letter for a number


GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "eta", "lambda", "mu", "sigma", "tau", "theta")


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.name)
def test_a_setting_label_names_no_paper_symbol(spec):
    """It read "Arms per round (B)", "Documents per pull (D)" and "Exploration weight c": letters only the paper
    defines. A label says the words; its help keeps the symbol."""
    for label in _labels(spec):
        letters = [w for w in re.findall(r"\b[A-Za-z]\b", label) if w != "a"]
        assert not letters, (label, letters)
        assert not [w for w in re.findall(r"[A-Za-z]+", label.lower()) if w in GREEK], label


def test_a_symbol_left_out_of_a_label_is_in_its_help():
    by_name = {s.name: s for s in SETTINGS}
    for name, symbol in (("batch_arms", "B in the paper"), ("docs_per_pull", "D in the paper"),
                         ("policy_params.c", "this weight being c"),
                         ("policy_params.alpha", "this weight being alpha")):
        assert symbol in by_name[name].help, name


def test_the_cut_off_rule_says_what_it_compares_in_the_page_words():
    """It read "Arm with < D docs left" beside "Documents per pull (D)"."""
    label = next(s for s in SETTINGS if s.name == "exhaust").label
    assert "<" not in label and " D " not in f" {label} "
    assert "fewer documents left than one pull reads" in label
