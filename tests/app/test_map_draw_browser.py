"""The WebGL map's first draw in real chromium: one frame of the points, the spatial index after it, Save PNG.

A first draw renders the points once (a frame of a million points takes ~0.5-1 s in software GL). From
``DEFER_INDEX_POINTS`` points on (``components/corpus_map/src/index.js``) the map draws first and hands
regl-scatterplot an index whose points are NaN; the worker's kd-sorted index is then copied into that same buffer.
The tests serve ``benchmarks/_map_bench_app.py`` (synthetic clusters, ``?n=<points>``) and check the index
regl-scatterplot reads (a permutation of the points, kd-sorted; hover finds the point under the mouse) and the
picture the map saves (its points drawn straight onto the canvas, which keeps its drawing for the copy).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tests._app_server import ROOT, free_port, healthy, require_chromium

MAP = '[data-testid="corpus-map"]'
BIG = 120_000  # above the component's DEFER_INDEX_POINTS (100,000)
SMALL = 2_000

# kdbush's layout (header, ids, coordinates) and its kd-tree invariant, checked over the buffer regl-scatterplot reads
CHECK_INDEX = """() => {
  const m = document.querySelector('[data-testid="corpus-map"]').__cmap;
  const data = m.sp.get('spatialIndex');
  const head = new Uint8Array(data, 0, 2), nodeSize = new Uint16Array(data, 2, 1)[0];
  const n = new Uint32Array(data, 4, 1)[0];
  const idBytes = n < 65536 ? 2 : 4, coordsAt = 8 + n * idBytes + ((8 - ((n * idBytes) % 8)) % 8);
  const ids = idBytes === 2 ? new Uint16Array(data, 8, n) : new Uint32Array(data, 8, n);
  const coords = head[1] === 0x17 ? new Float32Array(data, coordsAt, 2 * n) : new Float64Array(data, coordsAt, 2 * n);
  const seen = new Uint8Array(n);
  let misplaced = 0, duplicates = 0, unordered = 0;
  for (let i = 0; i < n; i++) {
    if (seen[ids[i]]++) duplicates++;
    if (coords[2 * i] !== m.pts.x[ids[i]] || coords[2 * i + 1] !== m.pts.y[ids[i]]) misplaced++;
  }
  const stack = [[0, n - 1, 0]];
  while (stack.length) {
    const [left, right, axis] = stack.pop();
    if (right - left <= nodeSize) continue;
    const mid = (left + right) >> 1, v = coords[2 * mid + axis];
    for (let i = left; i < mid; i++) if (coords[2 * i + axis] > v) unordered++;
    for (let i = mid + 1; i <= right; i++) if (coords[2 * i + axis] < v) unordered++;
    stack.push([left, mid - 1, 1 - axis], [mid + 1, right, 1 - axis]);
  }
  return {magic: head[0], n, nodeSize, misplaced, duplicates, unordered};
}"""


@pytest.fixture(scope="module")
def bench_app(tmp_path_factory):
    """``benchmarks/_map_bench_app.py`` served on a free port (the map component alone, synthetic points)."""
    require_chromium()
    home = tmp_path_factory.mktemp("map-index-home")
    port = free_port()
    log = open(home / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "benchmarks" / "_map_bench_app.py"),
                             "--server.port", str(port), "--server.headless", "true", "--server.address",
                             "127.0.0.1", "--browser.gatherUsageStats", "false"], cwd=ROOT,
                            env=dict(os.environ, EQUALCTAR_HOME=str(home)), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while not healthy(url):
            assert proc.poll() is None and time.time() < deadline, (home / "streamlit.log").read_text()[-2000:]
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _open(page, url: str, n: int) -> None:
    page.goto(f"{url}/?r=webgl&n={n}")
    page.wait_for_function(f"(document.querySelector('{MAP}') || {{dataset: {{}}}}).dataset.points === '{n}'",
                           timeout=120_000)


@pytest.mark.browser
def test_a_big_map_gets_a_kd_sorted_index_of_every_point_after_its_first_frame(bench_app, page):
    _open(page, bench_app, BIG)
    page.wait_for_function(f"document.querySelector('{MAP}').dataset.spatialIndex === 'ready'", timeout=60_000)
    assert page.evaluate(CHECK_INDEX) == {"magic": 0xDB, "n": BIG, "nodeSize": 16, "misplaced": 0, "duplicates": 0,
                                          "unordered": 0}
    assert page.evaluate("performance.getEntriesByName('cmap-index-ready').length") == 1


@pytest.mark.browser
def test_hover_finds_the_point_under_the_mouse_once_the_deferred_index_is_in(bench_app, page):
    _open(page, bench_app, BIG)
    page.wait_for_function(f"document.querySelector('{MAP}').dataset.spatialIndex === 'ready'", timeout=60_000)
    page.wait_for_timeout(500)  # the "have" rerun
    # the point nearest the canvas's centre, and its pixel from the scatterplot's own view
    where = page.evaluate(f"""() => {{
        const m = document.querySelector('{MAP}').__cmap, r = m.dom.canvas.getBoundingClientRect();
        let best = -1, bestD = Infinity;
        for (let i = 0; i < m.pts.n; i++) {{
            const [x, y] = m.sp.getScreenPosition(i), d = (x - r.width / 2) ** 2 + (y - r.height / 2) ** 2;
            if (d < bestD) {{ bestD = d; best = i; }}
        }}
        const [x, y] = m.sp.getScreenPosition(best);
        return [best, r.left + x, r.top + y];
    }}""")
    page.mouse.move(where[1] - 5, where[2] - 5)
    page.mouse.move(where[1], where[2])
    # the map's own hover (through the index the worker filled; regl-scatterplot's hover would redraw every point)
    page.wait_for_function(f"document.querySelector('{MAP}').__cmap.hovered !== null", timeout=30_000)
    over = page.evaluate(f"document.querySelector('{MAP}').__cmap.hovered")
    # the hovered point is within a pixel or two of the mouse (others may lie as close)
    gap = page.evaluate(f"""([i, mx, my]) => {{
        const m = document.querySelector('{MAP}').__cmap, r = m.dom.canvas.getBoundingClientRect();
        const [x, y] = m.sp.getScreenPosition(i);
        return Math.hypot(r.left + x - mx, r.top + y - my);
    }}""", [over, where[1], where[2]])
    assert gap <= 2.0, f"hover found point {over}, {gap:.1f} px from the mouse (point {where[0]} is under it)"


@pytest.mark.browser
def test_a_small_map_builds_its_index_with_its_first_draw(bench_app, page):
    _open(page, bench_app, SMALL)
    assert page.locator(MAP).get_attribute("data-spatial-index") == "ready"
    result = page.evaluate(CHECK_INDEX)
    assert (result["n"], result["misplaced"], result["duplicates"], result["unordered"]) == (SMALL, 0, 0, 0)
    assert page.evaluate("performance.getEntriesByName('cmap-index-ready').length") == 0


@pytest.mark.browser
def test_a_first_draw_renders_the_points_once(bench_app, page):
    _open(page, bench_app, BIG)
    page.wait_for_timeout(2000)  # the init frame, the "have" rerun and the index: none of them draws again
    assert page.evaluate(f"document.querySelector('{MAP}').__cmap.renderer.frames") == 1


@pytest.mark.browser
def test_save_png_writes_the_points_as_drawn(bench_app, page, tmp_path):
    from PIL import Image

    _open(page, bench_app, SMALL)
    page.wait_for_timeout(500)
    with page.expect_download() as download:
        page.locator(MAP).get_by_role("button", name="Save PNG").click()
    target = tmp_path / "map.png"
    download.value.save_as(target)
    picture = np.asarray(Image.open(io.BytesIO(target.read_bytes())).convert("RGB")).astype(int)
    canvas = page.locator(f"{MAP} canvas:not(.cmap-overlay)").bounding_box()
    assert picture.shape[:2] == (round(canvas["height"]), round(canvas["width"]))
    coloured = (picture.max(axis=2) - picture.min(axis=2)) > 60  # the clusters' colours on white
    assert coloured.mean() > 0.01, "the saved picture holds no points"
