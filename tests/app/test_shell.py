"""serve.py's HTML shell: Streamlit's own index.html with the backend base URL pinned, at every page's path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pages._lib.shell import page_routes, page_url_paths, pinned_shell

ROOT = Path(__file__).resolve().parents[2]


def test_the_pin_precedes_the_bundle_in_streamlits_real_index_html():
    from streamlit import file_util

    html = (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")
    shell = pinned_shell(html)
    pin = shell[shell.index("<script>window.__streamlit"):shell.index('<script type="module"')]
    assert shell.replace(pin, "") == html  # one line added, nothing else changed
    assert shell.index("BACKEND_BASE_URL") < shell.index('<script type="module"')


def test_an_index_html_without_a_module_script_is_refused_by_name():
    with pytest.raises(ValueError, match="module script"):
        pinned_shell("<html><body></body></html>")


def test_every_url_path_app_py_declares_is_served_by_the_shell():
    declared = set(re.findall(r'url_path="([^"]+)"', (ROOT / "app.py").read_text(encoding="utf-8")))
    assert declared, "app.py declares its pages' url paths"
    assert declared <= set(page_url_paths(ROOT / "pages"))


def test_the_routes_answer_the_root_and_pages_with_the_pinned_shell_only():
    client = TestClient(Starlette(routes=page_routes(ROOT / "pages")))
    for path in ("/", "/bandit", "/debiasing_lab"):
        r = client.get(path)
        assert r.status_code == 200 and "BACKEND_BASE_URL" in r.text, path
        assert r.headers["cache-control"] == "no-cache"
    # everything else is left to Streamlit's own routes (here: none, so 404)
    for path in ("/favicon.png", "/bandit/_stcore/health", "/_lib", "/bandit/"):
        assert client.get(path, follow_redirects=False).status_code in (404, 307), path


def test_under_a_base_url_path_the_routes_and_the_pin_name_that_path():
    client = TestClient(Starlette(routes=page_routes(ROOT / "pages", "explorer")))
    for path in ("/explorer/", "/explorer/bandit", "/explorer/tour"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert 'BACKEND_BASE_URL: window.location.origin + "/explorer/"}' in r.text, path
    # the server's own root is not this app's: nothing is served there
    for path in ("/", "/bandit"):
        assert client.get(path, follow_redirects=False).status_code == 404, path


def test_a_base_url_path_cannot_close_the_pin_script():
    pinned = pinned_shell('<script type="module" src="x.js"></script>', "</script><b>")
    assert pinned.count("</script>") == 2  # the pin's own and the bundle's
