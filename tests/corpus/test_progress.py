from __future__ import annotations

import pytest

from core.corpus.progress import Progress, ProgressTracker


def test_rate_and_time_left_come_from_the_work_done_this_session():
    p = Progress("upgrade", done=600, total=3000, elapsed=20.0, done_at_start=200)
    assert p.rate == pytest.approx(20.0)  # 400 new documents in 20 s, not 600
    assert p.seconds_left == pytest.approx(120.0)
    line = p.describe()
    assert "600/3,000 documents (20%)" in line and "20 documents/s" in line and "2 min 00 s left" in line
    assert "one-time (cached)" in line


def test_nothing_timed_yet_says_so_instead_of_inventing_a_rate():
    p = Progress("embed", done=0, total=100, elapsed=0.0)
    assert p.rate is None and p.seconds_left is None
    assert "estimating time left" in p.describe()


def test_finished_and_repeated_steps_are_labelled():
    p = Progress("cluster", done=50, total=50, elapsed=3.0, unit="rows", one_time=False)
    assert p.fraction == 1.0 and p.seconds_left == 0.0
    assert "done in 3 s" in p.describe() and "repeats each time" in p.describe()


def test_tracker_turns_done_total_calls_into_snapshots():
    seen = []
    tracker = ProgressTracker("embed", seen.append)
    tracker(10, 40)
    tracker.update(40, 40)
    assert [(p.done, p.total) for p in seen] == [(10, 40), (40, 40)]
    assert all(p.stage == "embed" and p.elapsed >= 0 for p in seen)
    assert tracker.last.fraction == 1.0
