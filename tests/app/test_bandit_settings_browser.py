"""The Bandit page's settings in chromium: a link's settings show in the controls, and a changed setting is written
into the address bar by its slug (core.equal.settings), so the copied link carries it."""

from __future__ import annotations

import pytest

from tests._app_server import open_and_wait


def _box(page, label: str):
    """A number box by its label (the help button beside it is labelled "Help for ..." too)."""
    return page.get_by_role("spinbutton", name=label, exact=True)


@pytest.mark.browser
def test_a_settings_link_sets_the_controls_and_a_change_reaches_the_link(app_url, page, output_dir):
    open_and_wait(page, f"{app_url}/bandit?policy=ucb1&c=2.5&credit=pull&budget_kind=calls&budget=40&docs_per_pull=6",
                  page.get_by_role("button", name="Start"))
    page.get_by_text("More settings").click()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "bandit_settings_link.png"))
    c = _box(page, "Exploration weight")
    c.wait_for(timeout=30_000)
    assert c.input_value() == "2.5"  # drawn at all: the policy is UCB1
    assert _box(page, "Budget value (extraction calls)").input_value() == "40"  # a budget of 40 calls, not a share
    assert _box(page, "Documents per pull").input_value() == "6"
    assert _box(page, "Reward offset (pull credit)").is_visible()  # applies under pull credit only
    assert page.locator("[data-testid='stAlert']").filter(has_text="could not restore").count() == 0
    box = _box(page, "Arms per round")
    box.fill("5")
    box.press("Enter")
    page.wait_for_function("() => location.search.includes('batch_arms=5')", timeout=30_000)
    assert "c=2.5" in page.url and "credit=pull" in page.url and "budget=40" in page.url
