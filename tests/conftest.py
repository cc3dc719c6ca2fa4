"""Shared fixtures: an isolated product home, and a real app + real chromium for browser tests.

Browser tests drive Debian's ``/usr/bin/chromium`` through Playwright (never a downloaded
browser). Outside CI they skip with the reason when chromium is missing; in CI (``CI=true``)
a missing browser is a failure, because CI must run them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests._app_server import CHROMIUM, SERVER_PIDS, explain_failure, require_chromium, serve_app

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = ROOT / "test-output"

# Set before any test module imports core: every cache and run store goes to a temp folder.
_HOME = tempfile.mkdtemp(prefix="equalctar-test-")
os.environ["EQUALCTAR_HOME"] = _HOME
# Page tests type paths of files they wrote under the system temp folder: let the sidebar read
# there (the product default is the working directory and the home; tests of the refusal set
# EQUALCTAR_ROOTS themselves).
os.environ.setdefault("EQUALCTAR_ROOTS", os.pathsep.join([str(Path(__file__).resolve().parents[1]), _HOME,
                                                          tempfile.gettempdir()]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests compare real-model numbers with fp32 expectations (warm-up losses, Ray against local): the faster
# bf16/int8 variants (core.corpus.variants) stay off unless a test of them turns them on (tests/corpus/test_variants.py)
os.environ.setdefault("EQUALCTAR_ENCODER_VARIANT", "fp32")


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """Never collect a ``conftest.py`` as a module of tests (pytest still loads it as the folder's conftest).

    ``--doctest-modules`` collects every ``.py`` file, conftests too, importing each by its base name; with no
    ``__init__.py`` (see tests/test_layout.py) every conftest is module ``conftest``, so ``pytest tests/ctar
    tests/engine`` loaded both conftests and then found ``conftest`` to be the other file: "import file mismatch".
    """
    return True if collection_path.name == "conftest.py" else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report says what the browser showed and what the app's server threads were doing
    (a wait that timed out otherwise says only which element never came): see ``explain_failure``."""
    report = yield
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        OUTPUT.mkdir(exist_ok=True)
        name = "failed-" + item.name.replace("/", "_")[:80]
        report.sections.append(("browser and server at the failure", explain_failure(page, OUTPUT, name)))
    return report


@pytest.fixture(scope="session")
def product_home() -> Path:
    """The temporary ``EQUALCTAR_HOME`` of this test session."""
    return Path(_HOME)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    """The real app, started once for the session's browser tests."""
    require_chromium()
    with serve_app(tmp_path_factory.mktemp("app-home")) as (url, _):
        yield url


@pytest.fixture()
def fresh_app_url(tmp_path) -> str:
    """The real app on a server no session has visited yet (for first-request behaviour)."""
    require_chromium()
    with serve_app(tmp_path) as (url, _):
        yield url


@pytest.fixture(scope="session")
def _browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server_pids() -> dict[str, int]:
    """``{app URL: streamlit server pid}`` of the servers the fixtures started."""
    return SERVER_PIDS


@pytest.fixture()
def page(_browser):
    """A fresh Playwright page (1440x900) in real chromium."""
    context = _browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture()
def small_builtin(monkeypatch):
    """Page tests on a 300-document built-in subset with the hashing encoder: the real pages, in seconds."""
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")
