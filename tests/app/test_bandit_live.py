"""The Bandit page's live panel (AppTest): several rounds per refresh, charts in words, no notation while
presenting, and baselines that cancel and resume."""

from __future__ import annotations

import json
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "bandit.py")
# what a newcomer cannot read: the paper's symbols, arm codes like "c14", the reward's formula
NOTATION = re.compile(r"\bD_r\b|\bD_e\b|\bW\b|\bc\d+\b|reward = 1|1 - W")


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _chart_words(chart: dict) -> list[str]:
    """Every word a chart shows: its title, axis titles, legend entries and category ticks."""
    layout = chart.get("layout", {})
    words = [str(layout.get("title", {}).get("text", ""))]
    for axis in ("xaxis", "yaxis"):
        words.append(str(layout.get(axis, {}).get("title", {}).get("text", "")))
    for trace in chart.get("data", []):
        words.append(str(trace.get("name", "")))
        if trace.get("type") == "bar":
            words += [str(x) for x in trace.get("x", [])]
    return words


def _stepped(at: AppTest) -> AppTest:
    at.run()
    _button(at, "bd_step").click().run()  # a live run's round: the baselines are drawn beside it
    return at


def _baselines(at: AppTest) -> dict:
    _button(at, "bd_base").click().run()
    for _ in range(200):
        if "bd_baselines" in at.session_state:
            break
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["bd_baselines"]


def test_a_refresh_plays_several_rounds(small_builtin):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 1.0  # every document: more rounds than one refresh can play
    at.session_state["bd_tick_s"] = 60.0  # a refresh is bounded by its rounds here, not by a loaded clock
    at.run()
    _button(at, "bd_start").click().run()  # the run that handles Start also plays the fragment's first tick
    assert not at.exception, [e.value for e in at.exception]
    loop = at.session_state["bd_loop"]
    while loop.run.round == 0:  # a new run's refreshes stop at its first round (its first pull may wait for POT)
        at.run()
    # the first numbers go out alone, the charts one refresh later: the browser shows them before mounting charts
    assert loop.run.round == 1 and not at.get("plotly_chart") and at.metric[1].value == "1"
    first = loop.run.round
    at.run()  # one more refresh
    assert loop.run.round - first >= 2 or loop.state == "finished", (first, loop.run.round)
    assert at.get("plotly_chart")  # and then the charts
    assert next(s for s in at.slider if s.key == "bd_speed").value > 1  # not one round per refresh by default


