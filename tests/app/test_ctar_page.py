"""The CTAR generator page: AppTest (generate, statistics beside the release, intervention, reset) and a browser run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests._text import shown

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "ctar_generator.py")


def _frame_with(at: AppTest, column: str):
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with column {column!r}; errors: {[e.value for e in at.error]}"
    return frames[0]


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_generate_shows_statistics_beside_the_release_and_marginals():
    at = _app()
    at.number_input(key="ctar_n_users").set_value(300)
    at.number_input(key="ctar_rct_users").set_value(30)
    at.button(key="ctar_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    stats = _frame_with(at, "this sample")
    assert "this sample" in stats.columns and any(c.startswith("released CTAR") for c in stats.columns)
    released = stats[[c for c in stats.columns if c.startswith("released CTAR")][0]]
    assert released[stats["item"] == "ratings"].iloc[0] == 19897
    ours = stats.loc[stats["item"] == "ratings", "this sample"].iloc[0]
    assert 4000 < ours < 8000  # 300 users x 1000 movies at 2%
    assert len(at.tabs) >= 5 and len(at.get("download_button")) == 2  # 5 truth plots; the file preview picks one file


def test_intervention_table_and_invalid_parameters():
    at = _app()
    at.number_input(key="ctar_n_users").set_value(200)
    at.number_input(key="ctar_rct_users").set_value(20)
    at.selectbox(key="ctar_intervention").set_value("do(N = 2): cut S → N")
    at.button(key="ctar_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("2 of its user's liked tags" in shown(m.value) for m in at.markdown)  # words, not "do(n_match = 2)"
    assert not any("n_match" in m.value for m in at.markdown)
    table = _frame_with(at, "exact (pgmpy)")
    assert (table["difference"].abs() < 0.02).all()
    at.number_input(key="ctar_rating_rate").set_value(0.9).run()
    # the form's label, not the field's name (it read "rating_rate (Share of ratings observed)=0.9 exceeds ...")
    errors = [shown(e.value) for e in at.error]
    assert any('"Share of ratings observed" = 0.9 is more than' in e for e in errors), errors
    assert not any("rating_rate" in e for e in errors), errors
    assert at.number_input(key="ctar_rating_rate").label == "Share of ratings observed"
    assert at.number_input(key="ctar_n_users").label == "Users" and "`n_users`" in at.number_input(
        key="ctar_n_users").help
    at.button(key="ctar_reset").click().run()  # reset to CTAR defaults
    assert at.number_input(key="ctar_rating_rate").value == pytest.approx(0.02)
    assert at.number_input(key="ctar_n_users").value == 1000


def test_an_intervention_the_parameters_make_impossible_is_shown_as_invalid():
    at = _app()
    at.selectbox(key="ctar_intervention").set_value("do(N = 2): cut S → N")
    at.number_input(key="ctar_tags_per_movie").set_value(1).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [shown(e.value) for e in at.error]
    # in the form's words (it read "n_match=2 exceeds tags_per_movie (Tags per movie)=1")
    assert any("Invalid parameter" in e and '"Matching tags the intervention sets" = 2 is more than "Tags per movie" '
               "= 1" in e for e in errors), errors
    assert not any("n_match" in e or "tags_per_movie" in e for e in errors), errors


@pytest.mark.browser
def test_browser_generates_and_sees_the_statistics(app_url, page, output_dir):
    page.goto(f"{app_url}/ctar_generator", wait_until="networkidle")
    page.get_by_text("CTAR generator", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("Press Generate", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    # Streamlit may flash "Page not found" for st.navigation url paths on first load; close it
    if page.get_by_text("Page not found").count():
        page.keyboard.press("Escape")
        page.get_by_text("Page not found").wait_for(state="hidden", timeout=10_000)
    try:
        page.get_by_role("button", name="Generate").click(timeout=60_000)
    except Exception:
        page.screenshot(path=str(output_dir / "ctar-failed.png"), full_page=True)
        raise
    page.get_by_text("Specified vs sampled marginals").wait_for(timeout=120_000)
    page.get_by_text("Statistics", exact=True).wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stDataFrame']").count() >= 2
    page.get_by_text("Statistics", exact=True).scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(output_dir / "ctar.png"), full_page=True)


@pytest.fixture(scope="module")
def generated_folder(tmp_path_factory) -> Path:
    """A small partitioned output, written as ``python -m core.ctar generate --format partitioned`` writes it."""
    from core.ctar.stream import generate_stream
    from tests.ctar.conftest import small_config

    out = tmp_path_factory.mktemp("roots") / "ctar_out"
    generate_stream(small_config(n_users=120, chunk_pairs=15_000), out)
    return out


def _open_folder(monkeypatch, roots: Path, folder: Path) -> AppTest:
    monkeypatch.setenv("EQUALCTAR_ROOTS", str(roots))
    at = _app()
    at.session_state["ctar_source"] = "Generated folder (python -m core.ctar generate)"
    at.run()
    at.session_state["ctar_folder"] = str(folder)
    at.button(key="ctar_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_generated_folder_opens_for_its_statistics(monkeypatch, generated_folder):
    """Issue #25: the page reads a partitioned output's statistics (beside the release), sampling nothing."""
    from core.ctar.stats import summarize
    from core.ctar.stream import load_stream

    at = _open_folder(monkeypatch, generated_folder.parent, generated_folder)
    assert not at.error, [e.value for e in at.error]
    stats = _frame_with(at, "generated folder")
    want = summarize(load_stream(generated_folder)).set_index("item")["value"]
    got = stats.set_index("item")["generated folder"]
    assert got["ratings"] == want["ratings"] > 0
    assert "ctar_result" not in at.session_state  # nothing was sampled


