"""The Corpus map's WebGL map in real chromium at 1440x900: every document, labels by zoom, the legend, a clicked
document's neighbours, search stars, all in one WebGL context. Screenshots land in test-output/ (look at them)."""

from __future__ import annotations

import json

import pytest

from tests._app_server import COUNT_CONTEXTS, MAP_POINTS_AND_LEGEND

MAP = '[data-testid="corpus-map"]'
N_DOCS = 600  # serve_app's built-in corpus size


def _attr(page, name: str) -> str | None:
    return page.locator(MAP).get_attribute(name)


def _wait_attr(page, name: str, check: str, timeout: int = 60_000) -> None:
    """Wait until the map's ``data-<name>`` attribute ``v`` satisfies the JS expression ``check``."""
    page.wait_for_function(f"(() => {{ const e = document.querySelector('{MAP}'); if (!e) return false; "
                           f"const v = e.getAttribute('{name}'); return v !== null && ({check}); }})()",
                           timeout=timeout)


@pytest.mark.browser
def test_corpus_map_labels_by_zoom_legend_neighbours_and_stars(app_url, page, output_dir):
    page.add_init_script(COUNT_CONTEXTS)
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=240_000)
    _wait_attr(page, "data-labels", "JSON.parse(v).length > 0")
    assert page.locator("[data-testid='stException']").count() == 0
    assert _attr(page, "data-label-level") == "groups"  # zoomed out: the coarse groups
    coarse = json.loads(_attr(page, "data-labels"))
    assert all(" " in text for text in coarse)  # phrases ("date parsing, time zone"), not single tokens
    page.locator(MAP).scroll_into_view_if_needed()
    output_dir.mkdir(exist_ok=True)
    page.screenshot(path=str(output_dir / "corpus_map_groups.png"))
    contexts = page.evaluate("window.__webglContexts")

    # every label lies inside the canvas: none is cut at the right edge
    inside = page.evaluate(f"""(() => {{
        const m = document.querySelector('{MAP}').__cmap;
        return m.width > 0 && m.dom.overlay.getBoundingClientRect().right <= m.dom.root.getBoundingClientRect().right;
    }})()""")
    assert inside

    # zoomed in: the clusters' labels
    page.evaluate(f"document.querySelector('{MAP}').__cmap.sp.zoomToLocation([0, 0], 0.3)")
    _wait_attr(page, "data-label-level", "v === 'clusters'")
    page.screenshot(path=str(output_dir / "corpus_map_clusters.png"))
    page.evaluate(f"document.querySelector('{MAP}').__cmap.sp.reset()")

    # the legend hides a cluster, and shows it again
    legend = page.locator(f"{MAP} [data-testid='corpus-map-legend']")
    entry = legend.locator(".cmap-entry").first
    count = int(entry.locator(".cmap-entry-count").inner_text().replace(",", ""))
    entry.click()
    _wait_attr(page, "data-visible", f"Number(v) === {N_DOCS - count}")
    assert json.loads(_attr(page, "data-hidden")) == [0]
    page.screenshot(path=str(output_dir / "corpus_map_legend.png"))
    entry.click()
    _wait_attr(page, "data-visible", f"Number(v) === {N_DOCS}")

    # a clicked document: its neighbours listed under the map and ringed on it
    page.evaluate(f"document.querySelector('{MAP}').__cmap.sp.select([5])")
    _wait_attr(page, "data-marks", "v === '10'", timeout=120_000)
    page.get_by_text("Nearest neighbours of").first.wait_for(timeout=60_000)
    page.screenshot(path=str(output_dir / "corpus_map_neighbours.png"), full_page=True)

    # a search starred on the map, in the same WebGL context
    page.get_by_label("Search by meaning").fill("read a file")
    page.get_by_label("Search by meaning").press("Enter")
    page.get_by_text("Nearest documents to").first.wait_for(timeout=60_000)
    page.locator("[data-testid='stCheckbox'], [data-testid='stToggle']").filter(has_text="Star on map").click()
    _wait_attr(page, "data-stars", "v === '20'", timeout=120_000)
    assert page.evaluate("window.__webglContexts") == contexts  # updated in place, never remounted
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.browser
def test_a_search_answered_by_its_panel_alone_survives_leaving_the_page(app_url, page, output_dir):
    """The search panel is a fragment: a query and a match count typed there rerun it alone, never app.py, which keeps
    a page's view for a page switch on full runs only; a switch's run starts without the widgets' values, so the
    search came back empty after a visit to the Bandit page."""
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=240_000)
    box = page.get_by_label("Search by meaning")
    box.fill("read a file")
    box.press("Enter")
    page.get_by_text("Nearest documents to").first.wait_for(timeout=60_000)
    page.get_by_role("link", name="Bandit").click()
    page.get_by_role("button", name="Start", exact=True).wait_for(timeout=120_000)
    page.get_by_role("link", name="Corpus map").click()
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=120_000)
    page.get_by_text("Nearest documents to").first.wait_for(timeout=60_000)
    assert page.get_by_label("Search by meaning").input_value() == "read a file"
    assert "q=read+a+file" in page.url
    output_dir.mkdir(exist_ok=True)
    page.get_by_text("Nearest documents to").first.scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "corpus_map_search_kept.png"))


