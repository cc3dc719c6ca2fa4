"""Bias mechanisms: propensities are probabilities at the requested rate, each does what its row says,
and each names the assumption it violates given what the estimator conditions on."""

from __future__ import annotations

import numpy as np
import pytest

from core.debias.data import DebiasConfigError, WorldConfig, make_world
from core.debias.mechanisms import MECHANISMS, ExposurePolicy, OutcomePolicy, default_grid, make_mechanism


@pytest.fixture(scope="module")
def ctx():
    return make_world(WorldConfig(n_users=150, n_items=200, n_tags=40), seed=1)


@pytest.mark.parametrize("name", MECHANISMS)
def test_propensities_are_probabilities_near_the_rate(ctx, name):
    for strength in default_grid(name):
        mech = make_mechanism(name, strength, rate=0.1)
        assert isinstance(mech, ExposurePolicy) and isinstance(mech, OutcomePolicy)
        p = mech.calc_propensity(mech.prepare(ctx))
        assert p.shape == ctx.rating.shape and p.dtype == np.float64
        assert p.min() >= 0 and p.max() <= 1
        share_blocked = strength if name == "positivity" else 0
        assert p.mean() == pytest.approx(0.1 * (1 - share_blocked), rel=0.12)


def test_selection_rate_rises_with_the_rating(ctx):
    p = make_mechanism("selection", 0.5).calc_propensity(ctx)
    by_rating = [p[ctx.rating == r].mean() for r in range(1, 6) if (ctx.rating == r).any()]
    assert np.all(np.diff(by_rating) >= 0) and by_rating[-1] > 4 * by_rating[0]


def test_popularity_bias_exposes_and_lifts_popular_items(ctx):
    mech = make_mechanism("popularity", 1.0)
    prepared = mech.prepare(ctx)
    p = mech.calc_propensity(prepared)
    assert p[:, :20].mean() > 5 * p[:, -20:].mean()
    lift = prepared.rating.astype(float) - ctx.rating
    assert lift[:, :20].mean() > 0 > lift[:, -20:].mean()


def test_conformity_pulls_recorded_ratings_to_the_crowd(ctx):
    mech = make_mechanism("conformity", 0.75)
    o = np.random.default_rng(0).random(ctx.rating.shape) < 0.3
    recorded = mech.observe(ctx, o)
    r = ctx.rating.astype(float)
    col_mean = (r * o).sum(0) / o.sum(0)
    assert np.abs(recorded - col_mean)[o].mean() < np.abs(r - col_mean)[o].mean() * 0.5
    assert np.array_equal(make_mechanism("conformity", 0).observe(ctx, o), r)


def test_confounder_shares_its_hidden_draw_between_truth_and_exposure(ctx):
    mech = make_mechanism("confounder", 2.0)
    with pytest.raises(DebiasConfigError, match="prepare"):
        mech.calc_propensity(ctx)
    prepared = mech.prepare(make_world(WorldConfig(n_users=150, n_items=200, n_tags=40), seed=1))
    p = mech.calc_propensity(prepared)
    h = prepared.extras["hidden"]
    assert np.corrcoef(p.ravel(), h.ravel())[0, 1] > 0.5
    assert np.corrcoef((prepared.rating.astype(float) - ctx.rating).ravel(), h.ravel())[0, 1] > 0.3
    assert np.ptp(mech.calc_observable_propensity(prepared)) == 0  # nobody sees h


def test_position_oracle_propensity_is_the_one_that_drew_the_observations(ctx):
    # the ranker's noise is drawn once in prepare(); calc_propensity used to draw it anew on every call
    mech = make_mechanism("position", 1.5)
    prepared = mech.prepare(ctx)
    p = mech.calc_propensity(prepared)
    np.testing.assert_array_equal(mech.calc_propensity(prepared), p)
    np.testing.assert_array_equal(mech.calc_observable_propensity(prepared), p)


def test_positivity_blocks_the_long_tail(ctx):
    p = make_mechanism("positivity", 0.25).calc_propensity(ctx)
    assert (p[:, -50:] == 0).all() and (p[:, :150] > 0).all()


def test_violated_assumptions_depend_on_what_is_conditioned_on():
    pop = make_mechanism("popularity", 1.0)
    assert pop.violated_assumptions(set()) == ["A2"]
    assert pop.violated_assumptions({"popularity"}) == []
    assert make_mechanism("popularity", 0.0).violated_assumptions(set()) == []
    assert make_mechanism("selection", 0.5).violated_assumptions(set()) == ["A2"]
    assert make_mechanism("selection", 0.5).violated_assumptions({"rating"}) == []
    assert make_mechanism("selection", 1.0).violated_assumptions(set()) == []
    assert make_mechanism("conformity", 0.5).violated_assumptions({"popularity", "rating"}) == ["A1"]
    assert make_mechanism("confounder", 1.0).violated_assumptions({"popularity", "rating", "match"}) == ["A2"]
    assert make_mechanism("positivity", 0.2).violated_assumptions({"popularity"}) == ["A3"]
    assert make_mechanism("mcar", 0).violated_assumptions(set()) == []
    text = pop.describe({"popularity"})
    assert "breaks no assumption" in text and "popularity" in text
    assert "A2" in pop.describe(set())


@pytest.mark.parametrize(
    "name, strength, param",
    [("selection", 0.0, "alpha"), ("selection", 1.5, "alpha"), ("exposure", -1, "a"), ("popularity", -0.5, "eta"),
     ("conformity", 1.2, "lam"), ("position", -1, "eta"), ("confounder", -1, "gamma"), ("positivity", 1.0, "share")],
)
def test_bad_strengths_name_the_parameter(name, strength, param):
    with pytest.raises(DebiasConfigError, match=param):
        make_mechanism(name, strength)


def test_bad_rate_and_name():
    with pytest.raises(DebiasConfigError, match="rate"):
        make_mechanism("selection", 0.5, rate=0)
    with pytest.raises(DebiasConfigError, match="mechanism must be one of"):
        make_mechanism("nope", 1)


def _logit(p):
    return np.log(p) - np.log1p(-p)


@pytest.mark.parametrize("a", [1.0, 3.0])
def test_exposure_is_a_logistic_in_the_score_with_a_solved_intercept(ctx, a):
    """DEBIAS.md: exposure ``p = sigmoid(a * score + b)``. The intercept b sets the rate, so logit(p) - a * z(score)
    is one constant; a rescaled sigmoid (the old form) bends it and caps p at rate / mean(sigmoid)."""
    p = make_mechanism("exposure", a, rate=0.1).calc_propensity(ctx)
    score = ctx.n_match.astype(float)
    b = _logit(p) - a * (score - score.mean()) / score.std()
    assert np.ptp(b) < 1e-6, np.ptp(b)
    assert p.mean() == pytest.approx(0.1, rel=1e-6)


def test_the_hidden_confounder_enters_the_logit_of_exposure(ctx):
    """DEBIAS.md: h enters logit(p): logit(p) - gamma * h is one constant (the intercept that sets the rate)."""
    mech = make_mechanism("confounder", 2.0, rate=0.1)
    prepared = mech.prepare(make_world(WorldConfig(n_users=150, n_items=200, n_tags=40), seed=1))
    p = mech.calc_propensity(prepared)
    b = _logit(p) - 2.0 * prepared.extras["hidden"]
    assert np.ptp(b) < 1e-6, np.ptp(b)
    assert p.mean() == pytest.approx(0.1, rel=1e-6)
