from __future__ import annotations

import numpy as np
import pytest

from core.corpus.embed import corpus_embedding_path, embed_corpus, embed_texts
from core.corpus.encoders import HashingEncoder
from tests.corpus._mapdata import topic_corpus


class CountingEncoder(HashingEncoder):
    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.calls = 0
        self.texts_seen = 0

    def encode(self, texts, batch_size=64, progress=None):
        texts = list(texts)
        self.calls += 1
        self.texts_seen += len(texts)
        return super().encode(texts, batch_size, progress)


def test_embed_corpus_unit_rows_and_cache_hit_recomputes_nothing():
    corpus, _ = topic_corpus(50, seed=11)
    enc = CountingEncoder()
    first = embed_corpus(corpus, enc)
    assert first.shape == (50, 64) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert corpus_embedding_path(corpus, enc).exists()
    again = embed_corpus(corpus, enc)
    assert enc.calls == 1  # the second call read the cache
    assert isinstance(again, np.memmap)
    np.testing.assert_array_equal(first, again)
    embed_corpus(corpus, enc, use_cache=False)
    assert enc.calls == 2


def test_embed_corpus_cache_key_depends_on_content_and_model():
    a, _ = topic_corpus(30, seed=1)
    b, _ = topic_corpus(30, seed=2)
    assert corpus_embedding_path(a, HashingEncoder(64)) != corpus_embedding_path(b, HashingEncoder(64))
    assert corpus_embedding_path(a, HashingEncoder(64)) != corpus_embedding_path(a, HashingEncoder(32))


def test_embed_texts_encodes_each_new_text_once():
    enc = CountingEncoder()
    vecs = embed_texts(["alpha beta", "gamma delta", "alpha beta"], enc)
    assert enc.texts_seen == 2  # duplicate encoded once
    np.testing.assert_array_equal(vecs[0], vecs[2])
    more = embed_texts(["gamma delta", "new text here"], enc)
    assert enc.texts_seen == 3  # only the unseen text
    np.testing.assert_array_equal(more[0], vecs[1])
    np.testing.assert_allclose(more[1], HashingEncoder(64).encode(["new text here"])[0])


def test_embed_rejects_bad_batch_size():
    corpus, _ = topic_corpus(5)
    with pytest.raises(ValueError, match="batch_size"):
        embed_corpus(corpus, HashingEncoder(16), batch_size=0)


@pytest.mark.slow
def test_real_packaged_model_is_384d_unit_and_semantic():
    from core.corpus.encoders import SentenceEncoder

    enc = SentenceEncoder()
    vecs = embed_texts(
        ["How do I open a file for reading in Python?",
         "What is the way to read a file in Python?",
         "The weather in the mountains was cold and windy."],
        enc, use_cache=False,
    )
    assert vecs.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    # longest-first batching returns rows in input order, each the vector of its own text
    texts = ["short", "a much longer sentence about reading files line by line in Python " * 3, "mid length text here",
             "x", "the second longest text in this list, about sockets and hosts"]
    batched = enc.encode(texts, batch_size=2)
    single = np.concatenate([enc.encode([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    seen: list[int] = []
    enc.encode(texts, batch_size=2, progress=lambda done, total: seen.append(done))
    assert seen == [2, 4, 5]
