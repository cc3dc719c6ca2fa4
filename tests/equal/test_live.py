"""core.equal.live: every transition of the live loop, the illegal ones, and statuses in the store."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_space  # noqa: E402

from core.equal.live import IllegalTransition, LiveLoop  # noqa: E402
from core.equal.run import BanditRun  # noqa: E402
from core.equal.store import RunStaleError, RunStore  # noqa: E402


@pytest.fixture()
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def _run(bandit_world, store=None, **changes):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    return BanditRun(replace(config, **changes), make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed,
                     store=store)


def _status(store, run) -> str:
    runs = store.list_runs()
    return runs.loc[runs.run_id == run.run_id, "status"].iloc[0]


def test_start_tick_pause_resume_finish(bandit_world, store):
    loop = LiveLoop(store)
    assert loop.state == "idle" and not loop.playing and loop.tick() == 0
    run = _run(bandit_world, store, budget=1.0)
    loop.start(run)
    assert loop.playing and _status(store, run) == "running"
    assert loop.tick(max_rounds=1, max_seconds=100) >= 1 and run.round == 1
    loop.pause()
    assert loop.state == "paused" and _status(store, run) == "paused"
    done = run.docs_done
    assert loop.tick(max_rounds=5, max_seconds=100) == 0 and run.docs_done == done  # pause is immediate
    loop.resume()
    assert loop.playing and _status(store, run) == "running"
    loop.tick(max_rounds=1, max_seconds=100)
    assert run.docs_done > done
    loop.finish()
    assert loop.state == "finished" and _status(store, run) == "finished" and not loop.playing


def test_playing_to_the_budget_finishes_by_itself(bandit_world, store):
    loop = LiveLoop(store)
    run = _run(bandit_world, store, budget=0.2)
    loop.start(run)
    while loop.playing:
        loop.tick(max_rounds=50, max_seconds=100)
    assert run.is_done and loop.state == "finished" and _status(store, run) == "finished"


def test_a_run_finished_with_step_finishes(bandit_world, store):
    loop = LiveLoop(store)
    run = _run(bandit_world, store, budget=0.2)
    loop.step(run)
    assert loop.state == "paused" and run.round == 1 and _status(store, run) == "paused"
    while loop.state == "paused":
        loop.step()
    assert run.is_done and loop.state == "finished" and _status(store, run) == "finished"


def test_abandon_and_reset_record_the_status(bandit_world, store):
    loop = LiveLoop(store)
    run = _run(bandit_world, store, budget=1.0)
    loop.start(run)
    loop.tick(max_seconds=100)
    loop.abandon()
    assert loop.state == "interrupted" and _status(store, run) == "interrupted"
    other = _run(bandit_world, store, budget=1.0)
    loop.start(other)  # a new run after an interrupted one
    loop.reset()  # reset interrupts the unfinished run
    assert loop.state == "idle" and loop.run is None and _status(store, other) == "interrupted"


@pytest.mark.parametrize("state, action", [
    ("idle", "pause"), ("idle", "resume"), ("idle", "finish"), ("idle", "abandon"),
    ("playing", "resume"), ("playing", "step"), ("playing", "start"),
    ("paused", "pause"), ("paused", "start_new"),
    ("finished", "pause"), ("finished", "resume"), ("finished", "finish"), ("finished", "abandon"),
    ("interrupted", "pause"), ("interrupted", "resume"), ("interrupted", "finish"),
])
def test_illegal_transitions_are_refused_with_the_state_named(bandit_world, state, action):
    loop = LiveLoop()
    run = _run(bandit_world, budget=1.0)
    if state != "idle":
        loop.start(run)
    if state == "paused":
        loop.pause()
    elif state == "finished":
        loop.finish()
    elif state == "interrupted":
        loop.abandon()
    before = loop.state
    with pytest.raises(IllegalTransition, match=before):
        if action == "start_new":
            loop.start(_run(bandit_world, budget=1.0))
        elif action == "start":
            loop.start(_run(bandit_world, budget=1.0))
        else:
            getattr(loop, action)()
    assert loop.state == before  # a refused action changes nothing


def test_adopt_a_reopened_run(bandit_world, store):
    loop = LiveLoop(store)
    run = _run(bandit_world, store, budget=1.0)
    run.step()
    loop.adopt(run)
    assert loop.state == "paused" and loop.run is run
    loop.resume()
    assert loop.playing


def test_a_run_built_but_never_started_leaves_nothing_in_the_store(bandit_world, store):
    run = _run(bandit_world, store, budget=1.0)
    assert not store.has_run(run.run_id)  # built (a Start whose script run was cut short): no row
    run.pause()
    run.abandon()  # giving it up writes nothing either
    assert store.list_runs().empty
    LiveLoop(store).start(run)  # started: stored as running, leased to this loop's run
    assert _status(store, run) == "running" and store.list_runs().pulls.tolist() == [0]


def test_start_pressed_twice_in_one_tab_and_once_in_another_builds_one_run_per_tab(bandit_world, store):
    built: list[BanditRun] = []

    def new_run():
        built.append(_run(bandit_world, store, budget=1.0))
        return built[-1]

    first, second = LiveLoop(store), LiveLoop(store)
    first.press("start", new_run)
    first.press("start", new_run)  # the double click: a no-op, nothing built
    first.press("step", new_run)  # a Step queued while playing: the same
    second.press("start", new_run)
    first.press("start", new_run)
    assert len(built) == 2 and first.run is built[0] and second.run is built[1] and first.playing
    runs = store.list_runs().set_index("run_id")
    assert sorted(runs.index) == sorted(r.run_id for r in built) and (runs.status == "running").all()
    first.press("pause", new_run)
    assert _status(store, built[0]) == "paused"
    first.press("start", new_run)  # Resume: the same run, its lease taken back
    assert first.run is built[0] and len(built) == 2 and _status(store, built[0]) == "running"
    second.press("reset", new_run)
    assert second.state == "idle" and _status(store, built[1]) == "interrupted"


def test_the_stored_runs_table_speaks_words(bandit_world, store):
    """The listing's columns name what they count: the documents a run read, not ``docs`` beside ``n_docs``."""
    from core.equal.live import runs_table

    loop = LiveLoop(store)
    loop.step(_run(bandit_world, store))
    table = runs_table(store.list_runs())
    assert not [c for c in table.columns if "_" in c or c in ("docs", "n_docs")], list(table.columns)
    row = table.iloc[0]
    assert row["documents read"] == loop.run.docs_done and row["documents in the corpus"] == len(loop.run.space)
    assert row["status"] == "paused" and "run_id" not in table
    # the policy as the Policy box offers it, the start to the minute (the column says UTC; no "+00:00" per cell)
    from core.equal.settings import BY_NAME
    assert row["policy"] == BY_NAME["policy"].choice_labels[loop.run.config.policy].split(" (")[0] != "learned"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", str(row["started (UTC)"])), row["started (UTC)"]
    # no cost column while nothing cost anything (the rule extractor); one as soon as a run has a cost
    runs = store.list_runs()
    assert "cost" not in table and "cost" in runs_table(runs.assign(cost=[0.5] + [0.0] * (len(runs) - 1)))


