"""The Random / All / Avg-sim baselines as a cancellable, incremental job (:mod:`core.jobs`).

The baselines need the documents they read extracted once and every pair text embedded once;
then each baseline policy is replayed over that table (:mod:`core.equal.replay`). Which documents
they read is known before any extraction (:func:`documents_read`: a dry replay; at a 5% budget on
the whole built-in corpus, 1,615 of its 11,357 documents). The job extracts them in small
batches, each extracted and its new pair texts embedded at once, yielding a
:class:`~core.jobs.Tick` after each. It keeps what it has done in a
:class:`BaselineCache`: a cancelled job loses nothing, and the next job (another seed, budget
or policy setting on the same corpus) extracts and embeds only what is missing, and reuses
replayed curves whose configuration is unchanged.

Time left (:class:`BaselineForecast`): each kind of work has its own measured rate: a document
extracted, a pair text embedded by the encoder, a pair text read from the embedder's cache (a
live run already embedded it), a document replayed by each baseline; the job counts what is
left of each kind. Rates are in CPU seconds of the working thread, which hold from one job to the
next whatever the machine's load (a 5 % job's rates measured in wall seconds under a load 4x
higher put 57 s on a 15 s job in bench_live); the wall seconds per CPU second of the job's last
slices turn them into time left, then the page's run that shows the curves is added. The
documents are visited in a seeded random order, so the mix of cheap and costly documents seen
so far is the mix still to come (in corpus order, documents of one module come together and the
rate drifted by 2x along the corpus). A replay not yet started is forecast from the rate an
earlier job measured for it (kept in the cache), else from another replay's rate, else from this
job's extraction rate, scaled by :data:`REPLAY_COST`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.equal.budget import make_budget
from core.equal.extract.base import QAPair
from core.equal.replay import ExtractionFailedError, extract_batch, failed_message, replay_run
from core.equal.run import BanditRun, RunConfig
from core.jobs import Job, JobProgress, Tick, WorkMeter

BATCH_DOCS = 24  # a batch takes ~0.1 s with the static tier: Cancel acts between two batches


AGAIN = "the others are kept, so computing the baselines again retries only these"


@dataclass
class BaselineCache:
    """What baseline jobs on one corpus and extractor have computed so far.

    ``pairs_by_doc``: ``{doc_id: [QAPair, ...]}`` for every extracted document; ``table``:
    ``{pair text: vector}``; ``curves``: ``{(policy, config json, reference digest): rounds_frame}``;
    ``rates``: seconds per unit of each kind of work (:class:`BaselineForecast`) measured by the jobs so far.
    """

    pairs_by_doc: dict[str, list[QAPair]] = field(default_factory=dict)
    table: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    curves: dict[tuple[str, str, str], pd.DataFrame] = field(default_factory=dict)
    rates: WorkMeter = field(default_factory=WorkMeter)  # what every job measured: the next job's first forecast


def baseline_policies(with_doc_emb: bool) -> tuple[str, ...]:
    """Random and All, plus Avg-sim when the documents' embeddings are known."""
    return ("random", "all") + (("avg-sim",) if with_doc_emb else ())


STAGE_PAIRS = "Extracting and embedding the pairs of the documents the baselines read"
STAGE_REPLAY = "Replaying the baselines"
STAGE_FIND = "Finding the documents the baselines read"
STAGE_SHOW = "Drawing the baselines' curves"
DOCS, PAIRS_NEW, PAIRS_KNOWN = "documents extracted", "pairs embedded", "pairs read from cache"
SET_UP = "replays set up"
SHOW = "seconds from a job's end until the page showed its curves"  # one unit per job whose result was drawn
WALL = "wall seconds per second of work"  # a page polls a slice of work per refresh and draws between them
DRAW = "page seconds between two slices"  # one unit a slice: from its end until the next slice begins
WALL_PER_WORK = 1.25  # until measured: the Bandit page works 0.4 s per 0.5 s refresh
# the slices the wall time per second of work is measured over (~8 s of the page): at load 5-7 the job's share of the
# CPU swings 2x within seconds (replayed from bench_live's traces, worst time left 43-74 % with 8 slices, 28-51 % with
# 16), and a change of the page's pace (a live run that ends) is followed within one window
WALL_SLICES = 16
DOC_BATCHES = 10  # the batches of documents their rates are measured over
# a replayed document's cost against an extracted one's, measured on the built-in corpus (rule extractor, static tier;
# extraction 0.6-1.0 ms a document): Random 1.0-1.5x, All 0.4-0.8x, Avg-sim 0.85-1.05x over budgets 0.2-1 (Random
# reads many clusters a round, so it makes more, smaller pulls); the first rounds of a replay correct it
REPLAY_COST = {"random": 1.2, "all": 0.6, "avg-sim": 1.0}


