"""The Bandit page: AppTest drives Start/Step/Pause/Reset on a small built-in subset; a browser watches it run."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests._app_server import open_and_wait, slow_bandit_settings

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "bandit.py")


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_start_step_pause_reset(small_builtin):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 1.0  # all 300 documents: many rounds of 5 x 10
    at.session_state["bd_speed"] = 1  # one round per update, so the run is still playing when Pause comes
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Press **Start**" in i.value for i in at.info)

    _button(at, "bd_step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert _metric(at, "Round") == "1" and _metric(at, "Status") == "paused"
    run = at.session_state["bd_loop"].run
    assert run.config.policy == "learned"  # the default (#28): the round's B x D best-scored documents
    assert run.docs_done == run.config.batch_arms * run.config.docs_per_pull
    pulls = run.pulls_frame()
    assert pulls["arm"].is_unique and pulls["n_docs"].sum() == run.docs_done  # grouped into one pull per cluster
    arms_before = at.dataframe[0].value.copy()

    _button(at, "bd_start").click().run()  # the fragment plays pulls for one tick during this run
    assert not at.exception, [e.value for e in at.exception]
    loop = at.session_state["bd_loop"]
    assert loop.state in ("playing", "finished") and loop.run.round > 1
    assert not at.dataframe[0].value.equals(arms_before)  # the arm table moved

    _button(at, "bd_pause").click().run()  # pause takes effect in the run that handles the click
    done = loop.run.docs_done
    assert loop.state in ("paused", "finished")
    at.run()
    assert loop.run.docs_done == done and _metric(at, "Status") in ("paused", "finished")
    labels = [b.label for b in at.get("download_button")]
    assert any("messages" in str(x) for x in labels) or not loop.run.pairs

    _button(at, "bd_reset").click().run()
    assert at.session_state["bd_loop"].run is None


def test_exploration_settings_reach_the_run(small_builtin):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    _button(at, "bd_step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = at.session_state["bd_loop"].run  # the defaults: similarity prior from the map's embeddings, 3 arms per round
    assert run.config.unplayed == "eb" and run.config.batch_arms == 3 and run.config.reward.empty_reward == "worst"
    assert run.config.reward.credit == "document"  # credit per document read
    assert run.state.arm_prior is not None and len(run.state.arm_prior) == run.k
    _button(at, "bd_base").click().run()  # baselines on the same axes, Avg-sim among them: a polled job
    assert not at.exception, [e.value for e in at.exception]
    for _ in range(200):  # each run is one poll of the job (a browser polls every 0.5 s)
        if "bd_baselines" in at.session_state:
            break
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert set(at.session_state["bd_baselines"]) == {"random", "all", "avg-sim"}
    _button(at, "bd_reset").click().run()
    at.session_state["bd_unplayed"] = "zero"  # the paper: every arm tried once, each first pull reads D
    at.session_state["bd_first_pull_docs"] = 10
    _button(at, "bd_step").click().run()
    config = at.session_state["bd_loop"].run.config
    assert config.unplayed == "zero" and config.first_pull_docs == 10
    _button(at, "bd_reset").click().run()
    at.session_state["bd_unplayed"], at.session_state["bd_first_pull_docs"] = "mean", 3
    _button(at, "bd_step").click().run()
    config = at.session_state["bd_loop"].run.config
    assert config.unplayed == "mean" and config.first_pull_docs == 3
    _button(at, "bd_reset").click().run()
    at.session_state["bd_unplayed"], at.session_state["bd_prior_weight"] = "prior", 2.0
    _button(at, "bd_step").click().run()
    assert at.session_state["bd_loop"].run.config.prior_weight == 2.0
    _button(at, "bd_reset").click().run()
    at.session_state["bd_credit"] = "pull"  # the paper's reward: one OT distance per pull
    _button(at, "bd_step").click().run()
    assert at.session_state["bd_loop"].run.config.reward.credit == "pull"


def test_bad_settings_are_reported(small_builtin):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_extractor"] = "openai"
    at.run()
    _button(at, "bd_start").click().run()
    assert not at.exception
    assert any("Cannot start" in e.value for e in at.error)


@pytest.mark.browser
def test_browser_arm_table_changes_while_running(app_url, page):
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    open_and_wait(page, f"{app_url}/bandit", page.get_by_role("button", name="Start"))
    def box(label: str):  # a number box by its label (its help button is labelled "Help for ...")
        return page.get_by_role("spinbutton", name=label, exact=True)

    box("Budget value (share: 0-1)").wait_for(state="visible", timeout=30_000)  # the main choices are in view
    assert not box("Arms per round").is_visible()  # the rest folded under "More settings"
    # one document per pull, one arm per round, the whole corpus, one round per update (at full speed the loop
    # plays these 600 rounds in a few updates, before we can look): hundreds of rounds to watch
    slow_bandit_settings(page)
    page.get_by_role("button", name="Start").click()
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for(timeout=120_000)
    table.scroll_into_view_if_needed()  # below the main charts
    page.wait_for_timeout(1500)
    shots, rounds = [], []
    for _ in range(3):
        shots.append(page.screenshot(clip=table.bounding_box()))  # no wait for stability: the table is live
        rounds.append(page.locator("[data-testid='stMetricValue']").nth(1).inner_text())
        page.wait_for_timeout(1200)
    opacity = [page.evaluate("""() => { let e = document.querySelector("[data-testid='stMetric']"), o = 1;
        while (e) { o *= parseFloat(getComputedStyle(e).opacity || 1); e = e.parentElement; } return o; }""")
               for _ in range(20) if page.wait_for_timeout(100) is None]
    page.screenshot(path=str(out / "bandit.png"), full_page=True)
    assert min(opacity) == 1.0, opacity  # the live panel never greys out while it refreshes
    assert len(set(rounds)) >= 2, rounds  # the round counter moves while running
    assert len(set(shots)) >= 2  # and the arm table's content changes


def test_score_bars_show_differences_between_negative_scores():
    import numpy as np
    import pandas as pd

    from core.viz.bandit import make_score_bars_figure

    arms = pd.DataFrame({"arm": [0, 1, 2], "pulls": [1, 0, 3], "mean": [-0.4, -0.38, -0.44], "docs_left": [5, 6, 7],
                         "score": [-0.36, -0.38, -0.44], "available": [True, True, False]})
    bar = make_score_bars_figure(arms).data[0]
    heights = np.asarray(bar.y)
    np.testing.assert_allclose(heights + bar.base, [-0.36, -0.38, -0.44])  # the bars end at the scores
    assert bar.base < -0.44 and heights.min() > 0 and heights.max() / heights.min() > 5  # visibly different bars
    arms["score"] = [0.5, 0.3, 0.2]  # probabilities (EXP3) rise from 0
    assert make_score_bars_figure(arms).data[0].base == 0.0


def test_two_stored_runs_compare_without_resuming_on_every_rerun(small_builtin, monkeypatch):
    from core.equal.run import BanditRun

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    ids = []
    for _ in range(2):  # two stored runs, one round each
        _button(at, "bd_step").click().run()
        ids.append(at.session_state["bd_loop"].run.run_id)
        _button(at, "bd_reset").click().run()
    calls = []
    original = BanditRun.resume.__func__
    monkeypatch.setattr(BanditRun, "resume",
                        classmethod(lambda cls, *a, **kw: calls.append(a[1]) or original(cls, *a, **kw)))
    at.session_state["bd_pick"] = ids
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert sorted(calls) == sorted(ids)  # each run resumed once to draw the comparison
    at.run()
    assert sorted(calls) == sorted(ids)  # a rerun redraws from the kept frames
    assert len(at.session_state["bd_cmp"]) == 2


def test_runs_that_cannot_be_compared_say_so_once(small_builtin):
    """Two stored runs, one made with another reference set: comparing them shows one message, not one per attempt."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    ids = []
    for preset in ("numerical-arrays", "files-and-os"):
        at.session_state["bd_preset"] = preset
        _button(at, "bd_step").click().run()
        ids.append(at.session_state["bd_loop"].run.run_id)
        _button(at, "bd_reset").click().run()
    at.session_state["bd_pick"] = ids
    at.run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) <= 1, [e.value for e in at.error]  # one message naming the run, or (fixed in core) none
    assert len(at.error) == 1 or len(at.get("plotly_chart")) >= 1


