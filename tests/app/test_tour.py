"""Presentation mode's tour: AppTest walks the steps; chromium checks each hero visual sits above the fold, free of
notation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
# what a stakeholder must not meet in the tour: formulas, assumption codes, test-set names, jargon
NOTATION = re.compile(r"⊥|_um\b|_m\b|O\^|clip\(|Test I|\bA[123]\b|UMAP|k-means|optimal transport|propensit|MNAR|MCAR|"
                      r"\bEIB\b.*=|σ|Σ|π_")


def test_tour_walks_four_steps_with_big_numbers_and_a_live_run(small_builtin):
    at = AppTest.from_file(str(ROOT / "pages" / "tour.py"), default_timeout=240)
    at.session_state["sb_demo"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    seen = []
    for number in range(1, 5):
        assert at.subheader[0].value.startswith(f"{number} of 4")
        assert len(at.metric) >= 3 and len(at.get("plotly_chart")) + len(at.get("bidi_component")) == 1  # one hero
        text = " ".join([m.value for m in at.markdown] + [m.label for m in at.metric] + [s.value for s in at.subheader])
        assert not NOTATION.search(text), NOTATION.search(text)
        seen.append(at.subheader[0].value)
        if number == 2:  # the live runs started by themselves and moved
            loops = at.session_state["tour_loops"]
            assert loops[0].playing and loops[0].run.docs_done > 0 and loops[1].run.docs_done > 0
        if number < 4:
            at.button(key="tour_next").click().run()
            assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="tour_next").disabled and len(set(seen)) == 4
    at.button(key="tour_back").click().run()
    assert at.subheader[0].value.startswith("3 of 4")


HERO = "[data-testid='stPlotlyChart'], [data-testid='corpus-map']"  # step 1's is the WebGL corpus map


@pytest.mark.browser
def test_each_tour_step_shows_its_hero_above_the_fold_without_notation(app_url, page, output_dir):
    for number in range(1, 5):
        page.goto(f"{app_url}/tour?demo=1&step={number}")
        hero = page.locator(HERO).first
        hero.wait_for(timeout=180_000)
        page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
        page.wait_for_timeout(2500)
        box = hero.bounding_box()
        for _ in range(10):  # the live race re-renders its chart: a box read mid-render is None, read it again
            if box is not None:
                break
            page.wait_for_timeout(500)
            box = page.locator(HERO).first.bounding_box()
        page.screenshot(path=str(output_dir / f"tour_{number}.png"))
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900, (number, box)
        visible = page.locator("[data-testid='stMain']").inner_text()
        assert not NOTATION.search(visible), (number, NOTATION.search(visible))
        sidebar = page.locator("[data-testid='stSidebar']").inner_text()
        assert "Encoder" not in sidebar and "Documents to use" not in sidebar  # corpus/encoder sidebar hidden
        assert page.get_by_role("button", name="Next").count() == 1
        assert page.get_by_role("button", name="Back").count() == 1