def replay_kind(policy: str) -> str:
    return f"documents replayed by {policy}"


def _but_slowest(items: list, key: Callable) -> list:
    """``items`` without the one with the largest ``key`` once there are 3 or more (a one-off among paces)."""
    return sorted(items, key=key)[:-1] if len(items) >= 3 else items


class BaselineForecast:
    """The time left of a baselines job from counted work, each kind at its own measured rate.

    ``docs_left`` documents to extract, each costing the seconds of a document plus its share of
    pairs embedded and pairs read from cache (as counted over its last :data:`DOC_BATCHES` batches, the
    first batch of a job left out: it carries the start-up); then ``replays_left``
    (``{policy: documents to replay}``). Rates come from this job once it measured ``min_docs``
    documents (or 5 % of a replay), else from ``prior`` (what earlier jobs on this cache
    measured), else, for a replay, from another replay's rate or the extraction rate times
    :data:`REPLAY_COST`.

    >>> f = BaselineForecast(docs_left=100, replays_left={"all": 100}, min_docs=10)
    >>> f.did_docs(5, 1.0, pairs_new=0, pairs_known=0, embed_seconds=(0.0, 0.0))  # the first batch: the start-up
    >>> f.seconds_left() is None                 # nothing measured yet
    True
    >>> f.did_docs(20, 2.0, pairs_new=40, pairs_known=0, embed_seconds=(1.0, 0.0))
    >>> round(f.seconds_left(), 3)               # 75 docs at 0.1 s + 150 pairs at 0.025 s + 100 replayed at 0.06 s
    17.25
    """

    def __init__(self, docs_left: int, replays_left: dict[str, float], prior: WorkMeter | None = None,
                 min_docs: int = 48, shared: WorkMeter | None = None, min_work_s: float = 0.2) -> None:
        self.meter, self.prior, self.shared = WorkMeter(), prior or WorkMeter(), shared
        self.docs_left, self.min_docs, self.min_work_s = int(docs_left), min_docs, min_work_s
        self.replays_total = dict(replays_left)
        self.replays_left = dict(replays_left)
        self.counts = {PAIRS_NEW: 0, PAIRS_KNOWN: 0}
        self.docs_done = 0
        self._slices: deque[tuple[float, float]] = deque(maxlen=WALL_SLICES)
        self._slice: tuple[float, float] | None = None  # the last slice, its own wall time only (the page draws next)
        self._draws: deque[float] = deque(maxlen=WALL_SLICES)  # the page's seconds between two slices, the last ones
        self._batches: deque[dict[str, tuple[float, float]]] = deque(maxlen=DOC_BATCHES)

    def _add(self, kind: str, units: float, seconds: float) -> None:
        for meter in (self.meter, self.shared):
            if meter is not None and units > 0:
                meter.add(kind, units, seconds)

    def _rate(self, kind: str, min_units: float) -> float | None:
        own = self.meter.rate(kind, min_units)
        return own if own is not None else self.prior.rate(kind)

    def did_docs(self, n: int, seconds: float, pairs_new: int, pairs_known: int,
                 embed_seconds: tuple[float, float]) -> None:
        """``n`` documents extracted in ``seconds``; their pair texts: ``pairs_new`` embedded, ``pairs_known`` read
        from the embedder's cache, in ``embed_seconds`` (new, known)."""
        self._add(DOCS, n, seconds)
        self._add(PAIRS_NEW, pairs_new, embed_seconds[0])
        self._add(PAIRS_KNOWN, pairs_known, embed_seconds[1])
        self.counts[PAIRS_NEW] += pairs_new
        self.counts[PAIRS_KNOWN] += pairs_known
        if self.docs_done:  # the first batch carries the start-up (the extractor's and the encoder's first calls)
            self._batches.append({DOCS: (n, seconds), PAIRS_NEW: (pairs_new, embed_seconds[0]),
                                  PAIRS_KNOWN: (pairs_known, embed_seconds[1])})
        self.docs_done += n
        self.docs_left = max(0, self.docs_left - n)

    def did_set_up(self, seconds: float) -> None:
        """A replay was built (its similarity prior computed) in ``seconds``."""
        self._add(SET_UP, 1, seconds)

    def did_work(self, work_seconds: float, wall_seconds: float) -> None:
        """A slice did ``work_seconds`` of work in ``wall_seconds`` (counted until the next slice begins)."""
        self._slice = (work_seconds, wall_seconds)

    def did_wait(self, work_seconds: float, wall_seconds: float) -> None:
        """A slice of ``work_seconds`` took ``wall_seconds`` until the next slice began (the page drew between)."""
        self._add(WALL, work_seconds, wall_seconds)
        if self._slice is not None:
            self._add(DRAW, 1, wall_seconds - self._slice[1])
            self._draws.append(wall_seconds - self._slice[1])
        self._slices.append((work_seconds, wall_seconds))
        self._slice = None

    def wall_per_work(self) -> float:
        """Wall seconds per second of work (>= 1) over this job's last :data:`WALL_SLICES` slices (and the one
        just done); those it has not had yet count at earlier jobs' pace (else :data:`WALL_PER_WORK`), each as
        much work as this job's slices: one slice alone is noise (at load 7, 0.33 s of work in one 0.5 s
        slice, 0.1-0.28 s in the next ten). The work is
        the job's own CPU time (:func:`baselines_job`), so this is both the page's drawing between slices and
        the machine's load now: other refreshes and processes come and go (a live run that ends frees the
        baselines' polls; a load that doubles halves the CPU the job gets). The slice just done counts from its
        first poll on, with the page's drawing between two slices as measured so far. The slowest of the last
        slices is left out: one full run of the page (a live run that ends, a click) is an event, not the
        page's pace (bench_live: one 5 s gap put 110 s on 24 s for the next 8 slices)."""
        slices = _but_slowest(list(self._slices), key=lambda s: s[1] / max(s[0], 1e-9))
        if self._slice is not None:  # the slice just done, and the page's drawing after it as lately measured
            draw = self.draw_seconds() if self._draws else self.prior.rate(DRAW)
            slices.append((self._slice[0], self._slice[1] + (draw or 0.0)))
        prior = self.prior.rate(WALL) or WALL_PER_WORK
        work, wall = sum(w for w, _ in slices), sum(t for _, t in slices)
        if work <= 0:
            return max(1.0, prior)
        unseen = max(0, WALL_SLICES - len(self._slices) - (self._slice is not None)) * work / len(slices)
        return max(1.0, (wall + unseen * prior) / (work + unseen))

    def draw_seconds(self) -> float:
        """The page's own seconds between two slices, over the last slices (the slowest left out)."""
        draws = _but_slowest(list(self._draws), key=float)
        return max(0.0, sum(draws) / len(draws)) if draws else 0.0

    def did_replay(self, policy: str, docs: float, seconds: float) -> None:
        """``docs`` documents' worth of ``policy``'s budget replayed in ``seconds``."""
        self._add(replay_kind(policy), docs, seconds)
        self.replays_left[policy] = max(0.0, self.replays_left.get(policy, 0.0) - docs)

    def _recent(self) -> WorkMeter | None:
        """This job's last :data:`DOC_BATCHES` batches (its first left out) once they hold ``min_docs`` documents:
        a fair sample of what is left (the order is random), at the machine's load now."""
        recent = WorkMeter()
        for batch in self._batches:
            for kind, (units, seconds) in batch.items():
                recent.add(kind, units, seconds)
        return recent if recent.units.get(DOCS, 0.0) >= self.min_docs else None

    def _extract_rate(self) -> float | None:
        recent = self._recent()
        return recent.rate(DOCS) if recent is not None else self.prior.rate(DOCS)

    def _seconds_per_doc(self) -> float | None:
        """A document's extraction plus its pairs, embedded or read from cache, each kind at its rate and count
        per document (this job's recent batches, else what earlier jobs measured)."""
        source = self._recent() or self.prior
        doc = source.rate(DOCS)
        if doc is None:
            return None
        for kind in (PAIRS_NEW, PAIRS_KNOWN):
            rate = source.rate(kind)
            if rate is not None:
                doc += source.units[kind] / source.units[DOCS] * rate
        return doc

    def _speed(self) -> float:
        """This job's seconds of replay against what earlier jobs' rates give for the same documents, pooled over
        the replays both measured, once this job replayed for ``min_work_s`` s (1 until then). The work is CPU
        time, which the machine's load barely moves; pooled, not one replay's first step (30 documents in a
        fraction of a second: 6.5x its earlier rate once in bench_live, which put 76 s on a 13 s job); replays
        only: the documents extracted differ between jobs (a 5 % budget reads those most similar to the task)."""
        own = expected = 0.0
        for policy in self.replays_total:
            rate = self.prior.rate(replay_kind(policy))
            if rate is not None and replay_kind(policy) in self.meter.units:
                own += self.meter.seconds[replay_kind(policy)]
                expected += self.meter.units[replay_kind(policy)] * rate
        return own / expected if own >= self.min_work_s and expected > 0 else 1.0

    def _replay_rate(self, policy: str) -> float | None:
        """Seconds per document replayed by ``policy``: its own once 5 % is done, else (slowest to change first)
        an earlier job's for it, another replay's scaled by :data:`REPLAY_COST`, the extraction's so scaled."""
        own = self.meter.rate(replay_kind(policy), 0.05 * max(self.replays_total.get(policy, 0.0), 1.0))
        if own is not None:
            return own
        prior = self.prior.rate(replay_kind(policy))
        if prior is not None:
            return prior * self._speed()
        cost = REPLAY_COST.get(policy, 1.0)
        for source, speed in ((self.meter, 1.0), (self.prior, self._speed())):  # another baseline's replay
            for other in REPLAY_COST:
                rate = source.rate(replay_kind(other), 10)
                if rate is not None:
                    return rate * speed * cost / REPLAY_COST[other]
        doc = self._extract_rate()
        return None if doc is None else doc * cost

    def did_show(self, seconds: float) -> None:
        """The page showed the job's curves ``seconds`` after the job ended (its run that draws them)."""
        self._add(SHOW, 1, seconds)

    def show_seconds(self) -> float | None:
        """Seconds from the job's end until the page shows its curves, as earlier jobs measured it (``None``
        before any was shown)."""
        return self.prior.rate(SHOW)

    def seconds_left(self) -> float | None:
        """Seconds of work left (``None`` until every kind left has a rate)."""
        left = 0.0
        if self.docs_left:
            per_doc = self._seconds_per_doc()
            if per_doc is None:
                return None
            left += self.docs_left * per_doc
        for policy, docs in self.replays_left.items():
            if docs > 0:
                rate = self._replay_rate(policy)
                if rate is None:
                    return None
                left += docs * rate
        set_up = self._rate(SET_UP, 1)
        if set_up is not None:  # each replay not begun yet; unknown before the first, and small
            begun = (docs == self.replays_total.get(p) and docs > 0 for p, docs in self.replays_left.items())
            left += set_up * sum(begun)
        return left


