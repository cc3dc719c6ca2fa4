"""The local engine, and what both engines share: the extractor spec, batch planning and the job report.

"Extract all" (the All baseline, ``D_e`` for a whole corpus) sends every document not yet
done to an extractor in batches of ``batch_docs`` and commits each batch to a
:class:`~core.engine.sink.PairSink` as soon as it returns. The local engine does this in
this process; :mod:`core.engine.ray_engine` does the same batches on Ray actors. Both build
their extractor from the same :class:`ExtractorSpec` with
:func:`core.equal.extract.make_extractor`, so they return the same pairs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.engine.sink import BatchOutcome, PairSink, SinkTotals
from core.equal.extract.base import Extractor

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExtractorSpec:
    """How to build an extractor anywhere (this process or a Ray worker): a kind, an endpoint, options.

    Calling the spec builds the extractor. Pickled to Ray workers, so it holds only plain data;
    ``settings`` (with its key) travels in memory, never into a log (its ``repr`` masks the key).

    Parameters
    ----------
    kind : str
        ``"rules"`` or ``"openai"`` (see :func:`core.equal.extract.make_extractor`).
    settings : LLMSettings, optional
        Endpoint for ``"openai"``; default :meth:`LLMSettings.from_env` where the extractor is built.
    options : dict
        Keyword options of the extractor (``concurrency``, ``max_retries``, ``use_cache``, ...).
    """

    kind: str = "rules"
    settings: Any = None
    options: dict = field(default_factory=dict)

    def __call__(self) -> Extractor:
        from core.equal.extract import make_extractor

        return make_extractor(self.kind, self.settings, **self.options)

    def with_options(self, **options) -> ExtractorSpec:
        """A copy with ``options`` added (later ones win)."""
        return ExtractorSpec(self.kind, self.settings, {**self.options, **options})


@dataclass(frozen=True)
class ExtractAllReport:
    """What one "extract all" job did. ``totals`` are over the whole sink (earlier jobs included);
    ``task_retries`` counts batches this job had to resend because a worker died; ``first_seconds``
    is the time until the first batch was committed (worker start-up included)."""

    job: str
    engine: str
    docs_total: int
    docs_skipped: int
    batches_run: int
    task_retries: int
    seconds: float
    totals: SinkTotals
    first_seconds: float = 0.0

    @property
    def docs_per_second(self) -> float:
        return (self.docs_total - self.docs_skipped) / self.seconds if self.seconds > 0 else 0.0


def plan_batches(docs: Sequence[tuple[str, str]], done: set[str], batch_docs: int) -> list[list[tuple[str, str]]]:
    """Documents not in ``done``, in corpus order, cut into batches of at most ``batch_docs``."""
    if batch_docs < 1:
        raise ValueError(f"batch_docs must be >= 1, got {batch_docs}")
    todo = [(str(d), t) for d, t in docs if str(d) not in done]
    return [todo[i : i + batch_docs] for i in range(0, len(todo), batch_docs)]


def new_job_id() -> str:
    """A fresh job id (hex): batches are deduplicated within a job."""
    return uuid.uuid4().hex[:16]


def extract_all_local(docs: Sequence[tuple[str, str]], spec: ExtractorSpec | Callable[[], Extractor], sink: PairSink,
                      batch_docs: int = 16, progress: Progress | None = None) -> ExtractAllReport:
    """Extract every document of ``docs`` (``(doc_id, text)``) not yet done in ``sink``, in this process.

    Each batch is committed as soon as it returns; an interruption loses at most the batch in
    flight, and the next call resumes with the documents not yet done.
    """
    started = time.perf_counter()
    job = new_job_id()
    batches = plan_batches(docs, sink.done_ids(), batch_docs)
    skipped = len(docs) - sum(len(b) for b in batches)
    extractor = spec()
    done = 0
    first = 0.0
    todo = sum(len(b) for b in batches)
    for batch in batches:
        t0 = time.perf_counter()
        result = extractor.extract(batch)
        sink.commit(BatchOutcome([d for d, _ in batch], result, job=job, engine="local",
                                 seconds=time.perf_counter() - t0))
        done += len(batch)
        first = first or time.perf_counter() - started
        if progress is not None:
            progress(done, todo)
    return ExtractAllReport(job, "local", len(docs), skipped, len(batches), 0, time.perf_counter() - started,
                            sink.totals(), first_seconds=first)
