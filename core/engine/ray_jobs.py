"""CTAR generation and debiasing sweeps on Ray: the local functions, one Ray task per unit of work.

* CTAR (:func:`ray_block_runner`): each missing block of a streamed run
  (:func:`core.ctar.stream.write_block`, a pure function of the plan and the block index) is a
  task that writes its own Parquet parts and then its marker, straight into the output folder
  (on a multi-node cluster the folder must be shared storage that every node mounts at the same
  path). The plan (catalogue, qualities, mechanisms) goes to the object store once.
* Sweeps (:func:`run_sweep_ray`): each seed is a task returning its rows
  (:func:`core.debias.sweep.run_seed`); the driver joins them in seed order, so the table is the
  local :func:`~core.debias.sweep.run_sweep`'s, bit for bit.

At most ``RayConfig.workers`` tasks are in flight. A task whose worker or node dies is rerun by
Ray (``max_retries = max_attempts - 1``; a block's write is idempotent and atomic, so a rerun
neither loses nor duplicates rows). A block that fails every try is left missing:
:func:`core.ctar.stream.generate_stream` then names it, and rerunning the command writes only the
missing blocks. An error raised by the work itself (a full disk) is not retried and ends the run.

Ray is imported only inside these functions (:func:`core.engine.ray_engine.ensure_ray`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from core.ctar.sampler import SamplePlan
from core.ctar.stream import BlockRunner, Progress, write_block
from core.debias.sweep import COLUMNS, SweepConfig, run_seed
from core.engine.ray_engine import RayConfig, ensure_ray

_log = logging.getLogger(__name__)


def _run_tasks(ray: Any, task: Any, args: Sequence[tuple[Any, ...]], workers: int,
               on_result: Callable[[int, Any], None], on_failure: Callable[[int, BaseException], None]) -> None:
    """Run ``task.remote(*args[i])`` for every ``i`` with at most ``workers`` in flight; hand each result back."""
    from ray.exceptions import RayError, RayTaskError

    pending, in_flight = deque(range(len(args))), {}  # type: deque[int], dict[Any, int]
    while pending or in_flight:
        while pending and len(in_flight) < workers:
            i = pending.popleft()
            in_flight[task.remote(*args[i])] = i
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        i = in_flight.pop(ready[0])
        try:
            result = ray.get(ready[0])
        except RayTaskError as exc:  # the work itself failed (not retried): stop, as the local engine would
            for ref in in_flight:
                ray.cancel(ref)
            raise exc.as_instanceof_cause() from None
        except RayError as exc:  # the worker or node died on every try
            on_failure(i, exc)
            continue
        on_result(i, result)


def run_ctar_blocks_ray(plan: SamplePlan, blocks: Sequence[int], out: Path, progress: Progress,
                        config: RayConfig | None = None, max_attempts: int = 3) -> dict[int, dict[str, int]]:
    """Write ``blocks`` of a streamed CTAR run as Ray tasks; returns the rows written per block that finished."""
    config = config or RayConfig()
    ray = ensure_ray(config)
    task = ray.remote(num_cpus=1, max_retries=max_attempts - 1)(write_block)
    plan_ref = ray.put(plan)
    done: dict[int, dict[str, int]] = {}

    def finished(i: int, rows: dict[str, int]) -> None:
        done[blocks[i]] = rows
        progress(len(done), len(blocks))

    def failed(i: int, exc: BaseException) -> None:
        _log.warning("CTAR block %d failed %d times (%s); a rerun writes it", blocks[i], max_attempts,
                     type(exc).__name__)

    _run_tasks(ray, task, [(plan_ref, b, str(out)) for b in blocks], int(config.workers), finished, failed)
    return done


def ray_block_runner(config: RayConfig | None = None, max_attempts: int = 3) -> BlockRunner:
    """A :data:`core.ctar.stream.BlockRunner` that writes the blocks on Ray (``generate_stream(runner=...)``)."""

    def run(plan: SamplePlan, blocks: Sequence[int], out: Path, progress: Progress) -> dict[int, dict[str, int]]:
        return run_ctar_blocks_ray(plan, blocks, out, progress, config, max_attempts)

    return run


def run_sweep_ray(sweep: SweepConfig, config: RayConfig | None = None,
                  progress: Callable[[int, int], None] | None = None, max_attempts: int = 3) -> pd.DataFrame:
    """:func:`core.debias.sweep.run_sweep` with one Ray task per seed; the same table, rows in seed order.

    ``progress(done, total)`` counts worlds, as the local sweep does. A seed that fails every try
    raises ``RuntimeError`` naming it (a sweep's table is written whole or not at all).
    """
    config = config or RayConfig()
    ray = ensure_ray(config)
    task = ray.remote(num_cpus=1, max_retries=max_attempts - 1)(run_seed)
    sweep_ref = ray.put(sweep)
    seeds = list(sweep.seeds)
    per_seed = sweep.n_worlds // max(len(seeds), 1)
    rows: dict[int, list[dict[str, Any]]] = {}

    def finished(i: int, seed_rows: list[dict[str, Any]]) -> None:
        rows[i] = seed_rows
        if progress is not None:
            progress(len(rows) * per_seed, sweep.n_worlds)

    def failed(i: int, exc: BaseException) -> None:
        raise RuntimeError(f"sweep seed {seeds[i]} failed {max_attempts} times on Ray ({type(exc).__name__})")

    _run_tasks(ray, task, [(sweep_ref, seed) for seed in seeds], int(config.workers), finished, failed)
    df = pd.DataFrame([r for i in range(len(seeds)) for r in rows[i]], columns=COLUMNS)
    df.attrs["cancelled"] = False
    return df
