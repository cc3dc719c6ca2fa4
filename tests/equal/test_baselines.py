"""core.equal.baselines: the baselines job equals the one-shot replay, is cancellable, and reuses its cache."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.baselines import BaselineCache, baselines_job, documents_read  # noqa: E402
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
    read = documents_read(config, make_space(ids, texts, labels), ref, ("random", "all"))
    assert job.status == "done" and counting.docs == len(read)  # each document read extracted once over both jobs
    assert counting.docs > kept and set(cache.pairs_by_doc) == read
    again = baselines_job(config, make_space(ids, texts, labels), counting, embed, ref, cache=cache)
    _finish(again)
    assert counting.docs == len(read) and again.result["random"] is job.result["random"]  # curves reused


def test_only_the_documents_the_baselines_read_are_extracted(bandit_world):
    """A half budget reads about half the corpus per baseline: the job extracts their union, not every document,
    and its curves are still those of the replay over everything extracted."""
    ids, texts, labels, ref, ext, embed, config = bandit_world
    doc_emb = embed(texts)
    counting = CountingExtractor(ext)
    small = replace(config, budget=0.2)
    job = baselines_job(small, make_space(ids, texts, labels, doc_emb=doc_emb), counting, embed, ref)
    _finish(job)
    read = documents_read(small, make_space(ids, texts, labels, doc_emb=doc_emb), ref, ("random", "all", "avg-sim"))
    assert job.status == "done" and counting.docs == len(read) < len(ids)
    expected = replay_baselines(small, make_space(ids, texts, labels, doc_emb=doc_emb), ext, embed, ref)
    for policy, frame in expected.items():
        assert job.result[policy][["docs_cum", "coverage"]].equals(frame[["docs_cum", "coverage"]])


def test_a_plateau_stop_reads_pairs_so_every_document_is_extracted(bandit_world):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    assert documents_read(replace(config, stop="plateau"), make_space(ids, texts, labels), ref, ("random",)) is None


class _Clock:
    """Fake seconds: the counted work below advances them, nothing else does."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _TimedExtractor:
    """The rule extractor, costing ``per_doc`` fake seconds a document."""

    def __init__(self, inner, clock: _Clock, per_doc: float) -> None:
        self.inner, self.clock, self.per_doc, self.name = inner, clock, per_doc, inner.name

    def extract(self, docs):
        self.clock.now += self.per_doc * len(docs)
        return self.inner.extract(docs)


# fake seconds a document of each replay costs; the extraction costs 0.01 s a document
_REPLAY_COSTS = {"random": 0.013, "all": 0.005, "avg-sim": 0.009}


@pytest.fixture()
def timed_world(monkeypatch):
    """A 750-document corpus whose work costs fake seconds: 0.01 a document extracted, 0.06 a pair text
    embedded (a slow encoder), 0.0005 one read from the embedder's cache, ``_REPLAY_COSTS`` a document replayed. A live
    run read the first half of the corpus before, so those pairs are cached: in corpus order the work
    costs seven times as much in the second half as in the first."""
    import core.equal.baselines as baselines
    from core.equal.run import cached_embedder

    world = make_setup(n_per_topic=150, n_noise=150)
    clock = _Clock()

    def encode(texts):
        clock.now += 0.06 * len(texts)
        return world.embed(texts)

    embed = cached_embedder(encode)
    inner_embed = embed

    def timed(texts):
        clock.now += 0.0005 * sum(embed.cached(t) for t in texts)
        return inner_embed(texts)

    timed.cached = embed.cached  # type: ignore[attr-defined]
    half = len(world.ids) // 2  # the live run's reads: the first half's pairs are in the embedder's cache
    first = world.extractor.extract(list(zip(world.ids[:half], world.texts[:half]))).pairs
    embed([p.as_text() for p in first])
    clock.now = 0.0
    real_replay = baselines.replay_run

    def replay_run(cfg, *args):
        run = real_replay(cfg, *args)
        step = run.step

        def timed_step():
            before = run.docs_done
            out = step()
            clock.now += _REPLAY_COSTS[cfg.policy] * (run.docs_done - before)
            return out

        run.step = timed_step
        return run

    monkeypatch.setattr(baselines, "replay_run", replay_run)
    space = make_space(world.ids, world.texts, world.labels, doc_emb=world.embed(world.texts))
    config = world.config.__class__(**{**world.config.__dict__, "budget": 1.0})
    return space, _TimedExtractor(world.extractor, clock, 0.01), timed, world.reference, config, clock


