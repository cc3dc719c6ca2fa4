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
from core.equal.docmodel import DocValueModel, calc_doc_values  # noqa: E402
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
