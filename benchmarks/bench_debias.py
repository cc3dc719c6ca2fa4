"""Benchmark of the debiasing core.

1. Sweep speed: the estimator kernel alone (5 estimators x 100 observation draws of 1e6 pairs),
   then the full sweep: 5 estimators x 100 seeds at 1e6 pairs (1,000 users x 1,000 items; a new world,
   selection bias, observation draw, oracle propensities and every estimator per seed).
   Goal < 60 s. Baseline in the same run: a per-pair Python loop of the same 5 estimators on
   1e5 pairs, as pairs per second (the ratio is reported).
2. Learners at CTAR's default size (1,000 x 1,000, 2% observed, popularity-driven exposure as
   CTAR's rating exposure): seconds, epochs and full-truth AUC/MSE per learner, torch on 2 threads.
   Goal: every learner < 60 s.
Last line: ``bench_debias=<sweep seconds> goal=... PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.debias.data import WorldConfig  # noqa: E402
from core.debias.estimators import estimate_all  # noqa: E402
from core.debias.lab import LearnerConfig, run_learners  # noqa: E402
from core.debias.learners import MFConfig  # noqa: E402
from core.debias.sweep import SweepConfig, run_sweep  # noqa: E402

SWEEP_GOAL_S = 60.0
LEARNER_GOAL_S = 60.0


def python_loop_estimators(e, o, p, ehat) -> dict[str, float]:
    n = len(e)
    s = {"naive": 0.0, "n_obs": 0, "eib": 0.0, "ips": 0.0, "snips_w": 0.0, "dr": 0.0}
    for k in range(n):
        if o[k]:
            s["naive"] += e[k]
            s["n_obs"] += 1
            s["eib"] += e[k]
            s["ips"] += e[k] / p[k]
            s["snips_w"] += 1 / p[k]
            s["dr"] += ehat[k] + (e[k] - ehat[k]) / p[k]
        else:
            s["eib"] += ehat[k]
            s["dr"] += ehat[k]
    return {
        "Naive": s["naive"] / s["n_obs"],
        "EIB": s["eib"] / n,
        "IPS": s["ips"] / n,
        "SNIPS": s["ips"] / s["snips_w"],
        "DR": s["dr"] / n,
    }


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " ")).parse_args()  # --help, then exit
    import torch

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    n_base = 100_000
    e, p = rng.random(n_base), rng.uniform(0.01, 0.3, n_base)
    o, ehat = rng.random(n_base) < p, np.full(n_base, 0.5)
    t = time.perf_counter()
    python_loop_estimators(e, o, p, ehat)
    base_pps = n_base / (time.perf_counter() - t)

    n = 1_000_000
    e1, p1 = rng.random(n), rng.uniform(0.01, 0.3, n)
    ehat1 = np.full(n, 0.5)
    t = time.perf_counter()
    for seed in range(100):
        o1 = np.random.default_rng(seed).random(n) < p1
        estimate_all(e1, o1, p1, ehat1)
    kernel_s = time.perf_counter() - t
    kernel_pps = 100 * n / kernel_s
    print(
        f"estimators alone: 5 estimators x 100 seeds x 1e6 pairs (observation draw included) in {kernel_s:.1f} s, "
        f"{kernel_pps / 1e6:.1f} M pairs/s = x{kernel_pps / base_pps:.0f} a per-pair Python loop "
        f"({base_pps / 1e6:.2f} M pairs/s, same run)"
    )

    cfg = SweepConfig(
        mechanisms=("selection",),
        strengths={"selection": (0.5,)},
        seeds=tuple(range(100)),
        world=WorldConfig(n_users=1000, n_items=1000, n_tags=300, tags_per_item=8, liked_min=10, liked_max=20),
    )
    t = time.perf_counter()
    df = run_sweep(cfg)
    sweep_s = time.perf_counter() - t
    pps = 100 * 1_000_000 / sweep_s
    naive = df[df.estimator == "Naive"].error.mean()
    dr = df[df.estimator == "DR"].error.mean()
    print(
        f"sweep: 5 estimators x 100 seeds x 1e6 pairs (new world per seed) in {sweep_s:.1f} s "
        f"({pps / 1e6:.1f} M pairs/s, world generation dominates); mean error Naive {naive:+.4f}, DR {dr:+.4f}"
    )

    lcfg = LearnerConfig(
        mechanism="popularity",
        strength=1.0,
        rate=0.02,
        rct_share=0.01,
        seed=0,
        world=WorldConfig(n_users=1000, n_items=1000, n_tags=300, tags_per_item=8, liked_min=10, liked_max=20),
        mf=MFConfig(threads=2),
    )
    table = run_learners(lcfg)
    print("learners at CTAR's default size (1,000 x 1,000, 2% observed, popularity exposure):")
    print(table.round(3).to_string(index=False))
    slowest = float(table.seconds.max())
    ok = sweep_s < SWEEP_GOAL_S and slowest < LEARNER_GOAL_S
    print(
        f"bench_debias={sweep_s:.1f}s slowest_learner={slowest:.1f}s "
        f"goal=sweep<{SWEEP_GOAL_S:.0f}s,learner<{LEARNER_GOAL_S:.0f}s "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
