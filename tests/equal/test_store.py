"""Run store: one transaction per pull; SIGKILL mid-run then resume loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.run import BanditRun  # noqa: E402
from core.equal.store import RunStore, RunStoreError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _count(path: Path, table: str) -> int:
    try:
        with sqlite3.connect(path) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _reference_run():
    ids, texts, labels, ref, ext, embed, config = make_setup()
    return BanditRun(config, make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed).run_until_done()


def test_sigkill_mid_run_then_resume_loses_and_duplicates_nothing(tmp_path):
    db = tmp_path / "runs.sqlite"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/equal/crash_run.py"), str(db), "crashme", "0.15"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 60
        while _count(db, "pulls") < 5 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    committed = _count(db, "pulls")
    assert committed >= 5

    ids, texts, labels, ref, ext, embed, _ = make_setup()
    store = RunStore(db)
    run = BanditRun.resume(store, "crashme", make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed)
    assert run.docs_done == int(store.load_run("crashme").pulls["doc_idx"].map(len).sum())
    assert not run.is_done
    run.run_until_done()

    stored = store.load_run("crashme")
    assert stored.status == "finished"
    docs = [d for ds in stored.pulls["doc_ids"] for d in ds]
    assert len(docs) == len(set(docs))  # no document extracted twice
    keys = list(zip(stored.pairs["doc_id"], stored.pairs["question"], stored.pairs["answer"]))
    assert len(keys) == len(set(keys))  # no pair duplicated

    fresh = _reference_run()
    assert (
        stored.pulls[["round", "seq", "arm"]].values.tolist()
        == fresh.pulls_frame()[["round", "seq", "arm"]].values.tolist()
    )
    np.testing.assert_array_equal(stored.pulls["reward"].to_numpy(), fresh.pulls_frame()["reward"].to_numpy())
    assert [(p.doc_id, p.question) for p in run.pairs] == [(p.doc_id, p.question) for p in fresh.pairs]
    np.testing.assert_array_equal(run.de_embeddings, fresh.de_embeddings)
    np.testing.assert_array_equal(run.state.arm_to_sum, fresh.state.arm_to_sum)


def test_store_lists_and_reloads_runs(tmp_path):
    ids, texts, labels, ref, ext, embed, config = make_setup()
    store = RunStore(tmp_path / "r.sqlite")
    docs = embed(texts)
    run = BanditRun(
        config, make_space(ids, texts, labels, doc_emb=docs), ref, ext, embed, store=store, run_id="a", name="first"
    ).run_until_done()
    runs = store.list_runs()
    assert runs.loc[0, "run_id"] == "a" and runs.loc[0, "status"] == "finished"
    assert runs.loc[0, "docs"] == run.docs_done and runs.loc[0, "pairs"] == len(run.pairs)
    stored = store.load_run("a")
    assert len(stored.pairs) == len(run.pairs) and len(stored.pulls) == len(run.pulls_frame())
    assert sum(len(p) for p in stored.plans.values()) == len(stored.pulls)
    # a finished run reopens complete, with identical frames
    again = BanditRun.resume(store, "a", make_space(ids, texts, labels, doc_emb=docs), ref, ext, embed)
    assert again.is_done
    assert again.rounds_frame().drop(columns="run").equals(run.rounds_frame().drop(columns="run"))
    with pytest.raises(RunStoreError, match="already exists"):
        BanditRun(config, make_space(ids, texts, labels, doc_emb=docs), ref, ext, embed, store=store, run_id="a")
    with pytest.raises(RunStoreError, match="no run"):
        store.load_run("zzz")
    with pytest.raises(RunStoreError, match="another corpus"):
        BanditRun.resume(store, "a", make_space(ids, texts, np.roll(labels, 1), doc_emb=docs), ref, ext, embed)
    with pytest.raises(RunStoreError, match="plan differs"):  # other document embeddings: another prior
        BanditRun.resume(store, "a", make_space(ids, texts, labels, doc_emb=docs[::-1].copy()), ref, ext, embed)
    store.delete_run("a")
    assert store.list_runs().empty


def test_failed_commit_leaves_nothing(tmp_path):
    from core.equal.extract.base import ExtractionResult, QAPair

    store = RunStore(tmp_path / "t.sqlite")
    store.create_run("x", {}, "f", 3)
    res = ExtractionResult(pairs=[QAPair("q", "a", "d", "e")], calls=1)
    store.commit_pull("x", 0, 0, 1, ["d"], [0], 0.1, res, [(1, 1, 1.0, 0.1)])
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_pull("x", 0, 0, 2, ["e"], [1], 0.2, res, [(2, 1, 1.0, 0.2)])  # duplicate pull key
    stored = store.load_run("x")
    assert len(stored.pulls) == 1 and len(stored.pairs) == 1


def test_one_rule_says_interrupted_for_the_listing_a_loaded_run_and_the_lease(tmp_path, monkeypatch):
    import socket

    import core.equal.store as store_mod
    from core.equal.store import RunBusyError, make_owner, shown_status

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = f"{socket.gethostname()}:{gone.pid}:abc"  # a server of this host that was killed
    now = time.time()
    assert shown_status("running", make_owner(), now, now) == "running"  # this live process holds it
    assert shown_status("running", dead, now, now) == "interrupted"  # at once, not after LEASE_S
    assert shown_status("running", None, now, now) == "interrupted"  # nobody holds it
    assert shown_status("running", "elsewhere:1:abc", now - store_mod.LEASE_S - 1, now) == "interrupted"
    assert shown_status("running", "elsewhere:1:abc", now, now) == "running"  # another host: trusted until it lapses
    assert shown_status("paused", None, 0.0, now) == "paused" and shown_status("abandoned", None, 0.0, now) == (
        "interrupted")
    store = RunStore(tmp_path / "r.sqlite")
    store.create_run("killed", {"policy": "equal"}, "f", 3, owner=dead)
    store.create_run("live", {"policy": "equal"}, "f", 3, owner=make_owner())
    listed = store.list_runs().set_index("run_id").status
    assert (listed["killed"], listed["live"]) == ("interrupted", "running")
    assert store.load_run("killed").status == "interrupted" and store.load_run("live").status == "running"
    store.claim("killed", make_owner())  # an interrupted run is free to take over
    with pytest.raises(RunBusyError):
        store.claim("live", make_owner())  # a live one is not


def test_a_holder_the_app_knows_is_gone_frees_its_run_at_once(tmp_path):
    """The app's tab closed (its process lives on): the run reads interrupted and another session resumes it,
    instead of "being played by another session" until the lease lapses two minutes later."""
    from core.equal.store import RunBusyError, make_owner

    closed, open_tab = make_owner(), make_owner()
    store = RunStore(tmp_path / "r.sqlite", holder_alive=lambda owner: owner != closed)
    store.create_run("tab-closed", {"policy": "equal"}, "f", 3, owner=closed)
    store.create_run("tab-open", {"policy": "equal"}, "f", 3, owner=open_tab)
    listed = store.list_runs().set_index("run_id").status
    assert (listed["tab-closed"], listed["tab-open"]) == ("interrupted", "running")
    assert store.load_run("tab-closed").status == "interrupted"
    store.claim("tab-closed", make_owner())  # the reloaded tab resumes it
    assert store.list_runs().set_index("run_id").status["tab-closed"] == "running"
    with pytest.raises(RunBusyError):
        store.claim("tab-open", make_owner())
    plain = RunStore(tmp_path / "r.sqlite")  # without the app's knowledge: the live process's lease holds
    assert plain.list_runs().set_index("run_id").status["tab-open"] == "running"


def test_an_old_store_that_says_abandoned_reopens_as_interrupted(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:  # the first release's schema: no provenance, owner, heartbeat, failed
        conn.executescript("""
            CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT, created REAL, status TEXT, config TEXT,
                               fingerprint TEXT, n_docs INTEGER);
            CREATE TABLE pulls (run_id TEXT, round INTEGER, seq INTEGER, arm INTEGER, doc_ids TEXT, doc_idx TEXT,
                n_pairs INTEGER, reward REAL, calls INTEGER, cost REAL, prompt_tokens INTEGER,
                completion_tokens INTEGER, n_errors INTEGER, created REAL, PRIMARY KEY (run_id, round, seq));""")
        conn.execute("INSERT INTO runs VALUES ('old', 'old run', 1.0, 'abandoned', '{\"policy\": \"ucb1\"}', 'f', 3)")
        conn.execute("INSERT INTO runs VALUES ('done', 'done run', 2.0, 'finished', '{\"policy\": \"ucb1\"}', 'f', 3)")
    store = RunStore(db)
    listed = store.list_runs().set_index("run_id")
    assert listed.loc["old", "status"] == "interrupted" and listed.loc["done", "status"] == "finished"
    assert store.load_run("old").status == "interrupted"
    store.set_status("done", "abandoned")  # an old caller's word is stored as today's
    assert store.load_run("done").status == "interrupted"
