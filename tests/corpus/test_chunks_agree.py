"""The Corpus map (core.corpus.load) and the Large corpus page (core.corpus.stream) cut one file into the same chunks.

The index once cut at 200 words only, while a load also cut every chunk to the encoder's 254 word pieces: a file
of long, punctuated documents gave the Large corpus page 486 rows where the Corpus map had 707.
"""

from __future__ import annotations

import json

import pytest

from core.corpus.chunking import chunk_document, estimate_tokens
from core.corpus.encoders import DEFAULT_MODEL, HashingEncoder, chunking_options
from core.corpus.load import load_corpus
from core.corpus.stream import LargeIndexConfig, chunking_of, index_large_corpus, iter_document_chunks

SENTENCE = ("See `os.path.join(a, b)`: it returns a/b; on Windows, C:\\x\\y (#1234, 5.6%). Then call f(x=1, y=2). ")


def _long_documents(path):
    """Documents of ~180 words and ~500 char-rule pieces (code-like prose), some without an id, one with outer
    whitespace, one short: each path must cut and name them alike."""
    rows = [{"id": f"doc{i}", "text": SENTENCE * (12 + i)} for i in range(6)]
    rows += [{"text": "\n  " + SENTENCE * 9 + "  \n"}, {"text": "  a short note  "}, {"id": "s", "text": "short"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _streamed(path, config):
    ids, texts = [], []
    for chunk_ids, chunk_texts in iter_document_chunks(path, config.chunk_size, max_words=config.max_words,
                                                       **chunking_of(config)):
        ids += chunk_ids
        texts += chunk_texts
    return ids, texts


@pytest.mark.parametrize("encoder", ["hashing-32", "static-minilm", DEFAULT_MODEL])
def test_stream_and_load_cut_a_file_into_the_same_chunks(tmp_path, encoder):
    path = _long_documents(tmp_path / "long.jsonl")
    corpus, report = load_corpus(path, **chunking_options(encoder))  # as the Corpus map loads it
    ids, texts = _streamed(path, LargeIndexConfig(encoder_name=encoder))
    assert len(corpus) > 2 * 9  # the token rule cut the 200-word chunks again
    assert (ids, texts) == (list(corpus.ids), list(corpus.texts))


def test_the_index_holds_the_chunks_a_load_makes(tmp_path):
    path = _long_documents(tmp_path / "long.jsonl")
    config = LargeIndexConfig(encoder_name="hashing-32", k=2, layout_sample=100, align_docs=0)
    lmap = index_large_corpus(path, config, encoder=HashingEncoder(32))
    corpus, _ = load_corpus(path, **chunking_options("hashing-32"))
    assert list(lmap.ids) == list(corpus.ids)
    assert lmap.texts(list(range(len(lmap)))) == list(corpus.texts)
    assert lmap.meta["config"]["max_tokens"] == 254 and lmap.meta["documents"] == 9


def test_chunk_document_keeps_every_chunk_within_the_window():
    chunks = chunk_document("  " + SENTENCE * 20 + "\n")
    assert len(chunks) > 1 and all(estimate_tokens(c) <= 254 and c == c.strip() for c in chunks)
    assert " ".join(chunks) == (SENTENCE * 20).strip()
