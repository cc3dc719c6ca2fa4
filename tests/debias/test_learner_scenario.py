"""The lab's default scenario separates the learners on the known truth (a paired test over seeds), and says why
elsewhere."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.debias.data import WorldConfig
from core.debias.lab import DEBIASED, DEFAULT_SCENARIO, compare_learners_over_seeds, explain_learners, run_learners
from core.debias.learners import MFConfig
from core.debias.mechanisms import MECHANISMS, default_grid

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# the default scenario at a small size (150 x 200 pairs, dim 8, 120 epochs, one thread): ~10 s for 5 seeds
SMALL_DEFAULT = replace(
    DEFAULT_SCENARIO,
    world=WorldConfig(n_users=150, n_items=200, n_tags=40),
    mf=MFConfig(epochs=120, dim=8, threads=1),
    learners=("MF-Naive", *DEBIASED),
    tags=False,
)


def test_default_scenario_is_mnar_selection_with_known_propensities():
    assert (DEFAULT_SCENARIO.mechanism, DEFAULT_SCENARIO.strength, DEFAULT_SCENARIO.rate) == ("selection", 0.25, 0.05)
    assert DEFAULT_SCENARIO.propensity == "oracle"


@pytest.fixture(scope="module")
def default_result():
    return compare_learners_over_seeds(SMALL_DEFAULT, seeds=(0, 1, 2, 3, 4), metric="mse").set_index("learner")


def test_default_scenario_separates_propensity_and_doubly_robust_learners_from_naive(default_result):
    result = default_result
    for name in DEBIASED:
        row = result.loc[name]
        assert row["wins"] == 5, f"{name} beats MF-Naive in {row['wins']}/5 seeds"
        assert (
            row["p_sign"] < 0.05 and row["p_ttest"] < 0.01
        ), f"{name}: sign p {row['p_sign']:.3f}, t p {row['p_ttest']:.4f}"
        assert -row["diff"] > row["baseline_sd"], f"{name}: gain {-row['diff']:.3f} <= seed sd {row['baseline_sd']:.3f}"
        assert row["separated"]


def test_popularity_exposure_leaves_little_to_correct_and_the_text_says_why(default_result):
    cfg = replace(SMALL_DEFAULT, mechanism="popularity", strength=1.0, rate=0.1, learners=("MF-Naive", "MF-IPS"))
    result = compare_learners_over_seeds(cfg, seeds=(0, 1, 2), metric="mse").set_index("learner")
    gain_here, gain_default = -result.loc["MF-IPS", "diff"], -default_result.loc["MF-IPS", "diff"]
    assert (
        gain_here < 0.3 * gain_default
    ), f"IPS gains {gain_here:.3f} under popularity vs {gain_default:.3f} by default"
    notes = " ".join(explain_learners(run_learners(cfg), cfg))
    assert "bias term per item" in notes and "popularity alone ranks likes with AUC" in notes


def test_explanation_shows_the_baseline_and_ctar_test_sets():
    cfg = replace(SMALL_DEFAULT, learners=("MF-Naive", "MF-IPS"), tags=True, propensity="popularity")
    table = run_learners(cfg)
    notes = explain_learners(table, cfg)
    text = " ".join(notes)
    pop = float(table.loc[table.learner == "Popularity", "auc"].iloc[0])
    assert f"AUC {pop:.3f}" in text, "the non-personalised baseline is always shown"
    assert "Test III" in text and "hard for every debiasing method" in text
    assert "estimated (popularity)" in text
    assert "users rate what they like" not in text.lower() or "Users mostly rate what they like" in text


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_every_bias_the_page_offers_has_its_plain_note(mechanism):
    """The learner table's notes under each bias of the picker say why the learners do (not) separate: the
    unmeasured confounder and the positivity violation showed "This bias has no plain-language note yet." and a
    single closer learner read "CausE are clearly closer"."""
    table = pd.DataFrame({"learner": ["Popularity", "MF-Naive", "MF-IPS", "CausE"],
                          "mse": [np.nan, 0.60, 0.60, 0.52], "auc": [0.55, 0.70, 0.70, 0.72]})
    cfg = replace(SMALL_DEFAULT, mechanism=mechanism, strength=default_grid(mechanism)[-1])
    notes = explain_learners(table, cfg)
    assert not any("no plain-language note" in n for n in notes), notes
    assert any(n.startswith("Against MF-Naive") and "CausE is clearly closer" in n for n in notes), notes
    if mechanism in ("confounder", "positivity"):
        assert any("randomized slice" in n for n in notes), notes
