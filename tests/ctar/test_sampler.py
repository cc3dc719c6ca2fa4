"""Mechanism tests: each equation's conditional means within sampling error, MAR and MNAR, streams."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from core.ctar.config import CTARConfigError
from core.ctar.inputs import prepare_catalogue
from core.ctar.mechanisms import UniformExposure
from core.ctar.sampler import Intervention, draw_liked, intervene, sample
from core.ctar.stats import check_marginals
from tests.ctar.conftest import small_config


def test_shapes_types_and_ground_truth(small_sample):
    s = small_sample
    assert s.rating_full.shape == (400, 300) and s.rating_full.dtype == np.int8
    assert set(np.unique(s.rating_full)) <= {1, 2, 3, 4, 5}
    assert s.liked.shape[0] == 400 and s.movie_tags.shape == (300, 8)
    k = s.liked.sum(axis=1)
    assert k.min() >= 10 and k.max() <= 20
    # N is |T_m ∩ L_u| for every pair
    n = s.liked[:, s.movie_tags].sum(axis=2)
    np.testing.assert_array_equal(n, s.n_match)
    # the rating table is exactly the observed part of the full matrix
    np.testing.assert_array_equal(s.observed.sum(), len(s.rating))
    r = s.rating
    np.testing.assert_array_equal(s.rating_full[r["userid"], r["movieid"]], r["rating"])
    assert s.rating.columns.tolist() == ["userid", "movieid", "rating"]
    assert s.obstag.columns.tolist() == s.rcttag.columns.tolist() == ["userid", "movieid", "tagid"]


def test_written_tags_follow_the_reasons(small_sample):
    s = small_sample
    o = s.obstag
    written = o[o["tagid"] >= 0]
    assert s.liked[written["userid"], written["tagid"]].all()  # only liked tags are written
    assert all(t in s.movie_tags[m] for m, t in zip(written["movieid"], written["tagid"]))
    neg = o[o["tagid"] == -1]
    assert (s.n_match[neg["userid"], neg["movieid"]] == 0).all()
    pairs = s.obstag_pairs
    assert (pairs["n_match"].to_numpy() == s.n_match[pairs["userid"], pairs["movieid"]]).all()
    assert s.tagged.sum() == len(pairs)
    # every pair with a liked tag writes at least one; forgotten ones are liked and unwritten
    assert set(map(tuple, pairs.loc[pairs["n_match"] > 0, ["userid", "movieid"]].to_numpy())) == set(
        map(tuple, written[["userid", "movieid"]].drop_duplicates().to_numpy())
    )
    f = s.forgotten
    assert s.liked[f["userid"], f["tagid"]].all()
    # RCT: all liked tags of every design pair
    rct = s.rcttag
    assert rct.groupby(["userid", "movieid"]).ngroups == 40 * 10
    got = rct[rct["tagid"] >= 0].groupby(["userid", "movieid"]).size()
    np.testing.assert_array_equal(
        got.to_numpy(), s.n_match[got.index.get_level_values(0), got.index.get_level_values(1)]
    )


def test_specified_marginals_match_within_sampling_error(small_sample):
    df = check_marginals(small_sample)
    assert len(df) >= 8
    assert df["ok"].all(), df[~df["ok"]]


@pytest.mark.parametrize("tags_per_movie", [1, 2])
def test_marginals_of_movies_with_fewer_than_three_tags(synthetic_inputs, tags_per_movie):
    """N counts the movie's tags, so N = 2 cannot occur with one tag a movie: E[Y | N = n] is checked only for the n
    that exist (with one tag a movie the table indexed N = 2 and the page's marginals failed with an IndexError)."""
    s = sample(small_config(tags_per_movie=tags_per_movie, liked_min=2, liked_max=4), synthetic_inputs)
    df = check_marginals(s)
    means = df[df["quantity"].str.contains("E[Y | N =", regex=False)]
    assert [q.rsplit("(", 1)[1] for q in means["quantity"]] == [f"E[Y | N = {n}])" for n in range(tags_per_movie + 1)]
    assert df["ok"].all(), df[~df["ok"]]


def test_rating_equation_conditional_means():
    # quality sigma 0 and no noise: Y = clip(rint(b - 0.7 + 0.5 N)) exactly
    s = sample(small_config(quality_sigma=0.0, noise_sigma=0.0))
    b = s.catalogue.base_rating
    expected = np.clip(np.rint(b[None, :] - 0.7 + 0.5 * s.n_match), 1, 5)
    np.testing.assert_array_equal(s.rating_full, expected)


def test_gumbel_top_k_matches_sequential_sampling_without_replacement():
    pi = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    liked = draw_liked(np.random.default_rng(0), pi, 200_000, 2, 2)
    got = liked.mean(axis=0)
    # exact inclusion probabilities of 2 draws without replacement ∝ pi
    exact = np.array([pi[i] + sum(pi[j] * pi[i] / (1 - pi[j]) for j in range(5) if j != i) for i in range(5)])
    np.testing.assert_allclose(got, exact, atol=0.005)


def test_mar_exposure_is_independent_of_rating_given_popularity(small_sample):
    s = small_sample
    # the propensity is a function of the rank only
    assert np.ptp(s.propensity_rating, axis=0).max() == 0
    # and observed shares by rating agree inside a popularity band (chi-square on the full matrix)
    cols = slice(0, 60)
    y, o = s.rating_full[:, cols].ravel(), s.observed[:, cols].ravel()
    table = np.array([[np.sum((y == v) & o), np.sum((y == v) & ~o)] for v in (2, 3, 4, 5)])
    assert chi2_contingency(table).pvalue > 0.001
    # while popularity does drive it: top decile observed more than bottom
    assert s.observed[:, :30].mean() > 1.3 * s.observed[:, -30:].mean()


def test_mnar_obstag_rate_rises_with_the_latent_rating():
    s = sample(small_config(n_users=1000, obstag_rate=0.05))
    c = s.counts
    rate = c.obstag_by_rating / np.maximum(c.pairs_by_rating, 1)
    assert rate[4] > rate[3] > rate[2] > rate[1]
    se = np.sqrt(rate * (1 - rate) / np.maximum(c.pairs_by_rating, 1))
    assert rate[4] - rate[2] > 4 * np.hypot(se[4], se[2])
    # per-user normalisation: every user's mean propensity is the rate
    np.testing.assert_allclose(s.propensity_obstag.mean(axis=1), 0.05, rtol=1e-3)


def test_normalised_mode_meets_rates_without_p_above_one():
    s = sample(small_config(mode="normalised", rating_rate=0.6, obstag_rate=0.4, n_users=200))
    assert s.propensity_rating.max() <= 1 and s.propensity_obstag.max() <= 1
    assert abs(s.propensity_rating.mean() - 0.6) < 1e-4
    np.testing.assert_allclose(s.propensity_obstag.mean(axis=1), 0.4, rtol=1e-3)
    assert abs(len(s.rating) / 60_000 - 0.6) < 0.01


def test_seeded_reproducible_and_chunk_regeneration(small_sample, synthetic_inputs):
    again = sample(small_config(), synthetic_inputs)
    assert again.rating.equals(small_sample.rating) and again.obstag.equals(small_sample.obstag)
    for name in ("test_1", "test_2", "test_3"):
        assert again.tests[name].equals(small_sample.tests[name])
    other = sample(small_config(seed=4), synthetic_inputs)
    assert not other.rating.equals(small_sample.rating)
    # a chunk regenerated on demand equals the kept matrices (what a too-large sample relies on)
    res = small_sample.regenerate(1)
    start, stop = small_sample.chunk_bounds()[1]
    np.testing.assert_array_equal(res.ctx.rating, small_sample.rating_full[start:stop])
    np.testing.assert_array_equal(res.observed, small_sample.observed[start:stop])


def test_large_samples_drop_full_matrices_but_regenerate_them(synthetic_inputs):
    s = sample(small_config(keep_full_max_pairs=1000, n_users=120), synthetic_inputs)
    assert s.rating_full is None and not s.keeps_full
    full = s.full_rating()
    assert full.shape == (120, 300)
    r = s.rating
    np.testing.assert_array_equal(full[r["userid"], r["movieid"]], r["rating"])
    assert s.calc_rating_propensity().shape == (120, 300)


def test_prepared_catalogue_can_be_reused(synthetic_inputs):
    cfg = small_config(n_users=100)
    cat = prepare_catalogue(synthetic_inputs, cfg, np.random.default_rng(0))
    assert sample(cfg, cat).catalogue is cat
    with pytest.raises(CTARConfigError, match="n_movies"):
        sample(small_config(n_users=100, n_movies=200), cat)


def test_interventions_use_common_random_numbers(small_sample, synthetic_inputs):
    cfg = small_config()
    uni = intervene(cfg, inputs=synthetic_inputs, exposure="uniform")
    np.testing.assert_array_equal(uni.rating_full, small_sample.rating_full)  # only O^Y changed
    assert np.ptp(uni.propensity_rating) == 0
    full = np.bincount(uni.rating_full.ravel(), minlength=6)[1:] / uni.rating_full.size
    obs = np.bincount(uni.rating["rating"], minlength=6)[1:] / len(uni.rating)
    assert np.abs(full - obs).max() < 0.03  # uniform exposure: observed = full distribution
    flat = intervene(cfg, inputs=synthetic_inputs, tag_effect=0.0)
    m = [flat.rating_full[flat.n_match == n].mean() for n in (0, 1, 2)]
    assert max(m) - min(m) < 0.05  # N no longer moves Y
    m0 = [small_sample.rating_full[small_sample.n_match == n].mean() for n in (0, 1, 2)]
    assert m0[2] - m0[0] > 0.8  # while it does in the observational model (0.5 per tag)
    fixed = intervene(cfg, inputs=synthetic_inputs, n_match=3)
    assert fixed.rating_full.mean() > small_sample.rating_full.mean() + 0.5
    y5 = intervene(cfg, inputs=synthetic_inputs, rating=5)
    assert (y5.rating_full == 5).all()
    custom = intervene(cfg, Intervention(obstag=UniformExposure(0.01)), inputs=synthetic_inputs)
    assert np.allclose(custom.propensity_obstag, 0.01)


def test_bad_policies_and_interventions_are_refused(synthetic_inputs):
    class Broken:
        name = "broken"

        def calc_propensity(self, ctx):
            return np.full(ctx.shape, 1.5)

    with pytest.raises(CTARConfigError, match="broken"):
        sample(small_config(n_users=50), synthetic_inputs, exposure=Broken())
    with pytest.raises(CTARConfigError, match="rating"):
        Intervention(rating=7)
    with pytest.raises(CTARConfigError, match="rating must be a whole number in 1..5"):
        Intervention(rating=4.5)  # used to be truncated to 4
    assert Intervention(rating=5.0).rating == 5
    with pytest.raises(CTARConfigError, match="exposure"):
        Intervention(exposure="sometimes")


def test_do_n_above_the_tags_per_movie_is_refused(synthetic_inputs):
    # N = |T_m ∩ L_u| <= tags_per_movie: the sampler used k while the exact pgmpy table used min(k, K)
    cfg = small_config(n_users=50, tags_per_movie=1)
    with pytest.raises(CTARConfigError, match="n_match=2 exceeds tags_per_movie=1"):
        intervene(cfg, inputs=synthetic_inputs, n_match=2)
    assert intervene(cfg, inputs=synthetic_inputs, n_match=1).n_match.max() == 1  # k = K is allowed


def test_do_quality_exports_the_quality_the_ratings_used(small_sample, synthetic_inputs):
    # the truth used to keep the natural draws while the ratings used q: a learner was scored against the wrong q
    s = intervene(small_config(), inputs=synthetic_inputs, quality=4.0)
    movies = s.truth_frames()["movies"]
    assert (s.quality == 4.0).all() and (movies["quality"] == 4.0).all()
    np.testing.assert_array_equal(s.quality_natural, small_sample.quality)  # the natural draw, kept apart
    np.testing.assert_array_equal(movies["quality_natural"], small_sample.quality)
    np.testing.assert_array_equal(s.regenerate(0).ctx.rating, s.rating_full[: s.chunk_bounds()[0][1]])
    assert (small_sample.truth_frames()["movies"]["quality"] == small_sample.quality).all()  # no do(): the draw


def test_custom_outcome_policy_records_its_values(synthetic_inputs):
    class Shifted:
        def observe(self, ctx, observed):
            return np.minimum(ctx.rating + 1, 5)

    s = sample(small_config(n_users=80), synthetic_inputs, outcome=Shifted())
    r = s.rating
    np.testing.assert_array_equal(np.minimum(s.rating_full[r["userid"], r["movieid"]] + 1, 5), r["rating"])


def test_progress_is_reported(synthetic_inputs):
    seen = []
    sample(small_config(n_users=100), synthetic_inputs, progress=lambda f, m: seen.append(f))
    assert len(seen) >= 2 and seen[-1] == 1.0 and seen == sorted(seen)
