"""The Large corpus page with a small index of a folder: an edited file inside the folder is seen (the folder's own
mtime does not change), and a query with no word the encoder knows marks no hits."""

from __future__ import annotations

import pytest
import streamlit as st

from core.corpus.encoders import HashingEncoder
from core.corpus.stream import LargeIndexConfig, index_large_corpus
from tests._large_map import WORDS, allow_root, open_large_map


@pytest.fixture()
def indexed_folder(tmp_path, monkeypatch):
    folder = allow_root(monkeypatch, tmp_path) / "corp"
    folder.mkdir()
    for i in range(150):
        (folder / f"doc{i:03d}.txt").write_text(f"{WORDS[i % 4]} document {i}")
    index_large_corpus(folder, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    return folder


def test_a_file_edited_inside_an_indexed_folder_asks_for_a_new_index(indexed_folder):
    at = open_large_map(indexed_folder)
    assert not any("has no index yet" in w.value for w in at.warning)
    mtime = indexed_folder.stat().st_mtime
    with open(indexed_folder / "doc000.txt", "a") as f:
        f.write(" edited with more words")
    assert indexed_folder.stat().st_mtime == mtime  # the folder itself looks unchanged
    st.cache_data.clear()  # the folder's files are walked again at most every 30 s: as if that long had passed
    at.run()
    assert any("has no index yet" in w.value for w in at.warning)


def test_a_query_with_no_known_word_marks_no_hits(indexed_folder):
    at = open_large_map(indexed_folder)
    at.text_input(key="lm_query").set_value("!!!")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.dataframe or all("score" not in d.value.columns for d in at.dataframe)
    assert any("No searchable words" in c.value for c in at.caption)
    at.text_input(key="lm_query").set_value("car engine")
    at.run()
    assert any("score" in d.value.columns for d in at.dataframe)
