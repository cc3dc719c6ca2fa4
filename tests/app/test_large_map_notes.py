"""The Large corpus page says what indexing skipped, and a search that cannot run keeps the map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.corpus.encoders import HashingEncoder
from core.corpus.stream import LargeIndexConfig, index_large_corpus

APP = str(Path(__file__).resolve().parents[2] / "app.py")
WORDS = ["apple banana fruit", "car engine wheel", "python code function", "river water fish"]


@pytest.fixture()
def small_builtin_roots(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")
    monkeypatch.setenv("EQUALCTAR_ROOTS", str(tmp_path))
    return tmp_path


def _page(path: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("pages/large_map.py")
    at.session_state["lm_path"] = str(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_lists_the_records_indexing_skipped_with_their_lines(small_builtin_roots):
    path = small_builtin_roots / "mixed.jsonl"
    lines = [json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) for i in range(60)]
    lines[10], lines[20] = "{not json", json.dumps({"text": ""})
    path.write_text("\n".join(lines) + "\n")
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    at = _page(path)
    notes = [e for e in at.expander if e.label.startswith("What indexing skipped")]
    assert [e.label for e in notes] == ["What indexing skipped: 2 of 60 records skipped; 2 notes"]
    table = notes[0].dataframe[0].value
    assert table["where"].tolist() == ["mixed.jsonl:11", "mixed.jsonl:21"]
    assert table["note"].str.contains("malformed JSON").iloc[0] and table["note"].str.contains("empty").iloc[1]


def test_a_clean_index_shows_no_notes(small_builtin_roots):
    path = small_builtin_roots / "clean.jsonl"
    path.write_text("".join(json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) + "\n" for i in range(60)))
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    assert not [e for e in _page(path).expander if e.label.startswith("What indexing skipped")]


def test_a_search_whose_encoder_cannot_load_says_so_and_keeps_the_map(small_builtin_roots):
    """An index made by a model folder since gone (``python -m core.corpus index --encoder <folder>``)."""
    gone = HashingEncoder(16)
    gone.name = gone.space_id = str(small_builtin_roots / "models" / "mine")  # no such folder
    path = small_builtin_roots / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) + "\n" for i in range(60)))
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=gone)
    at = _page(path)
    at.text_input(key="lm_query").set_value("apple").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "Could not load the encoder" in at.error[0].value
    assert "mine" in at.error[0].value  # the encoder that could not load is named
    assert len(at.get("bidi_component")) == 1  # the map is still drawn
    assert any("60 documents (60 drawn)" in c.value for c in at.caption)


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
    assert any("indexed in 54 s." in c.value for c in _page(path).caption)


def test_a_query_with_no_known_word_marks_no_hits_on_an_aligned_index_too(small_builtin_roots):
    """The ridge map turns the static tier's zero vector (an emoji) into its intercept, near every document alike:
    hashing-64 stands in for MiniLM, a punctuation query for the emoji."""
    path = small_builtin_roots / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"{WORDS[i % 4]} document {i}"}) + "\n" for i in range(200)))
    config = LargeIndexConfig(k=4, layout_sample=100, align_docs=100, align_encoder="hashing-64")
    lmap = index_large_corpus(path, config, encoder=HashingEncoder(16))
    assert (lmap.folder / "align.npz").exists()
    at = _page(path)
    at.text_input(key="lm_query").set_value("!!!").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No searchable words" in c.value for c in at.caption)
    assert not any("score" in d.value.columns for d in at.dataframe)
    at.text_input(key="lm_query").set_value("river water").run()
    hits = next(d.value for d in at.dataframe if "score" in d.value.columns)
    assert hits["text"].str.contains("river water").iloc[0]
