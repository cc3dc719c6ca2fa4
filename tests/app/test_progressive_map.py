"""Progressive maps: the first open shows a fast-tier map at once while the real MiniLM embeds the
corpus in a background process, and the page switches to the MiniLM map when that is done."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.corpus.encoders import DEFAULT_MODEL, chunking_options
from core.corpus.load import load_corpus
from core.corpus.upgrade import UpgradeJob, ensure_upgrade, run_worker
from core.viz.webgl_map import decode_payload_header
from tests._text import shown
from tests.corpus._mapdata import topic_corpus

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "corpus_map.py")


@pytest.mark.slow
def test_first_open_shows_a_fast_map_then_upgrades_to_minilm(tmp_path, monkeypatch):
    monkeypatch.delenv("EQUALCTAR_ENCODER", raising=False)  # the default: the packaged MiniLM
    monkeypatch.setenv("EQUALCTAR_UPGRADE_THREADS", "1")
    corpus, _ = topic_corpus(64, seed=21)
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)) + "\n")
    # the job exists with a live "worker" (this process) so the first open sees it running however
    # fast MiniLM is here; the real worker body then runs below, in this process
    loaded, _ = load_corpus(path, **chunking_options(DEFAULT_MODEL))
    held = ensure_upgrade(loaded, DEFAULT_MODEL, start=False)
    (held.folder / "worker.pid").write_text(str(os.getpid()))
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = str(path)
    t = time.perf_counter()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    first_open = time.perf_counter() - t
    captions = " ".join(shown(c.value) for c in at.caption)
    assert "Map made by the" in captions and "in the background" in captions, [e.value for e in at.error]
    assert "map made by the encoder static-minilm" in captions or "map made by the encoder hashing" in captions
    assert at.get("bidi_component"), "no map on the first open"
    folder = at.session_state["map_upgrade_job"]
    assert folder == str(held.folder), "the page did not pick up the background job"
    assert any("Upgrading this map to MiniLM" in (p.proto.text or "") for p in at.get("progress"))
    assert run_worker(held.folder) == 0  # the worker's body, with the real MiniLM
    job = UpgradeJob(Path(folder))
    assert job.state == "done", job.status()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(shown(c.value) for c in at.caption)
    assert "map made by the encoder all-MiniLM-L6-v2 (packaged)" in captions
    assert "in the background" not in captions
    assert at.session_state["map_upgrade_job"] is None
    assert decode_payload_header(at.get("bidi_component")[0].proto.bytes)["n"] == 64  # every document
    print(f"first open {first_open:.1f} s")
