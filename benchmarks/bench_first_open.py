"""First open on an empty cache: time until the Corpus map shows its points, and a page that
stays responsive while MiniLM upgrades the map in the background.

Starts the app as ``make run`` does (``streamlit run serve.py --server.headless true`` with
``HF_HUB_OFFLINE=1`` and ``TOKENIZERS_PARALLELISM=false``) on a fresh ``EQUALCTAR_HOME`` and
drives Debian's chromium with Playwright:

1. seconds from the server's start to a complete map (points drawn, cluster table shown,
   labelled with the encoder that made it); goal <= 30 s;
2. while the background job runs, a user action until the page shows its answer, repeated: a
   search by meaning typed and sent (the search panel's fragment rerun: the query encoded, the
   matches listed; the map is not re-sent unless *Star on map* is on), then cleared; goal: every
   answer < 2 s. (The Demo mode toggle used before now opens the tour, another page, so it no
   longer measures the map page.)
3. seconds until the map has switched to MiniLM by itself (reported; the ratio against
   step 1 is how much sooner the first map comes than a MiniLM-only first open would).

``--upgrade-limit`` bounds the wait of step 3 (default 1200 s). Last line
``bench_first_open=... PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
QUERIES = ("parse a date from a string", "open a network socket", "sort a list in place", "read a csv file")
POINTS_JS = """() => { const m = document.querySelector('[data-testid=corpus-map]');
  return m ? Number(m.dataset.points || 0) : 0; }"""  # the points the WebGL map has drawn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: Path, extra_env: dict | None = None) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    env = dict(os.environ, EQUALCTAR_HOME=str(home), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("EQUALCTAR_ENCODER", None)
    env.update(extra_env or {})
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/streamlit"), "run", "serve.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=open(home / "streamlit.log", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.25)
    return proc, url, t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--upgrade-limit", type=float, default=1200.0)
    ap.add_argument("--screenshot", default=str(ROOT / "test-output" / "bench_first_open.png"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="bench-first-open-"))
    proc, url, t0 = start_app(home)
    clicks: list[float] = []
    t_map = t_upgrade = None
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(url + "/corpus_map", timeout=120_000)
            page.wait_for_function(POINTS_JS, timeout=300_000, polling=200)
            page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=120_000)
            page.get_by_text("map made by the encoder").first.wait_for(timeout=60_000)
            t_map = time.perf_counter() - t0
            n_points = page.evaluate(POINTS_JS)
            made_by = page.get_by_text("map made by the encoder").first.inner_text()
            print(f"[1] complete map after {t_map:.1f} s from server start ({n_points:,} points drawn; {made_by!r}); "
                  "goal <= 30 s")
            Path(args.screenshot).parent.mkdir(exist_ok=True)
            page.screenshot(path=args.screenshot)
            deadline = time.perf_counter() + args.upgrade_limit
            box = page.get_by_role("textbox", name="Search by meaning").first
            searching = False
            while time.perf_counter() < deadline:
                if "all-MiniLM" in page.get_by_text("map made by the encoder").first.inner_text(timeout=60_000):
                    t_upgrade = time.perf_counter() - t0
                    break
                if page.get_by_text("in the background").count() and len(clicks) < 20:
                    box.fill("" if searching else QUERIES[len(clicks) // 2 % len(QUERIES)])
                    t = time.perf_counter()
                    box.press("Enter")
                    searching = not searching
                    answer = page.get_by_text("Nearest documents to")
                    answer.first.wait_for(state="visible" if searching else "detached", timeout=60_000)
                    clicks.append(time.perf_counter() - t)
                page.wait_for_timeout(8000)
            if t_upgrade is not None:
                page.wait_for_function(POINTS_JS, timeout=60_000)
                page.screenshot(path=args.screenshot.replace(".png", "_upgraded.png"))
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        for folder in (home / "upgrades").glob("*"):
            pid_file = folder / "worker.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), 15)
                except (OSError, ValueError):
                    pass
    worst = max(clicks) if clicks else float("nan")
    if clicks:
        print(f"[2] {len(clicks)} searches sent or cleared during the background upgrade answered in "
              f"{min(clicks):.2f}-{worst:.2f} s "
              f"(median {sorted(clicks)[len(clicks) // 2]:.2f} s); goal < 2 s")
    else:
        print("[2] no action measured: the upgrade was not running when the map appeared")
    if t_upgrade is not None:
        print(f"[3] map upgraded to MiniLM by itself after {t_upgrade:.0f} s; "
              f"first map {t_upgrade / t_map:.1f}x sooner")
    else:
        print(f"[3] MiniLM upgrade not finished within {args.upgrade_limit:.0f} s")
    ok = t_map is not None and t_map <= 30 and bool(clicks) and worst < 2.0 and t_upgrade is not None
    upgrade = f"{t_upgrade:.0f}s" if t_upgrade is not None else "unfinished"
    print(f"bench_first_open=first_map:{t_map:.1f}s,click_worst:{worst:.2f}s,upgrade:{upgrade} goal=<=30s,<2s,finished "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
