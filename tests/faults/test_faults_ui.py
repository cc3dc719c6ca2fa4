"""Fault injection on the pages: hostile text, tiny corpora, lost widget state, hidden tracebacks.

Replays issue #15's layout and state probes: a one-document corpus raised
StreamlitValueAboveMaxError on the map page; one 5,000-character token became a cluster
keyword and its legend entry grew to 25,294 px; in 2 of 6 fresh sessions the sidebar encoder
reset to MiniLM when a path was submitted during the first render; CSV exports wrote
``=HYPERLINK(...)`` cells as formulas; tracebacks in the browser showed server paths.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from core import ui_state
from core.corpus.cluster import MAX_KEYWORD_CHARS, cluster_keywords
from core.corpus.selection import export_documents
from core.csv_safe import escape_cell, to_safe_csv
from core.errors import describe_failure
from core.viz.corpus_map import MAX_LEGEND_CHARS, make_corpus_map_figure
from core.viz.webgl_map import decode_payload

ROOT = Path(__file__).resolve().parents[2]
LOCAL = "Local file or folder"


def _page(path: Path, page: str = "corpus_map.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=180)
    at.session_state["sb_source"] = LOCAL
    at.session_state["sb_path"] = str(path)
    return at


def test_one_document_corpus_is_one_point(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "only", "text": "The one and only document of this corpus."}) + "\n")
    at = _page(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    header, sections = decode_payload(at.get("bidi_component")[0].proto.bytes)
    assert header["n"] == 1 and len(sections["x"]) == 1  # the one point, drawn
    assert header["texts"][0].startswith("only · cluster 0: The one and only document")


def test_a_giant_token_is_never_a_keyword_and_legends_stay_short() -> None:
    giant = "x" + "q" * 4999
    texts = [f"{giant} parser tokens grammar"] * 3 + ["network socket server"] * 3
    keywords = cluster_keywords(texts, np.array([0, 0, 0, 1, 1, 1]), k=2)
    assert giant not in keywords[0] and "parser" in keywords[0]
    assert all(len(w) <= MAX_KEYWORD_CHARS for ws in keywords for w in ws)
    frame = pd.DataFrame({"doc_id": ["a", "b"], "text": ["t", "u"], "source": ["s", "s"], "cluster": [0, 1],
                          "x": [0.0, 1.0], "y": [0.0, 1.0]})
    fig = make_corpus_map_figure(frame, cluster_names={0: giant, 1: "short"})
    assert max(len(t.name) for t in fig.data) <= MAX_LEGEND_CHARS
    assert fig.data[1].name == "1 · short"


def test_csv_exports_escape_formula_cells() -> None:
    frame = pd.DataFrame({"doc_id": ["a", "b", "c", "d"], "cluster": [0, 0, 1, 1],
                          "text": ['=HYPERLINK("http://evil.example","click")', "+SUM(A1:A9)", "@cmd", "plain text"],
                          "source": ["\tTAB", "-2+3", "-1", "file.txt"], "x": [0.0] * 4, "y": [0.0] * 4})
    rows = list(csv.DictReader(io.StringIO(export_documents(frame, ["a", "b", "c", "d"], "csv").decode())))
    assert [r["text"] for r in rows] == ["'=HYPERLINK(\"http://evil.example\",\"click\")", "'+SUM(A1:A9)", "'@cmd",
                                         "plain text"]
    assert [r["source"] for r in rows] == ["'\tTAB", "'-2+3", "-1", "file.txt"]  # "-1" is a number, not a formula
    jsonl = [json.loads(line) for line in export_documents(frame, ["a"], "jsonl").decode().splitlines()]
    assert jsonl[0]["text"].startswith("=HYPERLINK")  # JSONL is data: unchanged
    assert escape_cell(-5) == -5 and to_safe_csv(pd.DataFrame({"v": [-1.5]})).splitlines()[1] == "-1.5"


def test_unexpected_errors_get_an_id_and_no_server_path(caplog) -> None:
    try:
        open("/srv/equalctar/private/run-store/abc.sqlite").read()
    except OSError as exc:
        with caplog.at_level(logging.ERROR, logger="equalctar.errors"):
            error_id, message = describe_failure(exc, "Bandit")
    assert error_id and f"error id {error_id}" in message and message.startswith("Something went wrong")
    assert "/srv/equalctar" not in message and "abc.sqlite" in message
    assert error_id in caplog.text and "Traceback" in caplog.text  # the details stay in the server log
    none_id, text = describe_failure(ValueError("k must be >= 1"), "Map settings")
    assert none_id is None and text == "Map settings: k must be >= 1"


def test_kept_widget_values_survive_a_lost_key() -> None:
    state: dict = {}
    assert ui_state.restore(state, "sb_encoder", "MiniLM") == "MiniLM"
    state["sb_encoder"] = "Hashing"
    ui_state.keep(state, "sb_encoder")
    del state["sb_encoder"]  # what a rerun cutting the first render short does to a widget key
    assert ui_state.restore(state, "sb_encoder", "MiniLM") == "Hashing"
    assert ui_state.restore(state, "sb_encoder", "MiniLM", allowed=["MiniLM"]) == "MiniLM"
