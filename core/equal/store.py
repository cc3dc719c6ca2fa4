"""SQLite run store: every pull, its reward and its QA pairs, committed as they happen.

One database file (default ``core.settings.cache_dir("runs") / "runs.sqlite"``), WAL mode.
Tables::

    runs      (run_id PK, name, created, status, config JSON, fingerprint, n_docs,
               provenance JSON, owner, heartbeat)  -- owner/heartbeat: the lease of the playing session
    rounds    (run_id, round) PK, plan JSON  -- the round's pulls [[arm, [doc index, ...]], ...]
    pulls     (run_id, round, seq) PK, arm, doc_ids JSON, doc_idx JSON, n_pairs, reward,
              calls, cost, prompt_tokens, completion_tokens, n_errors, created,
              failed JSON  -- doc ids whose extraction failed: not done, retried
    pairs     (run_id, round, seq, pos) PK, arm, doc_id, question, answer, extractor
    arm_state (run_id, arm) PK, pulls, count, sum   -- the statistics after the newest pull
    resumes   (run_id, pulls) PK  -- a session that resumed the run after ``pulls`` committed pulls and played on
                                  (it retried the documents set aside before: the replay does the same there)

A round's plan is committed before its first pull; each pull (row, pairs and arm-state rows)
is committed in ONE transaction, so a process killed at any moment leaves either the whole
pull or none of it, and the primary keys make a duplicate impossible.
:meth:`core.equal.run.BanditRun.resume` rebuilds the state by replaying committed pulls.

Statuses (:data:`STATUSES`): ``running``, ``paused``, ``finished``, ``stopped: <reason>``
(e.g. ``stopped: endpoint failing``) and ``interrupted``: given up unfinished (a page's Reset), or
a ``running`` run nobody controls any more, as :func:`shown_status` rules for the listing, the
loaded run and the lease check alike: no lease holder, a holder whose process is dead on this
host (the server was killed: known at once), a holder the store's ``holder_alive`` says is gone
(the app's: a browser tab that was closed or reloaded), or a lease not renewed for :data:`LEASE_S` seconds.
The old word ``abandoned`` reads as ``interrupted``. Only the session holding a run's lease
(:meth:`RunStore.claim`, renewed by each pull's commit and, while a pull extracts, by :func:`keeping_lease`)
may commit pulls to it; a second session gets a :class:`RunBusyError` naming the run, not a
UNIQUE-constraint error, and a copy of the run loaded before another session played on (a tab left
paused) a :class:`RunStaleError` when it claims it, saying to reopen it. A damaged database file
raises :class:`RunStoreCorrupt` naming the file and how to recover. A full disk raises
:class:`RunStoreFull` naming what was not saved (``the run store could not save round 7, pull 2``);
the failed transaction is rolled back, so every earlier row still reads back, and the same write
succeeds once space is freed.

:class:`Recorder` is the protocol the run writes through; :class:`RunStore` implements it.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from core.disk import DiskFullError, naming_disk_full

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT, created REAL, status TEXT, config TEXT,
    fingerprint TEXT, n_docs INTEGER, provenance TEXT, owner TEXT, heartbeat REAL);
CREATE TABLE IF NOT EXISTS rounds (
    run_id TEXT, round INTEGER, plan TEXT, PRIMARY KEY (run_id, round));
CREATE TABLE IF NOT EXISTS pulls (
    run_id TEXT, round INTEGER, seq INTEGER, arm INTEGER, doc_ids TEXT, doc_idx TEXT,
    n_pairs INTEGER, reward REAL, calls INTEGER, cost REAL, prompt_tokens INTEGER,
    completion_tokens INTEGER, n_errors INTEGER, created REAL, failed TEXT, PRIMARY KEY (run_id, round, seq));
CREATE TABLE IF NOT EXISTS pairs (
    run_id TEXT, round INTEGER, seq INTEGER, pos INTEGER, arm INTEGER, doc_id TEXT,
    question TEXT, answer TEXT, extractor TEXT, PRIMARY KEY (run_id, round, seq, pos));
CREATE TABLE IF NOT EXISTS arm_state (
    run_id TEXT, arm INTEGER, pulls INTEGER, count REAL, sum REAL, PRIMARY KEY (run_id, arm));
CREATE TABLE IF NOT EXISTS resumes (
    run_id TEXT, pulls INTEGER, PRIMARY KEY (run_id, pulls));
"""
# columns added after the first release: (table, column, type); old databases get them on open
_MIGRATIONS = (("runs", "provenance", "TEXT"), ("runs", "owner", "TEXT"), ("runs", "heartbeat", "REAL"),
               ("pulls", "failed", "TEXT"))
