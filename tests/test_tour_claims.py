"""The Tour's sentences say what its figures show (issue #24: step 3's bars were almost identical, and step 4
called the plain average "too optimistic" while its bar was the largest error)."""

from __future__ import annotations

import re

import pytest

from core.ctar.config import CTARConfig
from core.ctar.sampler import sample
from core.ctar.stats import summarize_truth
from core.debias.data import WorldConfig
from core.debias.sweep import SweepConfig, run_sweep, summarize_sweep
from pages._lib.tour_steps import (
    STEPS,
    TOUR_CTAR,
    TOUR_WORLD,
    ctar_claim,
    debias_claim,
    debias_story,
    high_shares,
    plain_rating_distribution,
)


def _percents(text: str) -> list[float]:
    return [float(p) for p in re.findall(r"(\d+(?:\.\d+)?)%", text)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_3_shows_a_difference_real_data_hides_and_says_how_big(seed) -> None:
    dist = summarize_truth(sample(CTARConfig(seed=seed, **TOUR_CTAR)))["rating_distribution"]
    every, tagged = high_shares(dist)
    assert tagged - every >= 0.05, "the two bars of step 3 must differ visibly"
    claim = ctar_claim(dist)
    assert _percents(claim) == [round(every * 100), round(tagged * 100)]
    assert "higher" in claim and f"{(tagged - every) * 100:.0f} points" in claim
    shown = plain_rating_distribution(dist)
    assert list(shown.columns) == ["rating", "all ratings people would give", "ratings people chose to tag"]
    assert shown.iloc[:, 2][dist["rating"] >= 4].sum() == pytest.approx(tagged)


@pytest.mark.slow
def test_step_4_says_which_way_the_plain_average_errs_and_that_corrections_land_closer() -> None:
    config = SweepConfig(mechanisms=("popularity",), seeds=tuple(range(4)), world=WorldConfig(**TOUR_WORLD))
    summary = summarize_sweep(run_sweep(config))
    s = summary[summary["strength"] == summary["strength"].max()]
    naive = float(s.loc[s["estimator"] == "Naive", "bias"].iloc[0])
    best = float(s.loc[s["estimator"] != "Naive", "bias"].abs().min())
    assert abs(naive) > best, "step 4 says corrections land closer to the truth than the plain average"
    claim = debias_claim(summary)
    assert ("too high" if naive > 0 else "too low") in claim
    assert "optimistic" not in STEPS[3].text and "too high" not in STEPS[3].text  # the direction comes from data
    story = debias_story(summary)
    assert not any(code in " ".join(story) for code in ("SNIPS", "IPS", "EIB", "DR)"))  # words, not notation
