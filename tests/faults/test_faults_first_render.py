"""A path submitted while a fresh session's first render is still running must not reset the
sidebar encoder (issue #15: in 2 of 6 fresh sessions it went back to MiniLM and the map was
rebuilt with another model). Real server with the default (MiniLM) encoder, real chromium:
the user picks Hashing and submits a path while the first render is still embedding."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # as in tests/conftest.py (not imported: importing it again resets EQUALCTAR_HOME)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test does so as root)")


@pytest.fixture()
def minilm_app_url(tmp_path):
    _require_chromium()
    port = _free_port()
    env = dict(os.environ, EQUALCTAR_HOME=str(tmp_path), EQUALCTAR_BUILTIN_LIMIT="600", HF_HUB_OFFLINE="1")
    env.pop("EQUALCTAR_ENCODER", None)
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _encoder_shown(page) -> str:
    box = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").last
    return box.evaluate("el => el.innerText + ' ' + Array.from(el.querySelectorAll('input')).map(i => i.value).join(' ')")


@pytest.mark.browser
@pytest.mark.slow
def test_encoder_survives_a_path_submitted_during_the_first_render(minilm_app_url, page, tmp_path, output_dir) -> None:
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("\n".join(json.dumps({"text": f"document {i} about parsing dates and times {i % 4}"})
                                for i in range(30)))
    page.goto(minilm_app_url + "/")
    box = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").last
    box.wait_for(timeout=60_000)
    box.click()  # the first render is still loading MiniLM and embedding the built-in corpus
    page.get_by_role("option", name="Hashing (instant, no model; for quick looks)").click()
    page.get_by_text("Local file or folder").first.click()
    path_box = page.locator("input[aria-label='Path to a file or a folder of .txt/.md']")
    path_box.wait_for(timeout=60_000)
    path_box.fill(str(corpus))
    path_box.press("Enter")
    page.get_by_text("Load report").first.wait_for(timeout=180_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(output_dir / "faults_first_render.png"))
    shown = _encoder_shown(page)
    assert "Hashing" in shown and "MiniLM" not in shown, shown
