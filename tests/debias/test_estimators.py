"""Statistical tests of the loss estimators: each claim over >= 100 seeds, vectorised (seeds x pairs)."""

from __future__ import annotations

import numpy as np
import pytest

from core.debias.data import DebiasConfigError, WorldConfig, make_world
from core.debias.estimators import ESTIMATORS, calc_error, estimate_all, estimate_loss, ideal_loss
from core.debias.mechanisms import make_mechanism
from core.debias.sweep import make_prediction

N_SEEDS = 200


@pytest.fixture(scope="module")
def world():
    """A fixed truth and prediction; only the observation draw changes between seeds."""
    ctx = make_world(WorldConfig(n_users=120, n_items=150, n_tags=40), seed=3)
    pred = make_prediction(ctx.rating, np.random.default_rng(4))
    e = calc_error(pred, ctx.rating).ravel()
    return ctx, e


def _draw(p, n_seeds=N_SEEDS, seed=11):
    rng = np.random.default_rng(seed)
    return rng.random((n_seeds, p.size)) < p.ravel()[None, :]


def _z(estimates, truth):
    err = estimates - truth
    return err.mean() / (err.std(ddof=1) / np.sqrt(err.size)), err.mean()


def test_outcome_dependent_missingness_ips_snips_dr_unbiased_naive_biased(world):
    ctx, e = world
    p = make_mechanism("selection", 0.3).calc_propensity(ctx).ravel()
    o = _draw(p)
    truth = ideal_loss(e)
    ehat = np.full_like(e, 0.4)  # a fixed, wrong imputation: DR must still be unbiased with true p
    est = estimate_all(e[None, :], o, p[None, :], ehat[None, :], axis=-1)
    for name in ("IPS", "SNIPS", "DR"):
        z, _ = _z(est[name], truth)
        assert abs(z) < 3, f"{name} should be unbiased under MNAR with true propensities (z={z:.2f})"
    z, bias = _z(est["Naive"], truth)
    assert abs(z) > 10 and abs(bias) > 0.01, f"Naive should be biased under MNAR (z={z:.2f}, bias={bias:.4f})"


def test_dr_is_doubly_robust_wrong_propensities_correct_imputation(world):
    ctx, e = world
    p = make_mechanism("selection", 0.3).calc_propensity(ctx).ravel()
    o = _draw(p, seed=12)
    wrong = np.full_like(p, p.mean())  # assumes MCAR: wrong everywhere
    noise = np.random.default_rng(5).normal(0, 0.5, o.shape)  # correct in expectation, fresh per seed
    truth = ideal_loss(e)
    dr = estimate_loss("DR", e[None, :], o, wrong[None, :], e[None, :] + noise, axis=-1)
    z, _ = _z(dr, truth)
    assert abs(z) < 3, f"DR with a correct imputation should stay unbiased (z={z:.2f})"
    ips = estimate_loss("IPS", e[None, :], o, wrong[None, :], axis=-1)
    z_ips, _ = _z(ips, truth)
    assert abs(z_ips) > 10, "IPS with the same wrong propensities should be biased (else the test proves nothing)"


def test_zero_propensity_block_biases_ips_by_the_missing_mass(world):
    ctx, e = world
    p = make_mechanism("positivity", 0.3).calc_propensity(ctx).ravel()
    assert (p == 0).mean() == pytest.approx(0.3, abs=0.01)
    o = _draw(p, seed=13)
    truth = ideal_loss(e)
    ips = estimate_loss("IPS", e[None, :], o, p[None, :], axis=-1)
    z, bias = _z(ips, truth)
    assert z < -10, f"IPS should under-estimate when a block is never observed (z={z:.2f})"
    expected = -e[p == 0].sum() / e.size  # the block's share of the loss is simply lost
    se = ips.std(ddof=1) / np.sqrt(ips.size)
    assert abs(bias - expected) < 3 * se


def test_mcar_all_estimators_agree_and_are_unbiased(world):
    ctx, e = world
    p = make_mechanism("mcar", 0).calc_propensity(ctx).ravel()
    o = _draw(p, seed=14)
    truth = ideal_loss(e)
    observed_mean = (o * e).sum(-1, keepdims=True) / o.sum(-1, keepdims=True)  # EIB needs a sane imputation
    est = estimate_all(e[None, :], o, p[None, :], np.broadcast_to(observed_mean, o.shape), axis=-1)
    for name in ESTIMATORS:
        z, bias = _z(est[name], truth)
        assert abs(z) < 3, f"{name} should be unbiased under MCAR (z={z:.2f})"
        assert abs(est[name].mean() - est["Naive"].mean()) < 0.01 * truth


def test_full_observation_gives_the_truth_exactly():
    e = np.array([[0.5, 2.0], [1.0, 0.0]])
    o = np.ones_like(e, dtype=bool)
    est = estimate_all(e, o, np.ones_like(e), np.zeros_like(e))
    assert all(v == pytest.approx(e.mean()) for v in est.values())


def test_observed_pair_with_zero_propensity_is_refused():
    with pytest.raises(DebiasConfigError, match="phat"):
        estimate_loss("IPS", np.ones(3), np.array([1, 0, 1]), np.array([0.5, 0.0, 0.0]))


def test_unknown_estimator_and_missing_inputs_are_named():
    with pytest.raises(DebiasConfigError, match="estimator must be one of"):
        estimate_loss("XYZ", np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(DebiasConfigError, match="DR needs phat"):
        estimate_loss("DR", np.ones(2), np.ones(2), None, np.ones(2))
    with pytest.raises(DebiasConfigError, match="ehat"):
        estimate_loss("EIB", np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(DebiasConfigError, match="loss kind"):
        calc_error(np.ones(2), np.ones(2), "huber")


def test_naive_and_snips_are_undefined_when_nothing_is_observed():
    # they divide by the observed count: 0/0 used to come back as an estimate of exactly 0.0
    e, p, ehat = np.full(100, 2.0), np.full(100, 0.01), np.full(100, 2.0)
    est = estimate_all(e, np.zeros(100, bool), p, ehat)
    assert np.isnan(est["Naive"]) and np.isnan(est["SNIPS"])
    assert est["IPS"] == 0.0 and est["EIB"] == est["DR"] == 2.0  # defined: they average over every pair
    o = np.array([[True] * 50 + [False] * 50, [False] * 100])  # per seed: only the empty one is undefined
    naive = estimate_loss("Naive", np.tile(e, (2, 1)), o, axis=-1)
    assert naive[0] == 2.0 and np.isnan(naive[1])

