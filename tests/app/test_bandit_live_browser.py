"""The Bandit page's live panel in real chromium: it updates in place (one WebGL context, however many
refreshes) and several rounds show per second."""

from __future__ import annotations

import time

import pytest

from tests._app_server import COUNT_CONTEXTS, open_and_wait

ROUND_JS = """() => { for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    if (m.innerText.startsWith('Round')) return parseInt(
      m.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, ''), 10); }
  return -1; }"""


@pytest.mark.browser
def test_live_panel_updates_in_place(app_url, page, output_dir):
    page.add_init_script(COUNT_CONTEXTS)
    start = page.get_by_role("button", name="Start")
    open_and_wait(page, f"{app_url}/bandit", start)
    box = page.get_by_label("Budget value (share: 0-1)", exact=True)
    box.fill("1")  # the whole (small) corpus: a run long enough to watch several refreshes
    box.press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_text("More settings").click()
    for label in ("Arms per round", "Documents per pull"):  # one document a round: hundreds of rounds
        field = page.get_by_label(label, exact=True)
        field.fill("1")
        field.press("Enter")
        page.wait_for_timeout(800)
    start.click()
    page.locator("[data-testid='stMetric']").filter(has_text="Round").wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelector('[data-points]') !== null", timeout=60_000)
    page.wait_for_timeout(1500)  # the map is mounted and holds its points
    contexts = page.evaluate("window.__webglContexts")
    t0, r0 = time.monotonic(), page.evaluate(ROUND_JS)
    page.wait_for_timeout(6000)
    rounds = page.evaluate(ROUND_JS) - r0
    seconds = time.monotonic() - t0
    page.locator("[data-testid='stMetric']").first.scroll_into_view_if_needed()
    page.mouse.wheel(0, 250)  # the numbers, the main charts and the arms in view
    page.wait_for_timeout(700)
    page.screenshot(path=str(output_dir / "bandit_live.png"))
    charts = page.locator(".js-plotly-plot")
    assert charts.count() >= 3 and charts.first.is_visible()  # the charts stay drawn while the run plays
    assert contexts >= 1 and page.evaluate("window.__webglContexts") == contexts  # no refresh made a new context
    assert int(page.locator("[data-highlighted]").first.get_attribute("data-highlighted")) > 0  # reads are marked
    assert rounds / seconds > 1, (rounds, seconds)  # several rounds a second even on a loaded test machine


@pytest.mark.browser
def test_baselines_show_on_the_main_chart_and_the_panel_is_ready_again(app_url, page, output_dir):
    """The job's result is kept as it ends, so the full run that stops its polling draws the curves; that run
    also leaves the panel ready for another job (no progress bar left behind, the button enabled)."""
    from playwright.sync_api import expect

    step = page.get_by_role("button", name="Step")
    open_and_wait(page, f"{app_url}/bandit", step)
    step.click()
    button = page.get_by_role("button", name="Compute the baselines")
    button.wait_for(timeout=120_000)
    button.click()
    page.locator(".legendtext").filter(has_text="baseline").first.wait_for(timeout=120_000)
    expect(button).to_be_enabled(timeout=30_000)
    expect(page.locator("[data-testid='stProgress']")).to_have_count(0)
    assert page.locator(".legendtext").filter(has_text="baseline").count() == 3
    button.scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "bandit_baselines_done.png"))
