"""The Large corpus page coloured by a corpus file's own columns (AppTest): Colour by offers them, the legend names
the column and its range with blanks grey (the Corpus map's colouring), and hover shows the value."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.corpus.encoders import HashingEncoder
from core.corpus.stream import LargeIndexConfig, index_large_corpus
from core.viz.webgl_map import MISSING_COLOR, decode_payload
from tests._large_map import WORDS, allow_root, open_large_map
from tests._text import shown

N = 140


@pytest.fixture()
def indexed_csv(tmp_path, monkeypatch):
    path = allow_root(monkeypatch, tmp_path) / "dated.csv"
    pd.DataFrame({"id": [f"d{i}" for i in range(N)], "text": [f"{WORDS[i % 4]} document {i}" for i in range(N)],
                  "year": [None if i % 10 == 0 else 1990 + i % 20 for i in range(N)],
                  "label": ["news" if i % 3 else "review" for i in range(N)]}).to_csv(path, index=False)
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(16))
    return path


def _header(at) -> dict:
    (element,) = at.get("bidi_component")
    return decode_payload(element.proto.bytes)[0]


def test_colour_by_offers_the_files_columns_and_applies_one(indexed_csv):
    at = open_large_map(indexed_csv)
    assert at.selectbox(key="lm_color").options == ["cluster", "year", "label"]
    assert _header(at)["legend"]["title"] == "cluster"
    at.selectbox(key="lm_color").set_value("year").run()
    assert not at.exception, [e.value for e in at.exception]
    header = _header(at)
    legend = header["legend"]
    assert legend["title"] == "year, 1991 – 2009" and not legend["clusters"]
    assert legend["entries"][-1][1:] == ["missing", MISSING_COLOR, N // 10]
    assert sum(e[3] for e in legend["entries"]) == N
    assert any(f"{N // 10} of {N} documents have no year: drawn grey" in shown(c.value) for c in at.caption)

    at.session_state["large_map"] = {"have": header["v"], "hover": 1}  # the browser asks for point 1's text
    at.run()
    hover = _header(at)["hover"]["text"]
    assert hover.startswith("year ") and " · label " in hover and ": " in hover

    at.selectbox(key="lm_color").set_value("label").run()
    entries = _header(at)["legend"]["entries"]
    assert _header(at)["legend"]["title"] == "label" and [e[1] for e in entries] == ["news", "review"]


def test_an_index_built_before_it_kept_columns_opens_and_says_to_index_again(indexed_csv):
    from core.corpus.stream import find_large_index

    folder = find_large_index(indexed_csv)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["columns"]  # as format 4 wrote it: no columns, no columns.parquet
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "columns.parquet").unlink()
    at = open_large_map(indexed_csv)
    assert at.selectbox(key="lm_color").options == ["cluster"]
    assert any("built before it kept the file's own columns" in shown(c.value) for c in at.caption)