def test_a_run_stored_before_runs_were_named_in_words_is_listed_and_reopened_in_todays_words(small_builtin):
    """A run the page named 'learned · numerical-arrays · seed 0' (before the rename) shows as 'Learned · Numerical
    arrays · seed 0' in the stored runs, the picker and once reopened; its stored name is left as it is."""
    import sqlite3

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    _button(at, "bd_step").click().run()
    run = at.session_state["bd_loop"].run
    assert run.name == "Learned · Numerical arrays · seed 0"
    path, old = run.store.path, "learned · numerical-arrays · seed 0"
    _button(at, "bd_reset").click().run()
    with sqlite3.connect(path) as conn:  # as the page stored it before the rename
        conn.execute("UPDATE runs SET name=? WHERE run_id=?", (old, run.run_id))
    at.run()
    table = next(d.value for d in at.dataframe if "reference task" in d.value.columns)
    assert old not in set(table["run"]) and "Learned · Numerical arrays · seed 0" in set(table["run"])
    picker = next(m for m in at.multiselect if m.key == "bd_pick")
    assert picker.format_func(run.run_id).startswith("Learned · Numerical arrays · seed 0 · ")
    at.session_state["bd_pick"] = [run.run_id]
    at.run()
    _button(at, "bd_reopen").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert at.session_state["bd_loop"].run.name == "Learned · Numerical arrays · seed 0"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM runs WHERE run_id=?", (run.run_id,)).fetchone() == (old,)


