"""Runs reopened on the Bandit page (the Reopen button, a shared link, a reloaded tab) keep their own reference task:
the export decontaminates against it, whatever the page's reference box shows now."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests._text import shown

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "bandit.py")


def _removed(at: AppTest) -> list[str]:
    return [str(b.label) for b in at.get("download_button") if "messages JSONL" in str(b.label)]


def test_a_reopened_runs_export_is_decontaminated_against_its_own_reference(small_builtin, tmp_path, monkeypatch):
    """A run made with a saved selection (a tag of the corpus's own documents) drops from its export every pair of
    those documents. Reopened (here after a Reset, as a reloaded tab or a link does) while the box shows a preset, the
    export was decontaminated against the preset instead: '0 removed', the reference set's own pairs exported."""
    from core.corpus.builtin import load_builtin_corpus
    from core.corpus.tags import TagStore

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    corpus = load_builtin_corpus(limit=300)
    TagStore(corpus.content_hash).save("everything", corpus.ids)  # every pair the run extracts is in its reference
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_preset"] = "Tag: everything"
    at.run()
    next(b for b in at.button if b.key == "bd_step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run_id = at.session_state["bd_loop"].run.run_id
    made = _removed(at)
    assert made and "; 0 removed" not in made[0], made  # the tag's pairs are left out of the export

    next(b for b in at.button if b.key == "bd_reset").click().run()
    at.selectbox(key="bd_preset").set_value("numerical-arrays").run()  # the box now shows a preset
    at.session_state["bd_pick"] = [run_id]
    at.run()
    next(b for b in at.button if b.key == "bd_reopen").click().run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["bd_loop"].run.run_id == run_id
    assert _removed(at) == made, (made, _removed(at))  # the same export as before the Reset


def test_a_reference_task_or_seed_changed_mid_run_is_named_as_for_the_next_run(small_builtin):
    """Changing the Policy mid-run was named as being for the next run; changing the Reference task (or the
    sidebar's Seed) said nothing, so the box read "Networking" above a run, and its closeness, of "Numerical
    arrays"."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 1.0
    at.run()
    next(b for b in at.button if b.key == "bd_step").click().run()

    def note() -> str:
        return " ".join(c.value for c in at.caption if "from the live run's:" in c.value)

    assert not note()
    at.selectbox(key="bd_preset").set_value("networking").run()
    assert "**Reference task** above differs from" in note() and "Seed" not in note(), note()
    assert at.session_state["bd_loop"].run.run_id in at.session_state["bd_refs"]  # the live run keeps its own
    at.session_state["sb_seed"] = 5
    at.run()
    assert "**Reference task, Seed (sidebar)** above differ from" in note(), note()
    at.selectbox(key="bd_preset").set_value("numerical-arrays").run()
    at.session_state["sb_seed"] = 0
    at.run()
    assert not note(), note()
    assert not at.exception, [e.value for e in at.exception]


def _stored_runs(at: AppTest, budgets) -> list[str]:
    """One stored run (one round) per budget, reset after each: their ids."""
    ids = []
    for budget in budgets:
        at.session_state["bd_budget"] = budget
        next(b for b in at.button if b.key == "bd_step").click().run()
        ids.append(at.session_state["bd_loop"].run.run_id)
        next(b for b in at.button if b.key == "bd_reset").click().run()
    return ids


def _settings_table(at: AppTest):
    """The compared runs' settings table (the stored runs' table has a run column too, and when each started)."""
    return next(d.value for d in at.dataframe if "run" in d.value.columns and "started (UTC)" not in d.value.columns)


def test_two_compared_runs_name_the_settings_they_differ_in(small_builtin):
    """Runs are named by policy, task and seed: two runs of other budgets (or any other setting) were compared under
    legends that differed only by the time they started. The page now says which settings differ, both values."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    ids = _stored_runs(at, (0.5, 1.0))
    at.session_state["bd_pick"] = ids
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert "Settings that differ" in shown(" ".join(c.value for c in at.caption))
    table = _settings_table(at)
    assert list(table.columns) == ["run", "Budget value (share: 0-1)"]
    assert table["Budget value (share: 0-1)"].tolist() == ["0.5", "1"]  # in the order picked
    at.session_state["bd_budget"] = 0.5
    next(b for b in at.button if b.key == "bd_step").click().run()
    twin = at.session_state["bd_loop"].run.run_id
    at.session_state["bd_pick"] = [ids[0], twin]
    at.run()
    assert "same settings" in " ".join(c.value for c in at.caption)


def test_several_stored_runs_are_overlaid_with_a_row_of_settings_each(small_builtin):
    """The picker kept two runs ("Select all" dropped the rest: max_selections=2), so tuning by hand compared one
    pair at a time. Up to six runs are overlaid on one chart, a colour each, beside a table of the settings they
    differ in, a row per run; the limit is in the picker's label before it is reached."""
    import json

    from core.equal.live import MAX_COMPARED

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    ids = _stored_runs(at, (0.5, 1.0, 0.25))
    picker = next(m for m in at.multiselect if m.key == "bd_pick")
    assert f"up to {MAX_COMPARED} to compare" in picker.label and picker.max_selections == MAX_COMPARED
    at.session_state["bd_pick"] = ids
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    chart = next(c for c in at.get("plotly_chart") if "bd_compare" in str(c.proto.id))
    traces = json.loads(chart.proto.spec)["data"]
    assert len(traces) == 2 * len(ids) and len({t["line"]["color"] for t in traces}) == len(ids)
    table = _settings_table(at)
    assert len(table) == len(ids) and table["Budget value (share: 0-1)"].tolist() == ["0.5", "1", "0.25"]


def test_why_a_cluster_yields_names_the_clusters_and_keeps_the_reason_readable(small_builtin):
    """'Why a cluster yields what it yields' asked for a bare cluster number (0..k-1) where the arm table and the
    bars name each cluster by its keywords, and its reason column, the widest text, got the narrowest share of the
    width at 1440 px ('docstring: the summary is a stub c…'). The box offers the clusters by name and the reason
    column is the wide one."""
    import json

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    box = at.selectbox(key="bd_why_cluster")
    assert box.value == 0 and all(" · " in str(o) for o in box.options) and len(box.options) > 1, box.options
    box.set_value(1).run()
    why = next(d for d in at.dataframe if list(d.value.columns) == ["document", "pairs", "rules", "why"])
    widths = {name: c.get("width") for name, c in json.loads(why.proto.columns).items() if name in why.value}
    assert isinstance(widths["why"], int) and all(isinstance(w, int) and w * 2 <= widths["why"]
                                                  for name, w in widths.items() if name != "why"), widths
    said = " ".join(c.value for c in at.caption)
    assert "documents of this cluster yield pairs" in said, said


def test_a_run_of_another_encoders_map_says_which_sidebar_encoder_reopens_it(small_builtin):
    """A fresh install draws a fast static map first and upgrades it to MiniLM in the background; every run made
    before the upgrade then failed to reopen, compare or follow its link with 'embedding space differs ... Reopen it
    with the recorded inputs (core.equal.reopen.reopen_recorded)': a Python function for a page that already does
    that, and not a word on what brings the run back (choosing its encoder in the sidebar)."""
    import json
    import sqlite3

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    next(b for b in at.button if b.key == "bd_step").click().run()
    run = at.session_state["bd_loop"].run
    next(b for b in at.button if b.key == "bd_reset").click().run()
    with sqlite3.connect(str(run.store.path)) as conn:  # as if made on the static tier's map
        (prov,) = conn.execute("SELECT provenance FROM runs WHERE run_id=?", (run.run_id,)).fetchone()
        prov = {**json.loads(prov), "encoder": "static-minilm", "space_id": "static-minilm/static-minilm-pca256"}
        conn.execute("UPDATE runs SET provenance=? WHERE run_id=?", (json.dumps(prov), run.run_id))
    at.session_state["bd_pick"] = [run.run_id]
    at.run()
    next(b for b in at.button if b.key == "bd_reopen").click().run()
    assert not at.exception, [e.value for e in at.exception]
    said = shown(" ".join(e.value for e in at.error))
    assert "Static (fast, from MiniLM)" in said and "Encoder" in said, said
    assert "core.equal" not in said and "another corpus or clustering?" not in said, said


def test_the_speed_slider_says_it_applies_to_the_live_run_at_once(small_builtin):
    """Mid-run every control under 'More settings (used by the next new run)' is for the next run, but one: Rounds
    per update plays the live run faster at once. Its label now says so, not the heading's opposite."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 1.0
    at.run()
    next(b for b in at.button if b.key == "bd_step").click().run()
    assert any("used by the next new run" in str(e.label) for e in at.expander)
    speed = at.slider(key="bd_speed")
    assert "live run at once" in speed.label, speed.label
    speed.set_value(3).run()
    assert not [c for c in at.caption if "from the live run's:" in c.value]  # not a setting of the next run
    assert not at.exception, [e.value for e in at.exception]


def test_the_round_metric_the_reward_chart_and_the_pairs_table_count_rounds_alike(small_builtin):
    """Paused mid-round, the page read 'Round 1' (rounds completed) above a reward chart with dots at rounds 0 and 1
    (0-based) and pairs of 'round 1' (the second round, 0-based): three counts of one thing. All now count from 1
    and include the round in progress."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["bd_budget"] = 1.0
    at.session_state["bd_tick_s"] = 0.0  # each refresh plays one pull: the run pauses inside a round
    at.run()
    next(b for b in at.button if b.key == "bd_start").click().run()
    at.run()
    next(b for b in at.button if b.key == "bd_pause").click().run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = int(next(m.value for m in at.metric if m.label == "Round"))
    import base64
    import json

    import numpy as np

    chart = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Reward of each round" in c.proto.spec)
    x = chart["data"][0]["x"]  # plotly sends numbers as typed bytes
    last_dot = int(np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]).max()) if "bdata" in x else max(x)
    pairs = next(d.value for d in at.dataframe if list(d.value.columns)[:2] == ["round", "cluster"])
    assert shown == last_dot == pairs["round"].max() >= 1, (shown, last_dot, pairs["round"].max())


