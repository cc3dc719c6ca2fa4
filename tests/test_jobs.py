"""core.jobs: a cooperative job advances in time slices, reports rate and time left, cancels between units."""

from __future__ import annotations

import pytest

from core.jobs import Job, Tick


class FakeClock:
    """Each read advances one second: a unit of work 'takes' one second, deterministically."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def _work(n: int, log: list):
    for i in range(n):
        log.append(i)
        yield Tick(i + 1, n, "units")
    return sum(log)


def test_advance_works_in_slices_and_reports_progress():
    log: list = []
    job = Job("count", _work(10, log), clock=FakeClock())
    p = job.advance(budget_s=2.5)  # stops once the slice is spent, not at the end
    assert job.running and 0 < p.done < 10 and p.total == 10 and len(log) == p.done
    assert p.rate is not None and p.rate > 0 and p.seconds_left == pytest.approx((10 - p.done) / p.rate)
    assert "units: " in p.describe("units") and "left" in p.describe()
    while job.running:
        job.advance(budget_s=2.5)
    assert job.status == "done" and job.result == sum(range(10)) and job.progress().fraction == 1.0


def test_cancel_stops_between_units_and_keeps_what_was_done():
    log: list = []
    job = Job("count", _work(10, log), clock=FakeClock())
    job.advance(budget_s=1.5)
    done = len(log)
    job.cancel()
    assert job.status == "cancelled" and not job.running
    job.advance(budget_s=100)  # advancing a cancelled job does nothing
    assert len(log) == done and job.result is None


def test_a_failing_job_is_reported_not_raised():
    def bad():
        yield Tick(1, 2, "a")
        raise ValueError("no documents")

    job = Job("bad", bad())
    job.advance(budget_s=100)
    assert job.status == "failed" and "no documents" in str(job.error)
