"""core.equal.baselines: the baselines job equals the one-shot replay, is cancellable, and reuses its cache."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.baselines import (  # noqa: E402
    STAGE_SHOW,
    BaselineCache,
    baselines_job,
    documents_read,
    replay_kind,
)
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
    while len(cache.pairs_by_doc) < 2:  # past the dry replays, into the extraction
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


def test_a_new_process_computes_the_baselines_from_the_extractions_kept_on_disk(bandit_world, tmp_path):
    """The Bandit page's baselines extract through ``common.baseline_extractor``: kept on disk, so after a restart
    (a new cache object over the same file, an empty :class:`BaselineCache`) no document is extracted again."""
    from core.equal.extract.cache import CachedExtractor, ExtractionCache

    ids, texts, labels, ref, ext, embed, config = bandit_world

    def job_over_the_file():
        counting = CountingExtractor(ext)
        kept = CachedExtractor(counting, ext.version, ExtractionCache(tmp_path / "extractions.sqlite"))
        job = baselines_job(config, make_space(ids, texts, labels), kept, embed, ref, cache=BaselineCache())
        _finish(job)
        return job, counting

    first, counting = job_over_the_file()
    assert first.status == "done" and counting.docs > 0
    again, counting = job_over_the_file()
    assert again.status == "done" and counting.docs == 0
    for policy, frame in first.result.items():
        assert again.result[policy][["docs_cum", "coverage"]].equals(frame[["docs_cum", "coverage"]])


def test_a_shared_cache_scores_each_reference_set_against_itself(bandit_world):
    """The page shares one cache per corpus, map and encoder: a job with another reference set reuses the
    extracted pairs but not the curves scored against the first reference."""
    ids, texts, labels, ref, ext, embed, config = bandit_world
    other = embed(["How do I bind a socket address?", "How do I listen with a socket timeout?"])
    cache, counting = BaselineCache(), CountingExtractor(ext)
    first = baselines_job(config, make_space(ids, texts, labels), counting, embed, ref, cache=cache)
    _finish(first)
    read = counting.docs
    shared = baselines_job(config, make_space(ids, texts, labels), counting, embed, other, cache=cache)
    _finish(shared)
    fresh = baselines_job(config, make_space(ids, texts, labels), ext, embed, other)
    _finish(fresh)
    assert counting.docs == read  # the pairs are kept whatever the reference
    for policy in ("random", "all"):
        assert shared.result[policy]["coverage"].equals(fresh.result[policy]["coverage"])
        assert not shared.result[policy]["coverage"].equals(first.result[policy]["coverage"])


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


class TimedWorld(NamedTuple):
    space: object
    extractor: object
    embed: object
    reference: object
    config: object
    clock: _Clock
    replay: object  # core.equal.replay.replay_run, each step costing _REPLAY_COSTS fake seconds a document


def _job(world: TimedWorld, config=None, cache=None):
    """A baselines job in the timed world: its fake clock measures both the wall and the work."""
    return baselines_job(config or world.config, world.space, world.extractor, world.embed, world.reference,
                         cache=cache, clock=world.clock, work_clock=world.clock, replay=world.replay)


@pytest.fixture()
def timed_world():
    """A 750-document corpus whose work costs fake seconds: 0.01 a document extracted, 0.06 a pair text
    embedded (a slow encoder), 0.0005 one read from the embedder's cache, ``_REPLAY_COSTS`` a document replayed. A live
    run read the first half of the corpus before, so those pairs are cached: in corpus order the work
    costs seven times as much in the second half as in the first."""
    from core.equal.replay import replay_run as real_replay
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

    space = make_space(world.ids, world.texts, world.labels, doc_emb=world.embed(world.texts))
    config = world.config.__class__(**{**world.config.__dict__, "budget": 1.0})
    return TimedWorld(space, _TimedExtractor(world.extractor, clock, 0.01), timed, world.reference, config, clock,
                      replay_run)


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
    clock = timed_world.clock
    shown, end = _poll(_job(timed_world), clock)
    assert _worst_error(shown, end) <= 0.3
    cache = BaselineCache()
    start = clock.now
    first = _job(timed_world, cache=cache)
    _poll(first, clock, stop_at=1 / 3)  # cancelled a third of the way through the documents
    assert first.status == "cancelled"
    resumed = _job(timed_world, cache=cache)
    shown, end = _poll(resumed, clock)
    assert resumed.status == "done" and _worst_error(shown, end) <= 0.3
    assert clock.now - start < 2 * (end - shown[0][0])  # the resumed job did the rest only, not everything again
    again = _job(timed_world, replace(timed_world.config, seed=timed_world.config.seed + 1), cache=cache)
    shown, end = _poll(again, clock)  # everything cached: replays only, forecast from the rates measured before
    assert again.status == "done" and _worst_error(shown, end) <= 0.3


def test_time_left_follows_the_page_when_its_other_refreshes_stop(timed_world):
    # a live run still plays beside the baselines for their first 30 slices (1.6 s of drawing after each), then ends
    shown, end = _poll(_job(timed_world), timed_world.clock, draw=lambda n: 1.6 if n < 30 else 0.1)
    from core.equal.baselines import WALL_SLICES

    assert _worst_error(shown[30 + WALL_SLICES:], end) <= 0.3  # one window after the change, the time left is right


def test_time_left_counts_each_kind_of_work_and_cancel_says_what_is_kept():
    from core.equal.baselines import STAGE_PAIRS, WALL_SLICES, BaselineForecast, BaselinesJob
    from core.jobs import Tick

    now = [0.0]
    forecast = BaselineForecast(100, {"all": 100}, min_docs=10)

    def work():
        for done in range(10, 101, 10):  # 100 documents, 1 s per batch of 10: 0.5 s extracting, 0.5 s embedding
            now[0] += 1.0  # 20 new pairs (0.4 s) and 20 cached ones (0.1 s)
            forecast.did_docs(10, 0.5, pairs_new=20, pairs_known=20, embed_seconds=(0.4, 0.1))
            yield Tick(done, 100, STAGE_PAIRS)
        return {"all": None}

    job = BaselinesJob(work(), 100, clock=lambda: now[0], forecast=forecast, work_clock=lambda: now[0])
    job.advance(budget_s=4.5)  # 5 batches: 50 documents in 5 s, no drawing between slices yet
    p = job.progress()
    assert p.done == 50 and p.stage == STAGE_PAIRS
    # 50 documents at 0.1 s each, then All's 100 replayed at REPLAY_COST["all"] x the 0.05 s of an extraction,
    # at the wall seconds per second of work of the last W slices: the one just done (5 s in 5 s, no drawing measured
    # yet) and W - 1 not seen yet, as much work each, at the pace assumed before any was measured (1.25)
    unseen = (WALL_SLICES - 1) * 5
    assert p.seconds_left == pytest.approx((50 * 0.1 + 100 * 0.05 * 0.6) * (5 + unseen * 1.25) / (5 + unseen))
    assert "50/100 documents" in job.describe() and "s left" in job.describe()
    now[0] += 5.0  # the page drew for 5 s before the next slice: the first slice's 5 s of work took 10 s
    job.advance(budget_s=0.5)
    # the slice just done (1 s) will be followed by the page's 5 s of drawing too: 16 s of wall for 6 s of work, and
    # W - 2 slices not seen yet of 3 s each at 1.25; once drawn, the result shows: the page's 5 s between two slices
    unseen = (WALL_SLICES - 2) * 3
    pace = (16 + unseen * 1.25) / (6 + unseen)
    assert job.progress().seconds_left == pytest.approx((40 * 0.1 + 100 * 0.05 * 0.6) * pace + 5.0)
    job.page_run_seconds = 7.0  # the page says it takes 7 s to draw the curves once the job is done
    assert job.progress().seconds_left == pytest.approx((40 * 0.1 + 100 * 0.05 * 0.6) * pace + 7.0)
    assert job.cancel_note() is None
    job.cancel()
    assert job.status == "cancelled" and "kept" in job.cancel_note()


def _poll_and_show(job, clock, show_s: float):
    """:func:`_poll`, then the page's run that shows the curves: ``show_s`` fake seconds after the job ended, the
    page draws them and says so (``did_show``). ``[(time, time left shown)]`` (the polls while the page draws
    included) and when the curves showed."""
    shown, end = _poll(job, clock)
    while clock.now - end < show_s:  # the page's run (its bar says what remains of it) until the curves show
        assert job.describe().startswith(STAGE_SHOW)
        shown.append((clock.now, job.progress().seconds_left))
        clock.now += 0.25
    job.did_show()
    return shown, clock.now


def test_time_left_counts_the_page_run_that_shows_the_curves(timed_world):
    """The job ends, then the page's run draws the curves (2.5 fake s here): the truth is when they show. A first
    job adds the page's full run up to its charts (the page sets it); the next job adds what the first measured."""
    clock, cache = timed_world.clock, BaselineCache()
    first = _job(timed_world, replace(timed_world.config, budget=0.3), cache=cache)
    first.page_run_seconds = 3.0  # the page's last full run up to its charts
    shown, end = _poll_and_show(first, clock, show_s=2.5)
    assert first.shown and _worst_error(shown, end) <= 0.3
    whole = _job(timed_world, cache=cache)
    whole.page_run_seconds = 0.0  # not needed any more: the first job measured the page's run
    shown, end = _poll_and_show(whole, clock, show_s=2.5)
    near_end = [(at, left) for at, left in shown if 1.0 < end - at <= 4.0]  # the job's last work and the page's run
    assert len(near_end) >= 4 and _worst_error(shown, end) <= 0.3
    assert max(abs(left - (end - at)) / (end - at) for at, left in near_end) <= 0.3


