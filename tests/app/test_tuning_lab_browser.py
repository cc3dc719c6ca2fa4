"""The Tuning lab in real chromium at 1440x900: run a grid, see its curves, pick one, apply it to the Bandit page."""

from __future__ import annotations

import re

import pytest


@pytest.mark.browser
def test_grid_curves_pick_apply_and_link(app_url, page, output_dir):
    page.goto(f"{app_url}/tuning_lab")
    run = page.get_by_role("button", name=re.compile(r"^Run (\([\d,]+ calls\)|the grid)$"))
    run.wait_for(timeout=240_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "tuning_lab_grid.png"))
    run.click()
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.wait_for(timeout=240_000)
    page.wait_for_timeout(1500)
    legend = chart.locator(".legendtext")
    names = legend.all_text_contents()
    assert "Random (baseline)" in names and "Avg-sim (baseline)" in names
    assert sum(n.startswith("B=") for n in names) == 16  # 4 x 4 setting cells, one curve each
    assert chart.locator(".xtitle").text_content() == "Extraction calls (documents read)"
    assert chart.locator(".ytitle").text_content().startswith("Closeness to the reference set")
    page.screenshot(path=str(output_dir / "tuning_lab_curves.png"))
    pick = page.get_by_role("combobox", name="Pick a curve (best first)")
    pick.click()
    page.get_by_role("option", name="B=5 · D=1", exact=True).click()
    page.wait_for_timeout(1500)
    link = page.locator("[data-testid='stCode']").inner_text()
    assert re.search(r"/bandit\?.*batch_arms=5.*docs_per_pull=1", link), link  # the shareable link
    page.screenshot(path=str(output_dir / "tuning_lab_pick.png"))
    page.get_by_role("button", name="Apply to the Bandit page").click()
    page.wait_for_url(re.compile(r"/bandit"), timeout=60_000)
    page.get_by_role("button", name="Start").wait_for(timeout=120_000)
    page.get_by_text("More settings").click()
    page.wait_for_timeout(1000)
    assert page.get_by_label("Arms per round (B)", exact=True).input_value() == "5"
    assert page.get_by_label("Documents per pull (D)", exact=True).input_value() == "1"
    page.screenshot(path=str(output_dir / "tuning_lab_applied.png"))
