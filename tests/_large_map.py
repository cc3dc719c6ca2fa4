"""What the Large corpus page's AppTests share: the small built-in corpus with a folder allowed by the roots, and
the page opened on a typed path."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
WORDS = ["apple banana fruit", "car engine wheel", "python code function", "river water fish"]


def allow_root(monkeypatch, root: Path) -> Path:
    """The fast test encoder, 300 built-in documents, and ``root`` the only folder the path gate allows."""
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")
    monkeypatch.setenv("EQUALCTAR_ROOTS", str(root))
    return root


def open_large_map(path: Path) -> AppTest:
    """The app switched to the Large corpus page with ``path`` typed in its box, run once without an exception."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("pages/large_map.py")
    at.session_state["lm_path"] = str(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
