"""Policies on synthetic arms with known means: sublinear regret, best arm most pulled, exhausted arms never chosen."""

from __future__ import annotations

import numpy as np
import pytest

from core.equal.arms import ArmDocs
from core.equal.policies import (
    POLICIES,
    BanditState,
    EqualDS,
    PolicyConfigError,
    calc_arm_prior,
    calc_doc_similarity,
    make_policy,
)

MEANS = np.array([0.1, 0.2, 0.3, 0.5, 0.25, 0.15])


def _play(policy_name, horizon, seed, sigma=0.1, shift=0.0, **params):
    policy = make_policy(policy_name, **params)
    state = BanditState(len(MEANS))
    rng = np.random.default_rng(seed)
    regret = np.empty(horizon)
    for t in range(horizon):
        arm = int(policy.select(state, 1, np.random.default_rng([seed, t]))[0])
        policy.update(state, arm, MEANS[arm] + shift + sigma * rng.standard_normal())
        regret[t] = MEANS.max() - MEANS[arm]
    return np.cumsum(regret), state


@pytest.mark.parametrize("name,params", [("ucb1", {"c": 0.3}), ("thompson", {"sigma": 0.1})])
def test_regret_grows_sublinearly_and_best_arm_dominates(name, params):
    T = 1000
    runs = [_play(name, 2 * T, seed, **params) for seed in range(8)]
    r_t = np.mean([r[T - 1] for r, _ in runs])
    r_2t = np.mean([r[2 * T - 1] for r, _ in runs])
    assert r_2t < 1.6 * r_t, (r_t, r_2t)  # linear regret would double
    for _, state in runs:
        assert state.arm_to_pulls.argmax() == MEANS.argmax()
        assert state.arm_to_pulls[MEANS.argmax()] > 0.6 * 2 * T


@pytest.mark.parametrize("name", ["equal", "epsilon-greedy", "exp3"])
def test_other_policies_prefer_best_arm(name):
    params = {"gamma": 0.05, "reward_range": (0.0, 1.0)} if name == "exp3" else {}
    # EQUAL's rewards sit below 0 (the offset) except on good arms; unplayed arms score 0
    shift = -0.4 if name == "equal" else 0.0
    _, state = _play(name, 1500, 1, shift=shift, **params)
    assert state.arm_to_pulls.argmax() == MEANS.argmax()


@pytest.mark.parametrize("name", ["equal", "ucb1", "thompson", "epsilon-greedy", "exp3"])
def test_exhausted_arms_never_selected_and_batch_is_distinct(name):
    policy = make_policy(name, **({"epsilon": 1.0} if name == "epsilon-greedy" else {}))
    state = BanditState(50)
    state.available[::3] = False
    for t in range(30):
        arms = policy.select(state, 10, np.random.default_rng(t))
        assert len(arms) == 10 and len(set(arms.tolist())) == 10
        assert state.available[arms].all()
        for a in arms:
            policy.update(state, int(a), float(a % 7) / 10)
    state.available[:] = False
    assert len(policy.select(state, 5, np.random.default_rng(0))) == 0


def test_ds_score_formula_and_alpha_schedules():
    state = BanditState(3)
    state.arm_to_count[:] = [4, 1, 0]
    state.arm_to_sum[:] = [2.0, -0.5, 0.0]
    total = 5.0
    bonus = np.sqrt(2 * np.log(total) / (state.arm_to_count + 1))
    mean = np.array([0.5, -0.5, 0.0])
    np.testing.assert_allclose(EqualDS("paper").calc_scores(state), mean + bonus / (total + 1))
    np.testing.assert_allclose(EqualDS(0.001).calc_scores(state), mean + 0.001 * bonus)


def test_neighbour_sharing_adds_reward_to_neighbours():
    nb = np.zeros((4, 4), dtype=bool)
    nb[0, 1] = nb[1, 0] = True
    nb[0, 0] = True  # self-loop is ignored
    shared = BanditState(4, neighbours=nb, share_neighbours=True)
    shared.record(0, 0.4)
    np.testing.assert_allclose(shared.arm_to_sum, [0.4, 0.4, 0, 0])
    np.testing.assert_allclose(shared.arm_to_count, [1, 1, 0, 0])
    assert shared.arm_to_pulls.tolist() == [1, 0, 0, 0]
    alone = BanditState(4, neighbours=nb, share_neighbours=False)
    alone.record(0, 0.4)
    np.testing.assert_allclose(alone.arm_to_count, [1, 0, 0, 0])


