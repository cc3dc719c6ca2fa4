"""Shared fixtures: an isolated product home, and a real app + real chromium for browser tests.

Browser tests drive Debian's ``/usr/bin/chromium`` through Playwright (never a downloaded
browser). Outside CI they skip with the reason when chromium is missing; in CI (``CI=true``)
a missing browser is a failure, because CI must run them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = ROOT / "test-output"

# Set before any test module imports core: every cache and run store goes to a temp folder.
_HOME = tempfile.mkdtemp(prefix="equalctar-test-")
os.environ["EQUALCTAR_HOME"] = _HOME
# Page tests type paths of files they wrote under the system temp folder: let the sidebar read
# there (the product default is the working directory and the home; tests of the refusal set
# EQUALCTAR_ROOTS themselves).
os.environ.setdefault("EQUALCTAR_ROOTS", os.pathsep.join([str(Path(__file__).resolve().parents[1]), _HOME,
                                                          tempfile.gettempdir()]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def product_home() -> Path:
    """The temporary ``EQUALCTAR_HOME`` of this test session."""
    return Path(_HOME)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium (make test does so as root)"
    if os.environ.get("CI"):
        pytest.fail(reason + "; CI must run the browser tests")
    pytest.skip(reason)


@contextmanager
def serve_app(home: Path):
    """Run ``streamlit run app.py`` on a free loopback port with its own ``home``; yield its URL.

    The app gets the fast hashing encoder and a small built-in corpus, so browser tests
    exercise the real pages without waiting minutes for the model.
    """
    port = _free_port()
    env = dict(os.environ)
    env.update(
        EQUALCTAR_HOME=str(home),
        EQUALCTAR_ENCODER=os.environ.get("EQUALCTAR_TEST_ENCODER", "hashing"),
        EQUALCTAR_BUILTIN_LIMIT="600",
        HF_HUB_OFFLINE="1",
    )
    log = open(home / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early: {(home / 'streamlit.log').read_text()}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not become healthy within 90 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    """The real app, started once for the session's browser tests."""
    _require_chromium()
    with serve_app(tmp_path_factory.mktemp("app-home")) as url:
        yield url


@pytest.fixture()
def fresh_app_url(tmp_path) -> str:
    """The real app on a server no session has visited yet (for first-request behaviour)."""
    _require_chromium()
    with serve_app(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def _browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def page(_browser):
    """A fresh Playwright page (1400x900) in real chromium."""
    context = _browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()
