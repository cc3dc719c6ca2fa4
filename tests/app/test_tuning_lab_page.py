"""The Tuning lab page (AppTest, small built-in subset): the spend is asked on the Run button, the grid runs as a
polled job with curves and a ranking, bad settings are refused naming them, and a picked cell goes to the Bandit
page."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests._text import shown

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "tuning_lab.py")


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["tl_vary"] = ["batch_arms", "credit"]
    at.session_state["tl_values_batch_arms"] = [1, 3]
    at.session_state["tl_values_credit"] = ["document", "pull"]
    at.session_state["tl_seeds"] = 2
    at.session_state["tl_budget_s"] = 5.0  # each poll works up to 5 s: few reruns
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _run_until_done(at: AppTest, limit: int = 40) -> None:
    for _ in range(limit):
        job = at.session_state["tl_job"] if "tl_job" in at.session_state else None
        if job is not None and not job.running:
            return
        at.run()
    raise AssertionError("the grid did not finish")


def test_grid_runs_ranks_and_applies_a_cell_to_the_bandit_page(small_builtin):
    at = _app()
    run = _button(at, "tl_run")
    # every cell is deterministic: each plays once (it counted 4 cells × 2 seeds, with Random and Avg-sim: 12 runs)
    assert "4 setting cells, with Random and Avg-sim: 7 runs." in " ".join(c.value for c in at.caption)
    if run.label != "Run the grid":  # not all cached yet: the button names the calls it will spend
        # 300 on an empty cache; fewer where an earlier test of this session (the Bandit page's baselines) kept some
        # of the same documents' extractions on disk, which the lab reuses
        calls = re.fullmatch(r"Run \((\d+) calls\)", run.label)
        assert calls and 0 < int(calls[1]) <= 300, run.label
        assert any(f"{calls[1]} extraction calls" in shown(w.value) for w in at.warning)
    run.click().run()
    _run_until_done(at)
    job = at.session_state["tl_job"]
    assert job.status == "done" and not at.exception
    one, three = "1 arm per round · credit per", "3 arms per round · credit per"
    assert set(job.table()["cell"]) == {f"{one} document", f"{one} pull", f"{three} document", f"{three} pull",
                                        "random", "avg-sim"}
    ranked = next(d.value for d in at.dataframe if "coverage_sd" in d.value.columns)  # "Every cell, best first"
    assert {"Random (baseline)", "Avg-sim (baseline)"} <= set(ranked["cell"]) and "random" not in set(ranked["cell"])
    assert at.radio(key="tl_value").options == ["Closeness to the reference set", "On-task share (provenance label)"]
    pick = at.selectbox(key="tl_pick")
    assert pick.value == pick.options[0]  # the best cell first
    pick.set_value("3 arms per round · credit per pull").run()
    # the shareable link (B=3: default; the lab's policy, EQUAL's cluster bandit, is not the default since #28)
    assert [c.value for c in at.code] == ["/bandit?policy=equal&budget=0.2&credit=pull"]
    at.session_state["tl_chart"] = {"selection": {"points": [{"curve_number": 2, "customdata": f"{one} pull"}]}}
    at.run()  # a click on a curve picks it (its points carry their cell)
    assert at.selectbox(key="tl_pick").value == "1 arm per round · credit per pull"
    assert [c.value for c in at.code] == ["/bandit?policy=equal&budget=0.2&batch_arms=1&credit=pull"]
    at.selectbox(key="tl_pick").set_value(f"{three} pull").run()  # the box still picks: the old click stays put
    assert at.selectbox(key="tl_pick").value == "3 arms per round · credit per pull"
    _button(at, "tl_apply").click().run()  # then switches to the Bandit page (app.py's navigation; not in AppTest)
    config = at.session_state["bd_pending_config"]  # the Bandit page shows it in every control when it draws
    assert config == job.grid.cells()[3].config and (config.batch_arms, config.reward.credit) == (3, "pull")
    assert at.session_state["bd_preset"] == "numerical-arrays"
    # a second grid on the same cache spends nothing
    again = AppTest.from_file(PAGE, default_timeout=240)
    again.session_state["tl_vary"] = ["docs_per_pull"]
    again.run()
    assert _button(again, "tl_run").label == "Run the grid" and not again.warning


def test_a_restart_replays_the_grid_from_the_extractions_kept_on_disk(small_builtin, monkeypatch):
    """The lab's extractions are kept on disk under EQUALCTAR_HOME: with nothing in memory (a restart), the grid
    asks for no spend and runs without one extraction call."""
    from core.equal.extract.rules import RuleExtractor
    from pages._lib.loaders import baseline_cache

    _run_until_done(_click_run(_app()))  # extracts what no earlier test kept yet
    baseline_cache.clear()  # the restart: the pairs in memory are gone, the file stays
    calls: list[int] = []
    extract = RuleExtractor.extract
    monkeypatch.setattr(RuleExtractor, "extract", lambda self, docs: calls.append(len(docs)) or extract(self, docs))
    at = _app()
    assert _button(at, "tl_run").label == "Run the grid" and not at.warning
    _run_until_done(_click_run(at))
    assert at.session_state["tl_job"].status == "done" and not at.exception and calls == []


def _click_run(at: AppTest) -> AppTest:
    _button(at, "tl_run").click().run()
    return at


def test_bad_settings_are_refused_naming_them(small_builtin):
    at = _app()
    at.multiselect(key="tl_values_batch_arms").set_value([1, 20]).run()
    assert any("Arms per round = 20 is more than the map's" in shown(e.value) for e in at.error)
    at.multiselect(key="tl_values_batch_arms").set_value([]).run()
    assert any("Arms per round: pick at least one value" in shown(e.value) for e in at.error)
    at.multiselect(key="tl_vary").set_value([]).run()
    assert any("the grid is empty" in shown(e.value) for e in at.error)
    assert not at.exception and not [b for b in at.button if b.key == "tl_run"]  # nothing to start


def test_cancel_keeps_the_runs_done(small_builtin):
    at = _app()
    at.session_state["tl_budget_s"] = 0.0  # one unit per poll
    _button(at, "tl_run").click().run()
    at.run()
    _button(at, "tl_cancel").click().run()
    job = at.session_state["tl_job"]
    assert job.status == "cancelled" and not at.exception
    assert any("Cancelled" in w.value for w in at.warning)


def test_the_lab_says_when_its_seeds_replay_the_same_run(small_builtin):
    """The lab's default grid (EQUAL, arms per round × documents per pull, 3 seeds) is deterministic: each cell's
    seeds replayed the same run, a flat band and '± sd over seeds' 0.000 in every row, three times the work, and
    nothing said so (the Bandit page says 'the seed changes nothing'); now such a cell plays once and the lab says so.
    A random document order spreads them."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = " ".join(c.value for c in at.caption)
    assert "Every setting cell here is deterministic, so it shows as one line without a band" in said, said
    assert "Every setting cell here and Avg-sim play once (their seeds would replay one run)" in said, said
    assert "16 setting cells, with Random and Avg-sim: 20 runs." in said, said  # it said 54 runs
    at.session_state["tl_seeds"] = 1
    at.run()
    assert "deterministic" not in " ".join(c.value for c in at.caption)
    at.session_state["tl_seeds"] = 3
    at.session_state["tl_vary"] = ["doc_order"]
    at.session_state["tl_values_doc_order"] = ["random", "similar"]
    at.run()
    said = " ".join(c.value for c in at.caption)
    assert "1 of 2 setting cells is deterministic" in said, said
    assert not at.exception, [e.value for e in at.exception]