def test_a_generated_folder_outside_the_roots_or_linking_out_is_refused(monkeypatch, generated_folder, tmp_path):
    at = _open_folder(monkeypatch, tmp_path, generated_folder)  # the folder is not under these roots
    assert any("allowed folders" in e.value for e in at.error), [e.value for e in at.error]
    inside = tmp_path / "copy"  # a copy under the roots whose one test file links out of them
    shutil.copytree(generated_folder, inside)
    target = next((inside / "test").glob("*.parquet"))
    target.unlink()
    target.symlink_to(next((generated_folder / "test").glob(target.name)))
    at = _open_folder(monkeypatch, tmp_path, inside)
    assert any("allowed folders" in e.value for e in at.error), [e.value for e in at.error]
    assert "ctar_opened" not in at.session_state


def test_truth_figures_label_axes_and_series_in_words():
    """The five ground-truth figures after Generate: axis titles and series names in words, no bare notation
    (they read "|L_u|", "N_um", "popularity rank j", "propensity p_j", "latent rating Y", "P(tag written)")."""
    import json
    import re

    at = _app()
    at.number_input(key="ctar_n_users").set_value(200)
    at.number_input(key="ctar_rct_users").set_value(20)
    at.button(key="ctar_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    truth = [s for s in specs if s["layout"].get("xaxis", {}).get("title")]  # the graph has no axes
    assert len(truth) == 5, [s["layout"].get("title") for s in specs]
    notation = re.compile(r"[_|^]|\bP\(|\b(?![aA]\b)[A-Za-z]\b")  # subscripts, bars, P(...), one-letter symbols
    words = [s["layout"][axis]["title"]["text"] for s in truth for axis in ("xaxis", "yaxis")]
    words += [trace["name"] for s in truth for trace in s["data"] if trace.get("name")]
    assert not [w for w in words if notation.search(w)], words


def test_a_refused_parameter_is_said_under_generate_with_the_group_to_change():
    # Users 3 with the default randomized slice of 100 users: the refusal was drawn after the last parameter group,
    # ~770 px below Generate (out of view at 1440x900, so Generate seemed to do nothing), said no group to open, and the
    # info under it still read "Set the parameters and press Generate"
    at = _app()
    at.number_input(key="ctar_n_users").set_value(3).run()
    assert not at.exception, [e.value for e in at.exception]
    left = list(at.columns[0].children.values())
    kinds = [type(c).__name__ for c in left]
    at_error, first_group = kinds.index("Error"), kinds.index("Expander")
    assert at_error < first_group, kinds  # under the buttons, above the parameter groups
    said = shown(left[at_error].value)
    assert '"Randomized slice: users" (100) is more than "Users" (3)' in said, said
    assert 'Change it under "Size and seed" or "Randomized slice (RCTTag)".' in said, said
    assert not any("press **Generate**." in i.value for i in at.info), [i.value for i in at.info]