def replay_docs(config: RunConfig, n_docs: int) -> float:
    """The documents a baseline replays for ``config``'s budget on ``n_docs`` documents (at most all of them)."""
    return float(min(n_docs, make_budget(config.budget_kind, config.budget).target(n_docs)))


def reference_digest(reference: NDArray) -> str:
    """A digest of the reference embeddings (shape and float32 bytes): what a curve was scored against.

    >>> a = np.eye(2, dtype=np.float32)
    >>> reference_digest(a) == reference_digest(a.copy()), reference_digest(a) == reference_digest(a[::-1])
    (True, False)
    """
    ref = np.ascontiguousarray(reference, dtype=np.float32)
    return hashlib.sha256(repr(ref.shape).encode() + ref.tobytes()).hexdigest()[:24]


def _curve_key(config: RunConfig, policy: str, reference: NDArray) -> tuple[RunConfig, tuple[str, str, str]]:
    """The baseline's own configuration and its key in ``BaselineCache.curves``: the policy, the configuration and
    the reference set (a :class:`RunConfig` does not name it, and a page shares one cache across reference sets)."""
    cfg = replace(config, policy=policy, policy_params={})
    return cfg, (policy, json.dumps(cfg.to_dict(), sort_keys=True), reference_digest(reference))


def _embed_new(texts: list[str], embed, cache: BaselineCache,
               clock: Callable[[], float]) -> tuple[int, int, float, float]:
    """Embed the pair texts not in ``cache.table`` into it: those the embedder has cached apart from those it must
    encode (same vectors either way). Returns (new, known, seconds new, seconds known)."""
    cached = getattr(embed, "cached", None)  # core.equal.run.cached_embedder says which texts it holds
    known = [t for t in texts if cached is not None and cached(t)]
    new = [t for t in texts if cached is None or not cached(t)]
    seconds = []
    for group in (new, known):
        t0 = clock()
        if group:
            cache.table.update(zip(group, np.asarray(embed(group), dtype=np.float32)))
        seconds.append(clock() - t0)
    return len(new), len(known), seconds[0], seconds[1]


