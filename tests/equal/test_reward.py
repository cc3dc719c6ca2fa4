"""OT reward: equals POT's exact value, prefers batches from D_r's distribution, defined when empty."""

from __future__ import annotations

import numpy as np
import ot
import pytest

from core.equal.reward import OTReward, RewardConfigError, calc_cost_matrix, ipot


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("n,m", [(1, 1), (3, 5), (7, 4), (12, 12)])
def test_emd_reward_equals_pot_exact(n, m):
    rng = np.random.default_rng(n * 100 + m)
    x, y = _unit(rng.normal(size=(n, 16))), _unit(rng.normal(size=(m, 16)))
    cost = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2)
    exact = ot.emd2(np.full(n, 1 / n), np.full(m, 1 / m), cost)
    rw = OTReward(method="emd", offset=0.12)
    assert rw.calc_distance(x, y) == pytest.approx(exact, abs=1e-9)
    assert rw.calc(x, y) == pytest.approx(1 - exact - 0.12, abs=1e-9)


def test_cost_is_euclidean_between_normalised_rows():
    x = np.array([[3.0, 0.0], [0.0, 2.0]])
    y = np.array([[1.0, 0.0]])
    c = calc_cost_matrix(x, y)
    assert c[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert c[1, 0] == pytest.approx(np.sqrt(2.0))


def test_ipot_and_sinkhorn_approach_exact_value():
    rng = np.random.default_rng(3)
    x, y = _unit(rng.normal(size=(10, 8))), _unit(rng.normal(size=(15, 8)))
    exact = OTReward(method="emd").calc_distance(x, y)
    # IPOT with the paper's beta=1 converges to the exact OT (proximal point, not entropic bias)
    assert ipot(calc_cost_matrix(x, y), beta=1.0, n_outer=500, n_inner=10) == pytest.approx(exact, abs=2e-3)
    assert OTReward(method="ipot", ipot_outer=300).calc_distance(x, y) == pytest.approx(exact, abs=5e-3)
    assert OTReward(method="sinkhorn", reg=0.01).calc_distance(x, y) == pytest.approx(exact, abs=2e-2)


def test_emd_switches_to_sinkhorn_above_threshold():
    rng = np.random.default_rng(4)
    x, y = _unit(rng.normal(size=(30, 8))), _unit(rng.normal(size=(20, 8)))
    small = OTReward(method="emd", emd_max_n=10, reg=0.01).calc_distance(x, y)
    assert small == pytest.approx(OTReward(method="sinkhorn", reg=0.01).calc_distance(x, y), abs=1e-9)


def test_batch_from_reference_distribution_gets_larger_reward():
    rng = np.random.default_rng(5)
    centre_r, centre_u = rng.normal(size=32), rng.normal(size=32)
    ref = _unit(centre_r + 0.5 * rng.normal(size=(40, 32)))
    on = _unit(centre_r + 0.5 * rng.normal(size=(10, 32)))
    off = _unit(centre_u + 0.5 * rng.normal(size=(10, 32)))
    for method in ("emd", "sinkhorn", "ipot"):
        rw = OTReward(method=method, ipot_outer=100)
        assert rw.calc(on, ref) > rw.calc(off, ref) + 0.1


def test_empty_batch_reward_is_defined():
    ref = np.eye(3)
    empty = np.empty((0, 3))
    assert OTReward(empty_reward=0.0).calc(empty, ref) == 0.0
    assert OTReward(empty_reward=-0.3).calc(empty, ref) == -0.3
    assert OTReward(empty_reward="worst").calc(empty, ref, worst=-0.42) == -0.42
    assert OTReward(empty_reward="worst", offset=0.12).calc(empty, ref) == pytest.approx(-1.12)


@pytest.mark.parametrize("kwargs,name", [({"method": "exact"}, "method"), ({"estimate": "mean"}, "estimate"),
                                         ({"empty_reward": "best"}, "empty_reward"), ({"reg": 0}, "reg"),
                                         ({"emd_max_n": 0}, "emd_max_n")])
def test_bad_config_names_parameter(kwargs, name):
    with pytest.raises(RewardConfigError, match=name):
        OTReward(**kwargs)


# ---------------------------------------------------------------- credit per pair and per document read
def _reference_and_pairs():
    """A reference set around ``e0``; a close pair (``e0``) and a fair pair (cosine 0.5 to ``e0``)."""
    rng = np.random.default_rng(11)
    ref = np.zeros((6, 8))
    ref[:, 0] = 1.0
    ref[:, 2:] = 0.05 * rng.normal(size=(6, 6))
    close = np.eye(8)[:1]
    fair = _unit(np.array([[0.5, np.sqrt(0.75), 0, 0, 0, 0, 0, 0]]))
    return _unit(ref), close, fair


def test_document_credit_values_yield_over_a_few_close_pairs():
    ref, close, fair = _reference_and_pairs()
    sparse = close  # ten documents read, one close pair found
    rich = np.repeat(fair, 20, axis=0)  # ten documents read, two fair pairs each
    paper = OTReward(credit="pull", empty_reward=0.0)
    assert paper.calc_pull(sparse, ref, 10) > paper.calc_pull(rich, ref, 10) + 0.5  # the paper prefers the close pair
    doc, pair = OTReward(credit="document"), OTReward(credit="pair")
    rich_docs = [f"d{i // 2}" for i in range(20)]
    assert doc.calc_pull(rich, ref, 10, rich_docs) > 4 * doc.calc_pull(sparse, ref, 10, ["d0"])
    assert pair.calc_pull(rich, ref, 10) > 8 * pair.calc_pull(sparse, ref, 10)
    for rw in (doc, pair):
        assert rw.calc_pull(np.empty((0, 8)), ref, 10, []) == 0.0  # documents without pairs add nothing
        assert rw.calc_pull(sparse, ref, 10, ["d0"]) < rw.calc_pull(sparse, ref, 1, ["d0"])  # and cost a call each


def test_document_credit_does_not_count_how_finely_a_document_is_cut():
    ref, close, fair = _reference_and_pairs()
    one = OTReward().calc_pull(fair, ref, 4, ["a"])
    assert OTReward().calc_pull(np.repeat(fair, 5, axis=0), ref, 4, ["a"] * 5) == pytest.approx(one)
    assert OTReward(credit="pair").calc_pull(np.repeat(fair, 5, axis=0), ref, 4) == pytest.approx(5 * one)
    # two documents, one with a close and one with a fair pair: the mean of their values over the four read
    both = OTReward().calc_pull(np.vstack([close, fair, fair]), ref, 4, ["a", "b", "b"])
    v = OTReward().calc_pair_credit(np.vstack([close, fair, fair]), ref)
    assert both == pytest.approx((v[0] + (v[1] + v[2]) / 2) / 4)
    with pytest.raises(ValueError, match="document names"):
        OTReward().calc_pull(fair, ref, 4, ["a", "b"])


def test_a_pull_is_worth_the_same_in_any_order_its_documents_are_read():
    """Doc A yields pairs p and q, doc B the same pair text p: the two copies of p are interchangeable in the
    transport problem, so the reward may not depend on which document was read first."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        p, q = rng.normal(size=4), rng.normal(size=4)
        y = rng.normal(size=(3, 4))
        for rw in (OTReward(), OTReward(credit="pair"), OTReward(credit="pull")):
            a_first = rw.calc_pull(np.stack([p, q, p]), y, 2, ["A", "A", "B"])
            b_first = rw.calc_pull(np.stack([p, p, q]), y, 2, ["B", "A", "A"])
            assert a_first == pytest.approx(b_first, abs=1e-12)
        v = OTReward().calc_pair_credit(np.stack([p, q, p]), y)
        assert v[0] == v[2]  # the copies share their point's credit equally


@pytest.mark.parametrize("rw", [OTReward(method="sinkhorn", reg=0.05), OTReward(method="ipot", ipot_outer=200)])
def test_equal_pairs_solved_as_one_point_keep_each_solvers_plan(rw):
    """Sinkhorn and IPOT already split an equal pair's mass evenly: solving the copies as one point with their
    summed mass gives the credit the whole problem gives."""
    rng = np.random.default_rng(3)
    x, y = _unit(rng.normal(size=(5, 8))), _unit(rng.normal(size=(6, 8)))
    x = x[[0, 1, 2, 1, 3, 4, 1]]
    plan, cost = rw.calc_plan(x, y)
    whole = np.maximum(0.0, len(x) * (plan * (1.0 - cost**2 / 2.0)).sum(axis=1))
    assert rw.calc_pair_credit(x, y) == pytest.approx(whole, abs=1e-6)


def test_pair_credit_is_the_transported_cosine_clipped_at_zero():
    ref = np.eye(4)[:2]  # two reference examples, e0 and e1
    x = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, -1.0, 0.2], [0, 0.6, 0.8, 0]])
    credit = OTReward().calc_pair_credit(x[:2], ref)
    assert credit == pytest.approx([1.0, 1.0])  # the plan moves each pair onto its own example
    lone = OTReward().calc_pair_credit(x[3:], ref)  # one pair is moved to both examples: (0 + 0.6) / 2
    assert lone == pytest.approx([0.3])
    assert OTReward().calc_pair_credit(x[2:3], ref) == pytest.approx([0.0])  # unrelated: 0, never negative
    assert OTReward().calc_pair_credit(np.empty((0, 4)), ref).shape == (0,)


def test_pair_credit_mean_matches_every_solver():
    rng = np.random.default_rng(6)
    x, y = _unit(rng.normal(size=(9, 8)) + 1.0), _unit(rng.normal(size=(12, 8)) + 1.0)
    exact = OTReward(method="emd").calc_pair_credit(x, y)
    for rw in (OTReward(method="ipot", ipot_outer=300), OTReward(method="sinkhorn", reg=0.01)):
        assert rw.calc_pair_credit(x, y).mean() == pytest.approx(exact.mean(), abs=2e-2)
    plan, cost = OTReward().calc_plan(x, y)
    assert (plan * cost).sum() == pytest.approx(OTReward().calc_distance(x, y), abs=1e-9)


def test_pull_credit_is_the_paper_reward_and_a_pull_reads_documents():
    rng = np.random.default_rng(8)
    x, y = _unit(rng.normal(size=(5, 8))), _unit(rng.normal(size=(7, 8)))
    rw = OTReward(credit="pull")
    assert rw.calc_pull(x, y, 10) == rw.calc(x, y) == rw.calc_pull(x, y, 3)
    assert rw.calc_pull(np.empty((0, 8)), y, 10, worst=-0.4) == -0.4
    with pytest.raises(ValueError, match="n_docs"):
        OTReward().calc_pull(x, y, 0)
    with pytest.raises(RewardConfigError, match="credit"):
        OTReward(credit="batch")
