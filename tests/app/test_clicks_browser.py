"""Clicks do what the captions say, in real chromium: a map point shows its document, a graph node its equation."""

from __future__ import annotations

import time

import pytest

# Pixel position of one point of a plotly chart: the last point of the first trace carrying custom_data.
POINT_JS = """([chart, which]) => {
  const gd = document.querySelectorAll('.js-plotly-plot')[chart], fl = gd._fullLayout;
  const tr = gd._fullData.find(t => t.customdata && t.customdata.length > 0 && (which === null || t.customdata.some(c => c[0] === which)));
  const i = which === null ? tr.customdata.length - 1 : tr.customdata.findIndex(c => c[0] === which);
  const r = gd.getBoundingClientRect();
  return {x: r.left + fl._size.l + fl.xaxis.l2p(tr.x[i]), y: r.top + fl._size.t + fl.yaxis.l2p(tr.y[i]), id: String(tr.customdata[i][0])};
}"""


def _click_point(page, chart: int = 0, which: str | None = None) -> tuple[str, float]:
    pt = page.evaluate(POINT_JS, [chart, which])
    page.mouse.move(pt["x"], pt["y"])
    page.wait_for_timeout(300)
    page.mouse.click(pt["x"], pt["y"])
    return pt["id"], time.monotonic()


@pytest.mark.browser
def test_clicking_a_map_point_shows_its_document_and_a_search_keeps_the_selection(app_url, page, output_dir):
    page.goto(f"{app_url}/corpus_map")
    page.locator(".js-plotly-plot .plot-container").first.wait_for(timeout=180_000)
    page.wait_for_timeout(2500)
    doc_id, t0 = _click_point(page)
    page.get_by_text(f"Full text of {doc_id}").wait_for(timeout=10_000)
    took = time.monotonic() - t0
    page.screenshot(path=str(output_dir / "corpus_map_click.png"))
    assert took < 2.0, f"the clicked document's text took {took:.1f} s to show"
    assert page.get_by_role("heading", name="Selected documents (1)").count() == 1

    box = page.get_by_label("Search by meaning")
    box.fill("read a file line by line")
    box.press("Enter")
    page.get_by_role("heading", name="Nearest documents to").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.get_by_role("heading", name="Selected documents (1)").count() == 1  # the search kept the selection
    assert page.get_by_text(f"Full text of {doc_id}").count() == 1


@pytest.mark.browser
def test_clicking_a_graph_node_shows_its_equation(app_url, page, output_dir):
    page.goto(f"{app_url}/ctar_generator")
    page.locator(".js-plotly-plot .plot-container").first.wait_for(timeout=120_000)
    page.wait_for_timeout(2000)
    title = page.locator("[data-testid='stMarkdownContainer'] strong", has_text="Movie tags")
    assert title.count() == 0  # the details show the rating node until a click
    _, t0 = _click_point(page, which="T")
    title.first.wait_for(timeout=10_000)
    took = time.monotonic() - t0
    page.screenshot(path=str(output_dir / "ctar_node_click.png"))
    assert took < 2.0, f"the clicked node's equation took {took:.1f} s to show"
