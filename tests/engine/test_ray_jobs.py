"""CTAR generation and debiasing sweeps on Ray (core/engine/ray_jobs.py): bit for bit equal to local;
a worker killed mid-block loses nothing and doubles nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from core.ctar.mechanisms import PopularityExposure
from core.ctar.sampler import plan_sample
from core.ctar.stream import generate_stream, read_parts, run_blocks_here, written_blocks
from core.debias.__main__ import main as debias_main
from core.debias.data import WorldConfig
from core.debias.sweep import SweepConfig, run_sweep
from tests.ctar.conftest import small_config
from tests.engine._engine_data import ExposureThatStops

pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt (make test does)")
from core.engine.ray_engine import RayConfig  # noqa: E402
from core.engine.ray_jobs import ray_block_runner, run_ctar_blocks_ray, run_sweep_ray  # noqa: E402

CONFIG = small_config(n_users=200, chunk_pairs=12_000)  # 40 users a block, 5 blocks


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def test_ctar_generated_on_ray_is_the_local_output_byte_for_byte(ray_cluster, tmp_path):
    local = generate_stream(CONFIG, tmp_path / "local")
    ray = generate_stream(CONFIG, tmp_path / "ray", runner=ray_block_runner(RayConfig(workers=2)), engine="ray")
    assert ray.written == local.written == [0, 1, 2, 3, 4] and ray.rows == local.rows
    assert _digest(tmp_path / "ray") == _digest(tmp_path / "local")


def test_a_worker_killed_mid_block_is_rerun_and_nothing_is_lost_or_doubled(ray_cluster, tmp_path):
    plan = plan_sample(CONFIG)
    crashing = plan_sample(CONFIG, exposure=ExposureThatStops(PopularityExposure.from_config(CONFIG), user=80,
                                                              marker=str(tmp_path / "block2"), crash=True))
    blocks = list(range(5))
    run_blocks_here(plan, blocks, tmp_path / "local", lambda d, t: None)
    done = run_ctar_blocks_ray(crashing, blocks, tmp_path / "ray", lambda d, t: None, RayConfig(workers=2))
    assert (tmp_path / "block2.seen").exists(), "the worker never crashed: the test did not test anything"
    assert sorted(done) == blocks and written_blocks(tmp_path / "ray") == set(blocks)
    assert _digest(tmp_path / "ray") == _digest(tmp_path / "local")
    pairs = read_parts(tmp_path / "ray", "truth/pairs", ["userid", "movieid"])
    assert len(pairs) == 200 * 300 and not pairs.duplicated().any()


def test_a_block_that_dies_every_try_is_left_missing_and_a_rerun_finishes(ray_cluster, tmp_path):
    crashing = plan_sample(CONFIG, exposure=ExposureThatStops(PopularityExposure.from_config(CONFIG), user=40,
                                                              marker=str(tmp_path / "block1"), crash=True))
    done = run_ctar_blocks_ray(crashing, range(5), tmp_path / "out", lambda d, t: None, RayConfig(workers=2),
                               max_attempts=1)
    assert sorted(done) == [0, 2, 3, 4] and written_blocks(tmp_path / "out") == {0, 2, 3, 4}
    rerun = run_ctar_blocks_ray(plan_sample(CONFIG), [1], tmp_path / "out", lambda d, t: None, RayConfig(workers=2))
    assert sorted(rerun) == [1]
    run_blocks_here(plan_sample(CONFIG), range(5), tmp_path / "local", lambda d, t: None)
    assert _digest(tmp_path / "out") == _digest(tmp_path / "local")


def test_sweep_on_ray_is_the_local_table(ray_cluster, tmp_path):
    world = WorldConfig(n_users=60, n_items=80)
    sweep = SweepConfig(mechanisms=("selection", "popularity"), seeds=(0, 1, 2), world=world)
    local = run_sweep(sweep)
    seen: list[tuple[int, int]] = []
    on_ray = run_sweep_ray(sweep, RayConfig(workers=2), progress=lambda d, t: seen.append((d, t)))
    pd.testing.assert_frame_equal(on_ray, local)
    assert seen[-1] == (sweep.n_worlds, sweep.n_worlds)
    out = tmp_path / "sweep.csv"
    assert debias_main(["sweep", "--seeds", "3", "--users", "60", "--items", "80", "--engine", "ray",
                        "--out", str(out), "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), run_sweep(SweepConfig(seeds=(0, 1, 2),
                                                                          world=WorldConfig(n_users=60, n_items=80))),
                                  check_dtype=False)