def test_a_pull_longer_than_the_lease_keeps_its_run_and_is_stored(bandit_world, store, monkeypatch):
    """A slow endpoint's pull (D documents, retries) may outlast the lease (``LEASE_S``, 120 s; 2 s here): the
    run still reads ``running`` while it plays, another session cannot take it over, and the pull is stored.
    Once, the lease was renewed only by a commit: the playing run read ``interrupted``, a second session could
    claim it, and the first session's pull, paid for, was refused with RunBusyError."""
    import threading
    import time

    import core.equal.store as store_mod
    from core.equal.store import RunBusyError, make_owner

    monkeypatch.setattr(store_mod, "LEASE_S", 2.0)
    ext = bandit_world.extractor

    class SlowEndpoint:
        name, version = ext.name, ext.version

        def extract(self, docs):
            time.sleep(4.0)
            return ext.extract(docs)

    ids, texts, labels, ref, _, embed, config = bandit_world
    run = BanditRun(config, make_space(ids, texts, labels, doc_emb=embed(texts)), ref, SlowEndpoint(), embed,
                    store=store)
    loop, errors = LiveLoop(store), []
    loop.start(run)

    def tick() -> None:
        try:
            loop.tick(max_rounds=1, max_seconds=0.0)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    playing = threading.Thread(target=tick)
    playing.start()
    time.sleep(3.0)  # mid-pull, past the lease
    assert _status(store, run) == "running"
    with pytest.raises(RunBusyError):
        store.claim(run.run_id, make_owner())
    playing.join()
    assert errors == [] and len(store.load_run(run.run_id).pulls) == 1


