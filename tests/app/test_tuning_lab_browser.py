"""The Tuning lab in real chromium at 1440x900: run a grid, see its curves, pick one, apply it to the Bandit page."""

from __future__ import annotations

import re

import pytest

# the screen position of the setting curve's point farthest from every other curve's points, and its cell
CURVE_POINT_JS = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const curves = gd._fullData.filter(t => t.showlegend !== false && String(t.name).includes('per round'))
    .map(t => ({name: t.name, pts: Array.from(t.x, (x, i) => [xa.l2p(x), ya.l2p(t.y[i])])}));
  let best = null;
  for (const c of curves) for (const [px, py] of c.pts.slice(1, -1)) {
    let gap = Infinity;
    for (const o of curves) if (o !== c)
      for (const [qx, qy] of o.pts) gap = Math.min(gap, Math.hypot(qx - px, qy - py));
    if (!best || gap > best.gap) best = {name: c.name, x: px, y: py, gap};
  }
  return [best.name, box.left + xa._offset + best.x, box.top + ya._offset + best.y];
}"""


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
    assert sum("per round ·" in n for n in names) == 16  # 4 x 4 setting cells, one curve each, in words
    assert chart.locator(".xtitle").text_content() == "Extraction calls (documents read)"
    assert chart.locator(".ytitle").text_content().startswith("Closeness to the reference set")
    page.screenshot(path=str(output_dir / "tuning_lab_curves.png"))
    # a real click on a curve picks it: the point of a setting curve farthest from the other curves
    cell, x, y = page.evaluate(CURVE_POINT_JS)
    page.mouse.move(x, y)  # plotly clicks the point its hover found: hover first, as a mouse does
    page.wait_for_timeout(500)
    page.mouse.click(x, y)
    pick = page.get_by_role("combobox", name="Pick a curve (best first), or click it")
    b, d = re.match(r"(\d+) arms? per round · (\d+) docs? per pull", cell).groups()
    want = [f"batch_arms={b}"] * (b != "3") + [f"docs_per_pull={d}"] * (d != "10")  # defaults stay out of links
    box = page.get_by_test_id("stSelectbox").filter(has=pick)
    for _ in range(60):  # the box names the clicked curve, and the link carries its settings
        shown, link = box.inner_text() + pick.input_value(), page.locator("[data-testid='stCode']").inner_text()
        if cell in shown and all(w in link for w in want):
            break
        page.wait_for_timeout(500)
    assert cell in shown and all(w in link for w in want), (cell, shown, link)
    page.screenshot(path=str(output_dir / "tuning_lab_clicked.png"))
    pick.click()
    page.get_by_role("option", name="5 arms per round · 1 doc per pull", exact=True).click()
    page.wait_for_timeout(1500)
    link = page.locator("[data-testid='stCode']").inner_text()
    assert re.search(r"/bandit\?.*batch_arms=5.*docs_per_pull=1", link), link  # the shareable link
    page.screenshot(path=str(output_dir / "tuning_lab_pick.png"))
    page.get_by_role("button", name="Apply to the Bandit page").click()
    page.wait_for_url(re.compile(r"/bandit"), timeout=60_000)
    page.get_by_role("button", name="Start").wait_for(timeout=120_000)
    page.get_by_text("More settings").click()
    page.wait_for_timeout(1000)
    assert page.get_by_label("Arms per round", exact=True).input_value() == "5"
    assert page.get_by_label("Documents per pull", exact=True).input_value() == "1"
    page.screenshot(path=str(output_dir / "tuning_lab_applied.png"))