def test_one_slow_replay_step_does_not_scale_every_forecast():
    """The load factor against earlier jobs pools all the work measured: a replay's first step alone (30
    documents run at 6.5x their earlier rate while the extraction ran at its usual pace) does not multiply the
    forecast of every replay to come by 6.5 (bench_live once showed 76 s for 13 s)."""
    from core.equal.baselines import DOCS, BaselineForecast, replay_kind
    from core.jobs import WorkMeter

    prior = WorkMeter()  # what an earlier job measured: 1 ms a document extracted, replays 0.4 and 0.25 ms
    prior.add(DOCS, 2000, 2.0)
    prior.add(replay_kind("random"), 600, 0.24)
    prior.add(replay_kind("all"), 600, 0.15)
    forecast = BaselineForecast(6000, {"random": 11357, "all": 11357}, prior=prior)
    for _ in range(250):  # this job's extraction at the earlier pace: 6,000 documents in 6 s
        forecast.did_docs(24, 0.024, pairs_new=0, pairs_known=0, embed_seconds=(0.0, 0.0))
    forecast.did_replay("random", 30, 30 * 0.0026)  # the first step of Random's replay: 6.5x its earlier rate
    expected = (11357 - 30) * 0.0004 + 11357 * 0.00025  # each replay at the earlier jobs' rate
    assert forecast.seconds_left() == pytest.approx(expected, rel=0.05)


