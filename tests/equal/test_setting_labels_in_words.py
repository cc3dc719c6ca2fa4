"""Run settings are labelled in words a newcomer reads: no comparison signs and no bare paper letters (a letter
may follow the words as a gloss, "Documents per pull (D)")."""

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


def test_the_cut_off_rule_says_what_it_compares_in_the_page_words():
    """It read "Arm with < D docs left" beside "Documents per pull (D)"."""
    label = next(s for s in SETTINGS if s.name == "exhaust").label
    assert "<" not in label and " D " not in f" {label} "
    assert "fewer documents left than one pull reads" in label
