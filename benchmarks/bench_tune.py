"""The tuning lab's grid replay: a 4x3 grid with 3 seeds on the default corpus, from a warm cache, in <= 30 s.

The default corpus is what the app opens on: the whole built-in corpus (11,357 documents since #23;
``--docs 3000`` gives the size this goal was first measured at), the default map (the packaged MiniLM,
k = sqrt(n/2): 75, seed 0), the Bandit page's default reference task (numerical-arrays), the rule
extractor and a 0.2 share budget. The grid varies arms per round B (1, 3, 5, 8) and documents per
pull D (3, 10, 20), 3 seeds each, plus Random and Avg-sim with the same seeds: 42 runs.

1. Warm-up (not the figure): one :class:`core.equal.tune.TuneJob` extracts every document and
   embeds every pair into the shared :class:`~core.equal.baselines.BaselineCache` (timed and printed).
2. The figure: the same grid as a new ``TuneJob`` on that warm cache, start to table. Goal <= 30 s.
3. The baseline, measured in the same run: the grid's 36 setting runs played one by one as the
   Bandit page plays a run, each an ordinary ``BanditRun`` with the live rule extractor and its
   own embedder over the on-disk text-embedding cache (no shared pair cache; the Random and
   Avg-sim runs are left out, so the baseline does less work than the figure). Printed as the ratio
   baseline / grid, after checking that one cell's curve is bit for bit the same both ways.

``--encoder hashing`` swaps in the fast word-hashing encoder (EQUALCTAR_BENCH_ENCODER too); the
encoder used is printed. Last line: ``bench_tune=<grid s> baseline=<s> speedup=<x> goal=<=30 PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from core.corpus.builtin import load_builtin_corpus  # noqa: E402
from core.corpus.encoders import DEFAULT_MODEL, load_encoder  # noqa: E402
from core.corpus.mapping import MapSettings, build_corpus_map  # noqa: E402
from core.equal.baselines import BaselineCache  # noqa: E402
from core.equal.extract import make_extractor  # noqa: E402
from core.equal.ontask import on_task_ids  # noqa: E402
from core.equal.reference import load_reference  # noqa: E402
from core.equal.run import BanditRun, RunConfig, encoder_embedder  # noqa: E402
from core.equal.space import ArmSpace  # noqa: E402
from core.equal.tune import TuneGrid, TuneJob  # noqa: E402

GOAL_S = 30.0
PRESET, BUDGET = "numerical-arrays", 0.2
AXES = (("batch_arms", (1, 3, 5, 8)), ("docs_per_pull", (3, 10, 20)))
SEEDS = (0, 1, 2)


def _finish(job: TuneJob) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds to finish ``job`` (the CPU figure is what a loaded machine
    cannot inflate)."""
    t0, c0 = time.perf_counter(), time.process_time()
    while job.running:
        job.advance(budget_s=0.3)  # as the page polls it
    if job.status != "done":
        raise SystemExit(f"the grid job {job.status}: {job.error}")
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default=os.environ.get("EQUALCTAR_BENCH_ENCODER", DEFAULT_MODEL))
    ap.add_argument("--docs", type=int, default=None, help="built-in documents (default: all, as the app opens)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    corpus = load_builtin_corpus(limit=args.docs)
    k = int(min(200, max(2, round(math.sqrt(len(corpus) / 2)))))
    encoder = load_encoder(args.encoder)
    cmap = build_corpus_map(corpus, MapSettings(encoder_name=args.encoder, k=k, seed=0), encoder=encoder)
    embed = encoder_embedder(encoder)
    ref_set = load_reference(PRESET)
    reference = embed(ref_set.texts())
    space = ArmSpace.from_corpus_map(cmap)
    print(f"{len(corpus):,} built-in documents, k={k}, encoder {encoder.name}, reference {PRESET}; "
          f"map ready in {time.perf_counter() - t0:.1f} s")
    grid = TuneGrid(AXES, SEEDS, RunConfig(budget=BUDGET))
    on_task = on_task_ids(PRESET, corpus.ids)
    cache = BaselineCache()
    warm, _ = _finish(TuneJob(grid, space, make_extractor("rules"), embed, reference, cache=cache, on_task=on_task,
                           spend=True))
    print(f"warm-up: every document extracted and every pair embedded once ({len(cache.pairs_by_doc):,} documents, "
          f"{len(cache.table):,} pair texts), then the grid: {warm:.1f} s")
    job = TuneJob(grid, space, make_extractor("rules"), embed, reference, cache=cache, on_task=on_task)
    assert job.calls_needed == 0
    grid_s, grid_cpu = _finish(job)
    table = job.result
    print(f"grid from the warm cache: {len(grid.cells())} cells x {len(SEEDS)} seeds + Random and Avg-sim = "
          f"{grid.n_runs} runs in {grid_s:.1f} s ({grid.n_runs / grid_s:.1f} runs/s; {grid_cpu:.1f} CPU-s; load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    t1, c1 = time.perf_counter(), time.process_time()
    first = None
    for cell in grid.cells():
        for seed in SEEDS:
            run = BanditRun(replace(cell.config, seed=seed), ArmSpace.from_corpus_map(cmap), reference,
                            make_extractor("rules"), encoder_embedder(encoder)).run_until_done()
            first = first if first is not None else (cell.label, seed, run.rounds_frame())
    base_s, base_cpu = time.perf_counter() - t1, time.process_time() - c1
    label, seed, live = first
    mine = table[(table["cell"] == label) & (table["seed"] == seed)]
    same = mine["coverage"].tolist() == live["coverage"].tolist() and mine["calls"].tolist() == live[
        "calls_cum"].tolist()
    print(f"baseline, the 36 setting runs one by one as BanditRuns (live rule extraction, on-disk embedding cache): "
          f"{base_s:.1f} s ({base_cpu:.1f} CPU-s); cell {label!r} seed {seed} the same bit for bit both ways: {same}")
    ok = same and grid_s <= GOAL_S
    print(f"bench_tune={grid_s:.1f}s cpu={grid_cpu:.1f}s baseline={base_s:.1f}s speedup={base_s / grid_s:.1f}x "
          f"goal=<={GOAL_S:.0f}s "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
