"""Where "extract all" commits its pairs: one SQLite file, written batch by batch as results arrive.

Every pair has the unique key ``(doc_id, pair_index)`` (its position among the pairs of its
document), every document a row in ``docs`` and every batch of documents a row in
``batches`` holding what it cost, keyed by the job and the batch's document ids. One batch is committed in one
transaction with
``INSERT OR IGNORE``, so a batch that is delivered twice (a task retried after its worker died
just after sending the result) changes nothing the second time: no pair and no cost is counted
twice, and a crash between two batches loses only the batch in flight, which a rerun redoes.

Documents whose extraction failed after all of the extractor's retries are recorded with
their error and are *not* done: the next run of the same job tries them again.

A batch the disk refuses raises :class:`~core.disk.DiskFullError` naming it; its transaction is
rolled back (the batches before it still read back), and committing it again once space is
freed stores it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.disk import naming_disk_full
from core.equal.extract.base import ExtractionResult

__all__ = ["BatchOutcome", "PairSink", "SinkTotals", "batch_key"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS pairs (
        doc_id TEXT NOT NULL, pair_index INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
        extractor TEXT NOT NULL, batch TEXT NOT NULL, PRIMARY KEY (doc_id, pair_index))""",
    """CREATE TABLE IF NOT EXISTS docs (
        doc_id TEXT PRIMARY KEY, n_pairs INTEGER NOT NULL, error TEXT, batch TEXT NOT NULL, committed REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS batches (
        batch TEXT PRIMARY KEY, engine TEXT NOT NULL, attempts INTEGER NOT NULL, n_docs INTEGER NOT NULL,
        calls INTEGER NOT NULL, cached INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, cost REAL NOT NULL, requests INTEGER NOT NULL,
        retries INTEGER NOT NULL, seconds REAL NOT NULL, committed REAL NOT NULL)""",
)


def batch_key(doc_ids: Sequence[str]) -> str:
    """Key of a batch: sha256 over its document ids (hex, 32 characters); the same batch gets the same key."""
    h = hashlib.sha256()
    for d in doc_ids:
        h.update(str(d).encode("utf-8", "replace") + b"\x00")
    return h.hexdigest()[:32]


@dataclass
class BatchOutcome:
    """One batch as an engine hands it to the sink: the documents sent and what the extractor returned."""

    doc_ids: list[str]
    result: ExtractionResult
    job: str = ""
    engine: str = "local"
    attempts: int = 1
    seconds: float = 0.0


@dataclass(frozen=True)
class SinkTotals:
    """Sums over everything committed: documents done / failed, pairs, and the accounting."""

    docs_done: int = 0
    docs_failed: int = 0
    pairs: int = 0
    batches: int = 0
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    requests: int = 0
    retries: int = 0
    task_attempts: int = 0
    engines: tuple[str, ...] = field(default_factory=tuple)


