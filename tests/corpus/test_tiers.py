"""Encoder tiers: the agreement measures, and the real static (model2vec) tier distilled from MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from core.corpus.encoders import (
    STATIC_MODEL,
    HashingEncoder,
    distill_static_model,
    load_encoder,
    space_id,
    static_model_ready,
)
from core.corpus.tiers import kmeans_ari, measure_tier, neighbour_recall
from tests.corpus._mapdata import blobs, topic_corpus


def test_identical_spaces_agree_completely_and_rotations_do_not_matter():
    x, _ = blobs(300, k=6, d=24, seed=1)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(24, 24)))
    assert neighbour_recall(x, x) == pytest.approx(1.0)
    assert neighbour_recall((x @ q).astype(np.float32), x) == pytest.approx(1.0)
    assert kmeans_ari((x @ q).astype(np.float32), x, k=6) > 0.95


def test_unrelated_spaces_score_near_chance():
    x, _ = blobs(300, k=6, d=24, seed=1)
    noise = np.random.default_rng(5).normal(size=x.shape).astype(np.float32)
    assert neighbour_recall(noise, x) < 0.15  # chance is 10/299
    assert abs(kmeans_ari(noise, x, k=6)) < 0.1


def test_partial_agreement_lies_in_between():
    x, _ = blobs(300, k=6, d=24, spread=0.3, seed=2)
    blurred = x + 0.5 * np.random.default_rng(1).normal(size=x.shape).astype(np.float32) / np.sqrt(24)
    r = neighbour_recall(blurred, x)
    assert 0.15 < r < 0.99


def test_measure_tier_is_cached_per_corpus_and_sample(tmp_path):
    corpus, _ = topic_corpus(120, seed=3)
    ref = HashingEncoder(256).encode(corpus.texts)
    q = measure_tier(corpus.texts, ref, HashingEncoder(64), corpus.content_hash, reference="hashing-256")
    assert q.n_sample == 120 and 0 < q.recall_at_10 <= 1 and q.docs_per_s > 0
    assert "recall@10" in q.describe()
    again = measure_tier(corpus.texts, ref * 0 + 1, HashingEncoder(64), corpus.content_hash, reference="hashing-256")
    assert again == q  # read from the cache, not recomputed from the (now useless) reference
    with pytest.raises(ValueError, match="at least 20"):
        measure_tier(corpus.texts[:5], ref[:5], HashingEncoder(64), "other")


def test_space_ids_name_the_space_not_the_alias():
    assert space_id("hashing") == space_id("hashing-128") == HashingEncoder(128).space_id
    assert space_id(STATIC_MODEL).startswith("static-minilm/static-minilm-pca256")


@pytest.mark.slow
def test_real_distillation_makes_a_static_model_that_is_fast_and_sees_meaning(tmp_path, monkeypatch):
    """A real model2vec distillation of the packaged MiniLM (into a temporary models folder);
    the vectors keep topic structure and a second call reads the cache."""
    monkeypatch.setenv("EQUALCTAR_MODELS", str(tmp_path / "models"))
    folder = distill_static_model(pca_dims=32, out_dir=tmp_path / "models")
    assert (folder / "done").exists() and folder.parent == tmp_path / "models"
    assert distill_static_model(pca_dims=32) == folder  # cached: no second distillation
    enc = load_encoder(f"{STATIC_MODEL}:{folder}")
    assert enc.dim == 32 and enc.space_id == f"{STATIC_MODEL}/{folder.name}"
    v = enc.encode(["open a network socket to a host", "connect a client socket to a server port",
                    "parse the date and time of day", "convert a timestamp to a calendar date"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] and sims[2, 3] > sims[1, 2]


@pytest.mark.slow
@pytest.mark.skipif(not static_model_ready(), reason="the static tier is built by make setup (python -m core.corpus "
                                                     "distill --setup)")
def test_the_static_tier_agrees_with_minilm_far_above_chance():
    from core.corpus.encoders import SentenceEncoder

    corpus, truth = topic_corpus(120, seed=8)
    ref = SentenceEncoder().encode(corpus.texts)
    q = measure_tier(corpus.texts, ref, load_encoder(STATIC_MODEL), corpus.content_hash, use_cache=False, k=4)
    assert q.recall_at_10 > 0.2  # chance is 10/119
    assert q.ari > 0.3
