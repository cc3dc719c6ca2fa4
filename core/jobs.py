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

import threading
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


class WorkMeter:
    """Seconds spent per unit of each kind of work, as measured; a forecast of the time left from counted work.

    A job whose units cost very different amounts (a document extracted fresh against one whose
    pairs are cached) forecasts better from one rate per kind than from one rate overall: it
    counts what is left of each kind and multiplies by that kind's own rate.

    >>> meter = WorkMeter()
    >>> meter.add("docs", 10, 2.0)          # 10 documents took 2 s
    >>> meter.add("pairs", 40, 1.0)         # 40 pairs embedded in 1 s
    >>> meter.rate("docs"), meter.rate("pairs"), meter.rate("replays")
    (0.2, 0.025, None)
    >>> meter.forecast({"docs": 5, "pairs": 20})
    1.5
    >>> meter.forecast({"docs": 5, "replays": 3}) is None   # a kind without a rate: no forecast
    True
    """

    def __init__(self) -> None:
        self.units: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def add(self, kind: str, units: float, seconds: float) -> None:
        """Record ``units`` of ``kind`` done in ``seconds``."""
        self.units[kind] = self.units.get(kind, 0.0) + float(units)
        self.seconds[kind] = self.seconds.get(kind, 0.0) + max(0.0, float(seconds))

    def copy(self) -> WorkMeter:
        out = WorkMeter()
        out.units, out.seconds = dict(self.units), dict(self.seconds)
        return out

    def rate(self, kind: str, min_units: float = 1.0) -> float | None:
        """Seconds per unit of ``kind``; ``None`` until ``min_units`` were measured."""
        n = self.units.get(kind, 0.0)
        return self.seconds[kind] / n if n >= min_units and n > 0 else None

    def forecast(self, left: dict[str, float]) -> float | None:
        """Seconds for the units ``left`` of each kind at its rate; ``None`` if some kind left has no rate."""
        total = 0.0
        for kind, units in left.items():
            if units <= 0:
                continue
            rate = self.rate(kind)
            if rate is None:
                return None
            total += units * rate
        return total


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


class JobCancelled(Exception):
    """Raised inside a :class:`ThreadJob`'s work at its next report after :meth:`ThreadJob.cancel`."""


class ThreadJob:
    """A job whose work is one long call that reports as it goes (a model's fine-tuning): it runs in a
    daemon thread, and the page polls it exactly as it polls a :class:`Job`.

    ``work(report)`` calls ``report(done, total, stage)`` now and then; after :meth:`cancel` the
    next report raises :class:`JobCancelled` inside the work, which ends it as ``"cancelled"``
    (what it saved so far stays saved). ``stages`` lists the stages seen, in order.

    >>> def work(report):
    ...     for i in range(3):
    ...         report(i + 1, 3, "counting")
    ...     return "counted"
    >>> job = ThreadJob("count", work)
    >>> _ = job.wait(10)
    >>> job.status, job.result, job.progress().done, job.stages
    ('done', 'counted', 3, ['counting'])
    """

    def __init__(self, name: str, work: Callable[[Callable[[int, int, str], None]], Any],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.name = name
        self.status = "running"
        self.result: Any = None
        self.error: Exception | None = None
        self.stages: list[str] = []
        self._tick = Tick(0, 0, "")
        self._clock = clock
        self._t0 = clock()
        self._end: float | None = None
        self._stage_start: tuple[str, int, float] = ("", 0, 0.0)
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,), name=f"job: {name}", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def cancelling(self) -> bool:
        """Cancel was asked and the work has not reported since."""
        return self.running and self._cancel.is_set()

    def _report(self, done: int, total: int, stage: str) -> None:
        if self._cancel.is_set():
            raise JobCancelled(self.name)
        if stage != self._stage_start[0]:
            self._stage_start = (stage, 0, self._clock() - self._t0)
            self.stages.append(stage)
        self._tick = Tick(int(done), int(total), stage)

    def _run(self, work: Callable[[Callable[[int, int, str], None]], Any]) -> None:
        try:
            self.result = work(self._report)
            self.status = "done"
        except JobCancelled:
            self.status = "cancelled"
        except Exception as exc:  # shown by the page, never raised into its run
            self.error, self.status = exc, "failed"
        finally:
            self._end = self._clock() - self._t0

    def advance(self, budget_s: float = 0.3) -> JobProgress:
        """Wait up to ``budget_s`` seconds for the work to end; the progress so far."""
        self._thread.join(timeout=max(0.0, budget_s))
        return self.progress()

    def wait(self, timeout: float | None = None) -> JobProgress:
        """Block until the work ends (or ``timeout`` seconds pass)."""
        self._thread.join(timeout)
        return self.progress()

    def cancel(self) -> None:
        """Ask the work to stop at its next report."""
        if self.running:
            self._cancel.set()

    def progress(self) -> JobProgress:
        seconds = self._end if self._end is not None else self._clock() - self._t0
        stage, done0, t0 = self._stage_start
        tick, spent = self._tick, seconds - t0
        rate = (tick.done - done0) / spent if spent > 0 and tick.done > done0 else None
        left = (tick.total - tick.done) / rate if rate and self.running else (0.0 if self.status == "done" else None)
        return JobProgress(tick.done, tick.total, tick.stage, seconds, rate, left)
