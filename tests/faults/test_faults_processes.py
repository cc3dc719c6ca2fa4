"""Fault injection against processes that die: the background upgrade worker and a playing bandit run.

Issue #27, parts 3 and 6. Real processes are killed with SIGKILL (no clean-up runs): a worker at
twenty seeded random points, the process that started a worker, and a process playing a run the
way the Bandit page does. Each time, what is on disk must resume to exactly what an uninterrupted
run makes. Waits are bounded (a deadline on polling), never asserted as a measure of speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.corpus.upgrade import UpgradeJob, _alive, ensure_upgrade, run_worker
from tests.corpus._mapdata import topic_corpus

ROOT = Path(__file__).resolve().parents[2]
SLOW_SITE = Path(__file__).parent / "_slow_site"  # its sitecustomize slows the hashing encoder down
ENCODER = "hashing-64"


def _wait_for(predicate, timeout: float = 60.0, every: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def _slow_env(delay: float, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(SLOW_SITE), str(ROOT)]), EQUALCTAR_TEST_ENCODE_DELAY=str(delay),
               EQUALCTAR_HOME=str(home))
    return env


def _golden(corpus, chunk: int, home: Path, monkeypatch) -> tuple[bytes, list[np.ndarray]]:
    """The embedding cache file and chunks of an uninterrupted worker run in its own home."""
    monkeypatch.setenv("EQUALCTAR_HOME", str(home))
    job = ensure_upgrade(corpus, ENCODER, chunk=chunk, start=False)
    assert run_worker(job.folder) == 0
    return Path(job.status()["embeddings"]).read_bytes(), [np.load(p) for p in job.chunk_paths()]


def _assert_identical(job: UpgradeJob, golden: tuple[bytes, list[np.ndarray]]) -> None:
    assert job.state == "done", job.status()
    assert Path(job.status()["embeddings"]).read_bytes() == golden[0]  # the cache file, byte for byte
    chunks = [np.load(p) for p in job.chunk_paths()]
    assert len(chunks) == len(golden[1])
    for mine, theirs in zip(chunks, golden[1]):
        np.testing.assert_array_equal(mine, theirs)
    assert not list(job.folder.rglob("*.tmp*")), list(job.folder.rglob("*.tmp*"))  # dead workers' files removed


# ------------------------------------------------------------------ the background upgrade worker
@pytest.mark.slow
def test_a_worker_killed_at_20_random_points_resumes_to_a_byte_identical_cache(tmp_path, monkeypatch):
    corpus, _ = topic_corpus(200, seed=27)
    golden = _golden(corpus, 4, tmp_path / "golden", monkeypatch)
    home = tmp_path / "killed"
    monkeypatch.setenv("EQUALCTAR_HOME", str(home))
    job = ensure_upgrade(corpus, ENCODER, chunk=4, start=False)
    rng = np.random.default_rng(2027)  # the kill points: seeded
    log = open(tmp_path / "worker.log", "ab")
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, "-m", "core.corpus.upgrade", str(job.folder)], cwd=ROOT,
                                env=_slow_env(0.02, home), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if rng.random() < 0.25:  # during start-up: reading the texts, removing old files
            time.sleep(rng.uniform(0.0, 0.4))
        else:  # while embedding, writing a chunk or its status line, or assembling the cache file
            assert _wait_for(lambda p=proc: job.status().get("pid") == p.pid or p.poll() is not None)
            time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        rows, _vecs = job.done_rows()  # whatever the kill left reads back: whole chunks only
        assert len(rows) == len(set(rows.tolist())) and len(rows) >= min(job.progress().done, len(rows))
        assert job.state != "running"
    proc = subprocess.Popen([sys.executable, "-m", "core.corpus.upgrade", str(job.folder)], cwd=ROOT,
                            env=_slow_env(0.0, home), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    assert proc.wait(timeout=120) == 0
    log.close()
    _assert_identical(job, golden)


def test_files_a_kill_leaves_half_written_are_redone_not_read(tmp_path, monkeypatch):
    corpus, _ = topic_corpus(60, seed=28)
    golden = _golden(corpus, 8, tmp_path / "golden", monkeypatch)
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "broken"))
    job = ensure_upgrade(corpus, ENCODER, chunk=8, start=False)
    assert run_worker(job.folder) == 0
    chunks = job.folder / "chunks"
    whole = (chunks / "00002.npy").read_bytes()
    (chunks / "00002.npy").write_bytes(whole[: len(whole) // 2])  # a chunk cut short (a disk that lost a write)
    (chunks / "00003.999999999.tmp.npy").write_bytes(whole[:40])  # a dead worker's half-written chunk
    (job.folder / "status.json.999999999.tmp").write_text('{"state": "run')  # and its half-written status
    (chunks / "00005.npy").unlink()
    assert sorted(int(p.stem) for p in job.chunk_paths()) == [0, 1, 2, 3, 4, 6, 7]  # a .tmp file is no chunk
    assert run_worker(job.folder) == 0
    assert job.status()["done_at_start"] == 60 - 8 - 8  # chunks 2 and 5 were redone, the rest kept
    _assert_identical(job, golden)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] == "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_a_finished_worker_is_reaped_without_waiting_for_the_next_one(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path))
    corpus, _ = topic_corpus(40, seed=29)
    job = ensure_upgrade(corpus, ENCODER, chunk=8)
    pid = job.pid()
    assert pid is not None and _wait_for(lambda: job.state == "done", 90), job.status()
    assert _wait_for(lambda: not _zombie(pid) and not _alive(pid), 30)  # nobody polled: the server's thread reaped it
    assert not _zombie(pid)


@pytest.mark.slow
@pytest.mark.parametrize("next_server", ["after_the_worker_stopped", "at_once"])
def test_a_worker_whose_server_died_stops_and_the_next_server_resumes_it(tmp_path, monkeypatch, next_server):
    corpus, _ = topic_corpus(200, seed=30)
    golden = _golden(corpus, 4, tmp_path / "golden", monkeypatch)
    home = tmp_path / "home"
    server = subprocess.Popen(  # a throwaway "server": starts the upgrade the way a page open does, then idles
        [sys.executable, "-c", "import time; from core.corpus.upgrade import ensure_upgrade; "
         "from tests.corpus._mapdata import topic_corpus; "
         f"job = ensure_upgrade(topic_corpus(200, seed=30)[0], {ENCODER!r}, chunk=4); "
         "print(job.folder, flush=True); time.sleep(600)"],
        cwd=ROOT, env=_slow_env(0.1, home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        job = UpgradeJob(Path(server.stdout.readline().decode().strip()))
        assert _wait_for(lambda: job.progress().done >= 8, 90), job.status()
        worker = job.pid()
        assert worker is not None and _alive(worker)
    finally:
        server.kill()
        server.wait(timeout=30)
    monkeypatch.setenv("EQUALCTAR_HOME", str(home))
    if next_server == "at_once":  # the next server opens the page while the orphan is still finishing its chunk
        resumed = ensure_upgrade(corpus, ENCODER, chunk=4)  # waits (bounded) for it to stop, then resumes
        assert not _alive(worker) and resumed.pid() != worker  # it stopped by itself: nothing here killed it
    else:
        assert _wait_for(lambda: not _alive(worker), 15)  # the worker noticed within seconds and stopped
        status = job.status()
        assert status["state"] == "stopped" and "server" in status["reason"] and status["done"] < status["total"]
        assert job.state == "stopped"
        resumed = ensure_upgrade(corpus, ENCODER, chunk=4)  # the next server's first page open
    assert resumed.folder == job.folder and resumed.pid() != worker
    assert _wait_for(lambda: resumed.state in ("done", "failed"), 120), resumed.status()
    assert resumed.status()["done_at_start"] >= 8  # resumed from its chunks, not from scratch
    _assert_identical(resumed, golden)


# ------------------------------------------------------------------ a bandit run whose server dies while it plays
sys.path.insert(0, str(ROOT / "tests" / "equal"))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.live import LiveLoop  # noqa: E402
from core.equal.run import BanditRun  # noqa: E402
from core.equal.store import RunStore, make_owner  # noqa: E402

PULL_COLUMNS = ["round", "seq", "arm", "doc_ids", "doc_idx", "n_pairs", "reward", "calls", "n_errors", "failed"]
PAIR_COLUMNS = ["round", "seq", "pos", "arm", "doc_id", "question", "answer", "extractor"]


def _pulls_in(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM pulls").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _golden_live_run(tmp_path: Path):
    """The same run played uninterrupted through a live loop, as stored."""
    ids, texts, labels, ref, ext, embed, config = make_setup()
    store = RunStore(tmp_path / "golden.sqlite")
    loop = LiveLoop(store)
    loop.start(BanditRun(config, make_space(ids, texts, labels, embed), ref, ext, embed, store=store, run_id="golden"))
    while loop.playing:
        loop.tick(max_rounds=1, max_seconds=0.3)
    return store.load_run("golden")


@pytest.mark.slow
def test_a_run_whose_server_was_killed_reads_interrupted_at_once_and_resumes_exactly(tmp_path):
    db = tmp_path / "runs.sqlite"
    script = str(ROOT / "tests" / "equal" / "crash_run.py")
    server = subprocess.Popen([sys.executable, script, str(db), "killed", "0.1", "live"], cwd=ROOT,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _pulls_in(db) >= 5 or server.poll() is not None, 120)
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
    finally:
        server.kill()  # SIGKILL: no release, no status written; its lease names a dead process
        server.wait(timeout=30)
    store = RunStore(db)
    assert store.list_runs().set_index("run_id").loc["killed", "status"] == "interrupted"  # not after LEASE_S
    assert store.load_run("killed").status == "interrupted"  # what a reopen reads: the same rule
    ids, texts, labels, ref, ext, embed, _ = make_setup()
    loop = LiveLoop(store)  # the next server's page: Reopen (held paused), then Resume
    loop.adopt(BanditRun.resume(store, "killed", make_space(ids, texts, labels, embed), ref, ext, embed))
    assert loop.state == "paused"
    loop.press("start", lambda: pytest.fail("Resume must continue the stored run, not build a new one"))
    assert loop.playing and store.list_runs().set_index("run_id").loc["killed", "status"] == "running"
    while loop.playing:
        loop.tick(max_rounds=5, max_seconds=10)
    stored, golden = store.load_run("killed"), _golden_live_run(tmp_path)
    assert stored.status == "finished" and loop.state == "finished"
    assert stored.plans == golden.plans  # every round as the uninterrupted run planned it
    assert stored.pulls[PULL_COLUMNS].equals(golden.pulls[PULL_COLUMNS])  # nothing lost, nothing repeated
    assert stored.pairs[PAIR_COLUMNS].equals(golden.pairs[PAIR_COLUMNS])


# ------------------------------------------------------------------ Start pressed twice, in two tabs
def _dead_owner() -> str:
    """A lease owner naming a process of this host that has ended (as a killed server leaves it)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host, _pid, token = make_owner().split(":")
    return f"{host}:{gone.pid}:{token}"