def test_charts_name_clusters_and_speak_in_words(small_builtin):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    _button(at, "bd_step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    charts = _charts(at)
    titles = [c["layout"]["title"]["text"] for c in charts]
    main = next(c for c in charts if c["layout"]["title"]["text"].startswith("Closeness to the reference set"))
    assert main["layout"]["xaxis"]["title"]["text"] == "extraction calls"
    bars = next(c for c in charts if c["data"][0]["type"] == "bar")
    cmap = at.session_state["bd_loop"].run.space
    assert len(bars["data"][0]["x"]) > 0 and all(" · " in x for x in bars["data"][0]["x"]), bars["data"][0]["x"]
    arms = at.dataframe[0].value
    assert list(arms.columns) == ["cluster", "pulls", "estimated reward", "score", "documents left"]
    assert arms["cluster"].str.contains(" · ").all() and len(cmap.doc_ids) == 300
    for chart in charts:
        for word in _chart_words(chart):
            assert not NOTATION.search(word), (titles, word)
    # the pulls map is the WebGL map component (one context, updated in place), not a plotly chart
    assert not any("Extracted documents" in t for t in titles)


def test_presentation_mode_shows_no_notation(small_builtin):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["sb_demo"] = True
    _baselines(_stepped(at))
    more = next(e for e in at.expander if e.label.startswith("More settings"))
    assert not more.proto.expanded  # its settings (B, D, alpha...) stay folded away
    hidden = {id(w.proto) for w in more.get("selectbox") + more.get("number_input") + more.get("slider")
              + more.get("toggle") + more.get("radio")}
    shown = [at.title[0].value] + [c.value for c in at.caption] + [i.value for i in at.info]
    shown += [m.label for m in at.metric] + [b.label for b in at.button]
    shown += [w.label for kind in ("selectbox", "number_input", "slider", "toggle", "radio")
              for w in at.get(kind) if id(w.proto) not in hidden]
    shown += [str(c) for df in at.dataframe for c in df.value.columns]
    shown += [w for chart in _charts(at) for w in _chart_words(chart)]
    assert any("baseline" in w for w in shown)  # the baselines are drawn, in words
    bad = [w for w in shown if NOTATION.search(w)]
    assert not bad, bad


def test_baselines_cancel_keeps_the_work_and_resume_finishes(small_builtin):
    import streamlit as st

    from core.equal.baselines import STAGE_PAIRS

    st.cache_resource.clear()  # the extraction cache is shared per process: start this test from nothing
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    _button(at, "bd_step").click().run()
    at.session_state["bd_base_budget"] = 0.0  # one batch per poll: the job is still running when Cancel comes
    _button(at, "bd_base").click().run()
    job = at.session_state["bd_base_job"]
    for _ in range(10):  # past the dry replays that find the documents read, into their extraction
        at.run()
        if job.progress().stage == STAGE_PAIRS:
            break
    assert job.running and 0 < job.progress().done < job.progress().total
    _button(at, "bd_base_cancel").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert job.status == "cancelled" and any("Baselines cancelled" in w.value for w in at.warning)
    kept = job.progress().done
    _button(at, "bd_base").click().run()  # again: it starts from what the cancelled job kept
    resumed = at.session_state["bd_base_job"]
    assert resumed is not job and resumed.progress().total <= 300 - kept
    at.session_state["bd_base_budget"] = 5.0
    for _ in range(100):
        if "bd_baselines" in at.session_state:
            break
        at.run()
    assert set(at.session_state["bd_baselines"]) == {"random", "all", "avg-sim"}
    # kept as the job ended, so the one full run that stops the polling draws them on the main chart, and the job
    # learns how long that took (the next job's time left adds it)
    main = next(c for c in _charts(at) if c["layout"]["title"]["text"].startswith("Closeness to the reference set"))
    assert sum("baseline" in (t.get("name") or "") for t in main["data"]) == 3
    assert resumed.shown and at.session_state["bd_base_job"] is resumed


def test_a_wrong_setting_for_the_next_run_leaves_the_live_run_playing(small_builtin):
    """A budget of 0 typed while a run plays names the budget, and the run stays on screen, playing (the page used
    to stop at the message: the live panel vanished, and in the browser its refresh blanked the whole page)."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 1.0
    at.session_state["bd_speed"] = 1
    at.run()
    _button(at, "bd_start").click().run()
    loop = at.session_state["bd_loop"]
    assert loop.state == "playing"
    at.number_input(key="bd_budget").set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("budget" in e.value.lower() for e in at.error), [e.value for e in at.error]
    assert loop.state == "playing" and at.metric[0].value == "playing"  # the live panel is still drawn
    assert _button(at, "bd_pause").disabled is False
    assert _button(at, "bd_step").disabled and _button(at, "bd_start").disabled  # no new run of a wrong setting
    _button(at, "bd_pause").click().run()
    assert loop.state == "paused" and not _button(at, "bd_start").disabled  # Resume needs no new settings
    assert at.session_state["bd_budget"] == 0.0  # the typed value is kept, for the user to correct


def test_baselines_after_a_restart_read_the_extractions_kept_on_disk(small_builtin, monkeypatch):
    """The baselines' extractions are kept on disk under EQUALCTAR_HOME (shared with the Tuning lab): with nothing in
    memory (a restart), the same baselines come back without one extraction call."""
    from core.equal.extract.rules import RuleExtractor
    from pages._lib.loaders import baseline_cache

    first = _baselines(_stepped(AppTest.from_file(PAGE, default_timeout=240)))
    baseline_cache.clear()  # the restart: the pairs and curves in memory are gone, the file stays
    at = _stepped(AppTest.from_file(PAGE, default_timeout=240))
    calls: list[int] = []
    extract = RuleExtractor.extract
    monkeypatch.setattr(RuleExtractor, "extract", lambda self, docs: calls.append(len(docs)) or extract(self, docs))
    again = _baselines(at)  # the live run is stepped already: only the baselines could extract now
    assert set(again) == set(first) == {"random", "all", "avg-sim"} and calls == []
    for policy, frame in first.items():
        assert again[policy]["coverage"].tolist() == frame["coverage"].tolist()
