"""A link copied from each page reproduces the same view in a fresh browser context; a bad link says what it could not
restore."""

from __future__ import annotations

import re

import pytest


def _fresh(browser):
    return browser.new_context(viewport={"width": 1440, "height": 900})


def _texts(page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def _wait_url(page, fragment: str) -> str:
    page.wait_for_function("(f) => location.search.includes(f)", arg=fragment, timeout=30_000)
    return page.url


@pytest.mark.browser
def test_links_reproduce_each_pages_view(_browser, app_url, output_dir):
    ctx = _fresh(_browser)
    page = ctx.new_page()
    views = []
    # Corpus map: a search
    page.goto(f"{app_url}/")
    box = page.get_by_label("Search by meaning")
    box.wait_for(timeout=180_000)
    box.fill("read a file line by line")
    box.press("Enter")
    page.get_by_text("Nearest documents to").wait_for(timeout=60_000)
    views.append((_wait_url(page, "q="), "[data-testid='stHeading']"))
    # Debiasing lab: a bias conditioned on
    page.goto(f"{app_url}/debiasing_lab")
    page.get_by_text("Estimator conditions on popularity").click()
    page.get_by_text("breaks no assumption").first.wait_for(timeout=60_000)
    views.append((_wait_url(page, "on_pop=1"), "[data-testid='stAlert']"))
    # CTAR generator: an intervention
    page.goto(f"{app_url}/ctar_generator")
    page.get_by_text("Intervention").first.wait_for(timeout=60_000)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Intervention").click()
    page.get_by_role("option", name="Every rating is 5 stars (do(Y = 5))").click()
    views.append((_wait_url(page, "do=rating"), "[data-testid='stSelectbox']"))
    # Bandit: a stored run, one round played
    page.goto(f"{app_url}/bandit")
    page.get_by_role("button", name="Step").click()
    # one round played: paused, or finished when a round is the whole budget (the learned policy reads 30
    # documents a round: on this 600-document corpus the 5 % budget)
    page.locator("[data-testid='stMetricValue']").filter(has_text=re.compile("paused|finished")).wait_for(
        timeout=120_000)
    views.append((_wait_url(page, "run="), "[data-testid='stMetric']"))
    ctx.close()

    for n, (url, selector) in enumerate(views):
        ctx = _fresh(_browser)  # a fresh browser context: no session, no cookies
        other = ctx.new_page()
        try:
            first = _fresh(_browser)
            original = first.new_page()
            original.goto(url)
            for pg in (original, other):
                if pg is other:
                    pg.goto(url)
                pg.locator(selector).first.wait_for(timeout=180_000)
                pg.wait_for_timeout(2500)
            other.screenshot(path=str(output_dir / f"link_{n}.png"))
            assert _texts(other, selector) == _texts(original, selector), url
            assert other.locator("[data-testid='stAlert']").filter(has_text="could not restore").count() == 0
            first.close()
        finally:
            ctx.close()


@pytest.mark.browser
def test_a_stale_link_says_what_it_could_not_restore_and_shows_the_rest(app_url, page):
    page.goto(f"{app_url}/debiasing_lab?bias=wobbly&on_pop=1&strength=9")
    warning = page.locator("[data-testid='stAlert']").filter(has_text="could not restore")
    warning.wait_for(timeout=60_000)
    text = warning.inner_text()
    assert "bias 'wobbly'" in text and "The rest of the view is shown" in text
    page.get_by_text("breaks no assumption").first.wait_for(timeout=30_000)  # on_pop=1 was restored
    page.goto(f"{app_url}/bandit?run=nosuchrun")
    page.locator("[data-testid='stAlert']").filter(has_text="could not restore run nosuchrun").wait_for(timeout=120_000)