def test_a_neighbour_weight_pools_neighbours_as_weaker_evidence():
    nb = np.zeros((3, 3), dtype=bool)
    nb[0, 1] = nb[1, 0] = True
    s = BanditState(3, neighbours=nb, share_neighbours=True, neighbour_weight=0.25)
    s.record(1, 0.8)  # arm 1's own pull
    s.record(0, 0.0)  # a neighbour's barren pull counts a quarter
    np.testing.assert_allclose(s.arm_to_count, [1.25, 1.25, 0])
    assert s.arm_to_mean[1] == pytest.approx(0.8 / 1.25)
    full = BanditState(3, neighbours=nb, share_neighbours=True)  # the paper: as much as its own
    full.record(1, 0.8)
    full.record(0, 0.0)
    assert full.arm_to_mean[1] == pytest.approx(0.4)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(PolicyConfigError, match="neighbour_weight"):
            BanditState(3, neighbour_weight=bad)


def test_cumulative_estimate_tracks_latest_reward():
    s = BanditState(2, cumulative=True)
    s.record(0, 0.1)
    s.record(0, 0.3)
    assert s.arm_to_mean[0] == pytest.approx(0.3) and s.arm_to_count[0] == 2


def test_document_baselines():
    labels = np.repeat(np.arange(5), 20)
    arms = ArmDocs(labels, docs_per_pull=4, seed=0)
    alldocs = make_policy("all")
    first = alldocs.select_docs(arms, 30, np.random.default_rng(0))
    assert first.tolist() == list(range(30))
    arms.take(first)
    rnd = make_policy("random").select_docs(arms, 50, np.random.default_rng(1))
    assert len(set(rnd.tolist())) == 50 and not arms.taken[rnd].any()
    assert set(labels[rnd].tolist()) == {1, 2, 3, 4}  # uniform over remaining documents spans the clusters left


def test_arm_docs_exhaust_rules_and_order():
    labels = np.array([0] * 7 + [1] * 10)
    strict = ArmDocs(labels, docs_per_pull=5, exhaust="strict", order="file")
    assert strict.peek(0).tolist() == [0, 1, 2, 3, 4]
    strict.take(strict.peek(0))
    assert strict.available().tolist() == [False, True]
    partial = ArmDocs(labels, docs_per_pull=5, exhaust="partial", order="file")
    partial.take(partial.peek(0))
    assert partial.available().tolist() == [True, True] and partial.peek(0).tolist() == [5, 6]
    a = ArmDocs(labels, docs_per_pull=5, order="random", seed=1).queues[1]
    b = ArmDocs(labels, docs_per_pull=5, order="random", seed=1).queues[1]
    assert a.tolist() == b.tolist() and sorted(a.tolist()) == list(range(7, 17)) and a.tolist() != list(range(7, 17))


def test_arm_docs_similar_order_reads_a_cluster_most_similar_first():
    labels = np.array([0, 1, 0, 1, 0, 1, 0])
    scores = np.array([0.1, 0.9, 0.7, 0.2, 0.7, 0.5, 0.3])
    arms = ArmDocs(labels, docs_per_pull=2, order="similar", scores=scores, seed=0)
    assert arms.peek(1).tolist() == [1, 5]  # 0.9, 0.5 (then 0.2)
    assert sorted(arms.peek(0).tolist()) == [2, 4]  # the two 0.7s, in the seeded order
    arms.take(arms.peek(0))
    assert arms.peek(0).tolist() == [6, 0]  # 0.3, then 0.1
    with pytest.raises(ValueError, match="one score per document"):
        ArmDocs(labels, order="similar")
    with pytest.raises(ValueError, match="one score per document"):
        ArmDocs(labels, order="similar", scores=scores[:3])


def test_thousand_arms_select_distinct_available_arms():
    # the speed of this is benchmarks/bench_step.py's business; here: what a select returns at scale
    state = BanditState(1000)
    rng = np.random.default_rng(0)
    state.arm_to_count[:] = rng.integers(0, 20, 1000)
    state.arm_to_sum[:] = rng.normal(size=1000)
    state.available[::7] = False
    for name in ("equal", "ucb1", "thompson", "epsilon-greedy", "exp3"):
        p = make_policy(name)
        for t in range(5):
            arms = p.select(state, 50, np.random.default_rng(t))
            assert len(arms) == 50 and len(set(arms.tolist())) == 50, name
            assert state.available[arms].all(), name


