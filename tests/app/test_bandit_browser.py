"""The Bandit page in real chromium: idle costs no CPU, the live numbers sit above the fold, exports follow the run."""

from __future__ import annotations

import re
import time

import pytest

from tests._app_server import cpu_seconds, open_and_wait


def _open_bandit(page, url):
    open_and_wait(page, f"{url}/bandit", page.get_by_role("button", name="Start"))
    page.wait_for_timeout(1500)


def _idle_cpu_share(pid: int, seconds: float = 10.0) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


@pytest.mark.browser
@pytest.mark.slow
def test_idle_bandit_page_costs_the_server_under_5_percent_of_a_core(fresh_app_url, server_pids, page, output_dir):
    _open_bandit(page, fresh_app_url)
    pid = server_pids[fresh_app_url]
    share = _idle_cpu_share(pid)
    assert share < 0.05, f"idle Bandit page (no run) kept the server at {share:.0%} of a core"
    # a finished run is idle too: spend a tiny budget, wait for "finished", measure again
    box = page.get_by_label("Budget value (share: 0-1)", exact=True)
    box.fill("0.02")
    box.press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Start").click()
    page.locator("[data-testid='stMetricValue']").filter(has_text="finished").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    share = _idle_cpu_share(pid)
    page.screenshot(path=str(output_dir / "bandit_finished_idle.png"))
    assert share < 0.05, f"Bandit page with a finished run kept the server at {share:.0%} of a core"


@pytest.mark.browser
def test_exports_follow_the_run_and_the_live_numbers_sit_above_the_fold(app_url, page, output_dir):
    _open_bandit(page, app_url)
    box = page.get_by_label("Budget value (share: 0-1)", exact=True)
    box.fill("0.3")
    box.press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Start").click()
    status = page.locator("[data-testid='stMetric']").filter(has_text="Status")
    status.wait_for(timeout=60_000)
    box = status.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900, f"live numbers start below the fold: {box}"
    assert page.get_by_label("Arms per round", exact=True).is_hidden()  # only the main four above the numbers
    page.locator("[data-testid='stMetricValue']").filter(has_text="finished").wait_for(timeout=180_000)
    page.wait_for_timeout(1000)
    pairs = int(page.locator("[data-testid='stMetric']").filter(has_text="QA pairs")
                .locator("[data-testid='stMetricValue']").inner_text().replace(",", ""))
    label = page.get_by_role("button", name=re.compile(r"Extracted pairs as messages JSONL")).inner_text()
    written, removed = map(int, re.search(r"\((\d+); (\d+) removed\)", label.replace(",", "")).groups())
    page.screenshot(path=str(output_dir / "bandit_finished.png"))
    assert pairs > 12 and written + removed == pairs, (label, pairs)  # the button counts every pair of the run
