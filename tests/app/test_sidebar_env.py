"""The sidebar's defaults from the environment: a value the app cannot use is named, never silently replaced,
and never breaks a page (EQUALCTAR_BUILTIN_LIMIT)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _sidebar_script() -> None:
    import streamlit as st

    from pages import sidebar
    from pages._lib.choices import builtin_limit

    st.write(f"before the sidebar: {builtin_limit()}")  # what a page reads when no sidebar was drawn yet
    sidebar._draw_settings(st.session_state.get("paths_ok", False))
    st.write(f"after the sidebar: {builtin_limit()}")


def _run(monkeypatch, **env: str) -> AppTest:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_function(_sidebar_script, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _documents(at: AppTest) -> float:
    return next(n.value for n in at.number_input if n.label == "Documents to use")


@pytest.mark.parametrize("raw, want, says", [
    ("50", 100, "EQUALCTAR_BUILTIN_LIMIT=50 is below the smallest size, 100"),
    ("60000", 50_000, "EQUALCTAR_BUILTIN_LIMIT=60000 is above the largest size, 50,000"),
])
def test_a_builtin_limit_out_of_range_is_clamped_and_said(monkeypatch, raw, want, says):
    at = _run(monkeypatch, EQUALCTAR_BUILTIN_LIMIT=raw)
    assert _documents(at) == want
    assert [m.value for m in at.markdown][:2] == [f"before the sidebar: {want}", f"after the sidebar: {want}"]
    assert any(says in w.value for w in at.warning), [w.value for w in at.warning]


def test_a_builtin_limit_that_is_not_a_number_is_named_and_all_documents_are_used(monkeypatch):
    at = _run(monkeypatch, EQUALCTAR_BUILTIN_LIMIT="abc")
    assert at.markdown[0].value == "before the sidebar: None"  # all documents; no ValueError on every page
    assert _documents(at) > 1000  # the sidebar's default: the whole built-in corpus
    assert any("EQUALCTAR_BUILTIN_LIMIT must be a whole number" in w.value and "'abc'" in w.value
               for w in at.warning), [w.value for w in at.warning]


def test_a_builtin_limit_in_range_is_used_without_a_note(monkeypatch):
    at = _run(monkeypatch, EQUALCTAR_BUILTIN_LIMIT="600")
    assert _documents(at) == 600
    assert not at.warning