class _Recorder(Mapping[str, Sequence[QAPair]]):
    """No pairs for any document, and the documents asked for, in order (a dry replay's reads)."""

    def __init__(self) -> None:
        self.asked: dict[str, None] = {}

    def __getitem__(self, doc_id: str) -> Sequence[QAPair]:
        self.asked[doc_id] = None
        return ()

    def __iter__(self) -> Iterator[str]:
        return iter(self.asked)

    def __len__(self) -> int:
        return len(self.asked)


def documents_read(config: RunConfig, space, reference: NDArray, policies: Sequence[str]) -> set[str] | None:
    """The documents the baselines read under ``config``'s budget, found by replaying each with no pairs.

    The document baselines (random, all, avg-sim) choose documents from the seed, the corpus order or the
    similarity, never from what a document yields, and a budget of documents or calls does not look at the
    pairs either: so a dry replay reads exactly the documents the real one will. ``None`` (every document)
    when the run stops on a reward plateau or its budget counts cost, which do depend on the pairs.
    """
    if config.stop != "budget" or config.budget_kind == "cost" or replay_docs(config, len(space)) >= len(space):
        return None  # (a budget of every document: no need to look)
    read: set[str] = set()
    for policy in policies:  # a dry replay scores no pairs (no OT)
        recorder = _Recorder()
        replay_run(_curve_key(config, policy, reference)[0], space, recorder, {}, reference).run_until_done()
        read.update(recorder.asked)
    return read


