"""Progress that informs: one small record per long step, shared by the page and the CLI.

A long step (embed, cluster, UMAP, keywords, a background upgrade, ...) reports
:class:`Progress` snapshots: ``done`` of ``total`` units, the rate so far, the time left at
that rate, and whether the work is one-time (its result is cached, so the next open skips
it). :class:`ProgressTracker` turns ``(done, total)`` calls into snapshots with timing; the
page draws :meth:`Progress.describe` under a bar, the CLI prints it to stderr.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

STAGE_LABELS = {
    "embed": "Embedding documents", "cluster": "Clustering (k-means)", "project": "2-D layout (UMAP)",
    "keywords": "Cluster keywords", "upgrade": "MiniLM embeddings (background)",
    "distill": "Building the static encoder",
    "read": "Reading documents", "place": "Placing the rest of the points", "assign": "Assigning clusters",
    "quality": "Measuring the encoder tier", "align": "MiniLM on a sample, for the ridge map",
    "index": "Search index",
}


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {(seconds % 3600) // 60:02.0f} min"


@dataclass(frozen=True)
class Progress:
    """A snapshot of one long step.

    ``done``/``total`` in ``unit`` (documents, points, ...); ``elapsed`` seconds since the step
    started (for a resumed job: since this session resumed it, with ``done_at_start`` units
    already done before); ``one_time`` when the result is cached so a later open skips the work.
    """

    stage: str
    done: int
    total: int
    elapsed: float = 0.0
    unit: str = "documents"
    one_time: bool = True
    done_at_start: int = 0

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(max(self.done / self.total, 0.0), 1.0)

    @property
    def rate(self) -> float | None:
        """Units per second in this session, ``None`` before anything was timed."""
        new = self.done - self.done_at_start
        return new / self.elapsed if self.elapsed > 0 and new > 0 else None

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        if self.done >= self.total:
            return 0.0
        return None if rate is None else (self.total - self.done) / rate

    def describe(self) -> str:
        """One line: ``Embedding documents: 1,200/3,000 documents (40%), 14 documents/s, 2 min 8 s left, one-time
        (cached)``."""
        label = STAGE_LABELS.get(self.stage, self.stage)
        parts = [f"{label}: {self.done:,}/{self.total:,} {self.unit} ({self.fraction:.0%})"]
        if self.rate is not None:
            parts.append(f"{self.rate:,.0f} {self.unit}/s" if self.rate >= 10 else f"{self.rate:,.1f} {self.unit}/s")
        left = self.seconds_left
        if self.done < self.total:
            parts.append("estimating time left" if left is None else f"{_duration(left)} left")
        else:
            parts.append(f"done in {_duration(self.elapsed)}")
        parts.append("one-time (cached)" if self.one_time else "repeats each time")
        return ", ".join(parts)


ProgressCallback = Callable[[Progress], object]  # the return value is ignored


@dataclass
class ProgressTracker:
    """Feeds ``(done, total)`` calls of one stage to ``callback`` as :class:`Progress` snapshots.

    ``tracker.update(done, total)`` is the ``progress(done, total)`` callable the encoders take.
    """

    stage: str
    callback: ProgressCallback | None
    unit: str = "documents"
    one_time: bool = True
    done_at_start: int = 0
    started: float = field(default_factory=time.perf_counter)
    last: Progress | None = None

    def update(self, done: int, total: int) -> Progress:
        snap = Progress(self.stage, int(done), int(total), time.perf_counter() - self.started, self.unit,
                        self.one_time, self.done_at_start)
        self.last = snap
        if self.callback is not None:
            self.callback(snap)
        return snap

    def __call__(self, done: int, total: int) -> None:
        self.update(done, total)


class ProgressPrinter:
    """A :data:`ProgressCallback` for command lines: one :meth:`Progress.describe` line on stderr
    per stage at most every ``every`` seconds, and always the stage's last."""

    def __init__(self, every: float = 2.0, stream=None) -> None:
        self.every, self.stream = every, stream
        self.last: dict[str, float] = {}

    def __call__(self, p: Progress) -> None:
        import sys

        now = time.perf_counter()
        if p.done >= p.total or now - self.last.get(p.stage, -1e9) >= self.every:
            self.last[p.stage] = now
            print(p.describe(), file=self.stream or sys.stderr, flush=True)
