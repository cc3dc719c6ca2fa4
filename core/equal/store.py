"""SQLite run store: every pull, its reward and its QA pairs, committed as they happen.

One database file (default ``core.settings.cache_dir("runs") / "runs.sqlite"``), WAL mode.
Tables::

    runs      (run_id PK, name, created, status, config JSON, fingerprint, n_docs)
    rounds    (run_id, round) PK, plan JSON  -- the round's pulls [[arm, [doc index, ...]], ...]
    pulls     (run_id, round, seq) PK, arm, doc_ids JSON, doc_idx JSON, n_pairs, reward,
              calls, cost, prompt_tokens, completion_tokens, n_errors, created
    pairs     (run_id, round, seq, pos) PK, arm, doc_id, question, answer, extractor
    arm_state (run_id, arm) PK, pulls, count, sum   -- the statistics after the newest pull

A round's plan is committed before its first pull; each pull (row, pairs and arm-state rows)
is committed in ONE transaction, so a process killed at any moment leaves either the whole
pull or none of it, and the primary keys make a duplicate impossible.
:meth:`core.equal.run.BanditRun.resume` rebuilds the state by replaying committed pulls.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT, created REAL, status TEXT, config TEXT,
    fingerprint TEXT, n_docs INTEGER);
CREATE TABLE IF NOT EXISTS rounds (
    run_id TEXT, round INTEGER, plan TEXT, PRIMARY KEY (run_id, round));
CREATE TABLE IF NOT EXISTS pulls (
    run_id TEXT, round INTEGER, seq INTEGER, arm INTEGER, doc_ids TEXT, doc_idx TEXT,
    n_pairs INTEGER, reward REAL, calls INTEGER, cost REAL, prompt_tokens INTEGER,
    completion_tokens INTEGER, n_errors INTEGER, created REAL, PRIMARY KEY (run_id, round, seq));
CREATE TABLE IF NOT EXISTS pairs (
    run_id TEXT, round INTEGER, seq INTEGER, pos INTEGER, arm INTEGER, doc_id TEXT,
    question TEXT, answer TEXT, extractor TEXT, PRIMARY KEY (run_id, round, seq, pos));
CREATE TABLE IF NOT EXISTS arm_state (
    run_id TEXT, arm INTEGER, pulls INTEGER, count REAL, sum REAL, PRIMARY KEY (run_id, arm));
"""


class RunStoreError(ValueError):
    """A run is missing, or the store does not match what is asked of it."""


@dataclass
class StoredRun:
    """Everything committed for one run (see :meth:`RunStore.load_run`)."""

    run_id: str
    name: str
    status: str
    created: float
    config: dict[str, Any]
    fingerprint: str
    n_docs: int
    plans: dict[int, list[tuple[int, list[int]]]]
    pulls: pd.DataFrame
    pairs: pd.DataFrame


def default_store_path() -> Path:
    from core.settings import cache_dir

    return cache_dir("runs") / "runs.sqlite"