class _PairsOnDemand(Mapping[str, Sequence[QAPair]]):
    """``cache.pairs_by_doc``, extracting (and embedding) a document a replay asks for that is not there yet."""

    def __init__(self, cache: BaselineCache, extract_doc: Callable[[str], None]) -> None:
        self.cache, self.extract_doc = cache, extract_doc

    def __getitem__(self, doc_id: str) -> Sequence[QAPair]:
        if doc_id not in self.cache.pairs_by_doc:
            self.extract_doc(doc_id)
        return self.cache.pairs_by_doc[doc_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.cache.pairs_by_doc)

    def __len__(self) -> int:
        return len(self.cache.pairs_by_doc)


def _work(config: RunConfig, space, extractor, embed, reference: NDArray, cache: BaselineCache,
          policies: Sequence[str], forecast: BaselineForecast, clock: Callable[[], float],
          replay: Callable[..., BanditRun]) -> Generator[Tick, None, dict[str, pd.DataFrame]]:
    doc_ids, texts = list(space.doc_ids), space.texts
    position = {d: i for i, d in enumerate(doc_ids)}

    def extract_doc(doc_id: str) -> None:  # a document the dry replay did not foresee (kept like the others)
        found, bad = extract_batch(extractor, [(doc_id, texts[position[doc_id]])])
        if bad:
            raise ExtractionFailedError(failed_message(bad, AGAIN))
        pairs = found[doc_id]
        _embed_new(list(dict.fromkeys(p.as_text() for p in pairs if p.as_text() not in cache.table)), embed, cache,
                   clock)
        cache.pairs_by_doc[doc_id] = pairs

    read: set[str] | None = set()
    for policy in forecast.replays_left:  # one dry replay a step (~0.25 s at 11k documents): Cancel acts between
        reads = documents_read(config, space, reference, [policy])
        read = None if read is None or reads is None else read | reads
        yield Tick(0, 1, STAGE_FIND)
    todo = [i for i, d in enumerate(doc_ids) if d not in cache.pairs_by_doc and (read is None or d in read)]
    forecast.docs_left = len(todo)
    # a seeded random order: the documents done so far are a fair sample of those left (see the module docstring)
    todo = [todo[j] for j in np.random.default_rng(0).permutation(len(todo))]
    failed: list[str] = []
    for start in range(0, len(todo), BATCH_DOCS):
        chunk = todo[start:start + BATCH_DOCS]
        t0 = clock()
        found, bad = extract_batch(extractor, [(doc_ids[i], texts[i]) for i in chunk])
        failed += bad
        seconds = clock() - t0
        texts_found = (p.as_text() for ps in found.values() for p in ps)
        missing = list(dict.fromkeys(t for t in texts_found if t not in cache.table))
        n_new, n_known, s_new, s_known = _embed_new(missing, embed, cache, clock)
        cache.pairs_by_doc.update(found)  # per batch, after its embeddings: a cancelled job keeps what it did
        forecast.did_docs(len(chunk), seconds, n_new, n_known, (s_new, s_known))
        yield Tick(min(start + BATCH_DOCS, len(todo)), len(todo), STAGE_PAIRS)
    if failed:  # a replay over them would count them barren: the curves would be wrong, not just late
        raise ExtractionFailedError(failed_message(failed, AGAIN))
    pairs = _PairsOnDemand(cache, extract_doc)
    return (yield from _replays(config, space, reference, cache, policies, forecast, clock, replay, pairs))


