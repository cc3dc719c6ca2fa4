"""What a newcomer meets on the CTAR generator is said in words first, its notation after it as a gloss: the
intervention picker (it offered "do(N = 2): cut S → N"), the marginals ("E[Y | N = 1]"), the intervention's table
and the exact formulas' refusal (it read "without p > 1 ... use "Formulas" = normalised")."""

from __future__ import annotations

import re

import pytest

from core.ctar.config import CHOICE_LABELS, MODES, CTARConfig, CTARConfigError, in_words
from core.ctar.graph import intervention_target
from core.ctar.presets import INTERVENTIONS, intervention_in_words, intervention_label, target_in_words
from core.ctar.stats import check_marginals

_NOTATION = re.compile(r"do\(|E\[|\bP\(|\bO\^|→|\|")


def _words_before_notation(text: str) -> bool:
    """The text starts with words; any notation sits in the parentheses after them."""
    head = text.split("(", 1)[0]
    return bool(re.match(r"[A-Za-z]", text)) and not _NOTATION.search(head) and len(head.split()) >= 2


@pytest.mark.parametrize("choice", list(INTERVENTIONS))
def test_the_intervention_picker_says_each_in_words(choice):
    label = intervention_label(choice)
    assert _words_before_notation(label), label
    if choice != "none":
        assert choice.split(":")[0] in label  # the notation stays, as a gloss


def test_a_sampled_intervention_is_named_in_words_not_by_its_field():
    said = intervention_in_words(INTERVENTIONS["do(N = 2): cut S → N"])
    assert "n_match" not in said and "liked tags" in said and "do(N = 2)" in said


@pytest.mark.parametrize("choice", [c for c in INTERVENTIONS if c != "none"])
def test_the_intervention_table_names_its_quantity_in_words(choice):
    assert _words_before_notation(target_in_words(intervention_target(INTERVENTIONS[choice])))


def test_the_marginals_name_each_quantity_in_words(small_sample):
    quantities = list(check_marginals(small_sample)["quantity"])
    assert any("E[Y | N = 1]" in q for q in quantities)  # the notation is still there, after its words
    for q in quantities:
        assert _words_before_notation(q) or not _NOTATION.search(q), q
        assert "obstag_rate" not in q, q


@pytest.mark.parametrize("changes", [{"rating_rate": 0.9}, {"obstag_rate": 0.5}])
def test_the_exact_formulas_refusal_is_said_in_words(changes):
    with pytest.raises(CTARConfigError) as refused:
        CTARConfig(**changes)
    words = in_words(refused.value)
    assert not re.search(r"\bp [<>]|sigmoid|\bM\b", words), words
    assert "above 1" in words and "normalised" in words, words


def test_the_formulas_choice_is_offered_in_words():
    assert set(CHOICE_LABELS["mode"]) == set(MODES)
    assert all(label != mode and " " in label for mode, label in CHOICE_LABELS["mode"].items())
