"""Start the real app for browser and server tests: one implementation for conftest and the fault suites.

A plain module (not conftest), so a test file can import it without resetting ``EQUALCTAR_HOME``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SERVER_PIDS: dict[str, int] = {}
# an init script that counts the WebGL contexts any canvas of the page creates (a remounted chart makes one more)
COUNT_CONTEXTS = """
window.__webglContexts = 0;
const original = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
  const had = this.__hasGl;
  const ctx = original.call(this, kind, ...rest);
  if (ctx && /webgl/.test(String(kind)) && !had) { this.__hasGl = true; window.__webglContexts += 1; }
  return ctx;
};
"""
  # url -> pid of each app server a test started (for CPU measurements)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_chromium() -> None:
    """Skip (outside CI) or fail (in CI, which must run the browser tests) when Debian's chromium is missing."""
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium (make test does so as root)"
    if os.environ.get("CI"):
        pytest.fail(reason + "; CI must run the browser tests")
    pytest.skip(reason)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` and its reaped children (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextmanager
def serve_app(home: Path, env: Mapping[str, str] | None = None, unset: Sequence[str] = (),
              address: str | None = "127.0.0.1", base_url_path: str = "") -> Iterator[tuple[str, int]]:
    """Run ``streamlit run serve.py`` (app.py, as ``make run`` serves it) on a free port with its own ``home``.

    Yields ``(loopback url, port)``.

    By default the app gets the fast hashing encoder and a small built-in corpus, so browser tests
    exercise the real pages without waiting minutes for the model; ``env`` overrides, ``unset``
    removes variables, ``address=None`` keeps the repository's configured bind address,
    ``base_url_path`` serves under Streamlit's ``server.baseUrlPath`` (the yielded url then ends with it).
    """
    port = free_port()
    full = dict(os.environ)
    full.update(EQUALCTAR_HOME=str(home), EQUALCTAR_ENCODER=os.environ.get("EQUALCTAR_TEST_ENCODER", "hashing"),
                EQUALCTAR_BUILTIN_LIMIT="600", HF_HUB_OFFLINE="1")
    full.update(env or {})
    for name in unset:
        full.pop(name, None)
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    if address is not None:
        cmd += ["--server.address", address]
    if base_url_path:
        cmd += ["--server.baseUrlPath", base_url_path]
    log = open(home / "streamlit.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}" + (f"/{base_url_path.strip('/')}" if base_url_path else "")
    try:
        deadline = time.time() + 90
        while not healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early: {(home / 'streamlit.log').read_text()}")
            if time.time() > deadline:
                raise RuntimeError("streamlit did not become healthy within 90 s")
            time.sleep(0.5)
        SERVER_PIDS[url] = proc.pid
        yield url, port
    finally:
        SERVER_PIDS.pop(url, None)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def slow_bandit_settings(page) -> None:
    """On the Bandit page: one arm per round, one document per pull, the whole corpus, one round per update (hundreds
    of rounds that play for minutes, to watch or act on mid-run). Opens "More settings" to reach them."""
    page.get_by_text("More settings").click()
    for label, value in (("Arms per round (B)", "1"), ("Documents per pull (D)", "1"),
                         ("Budget value (share: 0-1)", "1")):
        field = page.get_by_role("spinbutton", name=label, exact=True)  # its help button is "Help for ..."
        field.fill(value)
        field.press("Enter")
        page.wait_for_timeout(800)
    speed = page.locator("[data-testid='stSlider']").filter(has_text="Rounds per update").get_by_role("slider")
    speed.press("Home")
    page.wait_for_timeout(800)
