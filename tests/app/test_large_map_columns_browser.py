"""The Large corpus page in real chromium coloured by a CSV's own column: the legend titles it with its range and
lists the documents without a value as "missing"."""

from __future__ import annotations

import pandas as pd
import pytest

from tests._app_server import index_in_home, serve_app

N_DOCS = 200
TOPICS = ("files", "sockets", "dates", "colours")
MAP = '[data-testid="corpus-map"]'
LEGEND = '[data-testid="corpus-map-legend"]'


@pytest.fixture(scope="module")
def csv_index(tmp_path_factory):
    """A home holding the index of a 200-row CSV with a ``year`` (every tenth blank) and a ``label`` column."""
    home = tmp_path_factory.mktemp("large-columns-home")
    path = home / "dated.csv"
    pd.DataFrame({"id": [f"d{i}" for i in range(N_DOCS)],
                  "text": [f"notes on {TOPICS[i % 4]} number {i}" for i in range(N_DOCS)],
                  "year": [None if i % 10 == 0 else 1990 + i % 20 for i in range(N_DOCS)],
                  "label": ["news" if i % 3 else "review" for i in range(N_DOCS)]}).to_csv(path, index=False)
    index_in_home(home, path)  # the app's server finds the index under its own home
    return home, path


def _open_index(page, url: str, path) -> None:
    """The Large corpus page with the index of ``path``, every point drawn (and the browser's "have" rerun done)."""
    page.goto(url + "/large_map")
    box = page.get_by_label("Corpus file (.jsonl, .parquet, .csv, .tsv) or folder", exact=True)
    box.fill(str(path))
    box.press("Enter")
    page.wait_for_function(f"(document.querySelector('{MAP}') || {{dataset: {{}}}}).dataset.points === "
                           f"'{N_DOCS}'", timeout=60_000)
    page.wait_for_timeout(1500)


@pytest.mark.browser
def test_colour_by_a_csv_column_retitles_the_legend_with_its_range(csv_index, page, output_dir):
    home, path = csv_index
    with serve_app(home, env={"EQUALCTAR_ROOTS": str(home)}) as (url, _):
        _open_index(page, url, path)
        choice = page.get_by_role("combobox", name="Colour by")
        choice.scroll_into_view_if_needed()
        choice.click()  # opens its options
        page.get_by_role("option", name="year", exact=True).click()
        legend = page.locator(LEGEND)
        legend.filter(has_text="year, 1991 – 2009").wait_for(timeout=30_000)
        assert "missing" in legend.inner_text()
        page.get_by_text(f"{N_DOCS // 10} of {N_DOCS} documents have no year").wait_for(timeout=10_000)
        legend.scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "large_map_by_year.png"))


@pytest.mark.browser
def test_colour_by_another_column_keeps_the_box_selection_and_its_table(csv_index, page, output_dir):
    home, path = csv_index
    with serve_app(home, env={"EQUALCTAR_ROOTS": str(home)}) as (url, _):
        _open_index(page, url, path)
        version, codes = page.locator(MAP).get_attribute("data-version"), page.locator(MAP).get_attribute("data-codes")
        page.locator(MAP).get_by_role("button", name="Box").click()
        bb = page.locator(f"{MAP} canvas:not(.cmap-overlay)").bounding_box()
        page.mouse.move(bb["x"] + 4, bb["y"] + 4)
        page.mouse.down()
        page.mouse.move(bb["x"] + bb["width"] - 4, bb["y"] + bb["height"] - 4, steps=20)  # the whole canvas
        page.mouse.up()
        page.get_by_role("heading", name=f"Selected documents ({N_DOCS})").wait_for(timeout=30_000)
        choice = page.get_by_role("combobox", name="Colour by")
        choice.scroll_into_view_if_needed()
        choice.click()
        page.get_by_role("option", name="label", exact=True).click()
        page.locator(LEGEND).filter(has_text="Colour: label").wait_for(timeout=30_000)
        page.wait_for_function(f"document.querySelector('{MAP}').dataset.codes !== '{codes}'", timeout=30_000)
        page.wait_for_timeout(1500)  # any rerun the new colours cause
        page.screenshot(path=str(output_dir / "large_map_recoloured_selection.png"))
        root = page.locator(MAP)
        assert root.get_attribute("data-version") == version  # the same points: only their colours changed
        assert root.get_attribute("data-selection") == "region" and root.get_attribute("data-selected") == str(N_DOCS)
        assert page.get_by_role("heading", name=f"Selected documents ({N_DOCS})").count() == 1
        assert page.get_by_role("button", name="Selected ids (one per line)").count() == 1
