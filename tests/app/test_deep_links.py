"""A deep link that is a fresh server's first request lands on its page inside the app's navigation."""

from __future__ import annotations

import pytest


@pytest.mark.browser
def test_first_request_deep_link_gets_the_apps_navigation(fresh_app_url, page, output_dir):
    # before any session has run app.py, Streamlit would run pages/debiasing_lab.py alone, listing
    # every file in pages/ (``common`` included) and dropping the shared sidebar
    page.goto(f"{fresh_app_url}/debiasing_lab")
    page.get_by_role("heading", name="Debiasing lab").wait_for(timeout=120_000)
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.get_by_text("Corpus map").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "deep_link.png"))
    links = nav.inner_text()
    assert "Bandit" in links and "CTAR generator" in links and "common" not in links.lower()
    assert page.get_by_text("Demo mode").count() >= 1  # app.py's shared sidebar ran
    assert page.get_by_text("Page not found").count() == 0
    assert page.url.rstrip("/").endswith("/debiasing_lab")