@pytest.mark.browser
def test_labels_hide_with_the_clusters_the_legend_hides(app_url, page, output_dir):
    """The legend's None hid every point but the zoomed-out groups' labels stayed drawn over an empty map; a group
    whose clusters are all hidden lost its points, not its label. Now a hidden cluster takes its labels along, and a
    group only partly hidden is named by the clusters it still shows."""
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=240_000)
    _wait_attr(page, "data-labels", "JSON.parse(v).length > 0")
    assert _attr(page, "data-label-level") == "groups"
    page.locator(MAP).scroll_into_view_if_needed()
    everything = json.loads(_attr(page, "data-labels"))
    legend = page.locator(f"{MAP} [data-testid='corpus-map-legend']")

    legend.locator('button[data-action="none"]').click()
    _wait_attr(page, "data-visible", "v === '0'")
    _wait_attr(page, "data-labels", "v === '[]'")  # no point shown: no label either
    output_dir.mkdir(exist_ok=True)
    page.screenshot(path=str(output_dir / "corpus_map_legend_none.png"))
    legend.locator('button[data-action="all"]').click()
    _wait_attr(page, "data-visible", f"v === '{N_DOCS}'")
    _wait_attr(page, "data-labels", f"JSON.parse(v).length === {len(everything)}")
    assert json.loads(_attr(page, "data-labels")) == everything

    groups = page.evaluate(f"document.querySelector('{MAP}').__cmap.header.labels.filter((l) => l[0] === 0)"
                           ".map((l) => [l[2], l[6]])")
    fine = dict(page.evaluate(f"document.querySelector('{MAP}').__cmap.header.labels.filter((l) => l[0] === 1)"
                              ".map((l) => [l[1], l[2]])"))
    name, clusters = next((g for g in groups if len(g[1]) >= 2 and g[0] in everything), (None, None))
    assert name is not None, f"a group of two clusters or more, shown: {groups}"
    legend.locator(f'.cmap-entry[data-code="{clusters[0]}"]').click()  # part of the group hidden
    _wait_attr(page, "data-hidden", f"v === '[{clusters[0]}]'")
    _wait_attr(page, "data-labels", f"!JSON.parse(v).includes({json.dumps(name)})")
    shown = json.loads(_attr(page, "data-labels"))
    assert fine[clusters[0]] not in shown  # the hidden cluster is not named
    assert any(fine[c] in shown for c in clusters[1:])  # the clusters left name the group's place
    for code in clusters[1:]:  # all of the group hidden
        legend.locator(f'.cmap-entry[data-code="{code}"]').click()
    _wait_attr(page, "data-hidden", f"JSON.parse(v).length === {len(clusters)}")
    page.wait_for_timeout(500)
    shown = json.loads(_attr(page, "data-labels"))
    assert name not in shown and not {fine[c] for c in clusters} & set(shown)
    assert shown, "the other groups keep their labels"
    page.screenshot(path=str(output_dir / "corpus_map_legend_group_hidden.png"))
    assert page.locator("[data-testid='stException']").count() == 0


