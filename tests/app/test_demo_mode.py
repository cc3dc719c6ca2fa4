"""Demo mode: every page opens with its plain-language note and its settings folded away."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.common import DEMO_NOTES

PAGES = Path(__file__).resolve().parents[2] / "pages"


@pytest.mark.parametrize("title, file, settings", [
    ("CTAR generator", "ctar_generator.py", "Size and seed"),
    ("Debiasing lab", "debiasing_lab.py", "Sweep settings"),
])
def test_demo_mode_adds_the_note_and_folds_the_settings(title, file, settings):
    at = AppTest.from_file(str(PAGES / file), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(DEMO_NOTES[title] == i.value for i in at.info)
    assert next(e for e in at.expander if e.label == settings).proto.expanded

    at.session_state["sb_demo"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(DEMO_NOTES[title] == i.value for i in at.info)
    assert not next(e for e in at.expander if e.label == settings).proto.expanded


def test_every_page_has_a_demo_note():
    for title in ("Corpus map", "Bandit", "CTAR generator", "Debiasing lab"):
        assert len(DEMO_NOTES[title].split()) >= 20
    titles = {f.stem: f.read_text() for f in PAGES.glob("*.py")}
    for title in DEMO_NOTES:  # each note belongs to a real page title
        assert any(f'"{title}"' in text and "page_header" in text for text in titles.values()), title


def test_presentation_mode_shows_the_bias_without_notation():
    """The lab's bias graph, strength slider and verdict speak words in presentation mode, notation otherwise."""
    at = AppTest.from_file(str(PAGES / "debiasing_lab.py"), default_timeout=120)
    at.session_state["sb_demo"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    graph = at.get("plotly_chart")[0].proto.spec
    shown = " ".join([graph] + [i.value for i in at.info] + [s.label for s in at.select_slider])
    for notation in ("A2", "r(1)", "Unconfoundedness", "eta", "knob"):
        assert notation not in shown, notation
    assert "True rating" in graph and "mislead" in shown

    at.session_state["sb_demo"] = False
    at.run()
    graph = at.get("plotly_chart")[0].proto.spec
    assert "A2: Unconfoundedness" in graph and "Rating r(1)" in graph
    # the slider's own word in words, its symbol (eta) left to the slider's help: it read "(strength eta = 1.5)"
    assert "at strength 1.5" in graph and "eta" not in graph and "knob" not in graph
