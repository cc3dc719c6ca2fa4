from __future__ import annotations

import re

import numpy as np
import pytest

from core.ctar.config import CTARConfig, CTARConfigError, max_obstag_rate_exact, max_rating_rate_exact
from core.ctar.mechanisms import ObsTagExposure, PairContext, PopularityExposure, solve_intercept


def test_defaults_are_ctars():
    c = CTARConfig()
    assert (c.n_users, c.n_movies, c.tags_per_movie, c.liked_min, c.liked_max) == (1000, 1000, 8, 10, 20)
    assert (c.quality_sigma, c.rating_offset, c.tag_effect, c.noise_sigma) == (0.75, 0.7, 0.5, 0.25)
    assert (c.rating_rate, c.rating_slope, c.obstag_rate, c.obstag_rank_slope) == (0.02, 0.002, 0.007, 0.005)
    assert (c.forget_prob, c.rct_users, c.rct_movies, c.validation_share) == (0.4, 100, 10, 0.3)
    assert (c.test_identifiable_n, c.test_identifiable_pos, c.test_inidentifiable_n, c.test_inidentifiable_pos) == (
        5000,
        1500,
        4000,
        1200,
    )


@pytest.mark.parametrize(
    "changes, name",
    [
        ({"mode": "fast"}, "mode"),
        ({"n_users": 0}, "n_users"),
        ({"n_movies": -3}, "n_movies"),
        ({"liked_min": 30}, "liked_min"),
        ({"quality_sigma": -1.0}, "quality_sigma"),
        ({"rating_rate": 0.0}, "rating_rate"),
        ({"obstag_rate": 1.5}, "obstag_rate"),
        ({"forget_prob": 1.0}, "forget_prob"),
        ({"rct_users": 2000}, "rct_users"),
        ({"rct_movies": 5000}, "rct_movies"),
        ({"test_identifiable_pos": 6000}, "test_identifiable_pos"),
        ({"test_inidentifiable_pos": 4001}, "test_inidentifiable_pos"),
        ({"tag_effect": float("nan")}, "tag_effect"),
        ({"n_users": 2.5}, "n_users"),
        ({"validation_share": -0.1}, "validation_share"),
    ],
)
def test_impossible_values_are_refused_naming_the_parameter(changes, name):
    with pytest.raises(CTARConfigError, match=name):
        CTARConfig(**changes)


@pytest.mark.parametrize("changes", [{"rct_users": 2000}, {"liked_min": 30}, {"rating_rate": 0.9},
                                     {"forget_prob": 1.0}, {"tags_per_movie": 0}, {"mode": "fast"},
                                     {"test_inidentifiable_pos": 4001}], ids=lambda c: next(iter(c)))
def test_a_refusal_is_said_with_the_forms_labels_and_the_command_line_keeps_the_names(changes):
    """The page and a link said 'rct_users (100) exceeds n_users (50)', the fields' names; they say the form's
    labels now. The exception itself (what ``python -m core.ctar generate --set NAME=VALUE`` prints) keeps the
    names its options take."""
    from core.ctar.config import PARAMETER_LABELS, in_words, parameter_label

    name = next(iter(changes))
    with pytest.raises(CTARConfigError, match=name) as refused:
        CTARConfig(**changes)
    words = in_words(refused.value)
    assert f'"{parameter_label(name)}"' in words, words
    assert not [n for n in PARAMETER_LABELS if re.search(rf"\b{n}\b", words)], words
    assert not re.search(r"[<>]=?|\bexceeds\b|\binteger\b", words), words


REFUSED = [{"rct_users": 2000}, {"liked_min": 30}, {"rating_rate": 1.5}, {"forget_prob": 1.0}, {"tags_per_movie": 0},
           {"mode": "fast"}, {"quality_sigma": -1.0}, {"tag_effect": float("nan")}, {"test_exact_compat": "x"},
           {"seed": -1}, {"test_inidentifiable_pos": 4001}, {"rct_movies": 5000}]


