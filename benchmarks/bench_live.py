"""The Bandit page live, in chromium, on an empty cache: Start to first numbers, rounds per second, baselines.

Starts the app as ``make run`` does (see :mod:`bench_first_open`) on a fresh ``EQUALCTAR_HOME``
(the whole built-in corpus, 11,357 documents; the map drawn from the static tier while MiniLM
embeds the corpus in the background), opens the Bandit page with its defaults and the rule extractor:

1. seconds from the click on Start until the Round metric first reads >= 1; goal <= 2 s;
2. the Random / All / Avg-sim baselines of that default run (a 5% budget): wall time from the
   first click until the budget chart draws them, with a Cancel 1 s in and a second click that
   resumes; goal <= 20 s; Cancel acts within 1 s;
3. rounds per second shown on the page (the Round metric, read every 0.25 s) from the first
   numbers until the run finishes or 60 s after Start; goal >= 2 rounds/s. When the default
   budget is spent within the first updates, the rate is measured on a second run over the
   whole corpus (Reset, budget 1, Start), and that run's baselines (every document: a longer
   job, cancelled 3 s in, started once the run finished) are timed too, for information;
4. each time left the progress line showed, in both baselines jobs, against the true time left
   (until the curves show on the page) while more than 2 s remained; goal: within 30 %.

Baseline of the same run: the CLI (``python -m core.equal run``) plays the same settings on
the same cache right after, and its rounds per second are printed beside the page's.
Last line ``bench_live=... PASS|FAIL``. Timings on a loaded machine are noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_first_open import ARGS, CHROMIUM, start_app  # noqa: E402

ROUND_JS = """() => { for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    if (label && label.innerText.trim() === 'Round') {
      const v = m.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, '');
      return parseInt(v, 10); } }
  return -1; }"""
STATUS_JS = ROUND_JS.replace("'Round'", "'Status'").replace("return parseInt(v, 10);", "return v;")
# when the baselines' legend first appears, by the browser's clock: the truth the time left is read against (the
# bench's own loop looks every ~0.3 s, which would make each job's end look that much later)
WATCH_LEGEND_JS = """() => { window.__legendAt = null;
  const seen = () => [...document.querySelectorAll('.legendtext')].some(e => e.textContent.includes('baseline'));
  const watch = new MutationObserver(() => { if (window.__legendAt === null && seen()) {
    window.__legendAt = performance.now(); watch.disconnect(); } });
  watch.observe(document.body, {subtree: true, childList: true, characterData: true});
  return performance.now(); }"""
LEFT = re.compile(r"(\d+(?:\.\d+)?)\s*(s|min)\s+left")


def _left_seconds(text: str) -> float | None:
    m = LEFT.search(text)
    if not m:
        return None
    return float(m.group(1)) * (60 if m.group(2) == "min" else 1)


def _cli_rounds_per_s(home: Path, budget: float, encoder: str) -> tuple[float, int]:
    """The CLI's rounds per second on the same corpus, map encoder and cache (its wall time includes its start-up)."""
    env = dict(os.environ, EQUALCTAR_HOME=str(home), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("EQUALCTAR_ENCODER", None)
    cmd = [sys.executable, "-m", "core.equal", "run", "--corpus", "builtin",
           "--reference", "numerical-arrays", "--budget", str(budget), "--store", str(home / "cli_runs.sqlite"),
           "--encoder", encoder, "--quiet"]
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t
    m = re.search(r"(\d+) rounds,", out.stdout)
    n = int(m.group(1)) if m else 0
    return (n / wall if wall else float("nan")), n


def _baselines(page, cancel_after_s: float) -> tuple[float, float, list[tuple[float, float]]]:
    """Compute the baselines: a first job cancelled ``cancel_after_s`` in, then computed again (it resumes).

    Returns (seconds of work from the first click until the chart draws them, the cancel's own wait left out;
    seconds from Cancel's click until it acted; [(seconds since the first click, time left shown)])."""
    button = page.get_by_role("button", name="Compute the baselines")
    button.wait_for(timeout=60_000)
    cancel = page.get_by_role("button", name="Cancel")
    t0 = time.perf_counter()
    button.click()
    page.locator("[data-testid='stProgress']").first.wait_for(timeout=60_000)
    page.wait_for_timeout(int(cancel_after_s * 1000))
    t_click = time.perf_counter()
    cancel.click()
    drawn = page.locator(".legendtext").filter(has_text="baseline")
    while not page.get_by_text("Baselines cancelled").count() and time.perf_counter() - t_click < 60:
        if drawn.count():  # the job ended before the click reached it: nothing to cancel
            return time.perf_counter() - t0, float("nan"), []
        page.wait_for_timeout(20)
    t_cancel = time.perf_counter() - t_click
    t_resume, etas = time.perf_counter(), []
    js_resume = page.evaluate(WATCH_LEGEND_JS)  # the browser's clock at (about) t_resume
    button.click()  # then computed again: it resumes from what the cancelled job kept
    bar = page.locator("[data-testid='stProgress']")
    while time.perf_counter() - t_resume < 600:
        if page.locator(".legendtext").filter(has_text="baseline").count():
            break
        if bar.count():
            try:
                left = _left_seconds(bar.first.inner_text(timeout=1000))
            except Exception:  # noqa: BLE001 - the bar went away between the count and the read
                left = None
            if left is not None:
                etas.append((time.perf_counter() - t0 - t_cancel, left))
        page.wait_for_timeout(250)
    legend_at = page.evaluate("window.__legendAt")
    t_drawn = time.perf_counter() if legend_at is None else t_resume + (legend_at - js_resume) / 1000
    return t_drawn - t0 - t_cancel, t_cancel, etas


def main() -> int:  # noqa: C901 - one scripted session, step by step
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--screenshot", default=str(ROOT / "test-output" / "bench_live.png"))
    ap.add_argument("--no-cli", action="store_true", help="skip the CLI baseline")
    ap.add_argument("--cli-encoder", default="static-minilm",
                    help="the CLI's encoder: the map the page plays on a cold cache is the static tier's")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="bench-live-"))
    proc, url, _ = start_app(home)
    t_first = rate = t_base = t_cancel = None
    n_rounds, etas = 0, []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url + "/bandit", timeout=300_000)
            start = page.get_by_role("button", name="Start")
            start.wait_for(timeout=300_000)
            page.wait_for_timeout(2000)
            t0 = time.perf_counter()
            start.click()
            page.wait_for_function(f"() => ({ROUND_JS})() >= 1", timeout=120_000, polling=50)
            t_first = time.perf_counter() - t0
            print(f"[1] first numbers {t_first:.2f} s after Start; goal <= 2 s")
            while time.perf_counter() - t0 < args.seconds:  # a default run (a 5% budget) ends within seconds
                if page.evaluate(STATUS_JS) == "finished":
                    break
                page.wait_for_timeout(250)
            default_finished = page.evaluate(STATUS_JS) == "finished"
            if default_finished:  # the baselines of the page's defaults: the goal's job
                t_base, t_cancel, etas = _baselines(page, cancel_after_s=1.0)
                print(f"[3a] Cancel acted {t_cancel:.2f} s after its click; goal <= 1 s")
                print(f"[3] baselines at the defaults drawn {t_base:.1f} s of work after the first click (cancelled "
                      f"1 s in, then resumed); goal <= 20 s")
                page.screenshot(path=args.screenshot.replace(".png", "_baselines.png"))
                page.get_by_role("button", name="Reset", exact=True).click()  # for the rate: the whole corpus,
                page.get_by_role("button", name="Start", exact=True).wait_for(timeout=60_000)  # from a fresh Start
                box = page.get_by_label("Budget value (share: 0-1)", exact=True)
                box.fill("1")
                box.press("Enter")
                page.wait_for_timeout(1500)
                t0 = time.perf_counter()
                page.get_by_role("button", name="Start").click()
                page.wait_for_function(f"() => ({ROUND_JS})() >= 1", timeout=120_000, polling=50)
            seen, t_last = page.evaluate(ROUND_JS), time.perf_counter()
            r_first, t_shown = seen, t_last  # rounds/s counted from the first numbers on: Start's cost is [1]
            while time.perf_counter() - t0 < args.seconds:
                r = page.evaluate(ROUND_JS)
                if r > seen:
                    seen, t_last = r, time.perf_counter()
                if page.evaluate(STATUS_JS) == "finished":
                    break
                page.wait_for_timeout(250)
            n_rounds = seen
            rate = (n_rounds - r_first) / max(t_last - t_shown, 1e-9)
            status = page.evaluate(STATUS_JS)
            print(f"[2] rounds {r_first} -> {n_rounds} shown in the {t_last - t_shown:.1f} s after the first numbers "
                  f"({status}): {rate:.2f} rounds/s; goal >= 2 (from the Start click: {n_rounds / (t_last - t0):.2f})")
            Path(args.screenshot).parent.mkdir(exist_ok=True)
            page.screenshot(path=args.screenshot)
            # the whole corpus's baselines (budget 1): a longer job, where the time left can be checked for many
            # seconds; its wall time is printed, the goal is the defaults' ([3]). They start once the live run has
            # finished (paused after 300 s): a run that plays beside them and ends midway changes the page's pace
            # 2-3x at load 7 (its refreshes, then a full run of the page), which no forecast of the job foresees
            # (the unit tests cover the forecast catching up after such a change)
            t_wait = time.perf_counter()
            while page.evaluate(STATUS_JS) == "playing" and time.perf_counter() - t_wait < 300:
                page.wait_for_timeout(250)
            if page.evaluate(STATUS_JS) == "playing":
                page.get_by_role("button", name="Pause").click()
            print(f"    the live run {page.evaluate(STATUS_JS)} {time.perf_counter() - t_wait:.0f} s after the rate's "
                  "60 s; then the whole corpus's baselines")
            t_whole, t_cancel_whole, etas_whole = _baselines(page, cancel_after_s=3.0)
            print(f"[3b] baselines of the whole corpus (budget 1, not a goal) drawn {t_whole:.1f} s of work after "
                  f"the first click (cancelled 3 s in: Cancel {t_cancel_whole:.2f} s)")
            if not default_finished:
                t_base, t_cancel = t_whole, t_cancel_whole
            etas = [("defaults", t_base, e) for e in etas] + [("whole corpus", t_whole, e) for e in etas_whole]
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
    worst_eta = None
    for _, total, (at, left) in etas:
        truth = total - at
        if truth > 2:  # the last seconds' estimates are dominated by the poll interval
            err = abs(left - truth) / truth
            worst_eta = err if worst_eta is None else max(worst_eta, err)
    for job in ("defaults", "whole corpus"):
        shown = [(total, at, left) for name, total, (at, left) in etas if name == job]
        if shown:
            print(f"    time left shown vs true ({job}): "
                  + ", ".join(f"{left:.0f}/{total - at:.0f}s" for total, at, left in shown))
    print(f"    worst time-left error {'n/a' if worst_eta is None else f'{worst_eta:.0%}'} (while > 2 s remained); "
          "goal <= 30 %")
    cli_rate = float("nan")
    if not args.no_cli:
        from core.equal.config import RunConfig

        cli_rate, cli_rounds = _cli_rounds_per_s(home, RunConfig().budget, args.cli_encoder)  # the page's default
        print(f"[baseline] CLI, same settings, {args.cli_encoder} map, same cache: {cli_rounds} rounds, "
              f"{cli_rate:.2f} rounds/s including its start-up (page/CLI = {(rate or 0) / cli_rate:.2f}x)")
    ok = (t_first is not None and t_first <= 2 and rate is not None and rate >= 2 and t_base is not None
          and t_base <= 20 and (worst_eta is None or worst_eta <= 0.3) and t_cancel is not None and t_cancel <= 1)
    print(f"bench_live=first:{t_first:.2f}s,rounds_per_s:{rate:.2f},baselines:{t_base:.1f}s,cancel:{t_cancel:.2f}s "
          f"eta_err:{worst_eta if worst_eta is not None else float('nan'):.0%} cli_rounds_per_s:{cli_rate:.2f} "
          f"goal=<=2s,>=2/s,<=20s,<=1s,<=30% {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
