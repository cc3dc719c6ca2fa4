"""Learning inside a cluster (issue #28): the document value model, the learned order and the "next" arm prior."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.arms import ArmDocs  # noqa: E402
from core.equal.config import RunConfig, RunConfigError  # noqa: E402
from core.equal.docmodel import DocValueModel, LearnedValueModel, calc_doc_values  # noqa: E402
from core.equal.run import BanditRun  # noqa: E402
from core.equal.store import RunStore  # noqa: E402


def _mixed_setup():
    """The test corpus with 30 barren look-alikes of the reference (JSON questions, no answers) put into the answered
    JSON cluster (label 0): most similar first reads them before any answered JSON document."""
    ids, texts, labels, ref, ext, embed, config = make_setup()
    decoys = [f"Use the json string helper, the json dict helper, the json file helper, the json object helper. "
              f"How do I parse a json string? How do I serialize a json dict? How do I decode a json file? ({i})"
              for i in range(30)]
    ids = ids + [f"decoy{i}" for i in range(30)]
    texts = texts + decoys
    labels = np.concatenate([labels, np.zeros(30, dtype=labels.dtype)])
    return ids, texts, labels, ref, ext, embed, replace(config, budget=0.4)


def test_doc_values_are_the_mean_best_cosine_of_each_documents_pairs():
    ref = np.array([[1.0, 0.0], [0.0, 1.0]])
    pairs = np.array([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    values = calc_doc_values(["a", "b", "c"], ["a", "a", "c"], pairs, ref)
    assert values.tolist() == pytest.approx([0.9, 0.0, 0.0])  # b read nothing; c's pair is unlike D_r (clipped)


def test_model_scores_by_similarity_until_it_has_read_enough():
    emb = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    sim = np.array([0.9, 0.5, 0.1, 0.8, 0.4, 0.2])
    m = DocValueModel(emb, sim, min_docs=3)
    assert m.score([0, 1, 2]).tolist() == sim[:3].tolist()
    m.observe([0, 1, 2], np.array([0.0, 0.0, 0.7]))  # the most similar kind is barren, the least similar pays
    s = m.score([3, 4, 5])
    assert s[2] > s[0]
    with pytest.raises(ValueError, match="lam"):
        DocValueModel(emb, sim, lam=0)


def test_learned_order_reads_answered_documents_past_barren_look_alikes():
    # cluster 0 holds the answered JSON documents and 30 barren look-alikes that are more similar to D_r
    ids, texts, labels, ref, ext, embed, config = _mixed_setup()
    emb = embed(texts)
    sim = (emb @ ref.T).max(axis=1)
    decoy = np.array([d.startswith("decoy") for d in ids])
    assert sim[decoy].mean() > sim[labels == 0][~decoy[labels == 0]].mean()
    model = DocValueModel(emb, sim, min_docs=10)
    similar = ArmDocs(labels, docs_per_pull=5, order="similar", scores=sim)
    learned = ArmDocs(labels, docs_per_pull=5, order="learned", scores=sim, scorer=model.score)
    assert all(decoy[similar.peek(0)]) and all(decoy[learned.peek(0)])  # nothing learned yet: the same order
    # what the run has read elsewhere: ten look-alikes that yielded nothing, ten answered documents of other topics
    read_decoys = np.flatnonzero(decoy)[:10]
    read_answered = np.flatnonzero(labels == 1)[:10]
    for arms in (similar, learned):
        arms.take(read_decoys)
    model.observe(read_decoys, np.zeros(10))
    model.observe(read_answered, np.full(10, 0.6))
    assert all(decoy[similar.peek(0)])  # most similar first still reads look-alikes
    assert not any(decoy[learned.peek(0)])  # the learned order reads the answered JSON documents


def test_learned_run_resumes_exactly(tmp_path):
    ids, texts, labels, ref, ext, embed, config = _mixed_setup()
    config = replace(config, doc_order="learned", arm_prior="next", order_explore=0.5)
    docs = embed(texts)
    whole = BanditRun(config, make_space(ids, texts, labels, doc_emb=docs), ref, ext, embed).run_until_done()
    store = RunStore(tmp_path / "runs.db")
    first = BanditRun(config, make_space(ids, texts, labels, doc_emb=docs), ref, ext, embed, store=store, run_id="r")
    for _ in range(4):
        first.step()
    first.pause()
    again = BanditRun.resume(store, "r", make_space(ids, texts, labels, doc_emb=docs), ref, ext, embed)
    again.run_until_done()
    cols = ["arm", "reward", "n_docs"]
    assert again.pulls_frame()[cols].equals(whole.pulls_frame()[cols])


def test_new_settings_are_validated_by_name():
    with pytest.raises(RunConfigError, match="arm_prior"):
        RunConfig(arm_prior="all")
    with pytest.raises(RunConfigError, match="doc_similarity"):
        RunConfig(doc_similarity="median")
    with pytest.raises(RunConfigError, match="order_explore"):
        RunConfig(order_explore=-1)


# ------------------------------------------------------------------ the "learned" policy (issue #28)
def _run_policy(policy: str, budget: float, **changes) -> BanditRun:
    ids, texts, labels, ref, ext, embed, config = _mixed_setup()
    space = make_space(ids, texts, labels, doc_emb=embed(texts))
    return BanditRun(replace(config, policy=policy, budget=budget, **changes), space, ref, ext, embed)


def _read(run: BanditRun) -> list[str]:
    return [run.doc_ids[i] for i in np.flatnonzero(run.arms.taken)]


def test_learned_policy_starts_where_avg_sim_starts_and_leaves_barren_look_alikes():
    first = {p: _read(_run_policy(p, 0.5).run_until_done(max_rounds=1)) for p in ("avg-sim", "learned")}
    assert first["learned"] == first["avg-sim"] and all(d.startswith("decoy") for d in first["learned"])
    runs = {p: _run_policy(p, 0.2).run_until_done() for p in ("avg-sim", "learned")}
    decoys = {p: sum(d.startswith("decoy") for d in _read(r)) for p, r in runs.items()}
    assert decoys["avg-sim"] == 30 and decoys["learned"] <= 10  # Avg-sim reads every look-alike, learned stops early
    assert len(runs["learned"].pairs) > 2 * len(runs["avg-sim"].pairs)
    pulls = runs["learned"].pulls_frame()
    assert (pulls.groupby("round")["arm"].nunique() == pulls.groupby("round").size()).all()  # one pull per cluster


def test_learned_value_model_marks_down_a_barren_cluster_beyond_its_embedding():
    # two clusters of identical documents (same embedding, same similarity): only the per-cluster intercept tells
    # them apart once cluster 0's reads come back barren and cluster 1's pay
    emb = np.tile(np.eye(3)[0], (40, 1))
    labels = np.repeat([0, 1], 20)
    sim = np.r_[0.0, np.full(39, 0.5)]
    model = LearnedValueModel(emb, sim, labels)
    assert model.score([5])[0] == model.score([25])[0]
    model.observe(np.r_[1:6, 20:25], np.r_[np.zeros(5), np.full(5, 0.8)])
    assert model.score([10])[0] < model.score([30])[0]
    with pytest.raises(ValueError, match="lam_arm"):
        LearnedValueModel(emb, sim, labels, lam_arm=0)


def test_learned_policy_seeds_mean_something_only_with_exploration():
    assert RunConfig().policy == "learned" and RunConfig().deterministic
    fixed = [_run_policy("learned", 0.4, seed=sd).run_until_done().pulls_frame() for sd in (3, 4)]
    assert fixed[0][["arm", "reward", "n_docs"]].equals(fixed[1][["arm", "reward", "n_docs"]])
    assert not RunConfig(order_explore=0.5).deterministic
    a, b, c = (_run_policy("learned", 0.4, seed=sd, order_explore=0.5).run_until_done() for sd in (3, 3, 4))
    assert _read(a) == _read(b) and a.pulls_frame().equals(b.pulls_frame())  # the same seed: the same run
    assert _read(a) != _read(c)  # another seed: another run


def test_learned_policy_resumes_exactly(tmp_path):
    whole = _run_policy("learned", 0.4).run_until_done()
    ids, texts, labels, ref, ext, embed, config = _mixed_setup()
    config = replace(config, policy="learned", budget=0.4)
    store = RunStore(tmp_path / "runs.db")
    first = BanditRun(config, make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed, store=store,
                      run_id="r")
    for _ in range(3):
        first.step()
    first.pause()
    again = BanditRun.resume(store, "r", make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed)
    again.run_until_done()
    cols = ["arm", "reward", "n_docs"]
    assert again.pulls_frame()[cols].equals(whole.pulls_frame()[cols])
