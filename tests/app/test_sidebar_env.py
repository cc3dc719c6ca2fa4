"""The sidebar's defaults from the environment: a value the app cannot use is named, never silently replaced,
and never breaks a page (EQUALCTAR_BUILTIN_LIMIT, EQUALCTAR_ENCODER)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _sidebar_script() -> None:
    import streamlit as st

    from pages import sidebar
    from pages._lib.choices import builtin_limit, encoder_name

    st.write(f"before the sidebar: {builtin_limit()}")  # what a page reads when no sidebar was drawn yet
    sidebar._draw_settings(st.session_state.get("paths_ok", False))
    st.write(f"after the sidebar: {builtin_limit()}")
    st.write(f"encoder: {encoder_name()}")


def _run(monkeypatch, paths_ok: bool = False, **env: str) -> AppTest:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_function(_sidebar_script, default_timeout=120)
    at.session_state["paths_ok"] = paths_ok
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


def _encoder(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("encoder: ")).removeprefix("encoder: ")


@pytest.mark.parametrize("kind", ["folder", "hashing-64"])
def test_an_encoder_the_sidebar_does_not_list_is_offered_as_the_local_model_filled_in(monkeypatch, tmp_path, kind):
    value = str(tmp_path) if kind == "folder" else kind
    at = _run(monkeypatch, paths_ok=True, EQUALCTAR_ENCODER=value, EQUALCTAR_BUILTIN_LIMIT="300")
    assert at.selectbox[0].value == "Local model path"
    assert at.text_input(key="sb_encoder_path").value == value
    assert _encoder(at) == value  # the app uses it, as the command line does
    assert not at.warning


def test_a_local_model_a_browser_may_not_choose_is_named_and_minilm_used(monkeypatch, tmp_path):
    at = _run(monkeypatch, paths_ok=False, EQUALCTAR_ENCODER=str(tmp_path), EQUALCTAR_BUILTIN_LIMIT="300")
    assert at.selectbox[0].value.startswith("MiniLM")
    assert _encoder(at) == "all-MiniLM-L6-v2 (packaged)"
    assert any(f"EQUALCTAR_ENCODER='{tmp_path}'" in w.value and "server paths are off" in w.value
               for w in at.warning), [w.value for w in at.warning]


def test_an_unknown_encoder_name_is_named_and_the_default_used(monkeypatch):
    at = _run(monkeypatch, paths_ok=True, EQUALCTAR_ENCODER="bogus-encoder", EQUALCTAR_BUILTIN_LIMIT="300")
    assert at.selectbox[0].value.startswith("MiniLM")
    assert _encoder(at) == "all-MiniLM-L6-v2 (packaged)"
    assert any("EQUALCTAR_ENCODER='bogus-encoder' names no encoder this machine has" in w.value
               for w in at.warning), [w.value for w in at.warning]


def test_a_named_encoder_is_chosen_by_its_label_without_a_note(monkeypatch):
    at = _run(monkeypatch, paths_ok=True, EQUALCTAR_ENCODER="hashing", EQUALCTAR_BUILTIN_LIMIT="300")
    assert at.selectbox[0].value.startswith("Hashing")
    assert _encoder(at) == "hashing" and not at.warning


def test_a_hashing_dimension_out_of_range_is_named_with_the_range_and_the_default_used(monkeypatch):
    """``hashing-0`` was offered as the local model and loaded a 128-dimension encoder in a space named hashing-0."""
    at = _run(monkeypatch, paths_ok=True, EQUALCTAR_ENCODER="hashing-0", EQUALCTAR_BUILTIN_LIMIT="300")
    assert at.selectbox[0].value.startswith("MiniLM")
    assert _encoder(at) == "all-MiniLM-L6-v2 (packaged)"
    assert any("EQUALCTAR_ENCODER='hashing-0'" in w.value and "must be 2 to 4,096, not 0" in w.value
               for w in at.warning), [w.value for w in at.warning]
