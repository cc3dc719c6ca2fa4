"""Indexing a large corpus as a polled, cancellable job (core.corpus.index_job.IndexJob)."""

from __future__ import annotations

from core.corpus.encoders import HashingEncoder
from core.corpus.index_job import IndexJob
from core.corpus.stream import LargeIndexConfig, find_large_index, large_index_path, write_recombined_corpus
from tests.corpus._mapdata import TOPICS

TEXTS = [f"To {verb} a {noun}, call the function with the {noun}. Errors name the {topic[0]} module."
         for topic in TOPICS for verb in ("open", "read", "parse") for noun in topic]
CONFIG = LargeIndexConfig(encoder_name="hashing-32", k=4, layout_sample=200, chunk_size=500, align_docs=0)


def test_the_job_builds_the_index_and_reports_every_stage(tmp_path):
    path = write_recombined_corpus(TEXTS, 2_000, tmp_path / "docs.jsonl", seed=1)
    job = IndexJob(path, (tmp_path,), CONFIG, encoder=HashingEncoder(32))
    job.wait(120)
    assert job.status == "done", job.error
    assert job.result == path and find_large_index(str(path)) is not None
    assert job.progress().done == job.progress().total > 0
    assert len(job.stages) >= 3 and job.stages[0] == "embed"  # embed, then k-means, layout, ...
    assert "one-time" in job.describe() and job.cancel_note() is None
    assert job.describe().startswith("docs.jsonl: ")  # the page shows it under whichever path is typed meanwhile


def test_a_cancelled_job_keeps_nothing_and_says_so(tmp_path):
    path = write_recombined_corpus(TEXTS, 20_000, tmp_path / "docs.jsonl", seed=2)
    job = IndexJob(path, (tmp_path,), CONFIG, encoder=HashingEncoder(32))
    job.cancel()
    job.wait(120)
    assert job.status == "cancelled"
    assert not (large_index_path(path, CONFIG) / "done").exists()
    assert not list(large_index_path(path, CONFIG).parent.glob("*.tmp"))  # the temporary folder is gone
    assert "nothing was kept" in (job.cancel_note() or "") and "docs.jsonl" in (job.cancel_note() or "")


def test_a_path_outside_the_allowed_folders_fails_the_job_by_name(tmp_path):
    outside = write_recombined_corpus(TEXTS, 100, tmp_path / "docs.jsonl", seed=3)
    job = IndexJob(outside, (tmp_path / "elsewhere",), CONFIG, encoder=HashingEncoder(32))
    job.wait(60)
    assert job.status == "failed" and "docs.jsonl" in str(job.error)