def _reopened_in_a_second_tab(bandit_world, store):
    """Tab A plays a round of a run and pauses; tab B reopens the stored run and resumes it. Returns A, B, the run
    and a function that reopens the stored run as a third tab would."""
    ids, texts, labels, ref, ext, embed, config = bandit_world
    space = make_space(ids, texts, labels, doc_emb=embed(texts))
    a = LiveLoop(store)
    run = BanditRun(replace(config, budget=1.0), space, ref, ext, embed, store=store)
    a.start(run)
    a.tick(max_rounds=1, max_seconds=100)
    a.pause()
    b = LiveLoop(store)

    def reopen() -> BanditRun:
        return BanditRun.resume(store, run.run_id, space, ref, ext, embed)

    b.adopt(reopen())
    b.resume()
    return a, b, run, reopen


def test_finish_in_a_tab_whose_run_another_session_resumed_is_refused(bandit_world, store):
    """Tab A pauses its run, tab B reopens and resumes it, then A (still showing it paused) presses Finish. A's
    Finish once set the stored status to ``finished`` while B played on: the run then read finished, never
    interrupted, once B's tab was closed. Finish takes the lease first, so A is told another session plays it."""
    from core.equal.store import RunBusyError

    a, b, run, _ = _reopened_in_a_second_tab(bandit_world, store)
    with pytest.raises(RunBusyError):
        a.finish()
    assert a.state == "paused" and _status(store, run) == "running"
    b.tick(max_rounds=1, max_seconds=100)
    b.pause()
    with pytest.raises(RunStaleError, match="reopen it"):  # nobody plays it now, but A's copy is behind B's pulls
        a.finish()
    b.finish()
    assert b.state == "finished" and _status(store, run) == "finished"


def test_a_tab_resuming_a_copy_another_session_played_on_is_told_to_reopen_it(bandit_world, store):
    """Tab A pauses, tab B reopens, plays on and pauses, then A presses Resume on its older copy: its first commit
    once broke the primary key (an IntegrityError, shown as a bug with an error id) and left the run leased to A,
    reading ``running``. Now A's claim is refused, naming what to do, and the stored run is untouched."""
    a, b, run, reopen = _reopened_in_a_second_tab(bandit_world, store)
    b.tick(max_rounds=2, max_seconds=100)
    b.pause()
    stored = len(store.load_run(run.run_id).pulls)
    with pytest.raises(RunStaleError, match="played on by another session"):
        a.resume()
    assert a.state == "paused" and _status(store, run) == "paused"
    assert len(store.load_run(run.run_id).pulls) == stored
    again = LiveLoop(store)  # reopening it continues from the last pull
    again.adopt(reopen())
    again.resume()
    again.tick(max_rounds=1, max_seconds=100)
    assert len(store.load_run(run.run_id).pulls) > stored


def test_an_arm_never_pulled_shows_an_estimate_not_a_mean_reward(bandit_world, store):
    """Under the default prior (eb) an unpulled arm already has an estimate: the arms table calls it that; it read
    "mean reward" beside 0 pulls."""
    from core.equal.live import top_arms

    loop = LiveLoop(store)
    loop.step(_run(bandit_world, store))
    arms = top_arms(loop.run)
    assert list(arms.columns) == ["cluster", "pulls", "estimated reward", "score", "documents left"]
    unpulled = arms[arms["pulls"] == 0]
    assert len(unpulled) and (unpulled["estimated reward"] != 0).any()


def test_ucb1_untried_arms_say_untried_not_infinity(bandit_world, store):
    """UCB1 scores an arm never pulled +inf; the arms table showed "Infinity". It says "untried" in words."""
    from core.equal.live import UNTRIED, top_arms

    loop = LiveLoop(store)
    loop.step(_run(bandit_world, store, policy="ucb1", unplayed="zero", batch_arms=1))
    arms = top_arms(loop.run, n=100)
    untried = arms[arms["pulls"] == 0]
    assert len(untried) and (untried["score"] == UNTRIED).all()
    assert not arms["score"].str.contains("inf", case=False).any()
    tried = arms.loc[arms["pulls"] > 0, "score"]
    assert len(tried) and tried.map(float).notna().all()  # a pulled arm keeps its number


def test_the_newest_pairs_table_names_its_columns_in_words(bandit_world, store):
    """It showed the field name "doc_id" as a column header."""
    from core.equal.live import newest_pairs

    loop = LiveLoop(store)
    loop.step(_run(bandit_world, store))
    assert list(newest_pairs(loop.run).columns) == ["round", "cluster", "document", "question", "answer"]
