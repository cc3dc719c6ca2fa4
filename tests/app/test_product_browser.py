"""Looks like a product, in real chromium: nothing is fetched from another host, and both themes apply."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

PAGES = ("corpus_map", "bandit", "ctar_generator", "debiasing_lab")


@pytest.mark.browser
def test_no_page_requests_a_non_local_host(app_url, page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for path in PAGES:
        page.goto(f"{app_url}/{path}")
        page.locator("h1").first.wait_for(timeout=180_000)
        page.wait_for_timeout(2500)
    foreign = sorted({u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                      and urlparse(u).hostname not in ("127.0.0.1", "localhost")})
    assert requests and foreign == [], f"requests to other hosts (fail offline): {foreign}"
    icons = page.locator("link[rel~='icon']")
    local = (None, "127.0.0.1", "localhost")
    assert icons.count() >= 1 and all(urlparse(icons.nth(i).get_attribute("href")).hostname in local
                                      for i in range(icons.count()))


@pytest.mark.browser
def test_dark_theme_follows_the_system_setting(_browser, app_url, output_dir):
    context = _browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    try:
        pg = context.new_page()
        pg.goto(f"{app_url}/debiasing_lab")
        pg.locator("h1").first.wait_for(timeout=120_000)
        pg.wait_for_timeout(1500)
        bg = pg.evaluate("() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor")
        pg.screenshot(path=str(output_dir / "dark_theme.png"))
        assert bg.replace(" ", "") == "rgb(15,18,25)", bg  # [theme.dark] backgroundColor #0f1219
    finally:
        context.close()
