"""The Corpus map page: AppTest on a small uploaded-from-path corpus, and a real browser run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.equal._mapdata import topic_corpus

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "corpus_map.py")
LOCAL = "Local file or folder"


@pytest.fixture()
def small_corpus_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    corpus, _ = topic_corpus(120, seed=5)
    path = tmp_path / "small.jsonl"
    lines = [json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)]
    path.write_text("\n".join(lines + ["{broken", json.dumps({"id": "x", "text": ""})]) + "\n")
    return path


def _app(path: Path) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["sb_source"] = LOCAL
    at.session_state["sb_path"] = str(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_shows_map_table_and_load_report(small_corpus_file):
    at = _app(small_corpus_file)
    charts = at.get("plotly_chart")
    assert charts, "no scatter on the page"
    fig = json.loads(charts[0].proto.spec)
    assert fig["data"][0]["type"] == "scattergl"
    assert sum(len(t["customdata"]) for t in fig["data"]) == 120  # every document drawn, with its id
    assert any("120 documents" in c.value for c in at.caption)
    assert len(at.dataframe) >= 2  # load report issues + cluster table
    assert any("malformed_json" in e.label or "malformed_json" in str(e.label) for e in at.expander)
    clusters = at.dataframe[1].value
    assert {"cluster", "size", "keywords", "representatives"} <= set(clusters.columns)
    assert clusters["size"].sum() == 120


def test_search_and_settings_rebuild(small_corpus_file):
    at = _app(small_corpus_file)
    at.text_input[0].set_value("numpy array shape dtype").run()
    assert not at.exception, [e.value for e in at.exception]
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["data"][-1]["name"] == "highlighted" and len(fig["data"][-1]["customdata"]) == 20
    assert any("Nearest documents" in s.value for s in at.subheader)
    at.number_input[0].set_value(3)  # k inside the settings form
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["map_overrides"]["k"] == 3
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len([t for t in fig["data"] if t["name"].startswith("cluster")]) == 3


def test_bad_path_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["sb_source"] = LOCAL
    at.session_state["sb_path"] = str(tmp_path / "nope.jsonl")
    at.run()
    assert not at.exception
    assert at.error and "does not exist" in at.error[0].value


@pytest.mark.browser
def test_browser_renders_the_map(app_url, page, output_dir):
    page.goto(f"{app_url}/corpus-map", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot .plot-container").first.wait_for(timeout=180_000)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)  # let WebGL draw the points
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator(".js-plotly-plot canvas").count() > 0  # WebGL scatter
    output_dir.mkdir(exist_ok=True)
    page.screenshot(path=str(output_dir / "corpus_map.png"), full_page=True)