def test_a_run_of_another_encoders_map_reopens_with_one_button(small_builtin):
    """The refusal above named the sidebar choice that brings the run back, and the newcomer had to find the sidebar,
    switch it and pick the run again. The button beside the refusal does both: the sidebar shows the run's encoder
    and the run is reopened on that map (here a run of the hashing map, refused while the page draws the static one)."""
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    next(b for b in at.button if b.key == "bd_step").click().run()
    run_id = at.session_state["bd_loop"].run.run_id
    next(b for b in at.button if b.key == "bd_reset").click().run()
    at.session_state["sb_encoder"] = "Static (fast, from MiniLM)"  # the sidebar's choice now: another map
    at.session_state["bd_pick"] = [run_id]
    at.run()
    next(b for b in at.button if b.key == "bd_reopen").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Hashing (instant, no model)" in shown(" ".join(e.value for e in at.error))
    assert at.session_state["bd_loop"].run is None  # refused: nothing reopened on the wrong map
    switch = next(b for b in at.button if b.key == "bd_reopen_other_map")
    assert "Hashing (instant, no model)" in str(switch.label)
    switch.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["sb_encoder"] == "Hashing (instant, no model)"
    assert at.session_state["bd_loop"].run.run_id == run_id  # reopened, on its own map
    assert not at.error, [e.value for e in at.error]


