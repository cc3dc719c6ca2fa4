from __future__ import annotations

import numpy as np

from core.ctar.sampler import sample
from core.ctar.testsets import extract_facts
from tests.ctar.conftest import small_config


def _keys(df, v):
    return set((df["userid"] * v + df["tagid"]).tolist())


def test_test_sets_are_leak_free_and_labelled(small_sample):
    s = small_sample
    v = s.liked.shape[1]
    facts = extract_facts(s.obstag, s.rcttag, s.movie_tags, s.liked, v)
    known = set(facts.keys.tolist())
    t = {k: pd for k, pd in s.tests.items()}
    t1 = _keys(t["test_1"], v) | _keys(t["val_1"], v)
    t2 = _keys(t["test_2"], v) | _keys(t["val_2"], v)
    t3 = _keys(t["test_3"], v) | _keys(t["val_3"], v)
    assert not (t1 & known) and not (t2 & known) and not (t3 & known)
    assert not (t1 & t2) and not (t1 & t3) and not (t2 & t3)
    for name in ("test_1", "test_2", "test_3", "val_2"):
        df = t[name]
        assert (df["islike"].to_numpy() == s.liked[df["userid"], df["tagid"]]).all()
        assert not df.duplicated(["userid", "tagid"]).any()
    assert t["test_1"]["islike"].eq(1).all()
    # II: tag on a rated movie of the user; III: on none
    rated_tags = set()
    for u, m in zip(s.rating["userid"], s.rating["movieid"]):
        rated_tags.update(int(u) * v + int(x) for x in s.movie_tags[m])
    assert t2 <= rated_tags and not (t3 & rated_tags)
    # quotas and validation share (CTAR: 30%)
    assert len(t["test_2"]) + len(t["val_2"]) == 600
    assert (t["test_2"]["islike"].sum() + t["val_2"]["islike"].sum()) == 180
    assert abs(len(t["val_2"]) / 600 - 0.3) < 0.01
    assert len(t["test"]) == len(t["test_1"]) + len(t["test_2"]) + len(t["test_3"])


def test_training_facts_positive_overrides_negative():
    import pandas as pd

    movie_tags = np.array([[0, 1], [1, 2]])
    obstag = pd.DataFrame({"userid": [0, 0], "movieid": [0, 1], "tagid": [-1, 1]})
    rct = pd.DataFrame({"userid": [1], "movieid": [1], "tagid": [2]})
    f = extract_facts(obstag, rct, movie_tags, None, 3).frame()
    got = {(int(r.userid), int(r.tagid)): int(r.islike) for r in f.itertuples()}
    assert got == {(0, 0): 0, (0, 1): 1, (1, 1): 0, (1, 2): 1}


def test_unfillable_quotas_end_with_a_note_instead_of_looping(synthetic_inputs):
    s = sample(small_config(n_users=60, rct_users=5, test_identifiable_n=50_000, test_identifiable_pos=40_000,
                            test_max_rounds=5), synthetic_inputs)
    assert any("Test II" in n and "positive" in n for n in s.notes)
    assert len(s.tests["test_2"]) + len(s.tests["val_2"]) < 50_000


def test_exact_compat_keeps_the_original_leak(synthetic_inputs):
    leaky = sample(small_config(test_exact_compat=True), synthetic_inputs)
    v = leaky.liked.shape[1]
    known = set(extract_facts(leaky.obstag, leaky.rcttag, leaky.movie_tags, leaky.liked, v).keys.tolist())
    t1 = _keys(leaky.tests["test_1"], v) | _keys(leaky.tests["val_1"], v)
    assert t1 & known  # the release's 795-of-1,267 kind of leak
    assert len(leaky.tests["test_1"]) + len(leaky.tests["val_1"]) == len(leaky.forgotten)
