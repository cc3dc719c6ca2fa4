"""Start the real app for browser and server tests: one implementation for conftest and the fault suites.

A plain module (not conftest), so a test file can import it without resetting ``EQUALCTAR_HOME``.
"""

from __future__ import annotations

import os
import re
import signal
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
SERVER_LOGS: dict[str, Path] = {}  # url -> the log of the server serving it (a failed browser test quotes it)
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

# Where the map's points lie on screen (its current view): their pixel box, how many fall outside the canvas, and how
# many under the legend's box (whatever size the DOM gives it, open or folded), each counted point by point through
# the scatterplot's own projection.
MAP_POINTS_AND_LEGEND = """() => {
  const m = document.querySelector('[data-testid="corpus-map"]').__cmap, c = m.dom.canvas.getBoundingClientRect();
  const l = m.dom.legend.getBoundingClientRect();
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, outside = 0, underLegend = 0;
  for (let i = 0; i < m.n; i++) {
    const [px, py] = m.sp.getScreenPosition(i), x = c.left + px, y = c.top + py;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    if (x < c.left || x > c.right || y < c.top || y > c.bottom) outside++;
    if (x >= l.left && x <= l.right && y >= l.top && y <= l.bottom) underLegend++;
  }
  return {n: m.n, points: [x0, y0, x1, y1], canvas: [c.left, c.top, c.right, c.bottom],
          legend: [l.left, l.top, l.right, l.bottom], outside, underLegend};
}"""


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
        SERVER_PIDS[url], SERVER_LOGS[url] = proc.pid, home / "streamlit.log"
        yield url, port
    finally:
        SERVER_PIDS.pop(url, None)
        SERVER_LOGS.pop(url, None)
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
    for label, value in (("Arms per round", "1"), ("Documents per pull", "1"),
                         ("Budget value (share: 0-1)", "1")):
        field = page.get_by_role("spinbutton", name=label, exact=True)  # its help button is "Help for ..."
        field.fill(value)
        field.press("Enter")
        page.wait_for_timeout(800)
    speed = page.locator("[data-testid='stSlider']").filter(has_text="Rounds per update").get_by_role("slider")
    speed.press("Home")
    page.wait_for_timeout(800)


def page_threads(dump: str, root: Path = ROOT) -> str:
    r"""The thread stacks of a faulthandler dump (``kill -USR1``, see serve.py) that run the app's own code (a file
    under ``root``, not its ``.venv``): what each script run was doing; the server's idle threads are left out.

    >>> dump = ('Thread 0x1 (most recent call first):\n  File "/r/.venv/selectors.py", line 4 in select\n\n'
    ...         'Thread 0x2 (most recent call first):\n  File "/r/pages/bandit.py", line 9 in <module>\n')
    >>> page_threads(dump, Path("/r"))
    'Thread 0x2 (most recent call first):\n  File "/r/pages/bandit.py", line 9 in <module>'
    """
    own = re.compile(rf'"{re.escape(str(root))}/(?!\.venv/)')
    return "\n\n".join(b.strip("\n") for b in dump.split("\n\n") if own.search(b))


def explain_failure(page, output: Path, name: str) -> str:
    """What a browser test saw when it failed, for its report: the page's visible text (start), a screenshot
    (``output/<name>.png``) and, from each running app server, the stacks of the threads running the app's code
    (``kill -USR1``); the whole logs go to ``output/<name>.<port>.log``."""
    lines = []
    output.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(output / f"{name}.png"))
        main = page.locator("[data-testid='stMain']")  # the page's own part; the sidebar is the same on every page
        text = (main if main.count() else page.locator("body")).first.inner_text(timeout=5_000)
        lines += [f"page {page.url}; screenshot {output / (name + '.png')}", "visible text (start):", text[:1200]]
    except Exception as exc:  # the page itself may be gone: say so, keep the server side
        lines.append(f"page unreadable: {exc!r:.200}")
    for url, pid in list(SERVER_PIDS.items()):
        log = SERVER_LOGS.get(url)
        if log is None or not log.exists():
            continue
        before = log.stat().st_size
        try:
            os.kill(pid, signal.SIGUSR1)
        except OSError:
            continue
        time.sleep(1.0)
        data = log.read_bytes()  # split at the size before the dump in bytes, then decoded (a log may hold non-ASCII)
        earlier, dump = data[:before].decode(errors="replace"), data[before:].decode(errors="replace")
        kept = output / f"{name}.{url.rsplit(':', 1)[-1].split('/')[0]}.log"
        kept.write_bytes(data)
        lines += [f"server {url} (pid {pid}; whole log {kept}), threads in the app's code:",
                  page_threads(dump) or "(none)", "log before the dump (end):", earlier[-1500:]]
    return "\n".join(lines)


def open_and_wait(page, address: str, element, timeout_ms: int = 180_000) -> None:
    """``page.goto(address)`` and wait for ``element`` (a locator of ``page``) to show.

    If it has not shown after ``timeout_ms``, the test warns with :func:`explain_failure`'s report (so CI's output
    says what the browser and the server were doing), reloads once and waits ``timeout_ms`` again; a page that does
    not come on the reload fails the test. One stall of a fresh server's first page in a CI run of the whole suite
    (2026-12-06, the Bandit page, never reproduced in 20 runs here) is what this catches and reports.
    """
    import warnings

    from playwright.sync_api import TimeoutError as PageTimeout

    page.goto(address)
    try:
        element.wait_for(timeout=timeout_ms)
        return
    except PageTimeout:
        report = explain_failure(page, ROOT / "test-output", "stalled-first-open")
    warnings.warn(f"{address}: the element did not show in {timeout_ms / 1000:.0f} s; reloading once.\n{report}",
                  stacklevel=2)
    page.reload()
    element.wait_for(timeout=timeout_ms)


def index_in_home(home: Path, path: Path) -> None:
    """Build the Large corpus index of ``path`` under ``home`` (4 clusters, the 32-dimension hashing encoder, no
    MiniLM alignment), where an app server started with that home (:func:`serve_app`) finds it."""
    from core.corpus.encoders import HashingEncoder
    from core.corpus.stream import LargeIndexConfig, index_large_corpus

    mp = pytest.MonkeyPatch()
    mp.setenv("EQUALCTAR_HOME", str(home))
    try:
        index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=100, align_docs=0), encoder=HashingEncoder(32))
    finally:
        mp.undo()