class RunStore:
    """The run database. Thread-safe (one connection behind a lock), usable from a Streamlit fragment."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _tx(self, statements: Sequence[tuple[str, Sequence | Sequence[Sequence]]], many: Sequence[bool]) -> None:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for (sql, params), is_many in zip(statements, many):
                    (cur.executemany if is_many else cur.execute)(sql, params)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def create_run(self, run_id: str, config: dict[str, Any], fingerprint: str, n_docs: int, name: str = "") -> None:
        """Register a new run (status ``"running"``). Raises if ``run_id`` exists."""
        if self.has_run(run_id):
            raise RunStoreError(f"run {run_id!r} already exists in {self.path}")
        self._tx([("INSERT INTO runs VALUES (?,?,?,?,?,?,?)",
                   (run_id, name or run_id, time.time(), "running", json.dumps(config), fingerprint, int(n_docs)))], [False])

    def has_run(self, run_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is not None

    def set_status(self, run_id: str, status: str) -> None:
        self._tx([("UPDATE runs SET status=? WHERE run_id=?", (status, run_id))], [False])

    def save_plan(self, run_id: str, round_: int, plan: Sequence[tuple[int, Sequence[int]]]) -> None:
        """Commit a round's plan (idempotent for the same round)."""
        data = json.dumps([[int(a), [int(i) for i in docs]] for a, docs in plan])
        self._tx([("INSERT OR IGNORE INTO rounds VALUES (?,?,?)", (run_id, int(round_), data))], [False])

    def commit_pull(self, run_id: str, round_: int, seq: int, arm: int, doc_ids: Sequence[str], doc_idx: Sequence[int],
                    reward: float, result, arm_rows: Sequence[tuple[int, int, float, float]]) -> None:
        """Commit one pull, its QA pairs and the touched arms' statistics in one transaction.

        ``result`` is the pull's :class:`~core.equal.extract.base.ExtractionResult`;
        ``arm_rows`` are ``(arm, pulls, count, sum)`` after the update.
        """
        pull = (run_id, int(round_), int(seq), int(arm), json.dumps(list(doc_ids)), json.dumps([int(i) for i in doc_idx]),
                len(result.pairs), float(reward), int(result.calls), float(result.cost), int(result.prompt_tokens),
                int(result.completion_tokens), len(result.errors), time.time())
        pairs = [(run_id, int(round_), int(seq), pos, int(arm), p.doc_id, p.question, p.answer, p.extractor)
                 for pos, p in enumerate(result.pairs)]
        states = [(run_id, int(a), int(n), float(c), float(s)) for a, n, c, s in arm_rows]
        self._tx([("INSERT INTO pulls VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", pull),
                  ("INSERT INTO pairs VALUES (?,?,?,?,?,?,?,?,?)", pairs),
                  ("INSERT OR REPLACE INTO arm_state VALUES (?,?,?,?,?)", states)], [False, True, True])

    def list_runs(self) -> pd.DataFrame:
        """One row per run: run_id, name, created (UTC), status, policy, n_docs, pulls, docs, pairs, calls, cost, mean_reward."""
        sql = """SELECT r.run_id, r.name, r.created, r.status, r.config, r.n_docs,
                        COUNT(p.seq) AS pulls, COALESCE(SUM(json_array_length(p.doc_ids)),0) AS docs,
                        COALESCE(SUM(p.n_pairs),0) AS pairs, COALESCE(SUM(p.calls),0) AS calls,
                        COALESCE(SUM(p.cost),0) AS cost, AVG(p.reward) AS mean_reward
                 FROM runs r LEFT JOIN pulls p ON p.run_id = r.run_id
                 GROUP BY r.run_id ORDER BY r.created DESC"""
        with self._lock:
            df = pd.read_sql_query(sql, self._conn)
        df["policy"] = [json.loads(c).get("policy", "") for c in df["config"]]
        df["created"] = pd.to_datetime(df["created"], unit="s", utc=True)
        return df.drop(columns="config")

    def load_run(self, run_id: str) -> StoredRun:
        """All committed rows of ``run_id`` (pulls ordered by round and seq)."""
        with self._lock:
            row = self._conn.execute("SELECT run_id, name, status, created, config, fingerprint, n_docs FROM runs WHERE run_id=?",
                                     (run_id,)).fetchone()
            if row is None:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")
            plans = {int(r): [(int(a), list(d)) for a, d in json.loads(p)] for r, p in
                     self._conn.execute("SELECT round, plan FROM rounds WHERE run_id=? ORDER BY round", (run_id,))}
            pulls = pd.read_sql_query("SELECT * FROM pulls WHERE run_id=? ORDER BY round, seq", self._conn, params=(run_id,))
            pairs = pd.read_sql_query("SELECT * FROM pairs WHERE run_id=? ORDER BY round, seq, pos", self._conn, params=(run_id,))
        pulls["doc_ids"] = [json.loads(x) for x in pulls["doc_ids"]]
        pulls["doc_idx"] = [json.loads(x) for x in pulls["doc_idx"]]
        return StoredRun(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], int(row[6]), plans, pulls, pairs)

    def delete_run(self, run_id: str) -> None:
        self._tx([(f"DELETE FROM {t} WHERE run_id=?", (run_id,)) for t in ("pairs", "pulls", "rounds", "arm_state", "runs")],
                 [False] * 5)
