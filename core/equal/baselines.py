"""The Random / All / Avg-sim baselines as a cancellable, incremental job (:mod:`core.jobs`).

The baselines need every document extracted once and every pair text embedded once; then
each baseline policy is replayed over that table (:mod:`core.equal.replay`). The job does
this in small batches of documents, each extracted and its new pair texts embedded at once,
yielding a :class:`~core.jobs.Tick` after each: every batch costs about the same, so the rate
so far predicts the time left (extracting everything first and embedding after made the
estimate jump between two stages of different speeds). It keeps what it has done in a
:class:`BaselineCache`: a cancelled job loses nothing, and the next job (another seed, budget
or policy setting on the same corpus) extracts and embeds only what is missing, and reuses
replayed curves whose configuration is unchanged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.equal.extract.base import QAPair
from core.equal.replay import replay_run
from core.equal.run import RunConfig
from core.jobs import Job, JobProgress, Tick

BATCH_DOCS = 24  # a batch takes ~0.1 s with the static tier: Cancel acts between two batches


@dataclass
class BaselineCache:
    """What baseline jobs on one corpus and extractor have computed so far.

    ``pairs_by_doc``: ``{doc_id: [QAPair, ...]}`` for every extracted document; ``table``:
    ``{pair text: vector}``; ``curves``: ``{(policy, config json): rounds_frame}``.
    """

    pairs_by_doc: dict[str, list[QAPair]] = field(default_factory=dict)
    table: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    curves: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)


def baseline_policies(with_doc_emb: bool) -> tuple[str, ...]:
    """Random and All, plus Avg-sim when the documents' embeddings are known."""
    return ("random", "all") + (("avg-sim",) if with_doc_emb else ())


STAGE_PAIRS = "Extracting and embedding every document's pairs"
STAGE_REPLAY = "Replaying the baselines"


def _work(config: RunConfig, space, extractor, embed, reference: NDArray, cache: BaselineCache,
          policies: Sequence[str]) -> Generator[Tick, None, dict[str, pd.DataFrame]]:
    doc_ids, texts = list(space.doc_ids), space.texts
    todo = [i for i, d in enumerate(doc_ids) if d not in cache.pairs_by_doc]
    for start in range(0, len(todo), BATCH_DOCS):
        chunk = todo[start:start + BATCH_DOCS]
        found: dict[str, list[QAPair]] = {doc_ids[i]: [] for i in chunk}
        for p in extractor.extract([(doc_ids[i], texts[i]) for i in chunk]).pairs:
            found.setdefault(p.doc_id, []).append(p)
        texts_found = (p.as_text() for ps in found.values() for p in ps)
        missing = list(dict.fromkeys(t for t in texts_found if t not in cache.table))
        if missing:
            cache.table.update(zip(missing, np.asarray(embed(missing), dtype=np.float32)))
        cache.pairs_by_doc.update(found)  # per batch, after its embeddings: a cancelled job keeps what it did
        yield Tick(min(start + BATCH_DOCS, len(todo)), len(todo), STAGE_PAIRS)
    pairs = {d: cache.pairs_by_doc[d] for d in doc_ids}
    out: dict[str, pd.DataFrame] = {}
    total = 100 * len(policies)  # percent of each baseline's budget: rounds of one replay differ in cost
    for n, policy in enumerate(policies):
        cfg = replace(config, policy=policy, policy_params={})
        key = (policy, json.dumps(cfg.to_dict(), sort_keys=True))
        if key not in cache.curves:  # replayed round by round (as replay() would), so Cancel acts between rounds
            run = replay_run(cfg, space, pairs, cache.table, reference)
            while not run.is_done:
                run.step()
                yield Tick(100 * n + int(99 * run.budget_fraction), total, STAGE_REPLAY)
            run.finish()
            cache.curves[key] = run.rounds_frame()
        out[policy] = cache.curves[key]
        yield Tick(100 * (n + 1), total, STAGE_REPLAY)
    return out


class BaselinesJob(Job):
    """The baselines' :class:`~core.jobs.Job` with the words a polling panel shows (``common.poll_job_panel``).

    Its time left covers the whole job, from 5 % of the documents on: the documents still to extract
    and embed at the rate so far, plus the replays, forecast at ``replay_share`` of the time the
    documents took until a third of them is replayed (measured on the
    built-in corpus, static tier: 8.6 s to extract and embed 3,000 documents, 1.5 s for the three replays).
    """

    replay_share = 0.17

    def __init__(self, work: Generator[Tick, None, dict[str, pd.DataFrame]], n_docs: int,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__("Random / All / Avg-sim baselines", work, clock)
        self.n_docs = n_docs
        self._wall_start: float | None = None

    def advance(self, budget_s: float = 0.3) -> JobProgress:
        if self._wall_start is None:
            self._wall_start = self._clock()
        return super().advance(budget_s)

    def progress(self) -> JobProgress:
        """Time left in wall-clock seconds: the work's own estimate (see the class docstring) scaled by the
        wall time per second of work so far (a page polls in slices, with its own drawing between them)."""
        p = super().progress()
        if not self.running or p.seconds_left is None:
            return p
        if p.stage == STAGE_PAIRS and p.fraction < 0.05:  # the first batches carry the start-up: no guess yet
            return replace(p, seconds_left=None)
        left = p.seconds_left
        if p.stage == STAGE_PAIRS:
            left += self.replay_share * p.seconds * p.total / max(p.done, 1)
        elif p.fraction < 1 / 3:  # the replays' own rate is noisy over their first rounds: keep the forecast
            docs_seconds = self._stage_start[2]
            left = max(0.0, self.replay_share * docs_seconds - (p.seconds - docs_seconds))
        if self._wall_start is not None and p.seconds > 0:
            left *= max(1.0, (self._clock() - self._wall_start) / p.seconds)
        return replace(p, seconds_left=left)

    def describe(self) -> str:
        p = self.progress()
        if p.stage == STAGE_PAIRS:
            return p.describe("documents")
        left = "" if p.seconds_left is None else f" · {p.seconds_left:,.0f} s left"
        return f"{p.stage}: {p.fraction:.0%}{left}"

    def cancel_note(self) -> str | None:
        if self.status != "cancelled":
            return None
        return ("Baselines cancelled; every document extracted and embedded so far is kept, so computing them again "
                "resumes where this stopped.")


def baselines_job(config: RunConfig, space, extractor, embed, reference: NDArray, cache: BaselineCache | None = None,
                  policies: Sequence[str] | None = None) -> BaselinesJob:
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
    """
    policies = tuple(policies) if policies is not None else baseline_policies(space.doc_emb is not None)
    work = _work(config, space, extractor, embed, reference, cache if cache is not None else BaselineCache(), policies)
    return BaselinesJob(work, len(space))
