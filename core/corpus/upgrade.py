"""The background upgrade: MiniLM embeddings of a corpus computed in a separate process.

The first open of a corpus shows a map from the fast static tier within seconds; meanwhile
:func:`ensure_upgrade` starts ``python -m core.corpus.upgrade <job folder> --parent <server pid>``,
a worker process that embeds the corpus with the slow encoder in chunks. It outlives the page's
script runs, not the server: it checks its parent every half second and, once the server is gone,
records ``stopped`` and exits (mid-chunk: that chunk is redone), so no worker is left behind
when the server dies. A thread of the server waits for each worker it started, so a finished
worker never lingers as a zombie. The job folder:

``cache_dir("upgrades")/<key>/``
    ``texts.parquet`` (the documents, written once), ``order.npy`` (a seeded permutation: chunk
    ``i`` holds rows ``order[i*chunk:(i+1)*chunk]``, so the finished chunks are a random sample
    the tier measurement can use at any time), ``job.json`` (what to compute), ``chunks/NNNNN.npy``
    (one per finished chunk, each written to ``NNNNN.<pid>.tmp.npy`` then renamed), ``status.json``
    (done/total, rate, state; written then renamed) and ``worker.pid``.

A killed worker (SIGKILL at any instruction) loses at most the chunk it was on; the next
:func:`ensure_upgrade` (the next page open, or a restarted server) starts a worker that removes
the dead workers' temporary files, recomputes any chunk that does not read back whole, and
skips the finished ones. When all are done the worker writes the ordinary embedding cache file
(``core.corpus.embed``, written then renamed), so the map is built from it exactly as if the
corpus had been embedded in the foreground; the file is byte-identical to an uninterrupted run's.

A full disk fails the job with a message naming what was not saved (``the background upgrade could
not save chunk 4 of 10: the disk is full ...``), keeps the finished chunks and removes the
half-written one; the job counts as ``stopped`` again (so the next open resumes it) once more space
is free than when it failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.corpus.progress import Progress
from core.corpus.tiers import measure_from_upgrade
from core.disk import DiskFullError, is_disk_full, naming_disk_full, write_atomic
from core.settings import cache_dir

CHUNK = 128
TIER_STEP, TIER_MAX = 256, 1024  # the tier figures are measured at 256, 512, 768 and 1,024 documents done
_ROOT = Path(__file__).resolve().parents[2]


def _write_text(path: Path, text: str, what: str = "the background upgrade could not save its status") -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place (a reader sees old or new)."""
    write_atomic(path, lambda tmp: tmp.write_text(text), what, "upgrades")


def _write_json(path: Path, data: dict, what: str = "the background upgrade could not save its status") -> None:
    _write_text(path, json.dumps(data), what)


