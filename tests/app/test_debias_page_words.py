"""The Debiasing lab's assumption boxes say each assumption in words, its notation after them as a gloss (they
read "A2 broken: r(1) ⊥ o | x" and "A3 holds: 0 < P(o=1 | x) < 1", notation alone)."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "debiasing_lab.py")


def test_each_assumption_is_said_in_words_before_its_notation():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    boxes = {b.value.split("**")[1].split()[0]: b.value for b in [*at.error, *at.success] if b.value.startswith("**A")}
    assert set(boxes) == {"A1", "A2", "A3"}, boxes
    for text in boxes.values():
        says = text.split(": ", 1)[1]
        head = says.split(" (", 1)[0]  # what precedes any notation
        assert re.match(r"[a-z]", says) and len(head.split()) >= 4, text
        assert not re.search(r"[⊥<>|=]", head), text
    assert "Unconfoundedness: whether" in boxes["A2"] and "(r(1) ⊥ o | x)" in boxes["A2"]  # the notation stays
    assert "(0 < P(o=1 | x) < 1)" in boxes["A3"]
    strength = at.select_slider(key="dl_strength")
    assert strength.help.startswith("How strong the bias is")
