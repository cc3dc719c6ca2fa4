"""The Debiasing lab page: AppTest (assumptions, sweep in chunks, cancel, learners) and a real browser run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "debiasing_lab.py")


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _run_until_done(at: AppTest, limit: int = 30) -> None:
    for _ in range(limit):
        job = at.session_state["debias_sweep"] if "debias_sweep" in at.session_state else None
        if job is None or not job.running:
            return
        at.run()
    raise AssertionError("the sweep did not finish")


def test_popularity_bias_moves_between_a2_and_none():
    at = _app()
    assert at.selectbox(key="dl_mech").value == "popularity"
    assert any("A2** broken" in e.value for e in at.error)
    at.toggle(key="dl_on_pop").set_value(True).run()
    assert not at.error and any("breaks no assumption" in i.value for i in at.info)
    at.selectbox(key="dl_mech").set_value("positivity").run()
    assert any("A3** broken" in e.value for e in at.error)
    at.selectbox(key="dl_mech").set_value("conformity").run()
    assert any("A1** broken" in e.value for e in at.error)


def test_sweep_runs_in_chunks_and_explains_the_result():
    at = _app()
    at.number_input(key="dl_seeds").set_value(6).run()
    at.button(key="dl_run").click().run()
    _run_until_done(at)
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["debias_sweep"]
    assert job.status == "done" and job.seeds_done == 6 and job.progress().done == 6
    notes = " ".join(m.value for m in at.markdown)
    assert "Biased:" in notes and "Naive over-states" in notes and "true average error" in notes


def test_cancel_keeps_the_seeds_done():
    """Each AppTest run is one poll of the job (a chunk of 4 seeds); Cancel lands between chunks."""
    at = _app()
    at.number_input(key="dl_seeds").set_value(8).run()
    at.session_state["debias_sweep_chunk_budget"] = 0.0
    at.button(key="dl_run").click().run()
    job = at.session_state["debias_sweep"]
    assert job.running and job.seeds_done == 4  # the first chunk, shown as progress
    assert any("4/8" in p.proto.text for p in at.get("progress"))
    at.button(key="dl_cancel").click().run()
    job = at.session_state["debias_sweep"]
    assert job.status == "cancelled" and job.seeds_done == 4
    assert any("Cancelled: showing the 4 seeds finished of 8" in w.value for w in at.warning)
    assert any("true average error" in m.value for m in at.markdown)


def test_propensity_and_imputation_choices_read_in_words():
    """They offered the code's names ('naive_bayes', 'item_mean', 'oracle_noisy'); the sweep still gets the names."""
    at = _app()
    for key in ("dl_prop", "dl_imp"):
        options = at.selectbox(key=key).options
        assert len(options) >= 4 and not any("_" in o for o in options), options
    assert at.selectbox(key="dl_prop").options[0].startswith("true observation chance")
    at.selectbox(key="dl_imp").set_value("oracle_noisy").run()
    at.number_input(key="dl_seeds").set_value(2).run()
    at.button(key="dl_run").click().run()
    _run_until_done(at)
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["debias_sweep"].config.imputation == "oracle_noisy"


def test_world_choice_reaches_the_sweep():
    at = _app()
    assert at.selectbox(key="dl_generator").value == "ctar"
    assert any("CTAR generator:" in c.value for c in at.caption)
    at.selectbox(key="dl_generator").set_value("compact").run()
    at.number_input(key="dl_seeds").set_value(2).run()
    at.button(key="dl_run").click().run()
    _run_until_done(at)
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["debias_sweep"]
    assert job.config.world.generator == "compact" and job.seeds_done == 2


def test_learner_table():
    at = _app()
    at.multiselect(key="dl_learners").set_value(["MF-Naive", "DR-JL"]).run()
    at.button(key="dl_train").click().run()
    for _ in range(30):  # each run is one poll of the learners job
        if not at.session_state["debias_learners"].running:
            break
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["debias_learners"]
    assert job.status == "done" and job.progress().done == 3
    table = job.table()
    assert list(table.learner) == ["Popularity", "MF-Naive", "DR-JL"]
    # the default scenario (selection bias, known propensities): the doubly-robust learner is closer to the truth
    assert table.mse.iloc[2] < table.mse.iloc[1] and (table.auc.iloc[1:] > 0.7).all()
    shown = [d.value for d in at.dataframe if "learner" in d.value.columns][0]  # columns in words, not code names
    assert "tag AUC, Test II" in shown.columns and not any("_" in c for c in shown.columns), list(shown.columns)
    notes = " ".join(m.value for m in at.markdown)
    assert "popularity alone ranks likes with AUC" in notes and "Users mostly rate what they like" in notes


def test_learners_are_a_job_that_cancels_between_learners():
    """One learner per poll: progress shows while it trains; Cancel keeps the learners already trained."""
    at = _app()
    at.multiselect(key="dl_learners").set_value(["MF-Naive", "MF-IPS", "DR-JL"]).run()
    at.session_state["debias_learners_budget"] = 0.0
    at.button(key="dl_train").click().run()
    job = at.session_state["debias_learners"]
    assert job.running and job.progress().done in (1, 2)  # the baselines, maybe a first learner
    assert any("/4 steps" in p.proto.text for p in at.get("progress"))
    at.button(key="dl_learn_cancel").click().run()
    job = at.session_state["debias_learners"]
    assert job.status == "cancelled" and list(job.table().learner)[0] == "Popularity" and len(job.rows) < 4
    assert any("Cancelled: showing the" in w.value for w in at.warning)


def test_a_failed_job_shows_its_error_and_can_be_started_again():
    """Both panels poll through common.poll_job_panel: a failed job is an error under the panel's words, a failure
    without an error too (the learners panel used to fall through to an empty table), never a traceback."""
    from core.debias.jobs import LearnersJob, SweepJob
    from core.debias.lab import LearnerConfig
    from core.debias.sweep import SweepConfig

    at = AppTest.from_file(PAGE, default_timeout=120)
    sweep, learners = SweepJob(SweepConfig()), LearnersJob(LearnerConfig())
    sweep.status, sweep.error = "failed", ValueError("no observed pair in world 3")
    learners.status, learners.error = "failed", None
    at.session_state["debias_sweep"], at.session_state["debias_learners"] = sweep, learners
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("The sweep failed" in e and "no observed pair in world 3" in e for e in errors), errors
    assert any("Training failed" in e for e in errors), errors
    assert not at.button(key="dl_run").disabled and not at.button(key="dl_train").disabled


@pytest.mark.browser
def test_browser_runs_a_small_sweep(app_url, page, output_dir):
    page.goto(f"{app_url}/debiasing_lab", wait_until="networkidle")
    page.get_by_text("Debiasing lab", exact=True).first.wait_for(timeout=60_000)
    seeds = page.get_by_label("Seeds (repeats)")
    seeds.fill("4")
    seeds.press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Run sweep").click()
    page.get_by_text(re.compile("Error \\(estimate − truth\\)")).first.wait_for(timeout=120_000)
    page.get_by_text("Download the sweep table (CSV)").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(output_dir / "debias.png"), full_page=True)