# The pixel (page coordinates) of the map point farthest toward one edge ("bottom" or "right") that the mouse can
# reach: on the canvas, off the legend, inside the window.
EDGE_POINT_JS = f"""(edge) => {{
  const root = document.querySelector('{MAP}'), m = root.__cmap, r = m.dom.canvas.getBoundingClientRect();
  const legend = m.dom.legend.getBoundingClientRect();
  const right = Math.min(r.right, window.innerWidth) - 3, bottom = Math.min(r.bottom, window.innerHeight) - 3;
  let best = null;
  for (let i = 0; i < m.n; i++) {{
    const p = m.sp.getScreenPosition(i);
    if (!p) continue;
    const x = r.left + p[0], y = r.top + p[1];
    if (x < r.left + 3 || x > right || y < r.top + 3 || y > bottom) continue;
    if (x >= legend.left - 3 && x <= legend.right + 3 && y >= legend.top - 3 && y <= legend.bottom + 3) continue;
    if (!best || (edge === 'bottom' ? y > best[1] : x > best[0])) best = [x, y];
  }}
  return best;
}}"""


@pytest.mark.browser
def test_the_hover_tip_of_a_point_at_the_bottom_or_right_edge_stays_inside_the_map(app_url, page, output_dir):
    """The tip went 12 px below and right of the mouse whatever the room there: a point in the map's bottom rows had
    its text cut off by the map's box (it clips what passes its edges). Now the tip goes above / left of the mouse
    where it does not fit below / right of it, and stays in the part of the map the window shows."""
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=240_000)
    page.locator(MAP).scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # the "have" rerun
    tip = page.locator(f"{MAP} .cmap-tip")
    for edge in ("bottom", "right"):
        x, y = page.evaluate(EDGE_POINT_JS, edge)
        page.mouse.move(x - 2, y - 2)
        page.mouse.move(x, y)
        page.wait_for_function(f"(() => {{ const t = document.querySelector('{MAP} .cmap-tip'); "
                               "return t.style.display === 'block' && t.textContent.length > 3; })()",
                               timeout=60_000)
        page.wait_for_timeout(300)  # a text that came from the server has been placed
        box, map_box = tip.bounding_box(), page.locator(MAP).bounding_box()
        page.screenshot(path=str(output_dir / f"corpus_map_tip_{edge}.png"))
        assert box is not None and map_box is not None
        seen = (max(map_box["x"], 0), max(map_box["y"], 0), min(map_box["x"] + map_box["width"], 1440),
                min(map_box["y"] + map_box["height"], 900))
        where = f"tip {box} at the mouse ({x:.0f}, {y:.0f}), the map's visible box {seen}"
        assert box["x"] >= seen[0] and box["y"] >= seen[1], where
        assert box["x"] + box["width"] <= seen[2] + 0.5 and box["y"] + box["height"] <= seen[3] + 0.5, where
        if edge == "bottom" and y + 12 + box["height"] > seen[3]:  # no room below the mouse: the tip is above it
            assert box["y"] + box["height"] <= y, where
        if edge == "right" and x + 12 + box["width"] > seen[2]:  # no room right of the mouse: the tip is left of it
            assert box["x"] + box["width"] <= x, where
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.browser
def test_colour_by_shows_its_longest_built_in_choice_whole(app_url, page, output_dir):
    # at 1440x900 the Colour by box beside the map's caption showed "length (characters" (its input 121 px wide for
    # 126 px of text)
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=240_000)
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Colour by")
    box.scroll_into_view_if_needed()
    box.locator("input").first.click()
    page.locator("[role='option']", has_text="length (characters)").first.click()
    _wait_attr(page, "data-codes", "v !== ''")
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stSelectbox] input')]"
                           ".some(i => i.value === 'length (characters)')", timeout=60_000)
    output_dir.mkdir(exist_ok=True)
    page.screenshot(path=str(output_dir / "corpus_map_colour_by_length.png"))
    widths = box.locator("input").first.evaluate("i => [i.value, i.scrollWidth, i.clientWidth]")
    assert widths[0] == "length (characters)" and widths[1] <= widths[2], widths