def test_every_replay_measures_its_own_rate_from_the_first_slices(timed_world, monkeypatch):
    """bench_live: Avg-sim's replay cost more a document over the whole corpus than at the defaults' 5 % budget,
    and replayed last it ran on the earlier job's rate until it began, so the job's last seconds were forecast
    25-45 % short. The replays take turns, a round each: every one's own rate is known within the first slices."""
    clock, cache = timed_world.clock, BaselineCache()
    _poll(_job(timed_world, cache=cache), clock)  # an earlier job measures every rate
    monkeypatch.setitem(_REPLAY_COSTS, "avg-sim", 3 * _REPLAY_COSTS["avg-sim"])  # now Avg-sim costs 3x as much
    job = _job(timed_world, replace(timed_world.config, seed=timed_world.config.seed + 1), cache=cache)
    job.advance(budget_s=0.4)
    assert {replay_kind(p) for p in ("random", "all", "avg-sim")} <= set(job.forecast.meter.units)
    shown, end = _poll(job, clock)
    assert job.status == "done" and _worst_error(shown, end) <= 0.3


class FailingExtractor:
    """Fails the documents in ``bad`` the way a failing endpoint does: listed in ``errors``, no pairs."""

    def __init__(self, inner, bad) -> None:
        self.inner, self.bad, self.name = inner, set(bad), inner.name

    def extract(self, docs):
        result = self.inner.extract([(d, t) for d, t in docs if d not in self.bad])
        result.errors += [(d, "endpoint failing") for d, _ in docs if d in self.bad]
        return result


def test_a_failed_extraction_fails_the_job_and_is_retried_never_counted_barren(bandit_world):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    clean_cache = BaselineCache()
    clean = baselines_job(config, make_space(ids, texts, labels), ext, embed, ref, cache=clean_cache)
    _finish(clean)
    bad = set(sorted(clean_cache.pairs_by_doc)[:2])  # two documents the baselines read
    cache = BaselineCache()
    job = baselines_job(config, make_space(ids, texts, labels), FailingExtractor(ext, bad), embed, ref, cache=cache)
    _finish(job)
    assert job.status == "failed" and "2 documents could not be extracted" in str(job.error)
    assert bad.isdisjoint(cache.pairs_by_doc) and cache.pairs_by_doc  # the others kept, the failed not as barren
    counting = CountingExtractor(ext)
    again = baselines_job(config, make_space(ids, texts, labels), counting, embed, ref, cache=cache)
    _finish(again)
    assert again.status == "done" and counting.docs == 2  # only the two failed ones are extracted again
    for policy, frame in clean.result.items():
        assert again.result[policy][["docs_cum", "coverage"]].equals(frame[["docs_cum", "coverage"]])
