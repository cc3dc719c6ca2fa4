"""The one rating equation and the one Gumbel-top-k (core/ctar/equations.py) that every generator uses."""

from __future__ import annotations

import numpy as np
import pytest

from core.ctar.equations import gumbel_top_k, rating_equation, rating_mean, rating_probs, rating_probs_by_match


def test_rating_equation_is_the_clipped_rounded_gaussian_formula():
    rng = np.random.default_rng(1)
    q = rng.uniform(0.5, 5.5, 200)
    n = rng.integers(0, 9, (50, 200))
    z = rng.standard_normal((50, 200))
    got = rating_equation(z.copy(), q, n, offset=0.7, tag_effect=0.5, noise_sigma=0.25)
    want = np.clip(np.rint(q[None, :] - 0.7 + 0.5 * n + 0.25 * z), 1, 5)
    assert got.dtype == np.int8 and np.array_equal(got, want)
    assert set(np.unique(got)) == {1, 2, 3, 4, 5}


def test_float32_and_float64_noise_agree_away_from_rounding_boundaries():
    rng = np.random.default_rng(2)
    q, n, z = rng.uniform(1, 5, 300), rng.integers(0, 4, (40, 300)), rng.standard_normal((40, 300))
    kw = dict(offset=0.7, tag_effect=0.5, noise_sigma=0.25)
    r64 = rating_equation(z.copy(), q, n, **kw)
    r32 = rating_equation(z.astype(np.float32), q, n, **kw)
    latent = q[None, :] - 0.7 + 0.5 * n + 0.25 * z
    far = np.abs(latent - np.floor(latent) - 0.5) > 1e-4  # float32 may round the other way only at x.5
    assert far.mean() > 0.99 and np.array_equal(r64[far], r32[far])


def test_rating_probs_is_the_law_of_the_rating_equation():
    q = np.array([1.2, 2.9, 3.5, 4.4])
    probs = rating_probs_by_match(q, 3, offset=0.7, tag_effect=0.5, noise_sigma=0.6)  # (4, 4, 5)
    assert probs.shape == (4, 4, 5)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    np.testing.assert_allclose(probs[:, 2], rating_probs(rating_mean(q, 2, offset=0.7, tag_effect=0.5), 0.6))
    rng = np.random.default_rng(3)
    draws = 200_000
    for m in range(4):
        n = np.full((draws, 1), 2)
        y = rating_equation(rng.standard_normal((draws, 1)), q[m : m + 1], n, offset=0.7, tag_effect=0.5,
                            noise_sigma=0.6)
        freq = np.bincount(y.ravel() - 1, minlength=5) / draws
        assert np.abs(freq - probs[m, 2]).max() < 0.005, (m, freq, probs[m, 2])


def test_rating_probs_without_noise_is_a_point_mass_at_the_rounded_mean():
    p = rating_probs(np.array([0.2, 2.4, 2.6, 9.0]), 0.0)
    assert p.argmax(axis=-1).tolist() == [0, 1, 2, 4] and p.sum() == 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gumbel_top_k_draws_exactly_k_distinct_items_and_never_a_zero_weight(dtype):
    w = np.array([0.0, 1, 2, 3, 4, 0.0, 5])
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    k = np.random.default_rng(4).integers(0, 6, 500)
    mask = gumbel_top_k(np.random.default_rng(5), log_w, k, dtype=dtype)
    assert mask.shape == (500, 7) and np.array_equal(mask.sum(axis=1), k)
    assert not mask[:, [0, 5]].any()


def test_gumbel_top_k_set_does_not_depend_on_the_key_precision_or_k_max():
    log_w = -np.log(np.arange(1, 41.0))
    k = np.random.default_rng(6).integers(1, 8, 300)
    a = gumbel_top_k(np.random.default_rng(7), log_w, k, dtype=np.float64)
    b = gumbel_top_k(np.random.default_rng(7), log_w, k, k_max=20, dtype=np.float64)
    c = gumbel_top_k(np.random.default_rng(7), log_w, k, dtype=np.float32)
    assert np.array_equal(a, b) and (a == c).mean() > 0.999


def test_gumbel_top_k_first_pick_follows_the_weights():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    mask = gumbel_top_k(np.random.default_rng(8), np.log(w), np.ones(100_000, dtype=np.int64))
    np.testing.assert_allclose(mask.mean(axis=0), w / w.sum(), atol=0.006)
