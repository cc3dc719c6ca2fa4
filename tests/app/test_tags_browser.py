"""Saved selections in chromium: select on the map, name it, save it; the tag stars on the map and the Bandit page
plays a run with it as the reference task (issue #24: joining exploring to tuning)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.app.test_clicks_browser import _click_map_point


@pytest.mark.browser
def test_a_saved_selection_stars_on_the_map_and_starts_a_bandit_run(app_url, page, output_dir) -> None:
    page.goto(f"{app_url}/corpus_map")
    page.locator('[data-testid="corpus-map"][data-points]').first.wait_for(timeout=180_000)
    page.get_by_role("heading", name="Clusters").wait_for(timeout=60_000)
    page.wait_for_timeout(2500)
    for _ in range(3):  # a click that lands while the page reruns may be dropped: click again
        _click_map_point(page)
        try:
            page.get_by_role("heading", name="Selected documents (1)").wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.wait_for_timeout(2000)
    name = page.get_by_label("Name this selection")
    name.fill("one odd document")
    name.press("Enter")
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Save tag").click()
    page.get_by_text("Saved the tag").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Tags (1)").wait_for(timeout=30_000)
    page.screenshot(path=str(output_dir / "tags_saved.png"))
    chooser = page.locator(".st-key-cm_tags_shown input").first
    chooser.click()
    chooser.type("one odd")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=\"corpus-map\"]')"
                           ".getAttribute('data-stars') || 0) >= 1", timeout=30_000)  # the tag stars on the map
    page.screenshot(path=str(output_dir / "tags_on_map.png"))

    page.goto(f"{app_url}/bandit")
    reference = page.locator("[data-testid='stSelectbox']").filter(has_text="Reference task")
    reference.wait_for(timeout=180_000)
    page.wait_for_timeout(2000)
    reference.click()
    page.get_by_role("option", name="Tag: one odd document").click()
    page.wait_for_timeout(2000)
    page.get_by_role("button", name="Step").click()
    # one round played: paused, or finished when a round is the whole budget (the learned policy reads 30
    # documents a round: on this 600-document corpus the 5 % budget)
    page.locator("[data-testid='stMetricValue']").filter(has_text=re.compile("paused|finished")).wait_for(
        timeout=120_000)
    page.screenshot(path=str(output_dir / "tags_bandit.png"))
    assert page.locator("[data-testid='stAlert']").filter(has_text="Settings").count() == 0