def _replays(config: RunConfig, space, reference: NDArray, cache: BaselineCache, policies: Sequence[str],
             forecast: BaselineForecast, clock: Callable[[], float], replay: Callable[..., BanditRun],
             pairs: Mapping[str, Sequence[QAPair]]) -> Generator[Tick, None, dict[str, pd.DataFrame]]:
    """The job's last stage: each baseline not cached replays the extracted pairs; returns ``{policy: curve}``."""
    n_docs = len(space.doc_ids)
    total = 100 * len(policies)  # percent of each baseline's budget: rounds of one replay differ in cost
    # The replays take turns, a round each, so every baseline's own rate is measured within the first slices. One
    # after the other, the last replay's time left came from an earlier job's rate until it began, and that can be
    # far off: bench_live's Avg-sim cost 0.13 ms a document at the defaults' 5 % budget and 0.17 ms over the whole
    # corpus, which held the forecast 25-45 % short for the job's last seconds.
    playing: dict[str, tuple[BanditRun, float]] = {}  # policy -> (replay, documents)
    keys: dict[str, tuple[str, str, str]] = {}  # policy -> its curve's key in the cache
    for policy in policies:
        cfg, key = _curve_key(config, policy, reference)
        keys[policy] = key
        if key not in cache.curves:  # replayed round by round (as replay() would), so Cancel acts between rounds
            t0 = clock()
            playing[policy] = (replay(cfg, space, pairs, cache.table, reference), replay_docs(cfg, n_docs))
            forecast.did_set_up(clock() - t0)  # apart from the rounds: it would weigh on the first rounds' rate
            yield Tick(0, total, STAGE_REPLAY)
    done = dict.fromkeys(playing, 0.0)
    while playing:
        for policy, (run, docs) in list(playing.items()):
            curve = keys[policy]
            if not run.is_done:
                t0 = clock()  # after the yield: the page's drawing between two slices is not the replay's
                run.step()
                if run.is_done:  # the replay's end (its curve built) is part of its last step's cost
                    run.finish()
                    cache.curves[curve] = run.rounds_frame()
                forecast.did_replay(policy, run.budget_fraction * docs - done[policy], clock() - t0)
                done[policy] = run.budget_fraction * docs
            if run.is_done:
                if curve not in cache.curves:  # a budget spent before its first step
                    cache.curves[curve] = run.rounds_frame()
                forecast.replays_left[policy] = 0.0
                del playing[policy]
            share = sum(int(99 * r.budget_fraction) for r, _ in playing.values())
            yield Tick(100 * (len(policies) - len(playing)) + share, total, STAGE_REPLAY)
    return {policy: cache.curves[keys[policy]] for policy in policies}