@pytest.mark.slow
def test_start_in_two_tabs_and_twice_in_one_leaves_no_run_nobody_controls(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")
    store = RunStore()  # the page's store (this session's EQUALCTAR_HOME)
    before = set(store.list_runs()["run_id"])
    store.create_run("server-killed", {"policy": "equal"}, "f", 3, name="killed with its server", owner=_dead_owner())
    tabs = [AppTest.from_file(str(ROOT / "pages" / "bandit.py"), default_timeout=240) for _ in range(2)]
    for at in tabs:
        at.session_state["bd_budget"] = 1.0  # long runs: they are still playing at the end
        at.session_state["bd_speed"] = 1  # one round per update (the default plays many: the run would end first)
        at.run()

    def press_start(at) -> None:  # what the Start button's on_click leaves for the next script run
        at.session_state["bd_action"] = "start"
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]

    press_start(tabs[0])
    press_start(tabs[0])  # a double click: the second click queued while the first started the run
    press_start(tabs[1])  # Start in a second tab
    press_start(tabs[0])  # Start again in the first
    loops = [at.session_state["bd_loop"] for at in tabs]
    assert all(loop.playing for loop in loops)
    controlled = {loop.run.run_id for loop in loops}
    runs = store.list_runs()
    new = runs[~runs.run_id.isin(before | {"server-killed"})].set_index("run_id")
    assert set(new.index) == controlled  # one run per tab: the repeated Starts built none
    assert (new.status == "running").all() and (new.pulls > 0).all()
    assert runs.set_index("run_id").loc["server-killed", "status"] == "interrupted"
    shown = [d.value for d in tabs[0].dataframe if "status" in d.value.columns and "run" in d.value.columns]
    assert shown and "interrupted" in set(shown[0].loc[shown[0]["run"] == "killed with its server", "status"])
    for at in tabs:  # leave the shared store as found: the tabs' runs given up, the seeded one removed
        at.session_state["bd_action"] = "reset"
        at.run()
    assert set(store.list_runs().set_index("run_id").loc[sorted(controlled), "status"]) == {"interrupted"}
    store.delete_run("server-killed")