@pytest.mark.parametrize(
    "name,params,bad",
    [
        ("equal", {"alpha": -1}, "alpha"),
        ("equal", {"alpha": "code"}, "alpha"),
        ("epsilon-greedy", {"epsilon": 2}, "epsilon"),
        ("exp3", {"gamma": 0}, "gamma"),
        ("ucb1", {"c": -1}, "c"),
        ("thompson", {"sigma": 0}, "sigma"),
        ("nope", {}, "policy"),
    ],
)
def test_bad_policy_parameters_are_named(name, params, bad):
    with pytest.raises(PolicyConfigError, match=bad):
        make_policy(name, **params)
    assert "random" in POLICIES


def test_unplayed_prior_zero_or_running_mean():
    zero = BanditState(3)
    mean = BanditState(3, unplayed="mean")
    for s in (zero, mean):
        assert s.arm_to_mean.tolist() == [0.0, 0.0, 0.0]  # before any reward both priors are 0
        s.record(0, -0.2)
        s.record(1, -0.4)
    assert zero.arm_to_mean.tolist() == pytest.approx([-0.2, -0.4, 0.0])
    assert mean.arm_to_mean.tolist() == pytest.approx([-0.2, -0.4, -0.3])
    # paper prior: the unplayed arm outranks both; running-mean prior: the above-average arm 0 wins
    rng = np.random.default_rng(0)
    assert EqualDS(0.0).select(zero, 1, rng).tolist() == [2]
    assert EqualDS(0.0).select(mean, 1, rng).tolist() == [0]


def test_unplayed_prior_rejects_unknown_value():
    with pytest.raises(PolicyConfigError, match="unplayed"):
        BanditState(3, unplayed="optimistic")


def test_similarity_prior_orders_probes_then_fits_the_observed_rewards():
    prior = np.array([0.2, 0.6, 0.4, 0.8, 0.3])
    state = BanditState(5, unplayed="prior", arm_prior=prior, prior_weight=4.0)
    rng = np.random.default_rng(0)
    # before any reward: unit slope through 0, so arms are probed most similar first
    assert EqualDS().select(state, 5, rng).tolist() == [3, 1, 2, 4, 0]
    np.testing.assert_allclose(state.arm_to_mean, prior - prior.mean())
    # rewards that follow r = -1 + 0.5 x exactly: once 3 arms are seen the line is recovered
    for arm in (3, 1, 2):
        state.record(arm, -1.0 + 0.5 * prior[arm])
    np.testing.assert_allclose(state.calc_prior_prediction(), -1.0 + 0.5 * prior)
    np.testing.assert_allclose(state.arm_to_mean, -1.0 + 0.5 * prior)  # data and prediction agree
    # an arm whose pull disappoints is shrunk towards its prediction, not buried
    state.record(0, -2.0)
    pred = state.calc_prior_prediction()
    assert state.arm_to_mean[0] == pytest.approx((4 * pred[0] - 2.0) / 5)


def test_similarity_prior_ignores_a_covariate_that_predicts_nothing():
    prior = np.array([0.9, 0.5, 0.1, 0.7])
    state = BanditState(4, unplayed="prior", arm_prior=prior, prior_weight=0.0)
    for arm, r in ((0, -0.5), (1, -0.2), (2, 0.1)):  # more similar, *lower* reward: the slope is clipped at 0
        state.record(arm, r)
    np.testing.assert_allclose(state.calc_prior_prediction(), np.full(4, -0.2))
    np.testing.assert_allclose(state.arm_to_mean, [-0.5, -0.2, 0.1, -0.2])  # weight 0: observed means as they are


@pytest.mark.parametrize(
    "kwargs,bad",
    [
        ({}, "arm_prior"),
        ({"arm_prior": np.zeros(2)}, "arm_prior"),
        ({"arm_prior": np.array([0.1, np.nan, 0.2])}, "arm_prior"),
        ({"arm_prior": np.zeros(3), "prior_weight": -1.0}, "prior_weight"),
    ],
)
def test_similarity_prior_is_validated(kwargs, bad):
    with pytest.raises(PolicyConfigError, match=bad):
        BanditState(3, unplayed="prior", **kwargs)


