"""The Large corpus page with a small index of a folder: an edited file inside the folder is seen (the folder's own
mtime does not change), and a query with no word the encoder knows marks no hits."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.corpus.encoders import HashingEncoder
from core.corpus.stream import LargeIndexConfig, index_large_corpus

APP = str(Path(__file__).resolve().parents[2] / "app.py")
WORDS = ["apple banana fruit", "car engine wheel", "python code function", "river water fish"]


@pytest.fixture()
def indexed_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")
    monkeypatch.setenv("EQUALCTAR_ROOTS", str(tmp_path))
    folder = tmp_path / "corp"
    folder.mkdir()
    for i in range(150):
        (folder / f"doc{i:03d}.txt").write_text(f"{WORDS[i % 4]} document {i}")
    index_large_corpus(folder, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    return folder


def _page(folder: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("pages/large_map.py")
    at.session_state["lm_path"] = str(folder)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_file_edited_inside_an_indexed_folder_asks_for_a_new_index(indexed_folder):
    at = _page(indexed_folder)
    assert not any("has no index yet" in w.value for w in at.warning)
    mtime = indexed_folder.stat().st_mtime
    with open(indexed_folder / "doc000.txt", "a") as f:
        f.write(" edited with more words")
    assert indexed_folder.stat().st_mtime == mtime  # the folder itself looks unchanged
    st.cache_data.clear()  # the folder's files are walked again at most every 30 s: as if that long had passed
    at.run()
    assert any("has no index yet" in w.value for w in at.warning)


def test_a_query_with_no_known_word_marks_no_hits(indexed_folder):
    at = _page(indexed_folder)
    at.text_input(key="lm_query").set_value("!!!")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.dataframe or all("score" not in d.value.columns for d in at.dataframe)
    assert any("No searchable words" in c.value for c in at.caption)
    at.text_input(key="lm_query").set_value("car engine")
    at.run()
    assert any("score" in d.value.columns for d in at.dataframe)
