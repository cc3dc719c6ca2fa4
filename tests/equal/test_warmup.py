"""Contrastive warm-up (Stage A): configuration, batching, mining, the real fine-tune, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.corpus.load import Corpus
from core.equal.extract.rules import RuleExtractor
from core.equal.warmup import (
    WarmupConfig,
    WarmupError,
    _batches,
    _mine_negatives,
    compare_clusterings,
    info_nce,
    run_warmup,
    training_set,
)

TOPICS = ["python lists", "french cooking", "tax returns", "guitar chords", "mars rovers",
          "tide pools", "sourdough bread", "chess openings", "knitting socks", "solar panels",
          "bee keeping", "jazz piano", "ice hockey", "wine tasting", "volcano eruptions",
          "origami cranes", "bike repair", "coffee roasting", "bird migration", "roman history",
          "tax audits", "rose pruning", "sql joins", "marathon training", "tea ceremonies",
          "lunar eclipses", "pottery glazes", "sailing knots", "credit scores", "cave diving",
          "violin bows", "desert plants", "rust lifetimes", "oil painting", "train signals",
          "cheese aging", "kite surfing", "ant colonies", "book binding", "glacier melt"]
ASKS = ["What should a beginner know about {t}?", "Why does {t} matter?",
        "How do you get started with {t}?", "What is the hardest part of {t}?"]


BOILERPLATE = ("Home | Shop | Blog | Contact. Subscribe to our newsletter for weekly deals and "
               "free shipping on orders over fifty dollars. Cookies help us deliver our services; "
               "by using this site you agree to our privacy policy and terms of use. "
               "Follow us on social media and share this page with your friends.")


def _corpus(n: int = 40) -> Corpus:
    """Tiny pages: the same long web boilerplate around one QA pair each (two on every fifth
    page), after four boilerplate-only pages that yield nothing, so pair positions, document
    positions and document ids all differ. The warm-up should learn to look past the
    boilerplate at what a page yields."""
    texts = [f"{BOILERPLATE}\n\nPage {k} of our archive." for k in range(4)]
    for i in range(n):
        text = (f"{BOILERPLATE}\n\nQ: {ASKS[i % 4].format(t=TOPICS[i])}\n"
                f"A: With {TOPICS[i]}, patience and practice matter most.")
        if i % 5 == 0:
            text += f"\n\nQ: Where can I learn {TOPICS[i]}?\nA: A local club teaches {TOPICS[i]}."
        texts.append(text)
    ids = tuple(f"doc-{k}" for k in range(len(texts)))
    return Corpus(ids, tuple(texts), ids, name="tiny")


@pytest.mark.parametrize(
    ("field", "value"),
    [("sample_share", 0.0), ("sample_share", 1.5), ("batch_size", 1), ("lr", 0.0), ("epochs", 0),
     ("negative_ranks", (0, 5)), ("max_pairs", 1)],
)
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        WarmupConfig(**{field: value})


def test_config_defaults_match_the_brief():
    c = WarmupConfig()
    assert (c.sample_share, c.epochs, c.batch_size, c.lr, c.hard_negatives, c.seed, c.max_pairs) == (
        0.05, 1, 16, 2e-5, False, 42, 2000)


def test_batches_cover_every_pair_once_without_repeating_a_key():
    rng = np.random.default_rng(0)
    doc_of = [0, 0, 0, 1, 1, 2, 3, 4, 5, 5, 6, 7]
    # pair i's positive is "qa-i"; pair 6 uses pair 7's positive as its hard negative
    keys = [frozenset({("doc", d), ("qa", f"qa-{i}")}) for i, d in enumerate(doc_of)]
    keys[6] = keys[6] | {("qa", "qa-7")}
    batches = _batches(keys, 4, rng)
    assert sorted(i for b in batches for i in b) == list(range(len(doc_of)))
    for b in batches:
        assert len(b) <= 4
        assert len({doc_of[i] for i in b}) == len(b)
        assert not {6, 7} <= set(b)


def test_mined_negatives_come_from_other_documents_within_the_rank_window():
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(6, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    pair_doc = np.array([0, 0, 1, 2, 3, 4])  # two pairs of document 0
    doc_vecs = vecs  # document i's vector is row i
    qa_vecs = vecs[[0, 1, 2, 3, 4, 5]]
    cfg = WarmupConfig(n_negatives=2, negative_ranks=(2, 3))
    neg = _mine_negatives(doc_vecs, qa_vecs, pair_doc, cfg, rng)
    assert neg.shape == (6, 2)
    for i, row in enumerate(neg):
        assert all(pair_doc[j] != pair_doc[i] for j in row)
        sims = doc_vecs[pair_doc[i]] @ qa_vecs.T
        others = [j for j in np.argsort(-sims) if pair_doc[j] != pair_doc[i]]
        assert set(row.tolist()) <= set(others[1:3])  # ranks 2..3: the nearest other is skipped


def test_the_alignment_is_measured_on_documents_held_out_of_training():
    corpus = _corpus(40)
    ids, texts = list(corpus.ids), list(corpus.texts)
    chosen = np.arange(len(ids))
    extraction = RuleExtractor().extract(list(zip(ids, texts)))
    ts = training_set(ids, texts, chosen, extraction, WarmupConfig(), np.random.default_rng(0))
    held = {ids[d] for d in ts.held_out}
    assert len(held) == 8 and ts.n_docs_with_pairs == 40  # a fifth of the 40 documents with pairs
    assert held.isdisjoint(p.doc_id for p in ts.pairs) and not set(ts.held_out) & set(ts.pair_doc.tolist())
    eval_docs, eval_qas = ts.eval_texts
    assert len(eval_docs) == len(eval_qas) == 8
    assert set(eval_docs).isdisjoint(ts.anchors) and set(eval_qas).isdisjoint(ts.positives)
    assert len(ts.pairs) + sum(p.doc_id in held for p in extraction.pairs) == len(extraction.pairs)
    few = RuleExtractor().extract(list(zip(ids[4:7], texts[4:7])))  # 3 documents: none can be spared
    small = training_set(ids, texts, chosen, few, WarmupConfig(), np.random.default_rng(0))
    assert small.held_out == [] and small.eval_texts == ([], []) and len(small.pairs) == len(few.pairs)


def test_warmup_without_pairs_fails_with_a_clear_message(tmp_path):
    prose = Corpus(("a", "b", "c"), ("Plain text.", "More plain text.", "Nothing here."), ("a", "b", "c"))
    with pytest.raises(WarmupError, match="sample_share"):
        run_warmup(prose, "unused-model", RuleExtractor(), WarmupConfig(sample_share=1.0), tmp_path)


def test_compare_clusterings_identical_and_reward_aligned():
    before = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    rewards = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, np.nan])
    same = compare_clusterings(before, before, rewards)
    assert same["ari"] == pytest.approx(1.0) and same["spread_change"] == pytest.approx(0.0)
    after = np.array([0, 1, 0, 1, 0, 1, 0, 1])  # clusters now separate paying from non-paying docs
    report = compare_clusterings(before, after, rewards)
    assert report["ari"] < 0.5
    assert report["spread_after"] == pytest.approx(0.0)
    assert report["spread_before"] == pytest.approx(0.5)
    assert report["explained_after"] == pytest.approx(1.0) and report["explained_before"] < 0.2
    assert report["n_scored"] == 7


def test_compare_clusterings_checks_shapes():
    with pytest.raises(ValueError, match="rewards_per_doc"):
        compare_clusterings([0, 1], [0, 1], [1.0])


@pytest.mark.slow
def test_real_warmup_of_packaged_model(tmp_path):
    from core.corpus.encoders import DEFAULT_MODEL, SentenceEncoder

    corpus = _corpus(40)
    stages: list[str] = []
    cfg = WarmupConfig(sample_share=1.0, epochs=1, batch_size=8, lr=5e-5, hard_negatives=True, seed=7)
    result = run_warmup(corpus, DEFAULT_MODEL, RuleExtractor(), cfg, tmp_path / "warm",
                        progress=lambda stage, done, total: stages.append(stage))
    assert result.n_docs_with_pairs == 40 and result.n_docs_held_out == 8 and result.n_negatives == 3
    assert result.extraction is not None and result.extraction.calls == 44
    held = set(result.held_out_ids)
    assert held.isdisjoint(p.doc_id for p in result.pairs)  # none of their pairs was trained on
    assert result.n_train_pairs == 48 - sum(p.doc_id in held for p in result.extraction.pairs)
    assert len(result.loss_history) >= 4 and all(np.isfinite(result.loss_history))  # >= 36 / 8 steps
    assert result.seconds > 0  # timing is for benchmarks, not tests (CI machines are noisy)
    assert {"extract", "mine", "train", "save"} <= set(stages)
    meta = json.loads((tmp_path / "warm" / "warmup.json").read_text())
    assert meta["n_train_pairs"] == result.n_train_pairs and meta["extractor"] == "rules"

    # the saved folder loads as an encoder, and the held-out documents sit nearer to their own QA
    # string than to the others' (InfoNCE over each one's first pair fell; measured independently)
    first = [next(p for p in result.extraction.pairs if p.doc_id == d) for d in sorted(held, key=corpus.ids.index)]
    qa = [p.as_text() for p in first]
    docs = [corpus.texts[corpus.ids.index(p.doc_id)] for p in first]
    assert len(first) == 8
    after = SentenceEncoder(result.model_path)
    assert after.encode(["hello"]).shape == (1, after.dim)
    before = SentenceEncoder(DEFAULT_MODEL)
    loss_before, _ = info_nce(before.encode(docs), before.encode(qa), cfg.scale)
    loss_after, _ = info_nce(after.encode(docs), after.encode(qa), cfg.scale)
    assert loss_after < loss_before
    assert result.eval_loss_after < result.eval_loss_before
    assert result.eval_loss_before == pytest.approx(loss_before, rel=1e-3)