def test_doc_similarity_and_arm_prior_match_brute_force():
    rng = np.random.default_rng(5)
    docs, ref = rng.normal(size=(23, 8)), rng.normal(size=(4, 8))
    top, avg = calc_doc_similarity(docs, ref, chunk=5)
    cos = (docs / np.linalg.norm(docs, axis=1, keepdims=True)) @ (ref / np.linalg.norm(ref, axis=1, keepdims=True)).T
    np.testing.assert_allclose(top, cos.max(1), rtol=1e-5)
    np.testing.assert_allclose(avg, cos.mean(1), rtol=1e-5, atol=1e-6)
    labels = np.arange(23) % 3
    prior = calc_arm_prior(top, labels, k=4)  # cluster 3 is empty: the corpus mean
    np.testing.assert_allclose(prior, [top[labels == c].mean() for c in range(3)] + [top.mean()])
    with pytest.raises(PolicyConfigError, match="dimension"):
        calc_doc_similarity(docs, ref[:, :5])


def test_avg_sim_baseline_reads_the_most_similar_documents_first():
    labels = np.repeat(np.arange(3), 4)
    arms = ArmDocs(labels, docs_per_pull=2, seed=0)
    policy = make_policy("avg-sim")
    with pytest.raises(PolicyConfigError, match="doc_emb"):
        policy.select_docs(arms, 3, np.random.default_rng(0))
    policy.prepare(np.array([0.1, 0.9, 0.2, 0.3, 0.8, 0.0, 0.5, 0.4, 0.7, 0.6, 0.05, 0.15]))
    first = policy.select_docs(arms, 3, np.random.default_rng(0))
    assert first.tolist() == [1, 4, 8]
    arms.take(first)
    assert policy.select_docs(arms, 2, np.random.default_rng(0)).tolist() == [6, 9]


@pytest.mark.parametrize("name", POLICIES)
def test_every_policy_implements_exactly_one_protocol(name):
    from core.equal.policies import ARM_POLICIES, ArmPolicy, DocumentPolicy

    policy = make_policy(name)
    assert isinstance(policy, ArmPolicy) != isinstance(policy, DocumentPolicy)
    assert isinstance(policy, ArmPolicy) == (name in ARM_POLICIES)
    assert not hasattr(policy, "kind"), "the run dispatches on the protocol, not on a tag"


def test_run_prepares_a_similarity_policy_through_the_protocol():
    from core.equal.replay import PrecomputedExtractor, table_embedder
    from core.equal.run import BanditRun, RunConfig, RunConfigError
    from core.equal.space import ArmSpace

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((12, 4)).astype(np.float32)
    labels = np.repeat(np.arange(3), 4)
    ids = [f"d{i}" for i in range(12)]
    config = RunConfig(policy="avg-sim", budget=0.5, unplayed="mean")
    with pytest.raises(RunConfigError, match="avg-sim baseline"):
        BanditRun(config, ArmSpace(ids, None, labels), emb[:2], PrecomputedExtractor({}), table_embedder({}))
    run = BanditRun(
        config, ArmSpace(ids, None, labels, doc_emb=emb), emb[:2], PrecomputedExtractor({}), table_embedder({})
    )
    assert run.policy.doc_scores is not None and run.policy.doc_scores.shape == (12,)


def test_eb_prior_weight_follows_the_noise_of_the_rewards():
    rng = np.random.default_rng(0)
    prior = np.linspace(0.0, 1.0, 6)

    def state_after(spread: float, noise: float) -> BanditState:
        state = BanditState(6, unplayed="eb", arm_prior=prior, prior_weight=4.0)
        true = -1.0 + spread * rng.standard_normal(6)  # arm means unrelated to the prior
        for _ in range(6):
            for arm in range(6):
                state.record(arm, float(true[arm] + noise * rng.standard_normal()))
        return state

    noisy = state_after(spread=0.01, noise=0.3)  # one pull says little, arms alike: lean on the prior
    clear = state_after(spread=0.3, noise=0.01)  # pulls agree, arms differ: trust the data
    w_noisy = noisy.calc_prior_weight(noisy.calc_prior_prediction())
    w_clear = clear.calc_prior_weight(clear.calc_prior_prediction())
    assert w_noisy > 10 * w_clear
    assert 0.5 <= w_clear <= 50 and 0.5 <= w_noisy <= 50
    fresh = BanditState(6, unplayed="eb", arm_prior=prior, prior_weight=4.0)
    fresh.record(0, -1.0)
    assert fresh.calc_prior_weight(fresh.calc_prior_prediction()) == 4.0  # too few pulls: the configured weight
    with pytest.raises(PolicyConfigError, match="arm_prior"):
        BanditState(6, unplayed="eb")