def _poll(job, clock, stop_at=None, draw=lambda n: 0.1):
    """Poll as the page does (0.4 s of work, then ``draw(n)`` s drawing after the n-th slice);
    ``[(time, time left shown)]`` and the end time."""
    shown = []
    while job.running:
        job.advance(budget_s=0.4)
        clock.now += draw(len(shown))
        shown.append((clock.now, job.progress().seconds_left))
        if stop_at is not None and job.progress().fraction >= stop_at:
            job.cancel()
    return shown, clock.now


def _worst_error(shown, end):
    errors = [abs(left - (end - at)) / (end - at) for at, left in shown if left is not None and end - at > 2]
    assert errors, "no time left was shown while more than 2 s remained"
    return max(errors)


def test_time_left_is_within_30_percent_on_a_first_run_and_after_cancel_and_resume(timed_world):
    space, ext, embed, ref, config, clock = timed_world
    shown, end = _poll(baselines_job(config, space, ext, embed, ref, clock=clock), clock)
    assert _worst_error(shown, end) <= 0.3
    cache = BaselineCache()
    start = clock.now
    first = baselines_job(config, space, ext, embed, ref, cache=cache, clock=clock)
    _poll(first, clock, stop_at=1 / 3)  # cancelled a third of the way through the documents
    assert first.status == "cancelled"
    resumed = baselines_job(config, space, ext, embed, ref, cache=cache, clock=clock)
    shown, end = _poll(resumed, clock)
    assert resumed.status == "done" and _worst_error(shown, end) <= 0.3
    assert clock.now - start < 2 * (end - shown[0][0])  # the resumed job did the rest only, not everything again
    again = baselines_job(replace(config, seed=config.seed + 1), space, ext, embed, ref, cache=cache, clock=clock)
    shown, end = _poll(again, clock)  # everything cached: replays only, forecast from the rates measured before
    assert again.status == "done" and _worst_error(shown, end) <= 0.3


def test_time_left_follows_the_page_when_its_other_refreshes_stop(timed_world):
    space, ext, embed, ref, config, clock = timed_world
    # a live run still plays beside the baselines for their first 30 slices (1.6 s of drawing after each), then ends
    shown, end = _poll(baselines_job(config, space, ext, embed, ref, clock=clock), clock,
                       draw=lambda n: 1.6 if n < 30 else 0.1)
    assert _worst_error(shown[30 + 8:], end) <= 0.3  # 8 slices after the change, the time left is right again


def test_time_left_counts_each_kind_of_work_and_cancel_says_what_is_kept():
    from core.equal.baselines import STAGE_PAIRS, BaselineForecast, BaselinesJob
    from core.jobs import Tick

    now = [0.0]
    forecast = BaselineForecast(100, {"all": 100}, min_docs=10)

    def work():
        for done in range(10, 101, 10):  # 100 documents, 1 s per batch of 10: 0.5 s extracting, 0.5 s embedding
            now[0] += 1.0  # 20 new pairs (0.4 s) and 20 cached ones (0.1 s)
            forecast.did_docs(10, 0.5, pairs_new=20, pairs_known=20, embed_seconds=(0.4, 0.1))
            yield Tick(done, 100, STAGE_PAIRS)
        return {"all": None}

    job = BaselinesJob(work(), 100, clock=lambda: now[0], forecast=forecast)
    job.advance(budget_s=4.5)  # 5 batches: 50 documents in 5 s, no drawing between slices yet
    p = job.progress()
    assert p.done == 50 and p.stage == STAGE_PAIRS
    # 50 documents at 0.1 s each, then All's 100 replayed at REPLAY_COST["all"] x the 0.05 s of an extraction,
    # times the wall seconds per second of work assumed until the job has measured its own (1.25)
    assert p.seconds_left == pytest.approx((50 * 0.1 + 100 * 0.05 * 0.6) * 1.25)
    assert "50/100 documents" in job.describe() and "s left" in job.describe()
    now[0] += 5.0  # the page drew for 5 s before the next slice: wall time runs at twice the work
    job.advance(budget_s=0.5)
    # and once drawn, the result shows: the page's 5 s between the two slices
    assert job.progress().seconds_left == pytest.approx((40 * 0.1 + 100 * 0.05 * 0.6) * 2.0 + 5.0)
    job.show_seconds = 7.0  # the page says it takes 7 s to draw the curves once the job is done
    assert job.progress().seconds_left == pytest.approx((40 * 0.1 + 100 * 0.05 * 0.6) * 2.0 + 7.0)
    assert job.cancel_note() is None
    job.cancel()
    assert job.status == "cancelled" and "kept" in job.cancel_note()
