"""The Bandit page and the Tuning lab offer reference-task presets by name in words ("Numerical arrays"), not by
their slug; the widget still holds the slug (what links, the lab's Apply and the command line use)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_bandit_page_offers_presets_by_name_and_keeps_the_slug(small_builtin):
    at = _page("bandit.py")
    box = at.selectbox(key="bd_preset")
    assert "Text processing" in box.options and "Numerical arrays" in box.options
    assert not [o for o in box.options if o in ("text-processing", "numerical-arrays", "files-and-os")], box.options
    box.set_value("text-processing").run()
    assert at.session_state["bd_preset"] == "text-processing" and not at.exception, [e.value for e in at.exception]


def test_the_tuning_lab_offers_presets_by_name_and_keeps_the_slug(small_builtin):
    at = _page("tuning_lab.py")
    box = next(s for s in at.selectbox if s.label == "Reference task")
    assert "Files and OS" in box.options and "files-and-os" not in box.options, box.options
    assert box.value == "numerical-arrays"
