"""The Corpus map coloured by a corpus file's own columns (AppTest): Colour by offers them, the legend names the
column and its range, blanks are grey and said, hover and the selection table show the values, and a file whose
values change under the same texts is coloured by the new values."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.settings import cache_dir
from core.viz.webgl_map import MISSING_COLOR, decode_payload
from tests._text import shown
from tests.corpus._mapdata import topic_corpus

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "corpus_map.py")
N = 60


def _write(path: Path, years: list, mtime: float) -> None:
    corpus, _ = topic_corpus(N, seed=3)
    labels = ["news" if i % 3 else "review" for i in range(N)]
    pd.DataFrame({"id": corpus.ids, "text": corpus.texts, "year": years, "label": labels}).to_csv(path, index=False)
    os.utime(path, (mtime, mtime))  # the sidebar reads a path again when its modification time changes


@pytest.fixture()
def dated_csv(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    path = tmp_path / "dated.csv"
    _write(path, [None if i % 10 == 0 else 1990 + i % 31 for i in range(N)], 1_000_000)
    return path


def _legend(at: AppTest) -> tuple[dict, dict]:
    (element,) = at.get("bidi_component")
    header, sections = decode_payload(element.proto.bytes)
    return header, sections


def test_colour_by_a_file_column_names_its_range_greys_blanks_and_lists_its_values(dated_csv):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = str(dated_csv)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="cm_color").options == ["cluster", "source", "year", "label", "doc_id",
                                                    "length (characters)"]
    first, _ = _legend(at)  # by cluster: the points travel, with their hover texts
    at.selectbox(key="cm_color").set_value("year").run()
    assert not at.exception, [e.value for e in at.exception]
    header, sections = _legend(at)
    legend = header["legend"]
    assert legend["title"] == "year, 1990 – 2019" and not legend["clusters"]
    assert legend["entries"][-1][1:] == ["missing", MISSING_COLOR, 6]  # one in ten has no year
    assert sum(e[3] for e in legend["entries"]) == N
    # the same points and hover texts (year already first among the file's columns): their colour codes alone travel
    assert header["v"] == first["v"] and "x" not in sections and len(sections["z"]) == N and "texts" not in header
    assert first["texts"][1].startswith("doc1 · cluster ") and " · year 1991 · label news: " in first["texts"][1]
    assert any("6 of 60 documents have no year: drawn grey" in shown(c.value) for c in at.caption)

    two = base64.b64encode(np.array([0, 4], dtype="<i4").tobytes()).decode()  # a selection of two documents
    at.session_state["corpus_map_webgl"] = {"have": header["v"], "selection": {"seq": 1, "n": N, "v": header["v"],
                                                                               "enc": "i32", "b64": two}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "text" in d.value.columns and len(d.value) == 2)
    assert list(table.columns) == ["doc_id", "cluster", "source", "year", "label", "text"]
    assert table["year"].isna().tolist() == [True, False] and table["year"].iloc[1] == 1994
    assert table["label"].tolist() == ["review", "news"]


def test_new_values_under_the_same_texts_recolour_the_map_without_a_stale_view(dated_csv):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = str(dated_csv)
    at.session_state["cm_color"] = "year"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    before, _ = _legend(at)
    assert before["legend"]["title"] == "year, 1990 – 2019"
    maps = sorted(p.name for p in cache_dir("maps").iterdir())
    _write(dated_csv, [2000 + i % 3 for i in range(N)], 2_000_000)  # the same texts, other years, none blank
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    header, sections = _legend(at)
    assert header["legend"]["title"] == "year, 2000 – 2002"
    assert [e[1:4:2] for e in header["legend"]["entries"]] == [["2000", 20], ["2001", 20], ["2002", 20]]
    assert not any("no year" in shown(c.value) for c in at.caption)
    assert header["v"] != before["v"] and len(sections["x"]) == N  # the new colours are sent
    assert sorted(p.name for p in cache_dir("maps").iterdir()) == maps  # the map on disk (same texts) read back