def test_page_explains_per_document_why_a_cluster_yields_what_it_yields(small_builtin):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    frames = [d.value for d in at.dataframe if list(d.value.columns) == ["document", "pairs", "rules", "why"]]
    assert frames and len(frames[0]) > 0
    why = frames[0]
    assert ((why.pairs > 0) == (why.rules != "")).all() and (why.why[why.pairs == 0] != "").all()


def test_the_page_says_when_the_seed_changes_nothing(small_builtin):
    """Issue #28: with the default settings two seeds give the same run, and the page says so; once the order
    inside a cluster is explored, the seed matters and the note goes."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("the seed changes nothing" in c.value for c in at.caption)
    at.session_state["bd_order_explore"] = 0.5
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("the seed changes nothing" in c.value for c in at.caption)


def test_the_budget_box_names_the_unit_its_kind_counts(small_builtin):
    """A budget of extraction calls is not labelled a share of 0-1 (it held 100 under that label)."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    assert at.number_input(key="bd_budget").label == "Budget value (share: 0-1)"
    at.selectbox(key="bd_budget_kind").select("calls").run()
    box = at.number_input(key="bd_budget")
    assert (box.label, box.value) == ("Budget value (extraction calls)", 100.0)
    at.selectbox(key="bd_budget_kind").select("cost").run()
    assert at.number_input(key="bd_budget").label == "Budget value (cost)"
    assert not at.exception, [e.value for e in at.exception]