class BaselinesJob(Job):
    """The baselines' :class:`~core.jobs.Job` with the words a polling panel shows (``common.poll_job_panel``).

    Its time left covers the whole job until the page shows it: :class:`BaselineForecast`'s seconds of
    work, scaled by the wall time per second of work of the last slices (a page polls in slices, with its
    own drawing between them), plus the page's run that shows the result: from the job's end until the page
    said it drew the curves (:meth:`did_show`) in earlier jobs on the same cache, else :attr:`page_run_seconds`
    (set by the page from its last full run), at least the mean drawing between two slices. Once done and
    until shown, the time left is what remains of that run.
    """

    def __init__(self, work: Generator[Tick, None, dict[str, pd.DataFrame]], n_docs: int,
                 clock: Callable[[], float] = time.perf_counter, forecast: BaselineForecast | None = None,
                 work_clock: Callable[[], float] = time.thread_time) -> None:
        super().__init__("Random / All / Avg-sim baselines", work, clock)
        self.n_docs = n_docs
        self.forecast = forecast
        self._work_clock = work_clock
        self._last: tuple[float, float] | None = None  # when the last slice began, and the seconds it worked
        self.page_run_seconds = 0.0  # the page's seconds to show the result once the job is done (its last full run)
        self.ended_at: float | None = None  # when the work ended (done), until the page shows the result
        self.shown = False

    def advance(self, budget_s: float = 0.3) -> JobProgress:
        now, work = self._clock(), self._work_clock()
        if self._last is not None and self.forecast is not None:  # the last slice's work, and the wall time until now
            self.forecast.did_wait(self._last[1], now - self._last[0])
        try:
            return super().advance(budget_s)
        finally:
            self._last = (now, self._work_clock() - work)
            if self.forecast is not None:
                self.forecast.did_work(self._last[1], self._clock() - now)
            if self.status == "done" and self.ended_at is None:
                self.ended_at = self._clock()

    def did_show(self) -> None:
        """The page drew the result: the seconds since the job ended are measured for the next job's time left."""
        if self.ended_at is not None and not self.shown:
            self.shown = True
            if self.forecast is not None:
                self.forecast.did_show(self._clock() - self.ended_at)

    def _show_seconds(self) -> float:
        """Seconds from the job's end until the page shows its result (see the class docstring)."""
        assert self.forecast is not None
        measured = self.forecast.show_seconds()
        return measured if measured is not None else max(self.page_run_seconds, self.forecast.draw_seconds())

    def progress(self) -> JobProgress:
        p = super().progress()
        if self.forecast is None:
            return p
        if self.ended_at is not None and not self.shown:  # done: what remains of the page's run that shows it
            since = self._clock() - self.ended_at
            return replace(p, stage=STAGE_SHOW, seconds_left=max(0.0, self._show_seconds() - since))
        if not self.running or p.stage == STAGE_FIND:  # what is left is not known yet
            return p
        left = self.forecast.seconds_left()
        if left is not None:  # the work left at the page's pace, then the page's run that draws the result
            left = left * self.forecast.wall_per_work() + self._show_seconds()
        return replace(p, seconds_left=left)

    def describe(self) -> str:
        p = self.progress()
        if p.stage == STAGE_PAIRS:
            return p.describe("documents")
        left = "" if p.seconds_left is None else f" · {p.seconds_left:,.0f} s left"
        return f"{p.stage}{left}" if p.stage == STAGE_SHOW else f"{p.stage}: {p.fraction:.0%}{left}"

    def cancel_note(self) -> str | None:
        if self.status != "cancelled":
            return None
        return ("Baselines cancelled; every document extracted and embedded so far is kept, so computing them again "
                "resumes where this stopped.")


