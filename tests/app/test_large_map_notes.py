"""The Large corpus page says what indexing skipped, and a search that cannot run keeps the map."""

from __future__ import annotations

import json

import pytest

from core.corpus.encoders import HashingEncoder
from core.corpus.stream import LargeIndexConfig, index_large_corpus
from tests._large_map import WORDS, allow_root, open_large_map


@pytest.fixture()
def small_builtin_roots(tmp_path, monkeypatch):
    return allow_root(monkeypatch, tmp_path)


def test_the_page_lists_the_records_indexing_skipped_with_their_lines(small_builtin_roots):
    path = small_builtin_roots / "mixed.jsonl"
    lines = [json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) for i in range(60)]
    lines[10], lines[20] = "{not json", json.dumps({"text": ""})
    path.write_text("\n".join(lines) + "\n")
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    at = open_large_map(path)
    notes = [e for e in at.expander if e.label.startswith("What indexing skipped")]
    assert [e.label for e in notes] == ["What indexing skipped: 2 of 60 records skipped; 2 notes"]
    table = notes[0].dataframe[0].value
    assert table["where"].tolist() == ["mixed.jsonl:11", "mixed.jsonl:21"]
    assert table["note"].str.contains("malformed JSON").iloc[0] and table["note"].str.contains("empty").iloc[1]


def test_a_clean_index_shows_no_notes(small_builtin_roots):
    path = small_builtin_roots / "clean.jsonl"
    path.write_text("".join(json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) + "\n" for i in range(60)))
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    assert not [e for e in open_large_map(path).expander if e.label.startswith("What indexing skipped")]


def test_a_search_whose_encoder_cannot_load_says_so_and_keeps_the_map(small_builtin_roots):
    """An index made by a model folder since gone (``python -m core.corpus index --encoder <folder>``)."""
    gone = HashingEncoder(16)
    gone.name = gone.space_id = str(small_builtin_roots / "models" / "mine")  # no such folder
    path = small_builtin_roots / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) + "\n" for i in range(60)))
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=gone)
    at = open_large_map(path)
    at.text_input(key="lm_query").set_value("apple").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "Could not load the encoder" in at.error[0].value
    assert "mine" in at.error[0].value  # the encoder that could not load is named
    assert len(at.get("bidi_component")) == 1  # the map is still drawn
    assert any("60 documents (60 drawn)" in c.value for c in at.caption)
    said = next(c for c in at.caption if "60 documents (60 drawn)" in c.value)  # the space's id is code: in the help
    assert "embedding space" not in said.value and gone.space_id not in said.value, said.value
    assert gone.space_id in said.proto.help, said.proto.help
    assert any("60 rows from 60 documents: a document over 200 words or 254 word pieces is cut into chunks, as the "
               "Corpus map cuts it" in c.value for c in at.caption)  # how the rows were cut, said under the map


def test_the_time_indexing_took_counts_the_layouts_umap_once(small_builtin_roots):
    """``umap_sample`` is timed inside ``layout``: the caption's total must not add it again."""
    path = small_builtin_roots / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) + "\n" for i in range(60)))
    lmap = index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    assert lmap.meta["timings"]["umap_sample"] <= lmap.meta["timings"]["layout"]
    meta = json.loads((lmap.folder / "meta.json").read_text())
    meta["timings"] = {"embed": 10.0, "cluster": 2.0, "umap_sample": 30.0, "layout": 40.0, "keywords": 1.0,
                       "search_index": 1.0}  # as a large corpus's build records them, UMAP 30 s of the layout's 40
    (lmap.folder / "meta.json").write_text(json.dumps(meta))
    assert any("indexed in 54 s." in c.value for c in open_large_map(path).caption)


def test_a_query_with_no_known_word_marks_no_hits_on_an_aligned_index_too(small_builtin_roots):
    """The ridge map turns the static tier's zero vector (an emoji) into its intercept, near every document alike:
    hashing-64 stands in for MiniLM, a punctuation query for the emoji."""
    path = small_builtin_roots / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) + "\n" for i in range(200)))
    config = LargeIndexConfig(k=4, layout_sample=100, align_docs=100, align_encoder="hashing-64")
    lmap = index_large_corpus(path, config, encoder=HashingEncoder(16))
    assert (lmap.folder / "align.npz").exists()
    at = open_large_map(path)
    at.text_input(key="lm_query").set_value("!!!").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No searchable words" in c.value for c in at.caption)
    assert not any("score" in d.value.columns for d in at.dataframe)
    at.text_input(key="lm_query").set_value("river water").run()
    hits = next(d.value for d in at.dataframe if "score" in d.value.columns)
    assert hits["text"].str.contains("river water").iloc[0]
