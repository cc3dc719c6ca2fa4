"""Progressive maps: the first open shows a fast-tier map at once while the real MiniLM embeds the
corpus in a background process, and the page switches to the MiniLM map when that is done."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.corpus.upgrade import UpgradeJob
from tests.corpus._mapdata import topic_corpus

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "corpus_map.py")


@pytest.mark.slow
def test_first_open_shows_a_fast_map_then_upgrades_to_minilm(tmp_path, monkeypatch):
    monkeypatch.delenv("EQUALCTAR_ENCODER", raising=False)  # the default: the packaged MiniLM
    monkeypatch.setenv("EQUALCTAR_UPGRADE_THREADS", "1")
    corpus, _ = topic_corpus(64, seed=21)
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)) + "\n")
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = str(path)
    t = time.perf_counter()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    first_open = time.perf_counter() - t
    captions = " ".join(c.value for c in at.caption)
    assert "Map made by the" in captions and "in the background" in captions
    assert "map made by the encoder static-minilm" in captions or "map made by the encoder hashing" in captions
    assert at.get("plotly_chart"), "no map on the first open"
    folder = at.session_state["map_upgrade_job"]
    assert folder, "no background job was started"
    job = UpgradeJob(Path(folder))
    deadline = time.time() + 300
    while job.state not in ("done", "failed") and time.time() < deadline:
        time.sleep(1)
    assert job.state == "done", job.status()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(c.value for c in at.caption)
    assert "map made by the encoder all-MiniLM-L6-v2 (packaged)" in captions
    assert "in the background" not in captions
    assert at.session_state["map_upgrade_job"] is None
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(len(tr["customdata"]) for tr in fig["data"]) == 64
    print(f"first open {first_open:.1f} s")
