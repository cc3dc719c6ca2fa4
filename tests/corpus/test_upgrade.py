"""The background upgrade job: a real worker process, chunked and resumable."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import core.corpus.encoders as encoders
from core.corpus.embed import corpus_embedding_path, embed_corpus
from core.corpus.encoders import HashingEncoder
from core.corpus.upgrade import UpgradeJob, ensure_upgrade, run_worker
from tests.corpus._mapdata import topic_corpus


def _wait(job: UpgradeJob, timeout: float = 90.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if job.state in ("done", "failed"):
            return job.state
        time.sleep(0.2)
    return job.state


def test_the_worker_process_embeds_everything_and_fills_the_embedding_cache():
    corpus, _ = topic_corpus(150, seed=11)
    job = ensure_upgrade(corpus, "hashing-64", chunk=16)
    assert _wait(job) == "done", job.status()
    p = job.progress()
    assert (p.done, p.total) == (150, 150) and p.fraction == 1.0
    assert len(job.chunk_paths()) == 10  # ceil(150 / 16)
    enc = HashingEncoder(64)
    assert corpus_embedding_path(corpus, enc).exists()
    cached = embed_corpus(corpus, enc)  # a cache hit: the map build after the upgrade reads this
    assert isinstance(cached, np.memmap)
    np.testing.assert_allclose(cached, enc.encode(corpus.texts), atol=1e-6)
    rows, vecs = job.done_rows()
    assert sorted(rows.tolist()) == list(range(150))  # the chunks cover every row once
    np.testing.assert_allclose(vecs, enc.encode([corpus.texts[r] for r in rows]), atol=1e-6)
    assert ensure_upgrade(corpus, "hashing-64").state == "done"  # nothing restarts a finished job


class _Breaks(HashingEncoder):
    """Fails on its third call, as a killed worker would stop mid-job."""

    calls = 0

    def encode(self, texts, batch_size=64, progress=None):
        type(self).calls += 1
        if type(self).calls == 3:
            raise RuntimeError("interrupted")
        return super().encode(texts, batch_size, progress)


def test_an_interrupted_job_resumes_from_its_finished_chunks(monkeypatch):
    corpus, _ = topic_corpus(100, seed=12)
    job = ensure_upgrade(corpus, "hashing-32", chunk=20, start=False)
    monkeypatch.setattr(encoders, "load_encoder", lambda name: _Breaks(32))
    assert run_worker(job.folder) == 1
    assert job.status()["state"] == "failed" and "interrupted" in job.status()["error"]
    finished = {p.name: p.stat().st_mtime_ns for p in job.chunk_paths()}
    assert len(finished) == 2 and job.progress().done == 40
    counted = []

    class Counting(HashingEncoder):
        def encode(self, texts, batch_size=64, progress=None):
            counted.append(len(texts))
            return super().encode(texts, batch_size, progress)

    monkeypatch.setattr(encoders, "load_encoder", lambda name: Counting(32))
    assert run_worker(job.folder) == 0
    assert counted == [20, 20, 20]  # only the three missing chunks were embedded
    assert {p.name: p.stat().st_mtime_ns for p in job.chunk_paths() if p.name in finished} == finished
    st = job.status()
    assert st["state"] == "done" and st["done_at_start"] == 40
    np.testing.assert_allclose(embed_corpus(corpus, HashingEncoder(32)), HashingEncoder(32).encode(corpus.texts),
                               atol=1e-6)


def test_a_dead_worker_is_restarted_by_the_next_open():
    corpus, _ = topic_corpus(60, seed=13)
    job = ensure_upgrade(corpus, "hashing-16", chunk=8, start=False)
    (job.folder / "worker.pid").write_text("999999999")  # a worker that died with the old server
    assert job.state == "stopped"
    job = ensure_upgrade(corpus, "hashing-16")
    assert job.pid() != 999999999
    assert _wait(job) == "done"


@pytest.mark.slow
def test_a_failing_encoder_leaves_a_readable_message_and_no_cache_file():
    corpus, _ = topic_corpus(40, seed=14)
    job = ensure_upgrade(corpus, "/no/such/model/folder", chunk=8)
    assert _wait(job, 120) == "failed"
    assert "no/such/model" in job.status()["error"]
    with pytest.raises(FileNotFoundError):
        np.load(job.folder / "chunks" / "00000.npy")


def test_the_worker_measures_the_tiers_so_the_page_only_reads_them():
    from core.corpus.tiers import measure_from_upgrade

    corpus, _ = topic_corpus(300, seed=12)
    job = ensure_upgrade(corpus, "hashing-64", chunk=64)
    assert _wait(job) == "done", job.status()
    # measured by the worker at 256 documents done: read here with measuring forbidden
    q = measure_from_upgrade(corpus, job, HashingEncoder(128), compute=False)
    assert q is not None and q.n_sample == 256 and q.reference == "hashing-64" and 0 < q.recall_at_10 <= 1
    assert measure_from_upgrade(corpus, job, HashingEncoder(32), compute=False) is None  # a tier it did not measure


def test_sessions_opening_at_once_start_one_worker(monkeypatch):
    import threading

    import core.corpus.upgrade as upgrade

    corpus, _ = topic_corpus(40, seed=17)
    spawned = []

    def fake_spawn(folder, threads):  # records the spawn, writes the pid a real spawn writes
        spawned.append(folder)
        time.sleep(0.05)
        (folder / "worker.pid").write_text(str(os.getpid()))

    monkeypatch.setattr(upgrade, "_spawn", fake_spawn)
    start = threading.Barrier(6)

    def session() -> None:
        start.wait()
        ensure_upgrade(corpus, "hashing-16", chunk=8)

    threads = [threading.Thread(target=session) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(spawned) == 1