@pytest.mark.browser
def test_the_starting_view_and_reset_view_keep_every_point_off_the_legend(app_url, page, output_dir):
    """The starting view centred the points on the whole canvas, so at 1440x900 the right-most points lay under the
    open legend (x 1116 with the legend from x 1112), where they could be neither hovered nor clicked. Now the
    starting view and Reset view fit the points left of the open legend (as wide as the DOM makes it), and into the
    whole canvas while the legend is folded."""
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=240_000)
    _wait_attr(page, "data-labels", "JSON.parse(v).length > 0")
    page.locator(MAP).scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # the "have" rerun
    output_dir.mkdir(exist_ok=True)
    page.screenshot(path=str(output_dir / "corpus_map_start_view.png"))
    start = page.evaluate(MAP_POINTS_AND_LEGEND)
    assert start["n"] == N_DOCS and start["outside"] == 0, start
    assert start["underLegend"] == 0 and start["points"][2] < start["legend"][0], start
    assert _attr(page, "data-label-level") == "groups"

    legend = page.locator(f"{MAP} [data-testid='corpus-map-legend']")
    reset = page.locator(MAP).get_by_role("button", name="Reset view")
    legend.locator(".cmap-legend-title").click()  # folded: the whole canvas is the points' again
    reset.click()
    page.wait_for_timeout(500)
    page.screenshot(path=str(output_dir / "corpus_map_start_view_folded.png"))
    folded = page.evaluate(MAP_POINTS_AND_LEGEND)
    assert folded["outside"] == 0, folded
    centre, middle = (folded["points"][0] + folded["points"][2]) / 2, (folded["canvas"][0] + folded["canvas"][2]) / 2
    assert abs(centre - middle) <= 2, folded  # centred on the whole canvas
    legend.locator(".cmap-legend-title").click()
    page.locator(MAP).get_by_role("button", name="Pan").click()
    canvas = page.locator(f"{MAP} canvas:not(.cmap-overlay)").bounding_box()
    page.mouse.move(canvas["x"] + 200, canvas["y"] + 200)
    page.mouse.down()
    page.mouse.move(canvas["x"] + 400, canvas["y"] + 260, steps=8)  # panned right: some points under the legend
    page.mouse.up()
    page.wait_for_timeout(300)
    reset.click()
    page.wait_for_timeout(500)
    again = page.evaluate(MAP_POINTS_AND_LEGEND)
    assert again["outside"] == 0 and again["underLegend"] == 0, again
    assert again["points"] == pytest.approx(start["points"], abs=1), (again, start)
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.browser
def test_a_refused_map_setting_is_said_in_the_popover_and_under_it_then_a_good_one_rebuilds(app_url, page,
                                                                                             output_dir):
    """Map settings' UMAP neighbours 1 (the box sets no bound of its own) is refused in the form's words inside the
    open popover and under it, and the map keeps its version; 5 then rebuilds the map and both messages go."""
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    _wait_attr(page, "data-points", f"v === '{N_DOCS}'", timeout=240_000)
    version = _attr(page, "data-version")
    page.get_by_role("button", name="Map settings").click()
    box = page.get_by_label("UMAP neighbours", exact=True)
    box.fill("1")
    page.get_by_role("button", name="Rebuild the map").click()
    refused = page.locator("[data-testid='stAlert']").filter(has_text='"UMAP neighbours" must be at least 2, got 1')
    refused.nth(1).wait_for(timeout=60_000)
    assert refused.count() == 2 and refused.first.is_visible(), refused.all_inner_texts()  # in the open popover
    output_dir.mkdir(exist_ok=True)
    page.screenshot(path=str(output_dir / "corpus_map_settings_refused.png"))
    assert _attr(page, "data-version") == version
    page.keyboard.press("Escape")  # closed, the popover uncovers the message under it
    refused.filter(has_text="The map keeps its settings").wait_for(state="visible", timeout=30_000)
    page.screenshot(path=str(output_dir / "corpus_map_settings_refused_under.png"))
    page.get_by_role("button", name="Map settings").click()
    page.get_by_label("UMAP neighbours", exact=True).fill("5")
    page.get_by_role("button", name="Rebuild the map").click()
    _wait_attr(page, "data-version", f"v !== {json.dumps(version)}", timeout=240_000)
    assert refused.count() == 0 and _attr(page, "data-points") == str(N_DOCS)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(output_dir / "corpus_map_settings_rebuilt.png"))