_PULL_COLUMNS = ("run_id, round, seq, arm, doc_ids, doc_idx, n_pairs, reward, calls, cost, prompt_tokens, "
                 "completion_tokens, n_errors, created, failed")

STATUSES = ("running", "paused", "finished", "stopped", "interrupted")
_OLD_STATUSES = {"abandoned": "interrupted"}  # words older stores hold, read as today's
LEASE_S = 120.0  # a running run whose last pull or claim is older than this is free to take (and shown interrupted)


class RunStoreError(ValueError):
    """A run is missing, or the store does not match what is asked of it."""


class RunBusyError(RunStoreError):
    """Another session holds the run's lease (it is playing the run)."""


class RunStaleError(RunBusyError):
    """Another session played the run on since this copy was loaded: reopen it to continue from its last pull."""


def _check_not_played_on(cur: sqlite3.Cursor, run_id: str, next_pull: tuple[int, int]) -> None:
    round_, seq = int(next_pull[0]), int(next_pull[1])
    row = cur.execute("SELECT COUNT(*) FROM pulls WHERE run_id=? AND (round > ? OR (round = ? AND seq >= ?))",
                      (run_id, round_, round_, seq)).fetchone()
    if row[0]:
        raise RunStaleError(f"run {run_id!r} was played on by another session since this page loaded it ({row[0]} "
                            "pulls more are stored); reopen it under Stored runs to continue from its last pull")


class RunStoreCorrupt(RunStoreError):
    """The database file is damaged; the message names it and how to recover."""


class RunStoreFull(DiskFullError, RunStoreError):
    """The disk is full: the message names what was not saved; nothing committed before is touched."""


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
    provenance: dict[str, Any] = field(default_factory=dict)
    resumes: tuple[int, ...] = ()  # pull counts at which a session resumed the run and played on


class Recorder(Protocol):
    """Where a run writes what it does, as it happens (:class:`RunStore` is the SQLite one)."""

    def create_run(self, run_id: str, config: dict[str, Any], fingerprint: str, n_docs: int, name: str = "",
                   provenance: dict[str, Any] | None = None, owner: str | None = None) -> None: ...

    def has_run(self, run_id: str) -> bool: ...

    def save_plan(self, run_id: str, round_: int, plan: Sequence[tuple[int, Sequence[int]]]) -> None: ...

    def commit_pull(self, run_id: str, round_: int, seq: int, arm: int, doc_ids: Sequence[str],
                    doc_idx: Sequence[int], reward: float, result: Any,
                    arm_rows: Sequence[tuple[int, int, float, float]], failed: Sequence[str] = (),
                    owner: str | None = None) -> None: ...

    def claim(self, run_id: str, owner: str, next_pull: tuple[int, int] | None = None) -> None: ...

    def record_resume(self, run_id: str, pulls: int) -> None: ...

    def release(self, run_id: str, owner: str, status: str) -> None: ...

    def set_status(self, run_id: str, status: str) -> None: ...

    def load_run(self, run_id: str) -> StoredRun: ...


def default_store_path() -> Path:
    from core.settings import cache_dir

    return cache_dir("runs") / "runs.sqlite"


