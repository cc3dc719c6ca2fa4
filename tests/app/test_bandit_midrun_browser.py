"""The Bandit page in real chromium while a run plays: a wrong setting typed meanwhile, a tab reloaded meanwhile.

Both used to go wrong only in a browser: the settings' message stopped the page, and the live panel's next
refresh (a fragment the page no longer drew) blanked the whole page with a front-end error; a reloaded tab's
Resume was refused for two minutes as "being played by another session" (the closed tab's)."""

from __future__ import annotations

import pytest

from tests._app_server import open_and_wait, slow_bandit_settings

BOX = "Budget value (share: 0-1)"


def _slow_run(page, app_url: str) -> None:
    """A run of one document a round over the whole (small) corpus, one round per refresh: it plays for minutes."""
    open_and_wait(page, f"{app_url}/bandit", page.get_by_role("button", name="Start", exact=True))
    slow_bandit_settings(page)
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator("[data-testid='stMetric']").filter(has_text="playing").wait_for(timeout=120_000)


def _round(page) -> int:
    return int(page.locator("[data-testid='stMetric']").filter(has_text="Round")
               .locator("[data-testid='stMetricValue']").inner_text().replace(",", ""))


@pytest.mark.browser
def test_a_wrong_setting_typed_while_a_run_plays_is_named_and_the_run_plays_on(app_url, page, output_dir):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _slow_run(page, app_url)
    box = page.get_by_role("spinbutton", name=BOX, exact=True)
    box.fill("0")
    box.press("Enter")
    alert = page.locator("[data-testid='stAlert']").filter(has_text="budget")
    alert.wait_for(timeout=30_000)
    page.wait_for_timeout(4000)  # several refreshes of the live panel
    page.screenshot(path=str(output_dir / "bandit_wrong_setting_mid_run.png"))
    assert not errors, errors  # "Bad delta path index ...": the page went blank
    assert page.locator("[data-testid='stMetric']").filter(has_text="playing").is_visible()
    first = _round(page)
    page.wait_for_timeout(2500)
    assert _round(page) > first  # still playing
    assert box.input_value() == "0"  # the typed value is kept, to be corrected
    assert page.get_by_role("button", name="Pause").is_enabled()


@pytest.mark.browser
def test_a_run_whose_tab_was_reloaded_resumes_at_once(app_url, page, output_dir):
    """Reloading the tab mid-run reopens the run paused (the address names it); Resume plays it on at once."""
    _slow_run(page, app_url)
    page.wait_for_timeout(1500)
    page.reload()
    resume = page.get_by_role("button", name="Resume", exact=True)
    resume.wait_for(timeout=120_000)
    page.locator("[data-testid='stMetric']").filter(has_text="paused").wait_for(timeout=30_000)
    first = _round(page)
    resume.click()
    page.wait_for_timeout(4000)
    page.screenshot(path=str(output_dir / "bandit_resumed_after_reload.png"))
    busy = page.locator("[data-testid='stAlert']").filter(has_text="another session")
    assert busy.count() == 0, busy.all_inner_texts()
    assert page.locator("[data-testid='stMetric']").filter(has_text="playing").is_visible()
    assert _round(page) > first
