"""core.equal.baselines: the baselines job equals the one-shot replay, is cancellable, and reuses its cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_space  # noqa: E402

from core.equal.baselines import BaselineCache, baselines_job  # noqa: E402
from core.equal.replay import replay_baselines  # noqa: E402


class CountingExtractor:
    def __init__(self, inner) -> None:
        self.inner, self.docs = inner, 0
        self.name = inner.name

    def extract(self, docs):
        self.docs += len(docs)
        return self.inner.extract(docs)


def _finish(job):
    n = 0
    while job.running:
        job.advance(budget_s=0.0)  # one unit per call: many polls, as a page makes them
        n += 1
    return n


def test_job_gives_the_same_curves_as_the_one_shot_replay(bandit_world):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    doc_emb = embed(texts)
    job = baselines_job(config, make_space(ids, texts, labels, doc_emb=doc_emb), ext, embed, ref)
    polls = _finish(job)
    assert job.status == "done" and polls > 3  # worked in several slices, not one block
    expected = replay_baselines(config, make_space(ids, texts, labels, doc_emb=doc_emb), ext, embed, ref)
    assert set(job.result) == set(expected) == {"random", "all", "avg-sim"}
    for policy, frame in expected.items():
        assert job.result[policy][["docs_cum", "coverage"]].equals(frame[["docs_cum", "coverage"]])


def test_cancelled_job_keeps_its_work_and_the_next_one_reuses_it(bandit_world):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    cache, counting = BaselineCache(), CountingExtractor(ext)
    job = baselines_job(config, make_space(ids, texts, labels), counting, embed, ref, cache=cache)
    job.advance(budget_s=0.0)
    job.advance(budget_s=0.0)
    job.cancel()
    assert job.status == "cancelled" and 0 < len(cache.pairs_by_doc) < len(ids)
    kept = counting.docs
    job = baselines_job(config, make_space(ids, texts, labels), counting, embed, ref, cache=cache)
    _finish(job)
    assert job.status == "done" and counting.docs == len(ids)  # each document extracted once over both jobs
    assert counting.docs > kept
    again = baselines_job(config, make_space(ids, texts, labels), counting, embed, ref, cache=cache)
    _finish(again)
    assert counting.docs == len(ids) and again.result["random"] is job.result["random"]  # curves reused


def test_time_left_covers_the_whole_job_and_cancel_says_what_is_kept():
    from core.equal.baselines import STAGE_PAIRS, STAGE_REPLAY, BaselinesJob
    from core.jobs import Tick

    now = [0.0]

    def work():
        for done in range(10, 101, 10):  # 100 documents, 1 s per batch of 10
            now[0] += 1.0
            yield Tick(done, 100, STAGE_PAIRS)
        for n in (1, 2, 3):
            now[0] += 0.5
            yield Tick(n, 3, STAGE_REPLAY)
        return {"random": None}

    job = BaselinesJob(work(), 100, clock=lambda: now[0])
    job.advance(budget_s=4.5)  # 5 batches: 50 documents in 5 s
    p = job.progress()
    assert p.done == 50 and p.stage == STAGE_PAIRS
    # 50 documents left at 10/s, plus the replays at replay_share of the documents' whole time (10 s)
    assert p.seconds_left == pytest.approx(5.0 + job.replay_share * 10.0)
    assert "50/100 documents" in job.describe() and "s left" in job.describe()
    assert job.cancel_note() is None
    job.cancel()
    assert job.status == "cancelled" and "kept" in job.cancel_note()
