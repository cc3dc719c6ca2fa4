"""core.debias.jobs: the sweep as a polled job (cancel keeps the finished seeds)."""

from __future__ import annotations

from core.debias.data import WorldConfig
from core.debias.jobs import SweepJob
from core.debias.sweep import SweepConfig


def test_sweep_job_runs_in_chunks_and_cancel_keeps_the_seeds_done():
    config = SweepConfig(mechanisms=("popularity",), seeds=tuple(range(4)),
                         world=WorldConfig(n_users=40, n_items=50, generator="compact"))
    job = SweepJob(config, chunk=2)
    job.advance(budget_s=0.0)
    assert job.running and job.seeds_done == 2 and job.progress().done == 2
    job.cancel()
    assert job.status == "cancelled" and set(job.table()["seed"]) == {0, 1}
    assert job.cancel_note() == "Cancelled: showing the 2 seeds finished of 4."
    full = SweepJob(config, chunk=2)
    while full.running:
        full.advance(budget_s=0.0)
    assert full.status == "done" and set(full.result["seed"]) == {0, 1, 2, 3} and full.cancel_note() is None