def check_status(status: str) -> str:
    """``status`` if it is one of :data:`STATUSES` (``stopped`` may carry a reason: ``"stopped: endpoint failing"``);
    an older store's word is mapped to today's (``abandoned`` -> ``interrupted``)."""
    status = _OLD_STATUSES.get(status, status)
    head = status.split(":", 1)[0].strip()
    if head not in STATUSES or (head != "stopped" and head != status):
        raise RunStoreError(f"run status must be one of {STATUSES} (or 'stopped: <reason>'), got {status!r}")
    return status


def make_owner() -> str:
    """A lease owner id: ``host:pid:random``, so a lease held by a process that died on this host is free at once."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _owner_alive(owner: str) -> bool:
    """False only when ``owner`` names a process on this host that no longer exists (a killed CLI run)."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def shown_status(status: str, owner: str | None, heartbeat: float | None, now: float,
                 alive: Callable[[str], bool] = _owner_alive) -> str:
    """The status a stored run is shown with, the one rule for the listing, a loaded run and the lease check.

    A ``running`` run that nobody controls is ``interrupted``: no session holds its lease
    (``owner`` empty), the holder's process is dead on this host (:func:`_owner_alive`: a
    killed server is seen at once, not after the lease runs out; ``alive`` may know more, as the
    app knows a closed tab), or the lease was not renewed for :data:`LEASE_S` seconds
    (``heartbeat``, epoch seconds; ``None`` counts as never). An older store's word is mapped
    (``abandoned`` -> ``interrupted``).

    >>> shown_status("running", None, 0.0, 1.0), shown_status("abandoned", None, None, 1.0)
    ('interrupted', 'interrupted')
    """
    status = _OLD_STATUSES.get(status, status)
    if status == "running" and (not owner or now - float(heartbeat or 0.0) > LEASE_S or not alive(owner)):
        return "interrupted"
    return status


