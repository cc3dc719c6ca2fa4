"""pgmpy: the template's structure, backdoor sets, exact do() tables vs the numpy sampler, cross-check."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from core.ctar.equations import rating_probs
from core.ctar.graph import (
    NODE_KINDS,
    backdoor_sets,
    build_pair_template,
    calc_interventional_table,
    causal_graph,
    compare_interventional,
    cross_check,
    simulate_template,
)
from core.ctar.sampler import Intervention, intervene, sample
from tests.ctar.conftest import small_config

warnings.filterwarnings("ignore", category=FutureWarning)


@pytest.fixture(scope="module")
def template(small_sample):
    return build_pair_template(small_sample)


def test_display_graph_is_a_dag_with_kinds_equations_and_cut_edges():
    import networkx as nx

    g = causal_graph(small_config(), Intervention(exposure="uniform", tag_effect=0.0))
    dag = nx.DiGraph(g.edges)
    assert nx.is_directed_acyclic_graph(dag)
    assert {n.kind for n in g.nodes} == set(NODE_KINDS)
    assert set(g.cut) == {("Pop", "OY"), ("N", "Y")}
    d = g.details("Y")
    assert "tag_effect" in d["equation"] and d["parameters"]["tag_effect"] == 0.5
    assert set(d["parents"]) == {"Q", "N"}
    with pytest.raises(KeyError, match="nodes are"):
        g.node("nope")


def test_template_cpds_come_from_the_sampler(template, small_sample):
    m = template.model
    assert m.check_model()
    assert set(m.edges()) == {
        ("Pop", "Q"),
        ("Pop", "N"),
        ("Q", "Y"),
        ("N", "Y"),
        ("Pop", "OY"),
        ("Pop", "OT"),
        ("Y", "OT"),
    }
    p_oy = m.get_cpds("OY").values[1]
    assert p_oy[0] > p_oy[-1]  # popularity drives exposure
    np.testing.assert_allclose(
        p_oy.mean(), small_sample.counts.p_rating_by_movie.sum() / small_sample.config.n_pairs, rtol=1e-6
    )


def test_backdoor_sets_show_popularity_confounds(template):
    sets = backdoor_sets(template, "N", "Y")
    assert ["Pop"] in sets and ["Q"] in sets and [] not in sets
    assert ["Pop"] in backdoor_sets(template, "Y", "OT")


def test_rating_probabilities_are_the_rounded_clipped_gaussian():
    p = rating_probs(np.array([3.0, 0.2, 9.0]), 0.25)
    np.testing.assert_allclose(p.sum(axis=-1), 1)
    assert p[0, 2] > 0.95 and p[1, 0] > 0.99 and p[2, 4] > 0.99


@pytest.mark.parametrize("iv", [Intervention(n_match=2), Intervention(tag_effect=0.0), Intervention(quality=4.0)])
def test_exact_interventional_tables_match_the_mutilated_sampler(template, small_sample, synthetic_inputs, iv):
    sampled = intervene(small_sample.config, iv, inputs=synthetic_inputs)
    df = compare_interventional(template, sampled, iv)
    np.testing.assert_allclose(df["exact (pgmpy)"].sum(), 1, atol=1e-9)
    # the only randomness left is the rating noise over 120,000 pairs
    assert df["difference"].abs().max() < 0.01, df


def test_uniform_exposure_table_equals_the_latent_distribution(template, small_sample, synthetic_inputs):
    iv = Intervention(exposure="uniform")
    exact = calc_interventional_table(template, iv)
    natural = calc_interventional_table(template, Intervention())
    np.testing.assert_allclose(exact.to_numpy(), natural.to_numpy(), atol=1e-12)  # Y ⊥ O^Y after the cut
    sampled = intervene(small_sample.config, iv, inputs=synthetic_inputs)
    df = compare_interventional(template, sampled, iv)
    n = len(sampled.rating)
    assert (df["difference"].abs() < 4 * np.sqrt(0.25 / n) + 0.01).all(), df


def test_pgmpy_samples_agree_with_the_numpy_sampler(template, small_sample):
    df = cross_check(template, small_sample, n=8000, seed=1)
    assert len(df) >= 12
    assert (df["z"].abs() < 4.5).all(), df


def test_pgmpy_missingness_is_mar_on_popularity(synthetic_inputs):
    steep = build_pair_template(sample(small_config(n_users=100, rating_slope=0.02, rating_rate=0.1), synthetic_inputs))
    sim = simulate_template(steep, 6000, seed=2, missing=True)
    assert 0.8 < sim["Y"].isna().mean() < 0.95
    top, bottom = sim[sim["Pop"] <= 2], sim[sim["Pop"] >= 7]
    assert top["Y"].notna().mean() > bottom["Y"].notna().mean()


@pytest.mark.parametrize("mode", ["exact", "normalised"])
@pytest.mark.parametrize("rating", [1, 5])
def test_do_rating_table_keeps_the_per_user_tagging_rate(synthetic_inputs, mode, rating):
    """do(Y = y) on every pair: CTAR's ObsTag rescales each user's propensities to mean ``obstag_rate`` over all of
    that user's (now equal) ratings, so P(O^T = 1) stays the rate. The exact table must say so, not reuse the
    observational P(O^T | Pop, Y), whose per-user normaliser came from the natural ratings (0.0139 against
    the sampled 0.0072 in normalised mode before the fix)."""
    config = small_config(mode=mode)
    template = build_pair_template(sample(config, synthetic_inputs))
    iv = Intervention(rating=rating)
    sampled = intervene(config, iv, inputs=synthetic_inputs)
    df = compare_interventional(template, sampled, iv)
    assert df["exact (pgmpy)"].iloc[0] == pytest.approx(config.obstag_rate, rel=1e-6), df
    se = np.sqrt(config.obstag_rate / config.n_pairs)
    assert abs(df["difference"].iloc[0]) < 4 * se, df
