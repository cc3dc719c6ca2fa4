"""CTAR's user-tag protocol on the lab's world: facts agree with the truth, tests never leak, quotas hold."""

from __future__ import annotations

import numpy as np
import pytest

from core.debias.data import DebiasConfigError, WorldConfig, make_world
from core.debias.lab import LearnerConfig, run_learners
from core.debias.learners import MFConfig
from core.debias.mechanisms import make_mechanism
from core.debias.propensity import naive_bayes_propensity
from core.debias.tags import TagTaskConfig, make_tag_task, rct_inclusion, tag_like_rate

W = WorldConfig(n_users=200, n_items=250, n_tags=50)


@pytest.fixture(scope="module")
def task_and_rated():
    ctx = make_world(W, 0)
    mech = make_mechanism("popularity", 1.0, rate=0.05)
    ctx = mech.prepare(ctx)
    p = mech.calc_propensity(ctx)
    rated = ctx.rng.random(p.shape) < p
    return make_tag_task(ctx, rated, TagTaskConfig(n_test2=800, n_test3=800), seed=1), rated, ctx


def test_every_fact_agrees_with_the_liked_tags(task_and_rated):
    task, _, _ = task_and_rated
    o = task.observed
    assert o.sum() > 200 and 0 < task.values[o].mean() < 1
    assert np.array_equal(task.values[o] == 1, task.liked[o])
    r = task.rct_observed
    assert r.sum() > 100 and np.array_equal(task.rct_values[r] == 1, task.liked[r])


def test_test_sets_do_not_leak_and_respect_quotas(task_and_rated):
    task, rated, ctx = task_and_rated
    known = task.observed | task.rct_observed
    rated_tags = (rated.astype(int) @ ctx.extras["item_tags"].astype(int)) > 0
    for name, (rows, cols, labels) in task.tests.items():
        assert not known[rows, cols].any(), f"{name} leaks training facts"
        assert np.array_equal(labels == 1, task.liked[rows, cols])
        assert len(set(zip(rows.tolist(), cols.tolist()))) == len(rows)
    r1, c1, l1 = task.tests["Test I"]
    assert l1.all()
    r2, c2, l2 = task.tests["Test II"]
    r3, c3, l3 = task.tests["Test III"]
    assert rated_tags[r2, c2].all() and not rated_tags[r3, c3].any()
    assert len(l2) <= 800 and l2.mean() <= 0.3 + 1e-9 and l3.mean() <= 0.3 + 1e-9


def test_label_propensities_and_like_rate_baseline(task_and_rated):
    task, _, _ = task_and_rated
    p_pos = np.unique(task.propensity[task.observed & (task.values == 1)])
    p_neg = np.unique(task.propensity[task.observed & (task.values == 0)])
    assert len(p_pos) == 1 and len(p_neg) == 1 and p_pos[0] > p_neg[0], "likes are written more readily than dislikes"
    base = tag_like_rate(task)
    assert base.shape == task.liked.shape and (base[0] == base[-1]).all()


def test_fact_propensities_match_the_grid(task_and_rated):
    # P(y) from the raw slice gave P(o=1 | like) at 0.70x the truth: the slice over-samples tags on many movies
    task, _, _ = task_and_rated
    o, liked = task.observed, task.liked
    for label in (True, False):
        phat = np.unique(task.propensity[o & (liked == label)])
        ratio = phat[0] / o[liked == label].mean()
        assert len(phat) == 1 and 1 / 1.2 < ratio < 1.2, f"like={label}: phat / true P(o=1 | y) = {ratio:.2f}"


def test_rct_inclusion_is_exact_and_weights_are_checked():
    # M = 4 movies, k = 2 drawn: 1 - C(4 - n, 2) / C(4, 2)
    assert rct_inclusion([0, 1, 2, 3, 4], 4, 2) == pytest.approx([0, 0.5, 5 / 6, 1, 1])
    with pytest.raises(DebiasConfigError, match="k <= n_movies"):
        rct_inclusion([1], 4, 5)
    o = np.eye(3, dtype=bool)
    with pytest.raises(DebiasConfigError, match="rct_weights"):
        naive_bayes_propensity(o, o.astype(float), [0, 1], rct_weights=[1.0, -1.0])
    plain = naive_bayes_propensity(o, o.astype(float), [0, 1, 1], levels=[0, 1])
    weighted = naive_bayes_propensity(o, o.astype(float), [0, 1, 1], levels=[0, 1], rct_weights=[2.0, 1.0, 1.0])
    # every fact is a like: P(y=1 | o) = 4/5 (Laplace), P(o) = 1/3; the slice's P(y=1) is 3/5 raw, 1/2 with
    # its negative counted twice (effective counts 1.5 / 1.5, then Laplace)
    assert plain[0, 0] == pytest.approx(0.8 / 3 / 0.6) and weighted[0, 0] == pytest.approx(0.8 / 3 / 0.5)


def test_validation_split_is_ctar_s(task_and_rated):
    task, _, _ = task_and_rated
    rows, cols, labels = task.validation
    known = task.observed | task.rct_observed
    assert not known[rows, cols].any() and np.array_equal(labels == 1, task.liked[rows, cols])
    val_keys = set(zip(rows.tolist(), cols.tolist()))
    test_keys = {k for r, c, _ in task.tests.values() for k in zip(r.tolist(), c.tolist())}
    assert not val_keys & test_keys, "validation and test pairs overlap"
    n_test = sum(len(t[2]) for t in task.tests.values())
    assert len(labels) == pytest.approx(0.3 / 0.7 * n_test, rel=0.05) and 0 < labels.mean() < 1
    with pytest.raises(DebiasConfigError, match="validation_share"):
        TagTaskConfig(validation_share=1.0)


def test_tag_task_needs_the_world_truth():
    ctx = make_world(W, 0)
    ctx.extras.clear()
    with pytest.raises(DebiasConfigError, match="liked"):
        make_tag_task(ctx, np.zeros(ctx.rating.shape, bool))
    with pytest.raises(DebiasConfigError, match="remember"):
        TagTaskConfig(remember=2)


def test_learner_table_reports_ctar_test_aucs():
    cfg = LearnerConfig(
        mechanism="popularity", strength=1.0, world=W, learners=("MF-Naive", "MF-IPS"), mf=MFConfig(epochs=60, dim=8)
    )
    table = run_learners(cfg)
    assert list(table.learner) == ["Popularity", "MF-Naive", "MF-IPS"]
    for col in ("auc_test_II", "auc_test_III", "auc_test_all", "mse", "auc"):
        assert col in table
    assert table.auc_test_all.between(0.3, 1).all()