@contextmanager
def keeping_lease(store: Any, run_id: str, owner: str) -> Iterator[None]:
    """Renew ``owner``'s lease on ``run_id`` every :data:`LEASE_S` / 4 seconds while the block runs (a pull whose
    extraction outlasts the lease, e.g. a slow endpoint's documents and retries, would otherwise read
    ``interrupted`` while it plays, another session could take the run over, and the pull's commit be refused).
    A store without ``renew`` (``None``, a test double) is left as it is; a renewal that fails is retried at the
    next beat (the pull's own commit reports a full disk)."""
    renew = getattr(store, "renew", None)
    if renew is None:
        yield
        return
    done = threading.Event()

    def beat() -> None:
        while not done.wait(LEASE_S / 4):
            try:
                renew(run_id, owner)
            except (sqlite3.Error, OSError, RunStoreError):
                pass

    thread = threading.Thread(target=beat, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextmanager
def _naming_damage(path: Path) -> Iterator[None]:
    """Turn "database disk image is malformed" (and kin) into a :class:`RunStoreCorrupt` naming the file."""
    try:
        yield
    except sqlite3.IntegrityError:
        raise
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as exc:  # pandas wraps the sqlite3 error
        text = str(exc).lower()
        if not any(s in text for s in ("malformed", "not a database", "encrypted", "corrupt")):
            raise
        raise RunStoreCorrupt(f"the run database {path} is damaged ({exc}). Move it aside "
                              f"(mv '{path}' '{path}.broken'); a new, empty one is then created, and "
                              "the rest of the app works meanwhile") from None


class RunStore:
    """The run database. Thread-safe (one connection behind a lock), usable from a Streamlit fragment.

    ``holder_alive(owner)``, optional: False when the lease holder ``owner`` is known to be gone
    although its process lives (the app: the browser tab that played the run was closed), so
    its run reads ``interrupted`` and another session may claim it at once.
    """

    def __init__(self, path: str | Path | None = None, holder_alive: Callable[[str], bool] | None = None) -> None:
        self._alive: Callable[[str], bool] = _owner_alive if holder_alive is None else (
            lambda owner: _owner_alive(owner) and holder_alive(owner))
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        with naming_disk_full("the run store could not be opened", self.path, RunStoreFull), _naming_damage(self.path):
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            self._migrate()

    def _migrate(self) -> None:
        for table, column, kind in _MIGRATIONS:
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _tx(self, what: str, statements: Sequence[tuple[str, Any]], many: Sequence[bool],
            check: Callable[[sqlite3.Cursor], None] | None = None) -> None:
        """Run ``statements`` in one transaction; a full disk raises :class:`RunStoreFull` naming ``what``."""
        with self._lock, naming_disk_full(f"the run store could not save {what}", self.path, RunStoreFull), \
                _naming_damage(self.path):
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if check is not None:
                    check(cur)
                for (sql, params), is_many in zip(statements, many):
                    (cur.executemany if is_many else cur.execute)(sql, params)
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
                    cur.execute("ROLLBACK")
                raise

    def create_run(self, run_id: str, config: dict[str, Any], fingerprint: str, n_docs: int, name: str = "",
                   provenance: dict[str, Any] | None = None, owner: str | None = None) -> None:
        """Register a new run (status ``"running"``, leased to ``owner``). Raises if ``run_id`` exists."""
        if self.has_run(run_id):
            raise RunStoreError(f"run {run_id!r} already exists in {self.path}")
        now = time.time()
        row = (run_id, name or run_id, now, "running", json.dumps(config), fingerprint, int(n_docs),
               json.dumps(provenance or {}), owner, now)
        sql = ("INSERT INTO runs (run_id, name, created, status, config, fingerprint, n_docs, provenance, owner, "
               "heartbeat) VALUES (?,?,?,?,?,?,?,?,?,?)")
        self._tx(f"the new run {run_id}", [(sql, row)], [False])

    def has_run(self, run_id: str) -> bool:
        with self._lock, _naming_damage(self.path):
            return self._conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is not None

    def set_status(self, run_id: str, status: str) -> None:
        """Set a run's status (one of :data:`STATUSES`; ``"stopped: <reason>"`` allowed)."""
        sql = "UPDATE runs SET status=? WHERE run_id=?"
        self._tx(f"the status of run {run_id}", [(sql, (check_status(status), run_id))], [False])

    def _check_lease(self, cur: sqlite3.Cursor, run_id: str, owner: str,
                     next_pull: tuple[int, int] | None = None) -> None:
        row = cur.execute("SELECT owner, heartbeat, status FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise RunStoreError(f"no run {run_id!r} in the run store")
        holder, beat, status = row
        now = time.time()
        age = now - float(beat or 0.0)
        if holder and holder != owner and shown_status(status, holder, beat, now, self._alive) == "running":
            raise RunBusyError(f"run {run_id!r} is being played by another session (its last pull was {age:.0f} s "
                               f"ago); pause it there, or wait {LEASE_S:.0f} s after it stops, then press Start again")
        if next_pull is not None:  # a copy loaded before another session played on would break the primary key
            _check_not_played_on(cur, run_id, next_pull)

    def claim(self, run_id: str, owner: str, next_pull: tuple[int, int] | None = None) -> None:
        """Take the run's lease for ``owner`` and mark it running; :class:`RunBusyError` if another session holds it,
        :class:`RunStaleError` if a pull at ``next_pull`` (the claimer's next ``(round, seq)``) or later is stored."""
        sql = "UPDATE runs SET owner=?, heartbeat=?, status='running' WHERE run_id=?"
        self._tx(f"the lease of run {run_id}", [(sql, (owner, time.time(), run_id))], [False],
                 check=lambda cur: self._check_lease(cur, run_id, owner, next_pull))

    def renew(self, run_id: str, owner: str) -> None:
        """Renew ``owner``'s lease while it plays a long pull (:func:`keeping_lease`); nothing if it lost the lease."""
        sql = "UPDATE runs SET heartbeat=? WHERE run_id=? AND owner=?"
        self._tx(f"the lease of run {run_id}", [(sql, (time.time(), run_id, owner))], [False])

    def release(self, run_id: str, owner: str, status: str) -> None:
        """Give the lease back and set ``status`` (``paused``, ``finished``, ``stopped: ...``) if ``owner`` holds it."""
        sql = "UPDATE runs SET owner=NULL, status=? WHERE run_id=? AND (owner IS NULL OR owner=?)"
        self._tx(f"the status of run {run_id}", [(sql, (check_status(status), run_id, owner))], [False])

    def record_resume(self, run_id: str, pulls: int) -> None:
        """Record that a session resumed ``run_id`` after ``pulls`` committed pulls and plays on (idempotent)."""
        sql = "INSERT OR IGNORE INTO resumes VALUES (?,?)"
        self._tx(f"the resume of run {run_id}", [(sql, (run_id, int(pulls)))], [False])

    def save_plan(self, run_id: str, round_: int, plan: Sequence[tuple[int, Sequence[int]]]) -> None:
        """Commit a round's plan (idempotent for the same round)."""
        data = json.dumps([[int(a), [int(i) for i in docs]] for a, docs in plan])
        sql = "INSERT OR IGNORE INTO rounds VALUES (?,?,?)"
        self._tx(f"the plan of round {round_}", [(sql, (run_id, int(round_), data))], [False])

    def commit_pull(self, run_id: str, round_: int, seq: int, arm: int, doc_ids: Sequence[str], doc_idx: Sequence[int],
                    reward: float, result: Any, arm_rows: Sequence[tuple[int, int, float, float]],
                    failed: Sequence[str] = (), owner: str | None = None) -> None:
        """Commit one pull, its QA pairs and the touched arms' statistics in one transaction.

        ``result`` is the pull's :class:`~core.equal.extract.base.ExtractionResult`;
        ``arm_rows`` are ``(arm, pulls, count, sum)`` after the update; ``failed`` the doc ids
        whose extraction failed. With ``owner``, the pull is refused (:class:`RunBusyError`)
        unless ``owner`` holds the lease, and the lease is renewed.
        """
        now = time.time()
        pull = (run_id, int(round_), int(seq), int(arm), json.dumps(list(doc_ids)),
                json.dumps([int(i) for i in doc_idx]),
                len(result.pairs), float(reward), int(result.calls), float(result.cost), int(result.prompt_tokens),
                int(result.completion_tokens), len(result.errors), now, json.dumps(list(failed)))
        pairs = [(run_id, int(round_), int(seq), pos, int(arm), p.doc_id, p.question, p.answer, p.extractor)
                 for pos, p in enumerate(result.pairs)]
        states = [(run_id, int(a), int(n), float(c), float(s)) for a, n, c, s in arm_rows]
        statements: list[tuple[str, Any]] = [
            (f"INSERT INTO pulls ({_PULL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", pull),
            ("INSERT INTO pairs VALUES (?,?,?,?,?,?,?,?,?)", pairs),
            ("INSERT OR REPLACE INTO arm_state VALUES (?,?,?,?,?)", states)]
        many = [False, True, True]
        if owner is not None:
            statements.append(("UPDATE runs SET heartbeat=?, owner=? WHERE run_id=?", (now, owner, run_id)))
            many.append(False)
        self._tx(f"round {round_}, pull {seq}", statements, many,
                 check=None if owner is None else lambda cur: self._check_lease(cur, run_id, owner))

    def list_runs(self) -> pd.DataFrame:
        """One row per run: run_id, name, created (UTC), status, policy, seed, reference, n_docs, pulls, docs, pairs,
        calls, cost, mean_reward (``docs``: documents read; a failed one is retried and counted once, when it is read).
        Statuses as :func:`shown_status` rules them: a ``running`` run nobody controls is ``interrupted``."""
        sql = """SELECT r.run_id, r.name, r.created, r.status, r.config, r.provenance, r.owner, r.heartbeat, r.n_docs,
                        COUNT(p.seq) AS pulls,
                        COALESCE(SUM(json_array_length(p.doc_ids) - COALESCE(json_array_length(p.failed), 0)), 0)
                            AS docs,
                        COALESCE(SUM(p.n_pairs),0) AS pairs, COALESCE(SUM(p.calls),0) AS calls,
                        COALESCE(SUM(p.cost),0) AS cost, AVG(p.reward) AS mean_reward
                 FROM runs r LEFT JOIN pulls p ON p.run_id = r.run_id
                 GROUP BY r.run_id ORDER BY r.created DESC"""
        with self._lock, _naming_damage(self.path):
            df = pd.read_sql_query(sql, self._conn)
        configs = [json.loads(c) for c in df["config"]]
        df["policy"] = [c.get("policy", "") for c in configs]
        df["seed"] = [c.get("seed", 0) for c in configs]
        df["reference"] = [json.loads(p or "{}").get("reference_name", "") for p in df["provenance"]]
        now = time.time()
        beats = df["heartbeat"].fillna(df["created"])
        df["status"] = [shown_status(s, o, b, now, self._alive) for s, o, b in zip(df["status"], df["owner"], beats)]
        df["created"] = pd.to_datetime(df["created"], unit="s", utc=True)
        return df.drop(columns=["config", "provenance", "owner", "heartbeat"])

    def load_run(self, run_id: str) -> StoredRun:
        """All committed rows of ``run_id`` (pulls ordered by round and seq)."""
        with self._lock, _naming_damage(self.path):
            row = self._conn.execute("SELECT run_id, name, status, created, config, fingerprint, n_docs, provenance, "
                                     "owner, COALESCE(heartbeat, created) FROM runs WHERE run_id=?",
                                     (run_id,)).fetchone()
            if row is None:
                raise RunStoreError(f"no run {run_id!r} in the run store")
            plans = {int(r): [(int(a), list(d)) for a, d in json.loads(p)] for r, p in
                     self._conn.execute("SELECT round, plan FROM rounds WHERE run_id=? ORDER BY round", (run_id,))}
            pulls = pd.read_sql_query("SELECT * FROM pulls WHERE run_id=? ORDER BY round, seq", self._conn,
                                      params=(run_id,))
            pairs = pd.read_sql_query("SELECT * FROM pairs WHERE run_id=? ORDER BY round, seq, pos", self._conn,
                                      params=(run_id,))
            resumes = tuple(int(n) for (n,) in self._conn.execute(
                "SELECT pulls FROM resumes WHERE run_id=? ORDER BY pulls", (run_id,)))
        pulls["doc_ids"] = [json.loads(x) for x in pulls["doc_ids"]]
        pulls["doc_idx"] = [json.loads(x) for x in pulls["doc_idx"]]
        pulls["failed"] = [json.loads(x) if x else [] for x in pulls["failed"]]
        status = shown_status(row[2], row[8], row[9], time.time(), self._alive)
        return StoredRun(row[0], row[1], status, row[3], json.loads(row[4]), row[5], int(row[6]), plans, pulls, pairs,
                         json.loads(row[7] or "{}"), resumes)

    def load_config(self, run_id: str) -> dict[str, Any]:
        """``run_id``'s settings as stored (``RunConfig.from_dict`` reads them), without its pulls and pairs."""
        with self._lock, _naming_damage(self.path):
            row = self._conn.execute("SELECT config FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise RunStoreError(f"no run {run_id!r} in the run store")
        return json.loads(row[0])

    def delete_run(self, run_id: str) -> None:
        tables = ("pairs", "pulls", "rounds", "arm_state", "resumes", "runs")
        statements = [(f"DELETE FROM {t} WHERE run_id=?", (run_id,)) for t in tables]
        self._tx(f"the deletion of run {run_id}", statements, [False] * len(tables))