def test_compared_runs_are_named_alike_in_the_legend_and_the_table_which_is_coloured_as_the_chart(small_builtin):
    """Seen in chromium at 1440x900: four compared runs' settings table began with each run's full label (policy,
    task, seed, date and time, status, id: ~460 px), which pushed 'Documents per pull', a setting they differed in,
    out of view, and nothing tied a row to its curve but that long text. The legend and the table now name each run
    by what tells it apart, alike, and the table's run column is written in its curves' colour."""
    import json

    from core.viz.bandit import COMPARE_COLORS

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    ids = _stored_runs(at, (0.5, 1.0, 0.25))
    at.session_state["bd_pick"] = ids
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    chart = next(c for c in at.get("plotly_chart") if "bd_compare" in str(c.proto.id))
    traces = json.loads(chart.proto.spec)["data"]
    legend = [t["name"] for t in traces if t.get("showlegend") is not False]
    table_el = next(d for d in at.dataframe if "run" in d.value.columns and "started (UTC)" not in d.value.columns)
    assert table_el.value["run"].tolist() == legend  # a row and its curve under one name
    assert all("seed 0" not in name and "Numerical arrays" not in name for name in legend), legend  # shared: left out
    assert all(name.endswith(run_id) for name, run_id in zip(legend, ids))  # the id still tells them apart
    styles = table_el.proto.arrow_data.styler.styles
    assert all(colour in styles for colour in COMPARE_COLORS[:len(ids)]), styles  # the rows in the curves' colours
