"""A deep link that is a fresh server's first request lands on its page inside the app's navigation."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests._app_server import serve_app


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


# every page of app.py's navigation, by URL path (the Tour is hidden but its link opens)
PAGES = ("corpus_map", "bandit", "large_map", "ctar_generator", "debiasing_lab", "tour")
PAGE_HEADINGS = {"corpus_map": "Corpus map", "bandit": "Bandit", "large_map": "Large corpus",
                 "ctar_generator": "CTAR generator", "debiasing_lab": "Debiasing lab"}


@pytest.mark.browser
def test_deep_links_log_no_console_errors(fresh_app_url, page, output_dir):
    # Streamlit's front end probes a deep link's own path as its base URL first (404s for
    # /<page>/_stcore/health and host-config, each a console error) unless the HTML pins it (serve.py)
    errors: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    for name in PAGES:
        page.goto(f"{fresh_app_url}/{name}")
        nav = page.locator("[data-testid='stSidebarNav']")
        nav.get_by_text("Corpus map").wait_for(timeout=120_000)
        if name in PAGE_HEADINGS:
            page.get_by_role("heading", name=PAGE_HEADINGS[name]).first.wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(output_dir / f"deep_link_{name}.png"))
        # the default page's address is the root; every other page keeps its own
        want = fresh_app_url if name == "corpus_map" else f"{fresh_app_url}/{name}"
        assert page.url.split("?")[0].rstrip("/") == want, (name, page.url)
    assert failed == [], f"requests that failed on deep links: {failed}"
    assert errors == [], f"console errors on deep links: {errors}"


@pytest.mark.slow
def test_the_served_html_pins_the_base_url_for_every_page(fresh_app_url):
    import urllib.request

    for name in ("", *PAGES):
        with urllib.request.urlopen(f"{fresh_app_url}/{name}", timeout=10) as r:
            html = r.read().decode("utf-8")
        assert "BACKEND_BASE_URL" in html, name
        assert html.index("BACKEND_BASE_URL") < html.index('<script type="module"'), name


@pytest.mark.slow
def test_under_a_base_url_path_the_pin_names_that_path_and_the_root_is_left_alone(tmp_path):
    # --server.baseUrlPath explorer: Streamlit answers under /explorer/ only, so the shell pins
    # <origin>/explorer/ at /explorer/ and /explorer/<page>, and adds nothing at / or /<page>
    with serve_app(tmp_path, base_url_path="explorer") as (url, port):
        assert url.endswith("/explorer")
        for name in ("", *PAGES):
            with urllib.request.urlopen(f"{url}/{name}", timeout=10) as r:
                html = r.read().decode("utf-8")
            assert 'BACKEND_BASE_URL: window.location.origin + "/explorer/"' in html, name
            assert html.index("BACKEND_BASE_URL") < html.index('<script type="module"'), name
        for path in ("/", "/bandit"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                    body = r.read().decode("utf-8")
            except urllib.error.HTTPError as e:
                assert e.code == 404, path
                continue
            assert "BACKEND_BASE_URL" not in body, path