def baselines_job(config: RunConfig, space, extractor, embed, reference: NDArray, cache: BaselineCache | None = None,
                  policies: Sequence[str] | None = None, clock: Callable[[], float] = time.perf_counter,
                  work_clock: Callable[[], float] = time.thread_time,
                  replay: Callable[..., BanditRun] = replay_run) -> BaselinesJob:
    """A :class:`BaselinesJob` whose result is ``{policy: rounds_frame}`` for ``config``'s budget.

    Parameters
    ----------
    config : RunConfig
        The live run's settings; each baseline replays it with its own policy.
    space : ArmSpace
        The corpus map's arms, with texts (extraction reads them) and, for Avg-sim, ``doc_emb``.
    extractor : Extractor
        Meant for the offline rule extractor (with a paid one, "All" costs what it costs).
    embed : callable
        ``texts -> (len, d)`` unit vectors in the space of ``reference`` (shape ``(m, d)``).
    cache : BaselineCache, optional
        Shared by jobs on the same corpus and extractor; filled as the job works.
    clock : callable, optional
        Wall seconds as a float: the job's slices and its time left (tests inject one).
    work_clock : callable, optional
        The seconds each kind of work is measured in: the CPU time of the thread that works (the page's script
        thread), so a rate measured by an earlier job at another load still holds; the wall seconds per second
        of it, measured over the last slices, says how fast the job runs now (tests inject their clock).
    replay : callable, optional
        Builds the run each baseline replays, with :func:`core.equal.replay.replay_run`'s arguments (a test
        injects one whose steps cost fake seconds; the dry replays of :func:`documents_read` stay the real one).
    """
    policies = tuple(policies) if policies is not None else baseline_policies(space.doc_emb is not None)
    cache = cache if cache is not None else BaselineCache()
    replays = {p: replay_docs(config, len(space)) for p in policies
               if _curve_key(config, p, reference)[1] not in cache.curves}
    n_todo = sum(d not in cache.pairs_by_doc for d in space.doc_ids)  # at most: the job's first step counts those read
    forecast = BaselineForecast(n_todo, replays, prior=cache.rates.copy(), shared=cache.rates)
    work = _work(config, space, extractor, embed, reference, cache, policies, forecast, work_clock, replay)
    return BaselinesJob(work, len(space), clock, forecast, work_clock)
