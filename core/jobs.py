"""A generic cancellable job with progress that a page polls.

A job wraps a *generator* that does its work in small units and yields a :class:`Tick`
(``done``, ``total``, stage label) after each one; its ``return`` value is the result. The
page keeps the :class:`Job` (e.g. in session state) and, while it runs, calls
:meth:`Job.advance` from a polling fragment: each call works for at most ``budget_s`` seconds,
so the page stays responsive, the progress text moves, and :meth:`Job.cancel` takes effect
between two units. Nothing runs in a thread, so the work is deterministic and testable.

Example
-------
>>> def count(n):
...     for i in range(n):
...         yield Tick(i + 1, n, "counting")
...     return n * 10
>>> job = Job("count", count(3))
>>> while job.running:
...     _ = job.advance(budget_s=10)
>>> job.status, job.result, job.progress().done
('done', 30, 3)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

JOB_STATUSES = ("running", "done", "cancelled", "failed")


@dataclass(frozen=True)
class Tick:
    """One unit of work finished: ``done`` of ``total`` units in stage ``stage``."""

    done: int
    total: int
    stage: str = ""


@dataclass(frozen=True)
class JobProgress:
    """What a progress bar shows: done/total, the rate, and the time left (``None`` until known)."""

    done: int
    total: int
    stage: str
    seconds: float
    rate: float | None
    seconds_left: float | None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.done / self.total)

    def describe(self, unit: str = "units") -> str:
        """``"Extracting: 120/600 documents · 85/s · 6 s left"``."""
        text = f"{self.stage + ': ' if self.stage else ''}{self.done:,}/{self.total:,} {unit}"
        if self.rate:
            text += f" · {self.rate:,.0f}/s"
        if self.seconds_left is not None:
            text += f" · {self.seconds_left:,.0f} s left"
        return text


class Job:
    """A cooperative, cancellable job (see the module docstring).

    Parameters
    ----------
    name : str
        Shown to the user.
    work : generator of Tick, returning the result
    clock : callable, optional
        Seconds as a float (``time.perf_counter``); injected by tests.
    """

    def __init__(self, name: str, work: Generator[Tick, None, Any],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.name = name
        self._work = work
        self._clock = clock
        self.status = "running"
        self.result: Any = None
        self.error: Exception | None = None
        self._tick = Tick(0, 0, "")
        self._seconds = 0.0
        self._stage_start: tuple[str, int, float] = ("", 0, 0.0)  # stage, done and seconds when it began

    @property
    def running(self) -> bool:
        return self.status == "running"

    def advance(self, budget_s: float = 0.3) -> JobProgress:
        """Work until ``budget_s`` seconds have passed (at least one unit) or the job ends."""
        if not self.running:
            return self.progress()
        base, t0 = self._seconds, self._clock()
        try:
            while True:
                before = self._seconds
                tick = next(self._work)
                self._seconds = base + self._clock() - t0
                if tick.stage != self._stage_start[0]:
                    self._stage_start = (tick.stage, 0, before)
                self._tick = tick
                if self._clock() - t0 >= budget_s:
                    break
        except StopIteration as stop:
            self.result, self.status = stop.value, "done"
        except Exception as exc:  # a job's failure is shown by the page, never raised into its run
            self.error, self.status = exc, "failed"
        return self.progress()

    def cancel(self) -> None:
        """Stop between two units; what was done so far stays done (e.g. in a cache the work fills)."""
        if self.running:
            self._work.close()
            self.status = "cancelled"

    def progress(self) -> JobProgress:
        stage, done0, t0 = self._stage_start
        tick = self._tick
        spent = self._seconds - t0
        rate = (tick.done - done0) / spent if spent > 0 and tick.done > done0 else None
        left = (tick.total - tick.done) / rate if rate else None
        if not self.running:
            left = 0.0 if self.status == "done" else None
        return JobProgress(tick.done, tick.total, tick.stage, self._seconds, rate, left)
