"""The background upgrade: MiniLM embeddings of a corpus computed in a separate process.

The first open of a corpus shows a map from the fast static tier within seconds; meanwhile
:func:`ensure_upgrade` starts ``python -m core.corpus.upgrade <job folder>``, a detached worker
process (its own session, so it survives the page's script runs and even a server restart)
that embeds the corpus with the slow encoder in chunks:

``cache_dir("upgrades")/<key>/``
    ``texts.parquet`` (the documents, written once), ``order.npy`` (a seeded permutation: chunk
    ``i`` holds rows ``order[i*chunk:(i+1)*chunk]``, so the finished chunks are a random sample
    the tier measurement can use at any time), ``job.json`` (what to compute), ``chunks/NNNNN.npy``
    (one per finished chunk, each written then renamed), ``status.json`` (done/total, rate,
    state) and ``worker.pid``.

A killed worker loses at most the chunk it was on; the next :func:`ensure_upgrade` (the next
page open, or a restarted server) starts a worker that skips the finished chunks. When all are
done the worker writes the ordinary embedding cache file (``core.corpus.embed``), so the map
is built from it exactly as if the corpus had been embedded in the foreground.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from core.corpus.progress import Progress
from core.settings import cache_dir

CHUNK = 128
TIER_STEP, TIER_MAX = 256, 1024  # the tier figures are measured at 256, 512, 768 and 1,024 documents done
_ROOT = Path(__file__).resolve().parents[2]


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


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
        return sorted((self.folder / "chunks").glob("[0-9]*.npy"))

    @property
    def state(self) -> str:
        """``starting``, ``running``, ``done``, ``failed``, or ``stopped`` (no live worker, not done)."""
        st = self.status()
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
    if not (folder / "job.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "chunks").mkdir(exist_ok=True)
        tmp = folder / f"texts.{os.getpid()}.tmp"
        pq.write_table(pa.table({"text": list(corpus.texts)}), tmp)
        os.replace(tmp, folder / "texts.parquet")
        order = np.random.default_rng(0).permutation(len(corpus)).astype(np.int64)
        np.save(folder / f"order.{os.getpid()}.tmp.npy", order)
        os.replace(folder / f"order.{os.getpid()}.tmp.npy", folder / "order.npy")
        _write_json(folder / "job.json", {"content_hash": corpus.content_hash, "encoder": encoder_name,
                                          "total": len(corpus), "chunk": int(chunk), "created": time.time()})
    if start and job.state in ("starting", "stopped"):
        if job.state == "stopped" or not (folder / "worker.pid").exists():
            _spawn(folder, threads)
    return job


def _spawn(folder: Path, threads: int | None) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if threads is not None:
        env["EQUALCTAR_UPGRADE_THREADS"] = str(int(threads))
    log = open(folder / "worker.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "core.corpus.upgrade", str(folder)], cwd=str(_ROOT), env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    (folder / "worker.pid").write_text(str(proc.pid))


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


def _assemble(job: UpgradeJob, content_hash: str, order: NDArray[np.int64], total: int, chunk: int,
              encoder) -> Path:
    """The finished chunks put back in corpus order, written (renamed into place) as the embedding cache file."""
    from core.corpus.embed import embedding_cache_path

    out = np.empty((total, encoder.dim), dtype=np.float32)
    for path in job.chunk_paths():
        i = int(path.stem)
        out[order[i * chunk:(i + 1) * chunk]] = np.load(path)
    final = embedding_cache_path(content_hash, encoder.name, encoder.max_tokens)
    tmp = final.with_name(f"{final.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, out)
    os.replace(tmp, final)
    return final


def run_worker(folder: Path) -> int:
    """The worker's body: embed every missing chunk, then write the embedding cache file."""
    import signal

    import pyarrow.parquet as pq

    from core.corpus.encoders import load_encoder
    from core.corpus.tiers import measure_tiers_in_worker

    job = UpgradeJob(folder)
    spec = job.spec
    (folder / "worker.pid").write_text(str(os.getpid()))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    threads = _yield_cpu()
    total, chunk = int(spec["total"]), int(spec["chunk"])
    texts = pq.read_table(folder / "texts.parquet").column("text").to_pylist()
    order = np.load(folder / "order.npy")
    n_chunks = (total + chunk - 1) // chunk
    have = {int(p.stem) for p in job.chunk_paths()}
    done = sum(min(chunk, total - i * chunk) for i in have)
    started, done_at_start = time.perf_counter(), done
    status = {"state": "running", "done": done, "total": total, "elapsed": 0.0, "done_at_start": done_at_start,
              "pid": os.getpid(), "threads": threads}
    try:
        _write_json(folder / "status.json", status)
        encoder = load_encoder(spec["encoder"])
        status["elapsed"] = 0.0
        started = time.perf_counter()  # the rate counts encoding, not the model load
        for i in range(n_chunks):
            if stopping:
                status["state"] = "stopped"
                _write_json(folder / "status.json", status)
                return 0
            if i in have:
                continue
            rows = order[i * chunk:(i + 1) * chunk]
            vecs = np.asarray(encoder.encode([texts[r] for r in rows], batch_size=32), dtype=np.float32)
            tmp = folder / "chunks" / f"{i:05d}.{os.getpid()}.tmp.npy"
            np.save(tmp, vecs)
            os.replace(tmp, folder / "chunks" / f"{i:05d}.npy")
            if (done + len(rows)) // TIER_STEP > done // TIER_STEP and done < TIER_MAX:  # before the page sees it
                measure_tiers_in_worker(folder, texts)
            done += len(rows)
            status.update(done=done, elapsed=time.perf_counter() - started)
            _write_json(folder / "status.json", status)
        final = _assemble(job, spec["content_hash"], order, total, chunk, encoder)
        status.update(state="done", embeddings=str(final), dim=int(encoder.dim))
        _write_json(folder / "status.json", status)
        return 0
    except Exception as exc:  # the page shows the message; the finished chunks stay for a retry
        status.update(state="failed", error=f"{type(exc).__name__}: {exc}")
        _write_json(folder / "status.json", status)
        return 1


if __name__ == "__main__":
    sys.exit(run_worker(Path(sys.argv[1])))