@pytest.mark.parametrize("changes", REFUSED, ids=lambda c: next(iter(c)))
def test_a_refusal_is_worded_from_what_it_carries_not_from_its_message(changes, monkeypatch):
    """The page words a range refused (and a value above the one that bounds it) from the refusal's fields: a
    reworded message changes nothing on the form. Before, :func:`in_words` rewrote the message with regexes."""
    from core.ctar.config import PARAMETER_LABELS, Exceeds, in_words, parameter_label
    from core.validate import Refusal

    name = next(iter(changes))
    with pytest.raises(CTARConfigError) as refused:
        CTARConfig(**changes)
    words = in_words(refused.value)
    assert words.startswith(f'"{parameter_label(name)}"'), words
    assert not [n for n in PARAMETER_LABELS if re.search(rf"\b{n}\b", words)], words
    monkeypatch.setattr(Refusal, "__str__", lambda self: f"{self.field}: refused {self.got!r} ({self.rule})")
    monkeypatch.setattr(Exceeds, "__str__", lambda self: f"{self.field}={self.got} over {self.limit_field}")
    with pytest.raises(CTARConfigError) as reworded:
        CTARConfig(**changes)
    assert str(reworded.value) != str(refused.value) and in_words(reworded.value) == words


def test_exact_mode_refuses_rates_that_give_p_above_one_and_normalised_accepts_them():
    top = max_rating_rate_exact(1000, 0.002)
    assert 0.6 < top < 0.7  # 1 / (2 sigmoid(1))
    CTARConfig(rating_rate=top * 0.99)
    with pytest.raises(CTARConfigError, match="rating_rate"):
        CTARConfig(rating_rate=0.8)
    with pytest.raises(CTARConfigError, match="obstag_rate"):
        CTARConfig(obstag_rate=0.5)
    assert max_obstag_rate_exact(1000, 1.0, 0.005) > 0.007
    c = CTARConfig(mode="normalised", rating_rate=0.8, obstag_rate=0.5)
    p = PopularityExposure.from_config(c).calc_by_rank(np.arange(1000))
    assert p.max() <= 1 and abs(p.mean() - 0.8) < 1e-6


def test_exact_obstag_bound_holds_for_a_negative_rating_slope():
    # a negative slope makes rating 1 the heaviest: the bound must cover it, not allow any rate
    top = max_obstag_rate_exact(200, -5.0, 0.005)
    assert top < 0.05
    with pytest.raises(CTARConfigError, match="obstag_rate"):
        CTARConfig(n_movies=200, obstag_rating_slope=-5.0, obstag_rate=0.5)
    # the worst rating matrix for this sign (one movie rated 1 at rank 0, the rest 5) stays at p <= 1
    y = np.full((1, 200), 5, dtype=np.int8)
    y[0, 0] = 1
    rng = np.random.default_rng(0)
    ctx = PairContext(np.arange(1), y, np.zeros(200), np.arange(200), np.ones(200), np.zeros((1, 200), np.int8), rng)
    w = 1 / (1 + np.exp(-ObsTagExposure(rating_slope=-5.0).calc_logits(ctx)))
    assert (top * w / w.mean()).max() <= 1 + 1e-12  # unclipped, so the configured rate is the realised mean


def test_replace_rejects_unknown_names():
    with pytest.raises(CTARConfigError, match="bogus"):
        CTARConfig().replace(bogus=1)
    assert CTARConfig().replace(n_users=500).n_users == 500


@pytest.mark.parametrize("rate", [1e-4, 0.007, 0.3, 0.95])
def test_solved_intercept_meets_the_rate_per_row(rate):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(50, 400)) + rng.integers(1, 6, size=(50, 400))
    c = solve_intercept(logits, rate)
    p = 1 / (1 + np.exp(-(logits + c[:, None])))
    np.testing.assert_allclose(p.mean(axis=1), rate, rtol=1e-4)
    assert p.max() <= 1


def test_normalised_rank_equals_original_logit_range_at_1000_movies():
    # the normalised ObsTag logit differs from the exact one only by the per-user intercept at M = 1000
    rng = np.random.default_rng(1)
    y = rng.integers(1, 6, size=(5, 1000)).astype(np.int8)
    ctx = PairContext(
        np.arange(5), y, np.zeros(1000), np.arange(1000), np.ones(1000), np.zeros((5, 1000), np.int8), rng
    )
    exact = ObsTagExposure(mode="exact").calc_logits(ctx)
    normalised = ObsTagExposure(mode="normalised").calc_logits(ctx)
    np.testing.assert_allclose(exact, normalised)
    p = ObsTagExposure(rate=0.3, mode="normalised").calc_propensity(ctx)
    np.testing.assert_allclose(p.mean(axis=1), 0.3, rtol=1e-4)
