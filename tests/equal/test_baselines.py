"""core.equal.baselines: the baselines job equals the one-shot replay, is cancellable, and reuses its cache."""

from __future__ import annotations

import sys
from pathlib import Path

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