def _free_bytes(folder: Path) -> int:
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie (finished child not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class UpgradeJob:
    """Handle on one corpus's background embedding job (cheap: reads small files on demand)."""

    folder: Path

    @property
    def spec(self) -> dict:
        return json.loads((self.folder / "job.json").read_text())

    def status(self) -> dict:
        try:
            return json.loads((self.folder / "status.json").read_text())
        except (OSError, ValueError):
            return {"state": "starting", "done": 0, "total": int(self.spec["total"]), "elapsed": 0.0,
                    "done_at_start": 0}

    def chunk_paths(self) -> list[Path]:
        """The finished chunks (``NNNNN.npy``; a killed worker's ``NNNNN.<pid>.tmp.npy`` is not one)."""
        return sorted(p for p in (self.folder / "chunks").glob("[0-9]*.npy") if p.stem.isdigit())

    @property
    def state(self) -> str:
        """``starting``, ``running``, ``done``, ``failed``, or ``stopped`` (no live worker, not done).

        A job that failed on a full disk is ``stopped`` (to be resumed) once more space is free than when it failed.
        """
        st = self.status()
        if st.get("state") == "failed" and st.get("disk_full"):
            return "stopped" if _free_bytes(self.folder) > int(st.get("free_at_failure", 0)) else "failed"
        if st.get("state") in ("done", "failed"):
            return st["state"]
        pid = self.pid()
        if pid is None or not _alive(pid):
            return "stopped" if (self.folder / "worker.pid").exists() else "starting"
        return "running"

    def pid(self) -> int | None:
        try:
            return int((self.folder / "worker.pid").read_text())
        except (OSError, ValueError):
            return None

    def progress(self) -> Progress:
        st = self.status()
        return Progress("upgrade", int(st.get("done", 0)), int(st.get("total", 0)), float(st.get("elapsed", 0.0)),
                        "documents", True, int(st.get("done_at_start", 0)))

    def done_rows(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Rows embedded so far and their vectors: ``(rows (m,), vectors (m, d))`` (a random sample)."""
        order = np.load(self.folder / "order.npy")
        chunk = int(self.spec["chunk"])
        rows, vecs = [], []
        for path in self.chunk_paths():
            i = int(path.stem)
            try:
                v = np.load(path)
            except (OSError, ValueError):
                continue
            rows.append(order[i * chunk: i * chunk + len(v)])
            vecs.append(v)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(rows).astype(np.int64), np.concatenate(vecs).astype(np.float32)

    def stop(self) -> None:
        """Ask the worker to stop after its current chunk (it resumes on the next :func:`ensure_upgrade`)."""
        pid = self.pid()
        if pid is not None and _alive(pid):
            os.kill(pid, 15)


def job_folder(content_hash: str, encoder_name: str) -> Path:
    key = hashlib.sha256(f"{content_hash}|{encoder_name}".encode()).hexdigest()[:24]
    return cache_dir("upgrades") / key


def ensure_upgrade(corpus, encoder_name: str, chunk: int = CHUNK, threads: int | None = None,
                   start: bool = True) -> UpgradeJob:
    """The background job embedding ``corpus`` with ``encoder_name``; started (or resumed) if needed.

    Safe to call on every page run: it spawns a worker only when none is alive and the job is
    not finished. ``threads`` caps the worker's torch threads (default: all cores but one, at
    least 1, so the page keeps a core; ``EQUALCTAR_UPGRADE_THREADS`` overrides); the worker runs
    at ``nice`` 10 (``EQUALCTAR_UPGRADE_NICE``), so the page's reruns come first.
    """
    with _ENSURE_LOCK:  # sessions open at once: one writes the job and spawns its one worker, the rest see it
        return _ensure_upgrade(corpus, encoder_name, chunk, threads, start)


_ENSURE_LOCK = threading.Lock()


def _ensure_upgrade(corpus, encoder_name: str, chunk: int, threads: int | None, start: bool) -> UpgradeJob:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = job_folder(corpus.content_hash, encoder_name)
    job = UpgradeJob(folder)
    if not (folder / "job.json").exists():  # written last: a job set up halfway is set up again
        what = "the background upgrade could not save the documents it embeds"
        with naming_disk_full(what, "upgrades"):
            (folder / "chunks").mkdir(parents=True, exist_ok=True)
        table = pa.table({"text": list(corpus.texts)})
        write_atomic(folder / "texts.parquet", lambda tmp: pq.write_table(table, tmp), what, "upgrades")
        order = np.random.default_rng(0).permutation(len(corpus)).astype(np.int64)
        write_atomic(folder / "order.npy", lambda tmp: np.save(tmp, order), what, "upgrades")
        _write_json(folder / "job.json", {"content_hash": corpus.content_hash, "encoder": encoder_name,
                                          "total": len(corpus), "chunk": int(chunk), "created": time.time()}, what)
    if start:
        with _SPAWN_LOCK:  # two sessions' script threads opening the page at once start one worker
            _await_orphan(job)
            if job.state == "stopped" or (job.state == "starting" and not (folder / "worker.pid").exists()):
                _spawn(folder, threads)
    return job


_SPAWN_LOCK = threading.Lock()


def _await_orphan(job: UpgradeJob, timeout: float = 3.0) -> None:
    """Wait (at most ``timeout`` s) for a worker whose server is gone to stop, as its parent watch makes it
    within a second, so the next server's first open resumes the job rather than finding it "running"."""
    parent, pid = job.status().get("parent"), job.pid()
    if parent is None or pid is None or int(parent) == os.getpid() or _alive(int(parent)):
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _spawn(folder: Path, threads: int | None) -> None:
    """Start the worker as a child of this process, told to stop when this process is gone.

    A daemon thread waits for it, so a finished worker is reaped at once (no zombie until the next start).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if threads is not None:
        env["EQUALCTAR_UPGRADE_THREADS"] = str(int(threads))
    with naming_disk_full("the background upgrade could not start its worker", "upgrades"):
        log = open(folder / "worker.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "core.corpus.upgrade", str(folder), "--parent",
                                 str(os.getpid())], cwd=str(_ROOT), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log)
        log.close()
        _write_text(folder / "worker.pid", str(proc.pid), "the background upgrade could not start its worker")
    threading.Thread(target=proc.wait, name=f"reap-upgrade-{proc.pid}", daemon=True).start()


def _yield_cpu() -> int:
    """Lower the worker below the page (``nice``) and cap torch's threads; returns the thread count.

    Threads: ``EQUALCTAR_UPGRADE_THREADS``, else every core but one; nice: ``EQUALCTAR_UPGRADE_NICE`` (10).
    """
    threads = int(os.environ.get("EQUALCTAR_UPGRADE_THREADS") or max(1, (os.cpu_count() or 2) - 1))
    try:  # below the page: a click's rerun gets the CPU first, the job takes what is left
        os.nice(int(os.environ.get("EQUALCTAR_UPGRADE_NICE", "10")))
    except (OSError, ValueError):
        pass
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - hashing tests without torch
        pass
    return threads


def _remove_dead_tmp(folder: Path, pattern: str) -> None:
    """Remove the temporary files (``<name>.<pid>.tmp...``) of workers that are no longer alive.

    A live worker's own files are kept: its rename may still be on its way.
    """
    for path in folder.glob(pattern):
        pid = path.name.split(".tmp", 1)[0].rsplit(".", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _finished_chunks(job: UpgradeJob, total: int, chunk: int) -> set[int]:
    """Indices of the chunks that read back whole (rows, 2-D float32); any other chunk file is removed, to be redone."""
    have = set()
    for path in job.chunk_paths():
        i = int(path.stem)
        try:
            v = np.load(path, mmap_mode="r")
            whole = v.dtype == np.float32 and v.ndim == 2 and len(v) == min(chunk, total - i * chunk) > 0
            del v
        except (OSError, ValueError):
            whole = False
        if whole:
            have.add(i)
        else:
            path.unlink(missing_ok=True)
    return have


def _assemble(job: UpgradeJob, content_hash: str, order: NDArray[np.int64], total: int, chunk: int,
              encoder) -> Path:
    """The finished chunks put back in corpus order, written (renamed into place) as the embedding cache file."""
    from core.corpus.embed import embedding_cache_path

    out = np.empty((total, encoder.dim), dtype=np.float32)
    for path in job.chunk_paths():
        i = int(path.stem)
        out[order[i * chunk:(i + 1) * chunk]] = np.load(path)
    final = embedding_cache_path(content_hash, encoder.name, encoder.max_tokens)
    _remove_dead_tmp(final.parent, f"{final.stem}.*.tmp.npy")
    return write_atomic(final, lambda tmp: np.save(tmp, out),
                        "the background upgrade could not write the finished embedding cache", "embeddings")


def _watch_parent(parent: int, on_gone: Callable[[], None], every: float = 0.5) -> threading.Thread:
    """Call ``on_gone`` from a daemon thread once process ``parent`` has ended (checked every ``every`` s).

    When ``parent`` started this process, a changed ``os.getppid()`` says so (the orphan is
    re-parented), which a recycled pid cannot fake; otherwise the pid is probed. Not Linux's
    ``PR_SET_PDEATHSIG``: it fires when the *thread* that spawned the child ends, and the
    server spawns workers from a script thread that ends after every page run.
    """
    direct = os.getppid() == parent

    def watch() -> None:
        while (os.getppid() == parent) if direct else _alive(parent):
            time.sleep(every)
        on_gone()

    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    return thread


class _Worker:
    """One worker process's run over a job folder: status writes and chunk commits behind one lock.

    The lock makes "stop now" (the parent is gone) wait for a chunk's rename and its status line,
    so the worker never exits between them; a SIGKILL may, and costs only that chunk.
    """

    def __init__(self, folder: Path, parent: int | None = None) -> None:
        import pyarrow.parquet as pq

        self.folder, self.job = folder, UpgradeJob(folder)
        spec = self.job.spec
        self.total, self.chunk, self.encoder_name = int(spec["total"]), int(spec["chunk"]), spec["encoder"]
        self.content_hash = spec["content_hash"]
        self.commit = threading.Lock()
        self.stopping: list[int] = []
        _remove_dead_tmp(folder / "chunks", "*.tmp.npy")
        _remove_dead_tmp(folder, "*.tmp*")
        self.texts = pq.read_table(folder / "texts.parquet").column("text").to_pylist()
        self.order = np.load(folder / "order.npy")
        self.have = _finished_chunks(self.job, self.total, self.chunk)
        done = sum(min(self.chunk, self.total - i * self.chunk) for i in self.have)
        self.status: dict[str, Any] = {"state": "running", "done": done, "total": self.total, "elapsed": 0.0,
                                       "done_at_start": done, "pid": os.getpid(), "parent": parent}

    def write_status(self, **changes) -> None:
        with self.commit:
            self.status.update(changes)
            _write_json(self.folder / "status.json", self.status)

    def record_failure(self, exc: Exception) -> None:
        """``failed`` with the message; a full disk also records the free space then, so the job is resumed
        (reads ``stopped``) once more is free. A status the disk refuses too goes to the log."""
        full = is_disk_full(exc)
        error = str(exc) if isinstance(exc, DiskFullError) else f"{type(exc).__name__}: {exc}"
        try:
            self.write_status(state="failed", error=error, disk_full=full, free_at_failure=_free_bytes(self.folder))
        except OSError as err:
            print(f"upgrade failed: {error}; {err}", file=sys.stderr)

    def exit_stopped(self) -> None:
        """Record ``stopped`` and end the process now (from the parent watch: the server is gone)."""
        with self.commit:
            self.status.update(state="stopped", reason="the server that started this worker is gone")
            _write_json(self.folder / "status.json", self.status)
            os._exit(0)

    def adopt_fast_variant(self, encoder) -> None:
        """Check the encoder's faster CPU variants against fp32 on a random sample of this corpus (once per
        model, variant and CPU: the verdict is cached, :func:`core.corpus.variants.select_variant`) and embed
        with the first that passes; the status names the variant in use for the page's tier figures."""
        from core.corpus.variants import CHECK_SAMPLE, candidates, describe_adoption, select_variant

        if getattr(encoder, "device", None) != "cpu" or not hasattr(encoder, "run_as"):
            return  # not a sentence-transformers model on a CPU: nothing to choose
        rows = self.order[:CHECK_SAMPLE]  # the seeded permutation's head: a random sample
        if encoder.variant.name == "fp32" and candidates() and len(rows) >= 64:
            self.write_status(variant="checking the faster variants against fp32")
            select_variant(encoder, [self.texts[r] for r in rows])
        self.write_status(variant=describe_adoption(encoder))

    def embed_missing(self, encoder) -> bool:
        """Embed every chunk not yet on disk; False when asked to stop (SIGTERM/SIGINT) before the end."""
        total, chunk, started = self.total, self.chunk, time.perf_counter()  # the rate counts encoding only
        n_chunks = (total + chunk - 1) // chunk
        for i in range(n_chunks):
            if self.stopping:
                self.write_status(state="stopped")
                return False
            if i in self.have:
                continue
            rows = self.order[i * chunk:(i + 1) * chunk]
            vecs = np.asarray(encoder.encode([self.texts[r] for r in rows], batch_size=32), dtype=np.float32)
            done = int(self.status["done"])
            with self.commit:  # written to NNNNN.<pid>.tmp.npy, renamed; removed if the disk refuses it
                write_atomic(self.folder / "chunks" / f"{i:05d}.npy", partial(np.save, arr=vecs),
                             f"the background upgrade could not save chunk {i + 1} of {n_chunks}", "upgrades")
            if (done + len(rows)) // TIER_STEP > done // TIER_STEP and done < TIER_MAX:  # before the page sees it
                measure_tiers_in_worker(self.folder, self.texts)
            self.write_status(done=done + len(rows), elapsed=time.perf_counter() - started)
        return True