class PairSink:
    """SQLite sink of extracted pairs (see module docstring). Thread-safe; WAL journal.

    Parameters
    ----------
    path : str or Path
        Database file; created with its folder when absent.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            for stmt in _SCHEMA:
                self._conn.execute(stmt)
            self._conn.commit()

    def __repr__(self) -> str:
        return f"PairSink(path={str(self.path)!r})"

    def done_ids(self) -> set[str]:
        """Documents extracted without error (a rerun skips them)."""
        with self._lock:
            rows = self._conn.execute("SELECT doc_id FROM docs WHERE error IS NULL").fetchall()
        return {r[0] for r in rows}

    def commit(self, outcome: BatchOutcome) -> bool:
        """Commit one batch in one transaction; ``False`` when that batch was already committed.

        A document of the batch that failed in the extractor is recorded with its error (and
        its pairs, if the extractor kept some). A later successful batch holding it overwrites
        that row; pairs are only ever inserted once per ``(doc_id, pair_index)``.
        """
        result = outcome.result
        key = batch_key([outcome.job, *outcome.doc_ids])
        errors = dict(result.errors)
        by_doc: dict[str, list] = {d: [] for d in outcome.doc_ids}
        for pair in result.pairs:
            by_doc.setdefault(pair.doc_id, []).append(pair)
        now = time.time()
        what = f"extract all could not save a batch of {len(outcome.doc_ids):,} documents"
        with self._lock, naming_disk_full(what, self.path):
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                cur.execute(
                    "INSERT OR IGNORE INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, outcome.engine, int(outcome.attempts), len(outcome.doc_ids), int(result.calls),
                     int(result.cached), int(result.prompt_tokens), int(result.completion_tokens),
                     float(result.cost), int(result.requests), int(result.retries), float(outcome.seconds), now))
                if cur.rowcount == 0:
                    cur.execute("ROLLBACK")
                    return False
                for doc_id, pairs in by_doc.items():
                    if doc_id not in errors:  # a success replaces what an earlier failed try kept
                        cur.execute("DELETE FROM pairs WHERE doc_id = ? AND EXISTS (SELECT 1 FROM docs WHERE "
                                    "docs.doc_id = ? AND docs.error IS NOT NULL)", (doc_id, doc_id))
                    cur.executemany(
                        "INSERT OR IGNORE INTO pairs VALUES (?, ?, ?, ?, ?, ?)",
                        [(doc_id, i, p.question, p.answer, p.extractor, key) for i, p in enumerate(pairs)])
                    error = errors.get(doc_id)
                    if error is None:
                        cur.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, NULL, ?, ?)",
                                    (doc_id, len(pairs), key, now))
                    else:  # never overwrite a success with a failure
                        cur.execute("INSERT OR IGNORE INTO docs VALUES (?, ?, ?, ?, ?)",
                                    (doc_id, len(pairs), error, key, now))
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        return True

    def record_failure(self, doc_ids: Sequence[str], error: str, job: str = "") -> None:
        """Record a whole batch as failed (its worker died on every attempt); a rerun retries it."""
        now = time.time()
        key = batch_key([job, *doc_ids])
        with self._lock, naming_disk_full(f"extract all could not record {len(doc_ids):,} failed documents",
                                          self.path):
            try:
                self._conn.executemany("INSERT OR IGNORE INTO docs VALUES (?, 0, ?, ?, ?)",
                                       [(d, error, key, now) for d in doc_ids])
                self._conn.commit()
            except sqlite3.Error:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise

    def totals(self) -> SinkTotals:
        """Sums over everything committed so far."""
        with self._lock:
            c = self._conn
            done, failed = c.execute(
                "SELECT COALESCE(SUM(error IS NULL), 0), COALESCE(SUM(error IS NOT NULL), 0) FROM docs").fetchone()
            n_pairs = c.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
            row = c.execute(
                "SELECT COUNT(*), COALESCE(SUM(calls), 0), COALESCE(SUM(cached), 0), COALESCE(SUM(prompt_tokens), 0), "
                "COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(cost), 0), COALESCE(SUM(requests), 0), "
                "COALESCE(SUM(retries), 0), COALESCE(SUM(attempts), 0) FROM batches").fetchone()
            engines = tuple(r[0] for r in c.execute("SELECT DISTINCT engine FROM batches ORDER BY engine"))
        return SinkTotals(int(done), int(failed), int(n_pairs), int(row[0]), int(row[1]), int(row[2]), int(row[3]),
                          int(row[4]), float(row[5]), int(row[6]), int(row[7]), int(row[8]), engines)

    def pairs_frame(self) -> pd.DataFrame:
        """Columns ``doc_id, pair_index, question, answer, extractor``, sorted by ``(doc_id, pair_index)``."""
        with self._lock:
            return pd.read_sql_query(
                "SELECT doc_id, pair_index, question, answer, extractor FROM pairs ORDER BY doc_id, pair_index",
                self._conn)

    def failures_frame(self) -> pd.DataFrame:
        """Columns ``doc_id, error`` of documents not yet extracted."""
        with self._lock:
            return pd.read_sql_query("SELECT doc_id, error FROM docs WHERE error IS NOT NULL ORDER BY doc_id",
                                     self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> PairSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