def test_choice_boxes_offer_words_not_the_links_code_values(small_builtin):
    """The arm estimate offered 'prior', 'eb', 'mean', 'zero' (and the solver 'emd', 'ipot'): the boxes now show the
    words declared beside the choices, and the widget still holds the value."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    estimate = at.selectbox(key="bd_unplayed")
    assert "Similarity, trusted as the rewards allow" in estimate.options and "eb" not in estimate.options
    assert "Exact (EMD)" in at.selectbox(key="bd_method").options
    estimate.set_value("eb").run()
    assert at.session_state["bd_unplayed"] == "eb" and not at.exception, [e.value for e in at.exception]


def test_controls_the_live_run_does_not_follow_are_named(small_builtin):
    """A setting changed while a run is held (by hand, or by the tuning lab's Apply) is for the next run: the page
    says which, since Resume plays the run as it was started (the controls used to look like the run's own)."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 1.0
    at.run()
    _button(at, "bd_step").click().run()
    assert not [c for c in at.caption if "from the live run's:" in c.value]  # nothing changed yet
    at.selectbox(key="bd_policy").select("ucb1").run()
    notes = [c.value for c in at.caption if "from the live run's:" in c.value]
    assert notes and "Policy" in notes[0] and "Budget" not in notes[0], notes
    assert at.session_state["bd_loop"].run.config.policy == "learned"  # the held run keeps its own
    at.selectbox(key="bd_policy").select("learned").run()
    assert not [c for c in at.caption if "from the live run's:" in c.value]
    assert not at.exception, [e.value for e in at.exception]


def test_an_endpoint_named_by_the_environment_is_used_when_no_box_is_typed(small_builtin, monkeypatch):
    """README: the endpoint is set in More settings or in the environment. With the boxes empty the page built
    empty settings and refused ("base_url and model are required (or set EQUAL_LLM_BASE_URL ...)") although the
    environment named one; now it asks that endpoint (here a closed port, so the refusal names it)."""
    monkeypatch.setenv("EQUAL_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("EQUAL_LLM_MODEL", "env-model")
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_extractor"] = "openai"
    at.run()
    _button(at, "bd_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert errors and "required" not in errors[0] and "Could not reach" in errors[0], errors  # the env's URL
    at.text_input(key="bd_base_url").input("http://127.0.0.1:9/typed").run()  # a typed endpoint: only what is typed
    _button(at, "bd_start").click().run()
    assert any("required" in e.value for e in at.error), [e.value for e in at.error]  # no model typed


def test_an_oversized_reference_upload_is_refused_by_its_own_limit_and_nothing_is_lost(small_builtin):
    """Streamlit lets any upload reach 1 GB; a reference set gets its own 5 MiB, said before it is parsed."""
    from core.equal.reference import MAX_REFERENCE_BYTES

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 0.5
    at.run()
    at.selectbox(key="bd_preset").set_value("Upload…").run()
    at.file_uploader(key="bd_upload").set_value(("task.jsonl", b'{"question": "q", "answer": "a"}\n' *
                                                 (MAX_REFERENCE_BYTES // 30), "application/jsonl")).run()
    assert not at.exception, [e.value for e in at.exception]
    said = " ".join(e.value for e in at.error).replace("\\", "")
    assert "task.jsonl" in said and "too large for a reference set" in said and "at most 5.0 MiB" in said, said
    assert at.session_state["bd_budget"] == 0.5 and at.session_state["bd_preset"] == "Upload…"  # nothing lost
    at.file_uploader(key="bd_upload").set_value(("task.jsonl", b'{"question": "q", "answer": "a"}\n' * 40,
                                                 "application/jsonl")).run()
    assert not at.error, [e.value for e in at.error]  # a reference set of a usual size reads as before


def test_a_tag_renamed_on_the_corpus_map_stays_the_chosen_reference_task(small_builtin, tmp_path, monkeypatch):
    """A tag chosen as the reference task and then renamed (on the Corpus map, here or in another session) was
    dropped from the choice: the box fell back to the first preset without a word."""
    from core.corpus.builtin import load_builtin_corpus
    from core.corpus.tags import TagStore

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    corpus = load_builtin_corpus(limit=300)
    store = TagStore(corpus.content_hash)
    store.save("dates", corpus.ids[:10])
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_preset"] = "Tag: dates"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="bd_preset").value == "Tag: dates"
    store.rename("dates", "date parsing")  # another session's rename
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    box = at.selectbox(key="bd_preset")
    assert box.value == "Tag: date parsing" and "Tag: dates" not in box.options
    assert not at.error


def _step_on_a_refusing_endpoint(server, monkeypatch) -> AppTest:
    """The Bandit page with the endpoint extractor on ``server`` (named by the environment), which refuses every
    document (400, not retried), after one Step: the run stops as "endpoint failing"."""
    from tests.equal.fake_llm_server import Status

    server.responder = lambda body: Status(400)
    monkeypatch.setenv("EQUAL_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("EQUAL_LLM_MODEL", "fake-model")
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_extractor"] = "openai"
    at.run()
    _button(at, "bd_step").click().run()
    return at


def _reload(address: dict) -> AppTest:
    """A new tab on ``address`` (the query parameters a tab left, ``run=<id>``), opened on the Bandit page."""
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    for key, value in address.items():
        again.query_params[key] = value
    again.switch_page("pages/bandit.py")
    again.run()
    return again


def test_a_run_the_endpoint_stopped_says_so_and_what_to_do(small_builtin, monkeypatch):
    """An endpoint that refuses every document stops the run ("stopped: endpoint failing" in the store). The page
    said "finished" and nothing else, so the user took the empty run for a finished one; it now says "stopped", why,
    and what to do."""
    from tests.equal.fake_llm_server import FakeLLMServer

    with FakeLLMServer() as server:
        at = _step_on_a_refusing_endpoint(server, monkeypatch)
        assert not at.exception, [e.value for e in at.exception]
        run = at.session_state["bd_loop"].run
        assert run.status == "stopped: endpoint failing" and not run.pairs
        assert _metric(at, "Status") == "stopped"
        notes = [w.value for w in at.warning if "endpoint failed" in w.value]
        assert notes and "Resume" in notes[0] and "More settings" in notes[0], [w.value for w in at.warning]


def test_a_stopped_run_reopened_by_a_reload_still_says_why_it_stopped(small_builtin, monkeypatch):
    """Reloading the tab reopens the run named in the address (``run=<id>``). A run the endpoint had stopped was
    then stored as "paused": "stopped: endpoint failing" left the Stored runs table and the page no longer said why.
    It keeps both until Resume (fails on the old code: the Status read "paused" and the store said so)."""
    from core.equal.store import RunStore
    from tests.equal.fake_llm_server import FakeLLMServer

    with FakeLLMServer() as server:
        at = _step_on_a_refusing_endpoint(server, monkeypatch)
        run_id = at.session_state["bd_loop"].run.run_id
        reloaded = _reload(dict(at.query_params))
    assert not reloaded.exception, [e.value for e in reloaded.exception]
    loop = reloaded.session_state["bd_loop"]
    assert loop.run.run_id == run_id and loop.state == "paused"  # Resume retries it
    assert _metric(reloaded, "Status") == "stopped"
    notes = [w.value for w in reloaded.warning if "endpoint failed" in w.value]
    assert notes and "press Resume" in notes[0], [w.value for w in reloaded.warning]
    assert _button(reloaded, "bd_start").label == "Resume"
    runs = RunStore().list_runs().set_index("run_id")
    assert runs.status[run_id] == "stopped: endpoint failing"


def test_resume_continues_an_endpoint_run_reopened_by_a_reload(small_builtin, monkeypatch):
    """The stop note says: check the endpoint, then press Resume. A run reopened by a reload was given a read-only
    stand-in for its extractor, so Resume failed ("this run was reopened read-only ...") even with the endpoint back
    up. It now continues with the page's endpoint when that is the address and model the run was made with; with
    another model it is shown, and Resume says which endpoint to set."""
    from tests.equal.fake_llm_server import FakeLLMServer, Good

    with FakeLLMServer() as server:
        address = dict(_step_on_a_refusing_endpoint(server, monkeypatch).query_params)
        pair = [{"question": "What does this function return?", "answer": "An array of the results."}]
        server.responder = lambda body: Good(pairs=pair)  # the endpoint is back
        reloaded = _reload(address)
        _button(reloaded, "bd_step").click().run()  # Step plays one round of the paused run, as Resume plays on
        assert not reloaded.exception and not reloaded.error, [e.value for e in [*reloaded.exception, *reloaded.error]]
        run = reloaded.session_state["bd_loop"].run
        assert run.pairs and run.status != "stopped: endpoint failing"

        monkeypatch.setenv("EQUAL_LLM_MODEL", "another-model")  # not the endpoint the run was made with
        other = _reload(address)
        assert other.session_state["bd_loop"].run.run_id == run.run_id  # still shown
        _button(other, "bd_step").click().run()
        said = " ".join(e.value for e in [*other.exception, *other.error]).replace("\\", "").replace("\u2060", "")
        assert "model fake-model" in said and "More settings" in said, said
