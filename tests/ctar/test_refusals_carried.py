"""Every CTAR refusal the form shows is worded from what it carries, never from its message.

The memory limits, exact mode's rate caps and an intervention's refusals used to reach the form by regexes over the
message (``_message_in_words``); they carry their data now (:class:`core.limits.TooBig`,
:class:`core.ctar.config.RateCap`, :class:`core.ctar.config.Exceeds`, :class:`core.validate.Refusal`). A reworded
message changes nothing on the form (as ``tests/equal/test_refusals.py`` shows for EQUAL); on the old code each case
below showed the reworded message instead. The message itself (what the command line prints) is unchanged.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

import numpy as np
import pytest

from core.ctar.config import INTERVENTION_LABELS, PARAMETER_LABELS, CTARConfig, CTARConfigError, in_words
from core.ctar.sampler import Intervention


def _memory(budget: str, **changes: int) -> Callable[[pytest.MonkeyPatch], object]:
    def make(monkeypatch: pytest.MonkeyPatch) -> object:
        monkeypatch.setenv("EQUALCTAR_MEMORY_BUDGET", budget)
        return CTARConfig(**changes)
    return make


#: (what provokes it, the message it gives (the command line's, unchanged), a label its words must show)
CASES = {
    "memory: users": (_memory("1G", n_users=10**7),
                      "a CTAR sample of 10,000,000 users x 1,000 movies needs about 85.0 GiB of memory and 1.0 GiB is "
                      "available (n_users=10,000,000); the largest n_users that fits is 96,373 (set "
                      "EQUALCTAR_MEMORY_BUDGET to change the budget)", "Users"),
    "memory: movies": (_memory("100M", n_movies=10**7),
                       "a CTAR sample of 10,000,000 movies needs about 77.8 GiB of memory and 100.0 MiB is available "
                       "(n_movies=10,000,000); the largest n_movies that fits is 28,358 (set EQUALCTAR_MEMORY_BUDGET "
                       "to change the budget)", "Movies"),
    "memory: nothing fits": (_memory("64M"),
                             "a CTAR sample of 1,000 movies needs about 146.4 MiB of memory and 64.0 MiB is available "
                             "(n_movies=1,000); nothing fits even with n_movies=1; reduce the other sizes (set "
                             "EQUALCTAR_MEMORY_BUDGET to change the budget)", "Movies"),
    "exact cap: ratings": (lambda mp: CTARConfig(rating_rate=0.9),
                           "rating_rate=0.9 exceeds 0.6839, the largest rate the exact formulas (mode='exact') allow "
                           "at n_movies=1000: a higher one gives the most popular movies a chance of being rated above "
                           "1; the normalised formulas (mode='normalised') allow any rate below 1",
                           "Share of ratings observed"),
    "exact cap: tags": (lambda mp: CTARConfig(obstag_rate=0.5),
                        "obstag_rate=0.5 exceeds 0.2611, the largest rate the exact formulas (mode='exact') allow at "
                        "n_movies=1000: a higher one can give a pair a chance of being tagged above 1; the normalised "
                        "formulas (mode='normalised') allow any rate below 1", "Share of tags given"),
    "do(N) above the tags": (lambda mp: Intervention(n_match=2).check_config(CTARConfig(tags_per_movie=1)),
                             "n_match=2 exceeds tags_per_movie=1: do(N = k) sets the matching tags per pair, at most "
                             "the movie's tags; lower n_match or raise tags_per_movie",
                             "Matching tags the intervention sets"),
    "do(N) out of range": (lambda mp: Intervention(n_match=np.int64(200)),
                           "n_match must be a whole number in 0..127 (matching tags per pair, stored as int8; a movie "
                           "has tags_per_movie tags), got 200", "Matching tags the intervention sets"),
    "do(Y) not a level": (lambda mp: Intervention(rating=7),
                          "rating must be a whole number in 1..5 (a rating level), got 7",
                          "Rating the intervention sets"),
    "do(exposure) unknown": (lambda mp: Intervention(exposure="bogus"),
                             "exposure must be 'uniform' or an ExposurePolicy, got 'bogus'",
                             "Rating exposure the intervention sets"),
    "do(tag effect) not finite": (lambda mp: Intervention(tag_effect=float("nan")),
                                  "tag_effect must be a finite number, got nan",
                                  "Effect of liked tags the intervention sets"),
    "do(quality) not finite": (lambda mp: Intervention(quality=float("inf")),
                               "quality must be a finite number, got inf", "Movie quality the intervention sets"),
}


def _refused(provoke: Callable[[pytest.MonkeyPatch], object], monkeypatch: pytest.MonkeyPatch) -> CTARConfigError:
    with pytest.raises(CTARConfigError) as refused:
        provoke(monkeypatch)
    return refused.value


@pytest.mark.parametrize("case", CASES)
def test_a_refusal_keeps_its_message_and_is_said_with_the_forms_labels(case, monkeypatch):
    provoke, message, label = CASES[case]
    refused = _refused(provoke, monkeypatch)
    assert str(refused) == message
    words = in_words(refused)
    assert f'"{label}"' in words, words
    names = [n for n in (*PARAMETER_LABELS, *INTERVENTION_LABELS) if "_" in n] + ["obstag", "mode="]  # not words
    assert not [n for n in names if re.search(rf"\b{n}(?!\w)", words)], words
    assert not re.search(r"[<>]=?|\bexceeds\b|\.\.\d|\bint8\b", words), words


@pytest.mark.parametrize("case", CASES)
def test_a_reworded_message_changes_nothing_on_the_form(case, monkeypatch):
    refused = _refused(CASES[case][0], monkeypatch)
    words = in_words(refused)
    reworded = copy.copy(refused)  # the same refusal, carrying the same data, with another message
    reworded.args = ("the command line says this differently now: n_users, rating_rate >= 0",)
    assert str(reworded) != str(refused)
    assert in_words(reworded) == words


def test_an_interventions_own_field_is_named_as_the_intervention_names_it_not_as_the_configurations():
    # do(tag effect = nan) was said as the configuration's "Effect of liked tags on the rating", a setting the form
    # shows elsewhere with a valid value
    words = in_words(_refused(CASES["do(tag effect) not finite"][0], pytest.MonkeyPatch()))
    assert PARAMETER_LABELS["tag_effect"][0] not in words, words