def measure_tiers_in_worker(folder, texts: list[str], tiers: tuple[str, ...] = ("static-minilm", "hashing")) -> None:
    """The worker's measurement of each tier on its finished chunks (cached for the page to read).

    Never raises: a tier that cannot be loaded or measured is left out (the page says "not measured").
    """
    from core.corpus.encoders import STATIC_MODEL, load_encoder, static_model_ready

    job = UpgradeJob(folder)
    corpus = SimpleNamespace(texts=texts, content_hash=job.spec["content_hash"])
    for tier in tiers:
        if tier == STATIC_MODEL and not static_model_ready():
            continue
        try:
            measure_from_upgrade(corpus, job, load_encoder(tier), compute=True)
        except Exception:  # a figure is a nicety; the embeddings are the job
            continue


def run_worker(folder: Path, parent: int | None = None) -> int:
    """The worker's body: embed every missing chunk, then write the embedding cache file.

    With ``parent`` (the server's pid), the worker records ``stopped`` and exits within about a
    second of that process ending; the next :func:`ensure_upgrade` resumes from the chunks on disk.
    """
    import signal

    from core.corpus.encoders import load_encoder

    worker = _Worker(folder, parent)
    for sig in (signal.SIGTERM, signal.SIGINT):  # stop after the current chunk (a Ctrl-C in the server's terminal)
        signal.signal(sig, lambda *_: worker.stopping.append(1))
    if parent is not None:
        _watch_parent(parent, worker.exit_stopped)
    try:
        _write_text(folder / "worker.pid", str(os.getpid()))  # in here: a full disk is recorded as the failure
        worker.write_status(state="running", threads=_yield_cpu())
        encoder = load_encoder(worker.encoder_name)
        worker.adopt_fast_variant(encoder)
        if not worker.embed_missing(encoder):
            return 0
        with worker.commit:
            final = _assemble(worker.job, worker.content_hash, worker.order, worker.total, worker.chunk, encoder)
        worker.write_status(state="done", embeddings=str(final), dim=int(encoder.dim))
        return 0
    except Exception as exc:  # the page shows the message; the finished chunks stay for a retry
        worker.record_failure(exc)
        return 1


def _main(argv: list[str]) -> int:
    """``python -m core.corpus.upgrade <job folder> [--parent <pid>]``."""
    parent = int(argv[argv.index("--parent") + 1]) if "--parent" in argv else None
    return run_worker(Path(argv[0]), parent)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
