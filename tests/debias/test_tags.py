"""CTAR's user-tag protocol on the lab's world: facts agree with the truth, tests never leak, quotas hold."""

from __future__ import annotations

import numpy as np
import pytest

from core.debias.data import DebiasConfigError, WorldConfig, make_world
from core.debias.lab import LearnerConfig, run_learners
from core.debias.learners import MFConfig
from core.debias.mechanisms import make_mechanism
from core.debias.tags import TagTaskConfig, make_tag_task, tag_like_rate

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


def test_tag_task_needs_the_world_truth():
    ctx = make_world(W, 0)
    ctx.extras.clear()
    with pytest.raises(DebiasConfigError, match="liked"):
        make_tag_task(ctx, np.zeros(ctx.rating.shape, bool))
    with pytest.raises(DebiasConfigError, match="remember"):
        TagTaskConfig(remember=2)


def test_learner_table_reports_ctar_test_aucs():
    cfg = LearnerConfig(mechanism="popularity", strength=1.0, world=W, learners=("MF-Naive", "MF-IPS"), mf=MFConfig(epochs=60, dim=8))
    table = run_learners(cfg)
    assert list(table.learner) == ["Popularity", "MF-Naive", "MF-IPS"]
    for col in ("auc_test_II", "auc_test_III", "auc_test_all", "mse", "auc"):
        assert col in table
    assert table.auc_test_all.between(0.3, 1).all()
