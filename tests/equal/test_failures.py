"""Budgets are real (issue #15, run side): failed extractions, an endpoint that keeps failing, prices, statuses,
a second session, a damaged run database."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_space  # noqa: E402

from core.equal.extract.base import ExtractionResult  # noqa: E402
from core.equal.run import BanditRun, RunConfigError  # noqa: E402
from core.equal.store import RunBusyError, RunStore, RunStoreCorrupt, RunStoreError  # noqa: E402


class Flaky:
    """The rule extractor, except that documents in ``broken`` fail (and while ``down``, every document)."""

    name = "flaky"

    def __init__(self, inner, broken=()) -> None:
        self.inner, self.broken, self.down, self.seen = inner, set(broken), False, []

    def extract(self, docs):
        self.seen.extend(d for d, _ in docs)
        bad = [d for d, _ in docs if self.down or d in self.broken]
        good = [(d, t) for d, t in docs if d not in bad]
        out = self.inner.extract(good) if good else ExtractionResult()
        return replace(out, calls=len(docs), errors=[(d, "HTTP 500") for d in bad])


def _run(bandit_world, ext, store=None, run_id=None, **changes):
    w = bandit_world
    ids, texts, labels, ref, embed, config = w.ids, w.texts, w.labels, w.reference, w.embed, w.config
    return BanditRun(replace(config, **changes), make_space(ids, texts, labels, embed), ref, ext, embed, store=store,
                     run_id=run_id)


def test_a_failed_document_is_not_done_spends_no_share_and_is_retried(bandit_world, tmp_path):
    ids, rules = bandit_world.ids, bandit_world.extractor
    ok = _run(bandit_world, rules).run_until_done()
    broken = {ok.pairs[0].doc_id}  # a document with pairs that the first pull reads
    flaky = Flaky(rules, broken)
    store = RunStore(tmp_path / "r.sqlite")
    run = _run(bandit_world, flaky, store=store, run_id="f").run_until_done()
    assert run.docs_done == ok.docs_done  # the budget is spent on documents that were extracted
    assert flaky.seen.count(next(iter(broken))) == 3  # retried on the arm's next pulls, then set aside
    assert next(iter(broken)) not in {p.doc_id for p in run.pairs}
    stored = store.load_run("f")
    failed = [d for ds in stored.pulls["failed"] for d in ds]
    assert failed == [next(iter(broken))] * 3 and stored.pulls["n_errors"].sum() == 3
    assert run.pulls_frame()["n_failed"].sum() == 3
    assert int(run.doc_pulls()[ids.index(next(iter(broken)))]) == 0  # not shown as extracted on the map


def test_an_endpoint_that_keeps_failing_stops_the_run_and_a_resume_retries(bandit_world, tmp_path):
    rules, embed = bandit_world.extractor, bandit_world.embed
    flaky = Flaky(rules)
    store = RunStore(tmp_path / "r.sqlite")
    run = _run(bandit_world, flaky, store=store, run_id="down", max_failures=4)
    run.step()
    flaky.down = True
    run.run_until_done()
    assert run.is_done and run.status == "stopped: endpoint failing" and run.consecutive_failures >= 4
    assert store.load_run("down").status == "stopped: endpoint failing"
    calls_while_down = len(flaky.seen)
    flaky.down = False
    ids, texts, labels, ref = bandit_world.ids, bandit_world.texts, bandit_world.labels, bandit_world.reference
    again = BanditRun.resume(store, "down", make_space(ids, texts, labels, embed), ref, flaky, embed)
    assert not again.is_done and again.docs_done == run.docs_done
    again.run_until_done()
    assert store.load_run("down").status == "finished"
    retried = set(flaky.seen[calls_while_down:])
    failed_before = {d for ds in store.load_run("down").pulls["failed"] for d in ds}
    assert failed_before and failed_before <= retried  # every failed document was tried again
    assert again.docs_done == _run(bandit_world, rules).run_until_done().docs_done


def test_an_endpoint_failing_from_the_start_stops_mid_round_and_a_resume_plays_the_round_on(bandit_world, tmp_path):
    """Found in chromium: an endpoint answering HTTP 500 to every request was sent the whole first round (30
    documents, 5 attempts each, 100 s) although 'Failures before stopping' was 5; the run stops once they are
    reached."""
    rules, embed = bandit_world.extractor, bandit_world.embed
    flaky = Flaky(rules)
    flaky.down = True
    store = RunStore(tmp_path / "r.sqlite")
    run = _run(bandit_world, flaky, store=store, run_id="down0", batch_arms=3, docs_per_pull=3, max_failures=2)
    result = run.step()
    assert result.done and run.is_done and run.status == "stopped: endpoint failing"
    assert len(flaky.seen) == 3 and result.arms == [result.arms[0]] and result.calls == 3  # one pull, not three
    assert store.load_run("down0").status == "stopped: endpoint failing"
    assert run.stop_note.startswith("Stopped: the endpoint failed on 3 documents in a row (the last: HTTP 500). "
                                    "Check it"), run.stop_note  # what a page shows: the status alone said nothing
    assert "reopen this run under Stored runs and Resume" in run.stop_note
    flaky.down = False
    ids, texts, labels, ref = bandit_world.ids, bandit_world.texts, bandit_world.labels, bandit_world.reference
    again = BanditRun.resume(store, "down0", make_space(ids, texts, labels, embed), ref, flaky, embed)
    assert not again.is_done and "press Resume" in again.stop_note  # said until it plays on
    again.run_until_done()
    assert again.stop_note == ""
    assert store.load_run("down0").status == "finished"
    clean = _run(bandit_world, rules, batch_arms=3, docs_per_pull=3).run_until_done()
    assert again.docs_done == clean.docs_done and len(again.pairs) == len(clean.pairs)


def test_a_reopened_stopped_run_says_why_it_stopped_until_it_is_resumed(bandit_world, tmp_path):
    """Found on the Bandit page: reloading the tab reopens the run named in the address, and a run the endpoint had
    stopped was stored as 'paused' on reopening: 'stopped: endpoint failing' left the Stored runs table and the page
    no longer said why. It now keeps its stored status and its note, reopened, reset or reopened again, until
    Resume plays it on; Resume retries the failed documents as before. Fails on the old code (stored 'paused')."""
    from core.equal.live import LiveLoop, shown_state

    rules, embed = bandit_world.extractor, bandit_world.embed
    ids, texts, labels, ref = bandit_world.ids, bandit_world.texts, bandit_world.labels, bandit_world.reference
    flaky = Flaky(rules)
    flaky.down = True
    store = RunStore(tmp_path / "r.sqlite")
    _run(bandit_world, flaky, store=store, run_id="kept", batch_arms=3, docs_per_pull=3, max_failures=2).step()
    loop = LiveLoop(store)
    for _ in range(2):  # reopened (a reload), given up unplayed (Reset), reopened again
        loop.adopt(BanditRun.resume(store, "kept", make_space(ids, texts, labels, embed), ref, flaky, embed))
        assert store.load_run("kept").status == "stopped: endpoint failing"
        assert store.list_runs().loc[0, "status"] == "stopped: endpoint failing"
        assert loop.state == "paused" and shown_state(loop) == "stopped" and loop.enabled("start")  # Resume offered
        assert loop.run.status == "stopped: endpoint failing"
        assert loop.run.stop_note.startswith("Stopped: the endpoint failed on 3 documents in a row. Check it")
        assert "press Resume" in loop.run.stop_note
        loop.reset()
        assert store.load_run("kept").status == "stopped: endpoint failing"
    flaky.down, seen = False, len(flaky.seen)
    again = BanditRun.resume(store, "kept", make_space(ids, texts, labels, embed), ref, flaky, embed)
    loop.adopt(again)
    loop.resume()  # plays on: the failed documents are retried
    assert again.stop_note == "" and again.status == "running" and shown_state(loop) == "playing"
    while loop.playing:
        loop.tick(max_rounds=100, max_seconds=float("inf"))
    assert store.load_run("kept").status == "finished"
    assert set(flaky.seen[:seen]) <= set(flaky.seen[seen:])  # every document that failed was tried again


def test_a_cost_budget_without_prices_is_refused(bandit_world):
    rules = bandit_world.extractor
    with pytest.raises(RunConfigError, match="needs prices"):
        _run(bandit_world, rules, budget_kind="cost", budget=1.0)

    class Unpriced:
        name = "openai"
        price_per_1k_prompt = price_per_1k_completion = 0.0

        def extract(self, docs):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(RunConfigError, match="--price-in"):
        _run(bandit_world, Unpriced(), budget_kind="cost", budget=1.0)


def test_step_to_the_end_records_finished_and_pause_records_paused(bandit_world, tmp_path):
    rules = bandit_world.extractor
    store = RunStore(tmp_path / "r.sqlite")
    run = _run(bandit_world, rules, store=store, run_id="s")
    run.step()
    run.pause()
    assert store.load_run("s").status == "paused"
    while not run.is_done:  # Step only, never run_until_done / finish
        run.step()
    assert store.load_run("s").status == "finished"
    with pytest.raises(RunStoreError, match="status must be one of"):
        store.set_status("s", "done-ish")


def test_a_second_session_gets_a_clear_message_and_a_lapsed_lease_is_interrupted(bandit_world, tmp_path, monkeypatch):
    w = bandit_world
    ids, texts, labels, ref, rules, embed = w.ids, w.texts, w.labels, w.reference, w.extractor, w.embed
    store = RunStore(tmp_path / "r.sqlite")
    first = _run(bandit_world, rules, store=store, run_id="shared")
    first.step()
    second = BanditRun.resume(store, "shared", make_space(ids, texts, labels, embed), ref, rules, embed)
    with pytest.raises(RunBusyError, match="another session"):
        second.step()
    with pytest.raises(RunBusyError):  # every tick: the same message, no UNIQUE-constraint error
        second.play_pull()
    first.step()  # the owner carries on
    import core.equal.store as store_mod

    monkeypatch.setattr(store_mod, "LEASE_S", 0.0)
    assert store.list_runs().set_index("run_id").loc["shared", "status"] == "interrupted"
    second = BanditRun.resume(store, "shared", make_space(ids, texts, labels, embed), ref, rules, embed)
    second.step()  # a lapsed lease may be taken over
    with pytest.raises(RunBusyError):
        monkeypatch.setattr(store_mod, "LEASE_S", 3600.0)
        first.step()  # and the old owner can no longer write


def test_a_damaged_database_names_the_file_and_how_to_recover(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 500)
    with pytest.raises(RunStoreCorrupt, match="mv .*junk.sqlite"):
        RunStore(junk)
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    store.create_run("x", {}, "f", 3)
    for i in range(200):
        store.create_run(f"r{i}", {"pad": "x" * 500}, "f", 3)
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    data[4096 * 2:4096 * 6] = b"\xff" * (4096 * 4)  # smash some b-tree pages
    db.write_bytes(bytes(data))
    with pytest.raises(RunStoreCorrupt, match="damaged") as info:
        RunStore(db).list_runs()
    assert str(db) in str(info.value) and "move it aside" in str(info.value).lower()


class Hanging:
    """The rule extractor behind a call that waits until :meth:`cancel` (as the LLM extractor's does)."""

    name = "hanging"

    def __init__(self, inner) -> None:
        import threading

        self.inner, self.waiting, self._cancel, self.hang = inner, threading.Event(), threading.Event(), True

    def cancel(self) -> None:
        self._cancel.set()

    def extract(self, docs):
        if not self.hang:
            return self.inner.extract(docs)
        self._cancel.clear()
        self.waiting.set()
        self._cancel.wait(30)
        return ExtractionResult(calls=0, errors=[(d, "cancelled") for d, _ in docs], cancelled=True)


def test_pause_interrupts_a_waiting_extraction_and_the_pull_replays_on_resume(bandit_world, tmp_path):
    import threading

    from core.equal.live import LiveLoop

    rules = bandit_world.extractor
    store = RunStore(tmp_path / "r.sqlite")
    ext = Hanging(rules)
    run = _run(bandit_world, ext, store=store, run_id="p")
    loop = LiveLoop()
    loop.start(run)
    played: list[int] = []
    worker = threading.Thread(target=lambda: played.append(loop.tick(max_rounds=5, max_seconds=60)))
    worker.start()
    assert ext.waiting.wait(10), "the pull never reached the extractor"
    loop.pause()  # from another thread, as the page's Pause button does
    worker.join(10)
    assert not worker.is_alive(), "Pause did not interrupt the waiting extraction"
    assert played == [0] and run.docs_done == 0 and run.pairs == []  # nothing applied, nothing lost
    assert store.load_run("p").status == "paused"
    ext.hang = False
    loop.resume()
    loop.tick(max_rounds=1, max_seconds=60)
    assert run.docs_done > 0 and run.round >= 1  # the interrupted pull played on resume
