"""bench_ctar_stream: CTAR streamed to partitioned Parquet at 1e8 pairs, against pgmpy's simulate.

Goals (issue 25):

* 100,000 users x 1,000 movies (1e8 pairs: every mechanism, CTAR's files, the truth of every
  pair and the test sets) written by ``core.ctar.stream.generate_stream`` in <= 60 s wall at
  <= 1 GB peak RSS (the high-water mark of a fresh child process that does only this, one
  process, the local engine);
* rows (pairs) per second >= 10x pgmpy's ``DiscreteBayesianNetwork.simulate`` on the per-pair
  template (6 nodes, 1e6 rows), measured in the same run (the baseline of ``bench_ctar.py``);
* the statistics (``core.ctar.stats.summarize``) of a streamed output equal the in-memory
  sample's at 1e6 pairs with the same seed (every row of the table, exactly).

Also printed: the child's CPU seconds (user + system), a figure that the machine's load moves
less than the wall time, and the bytes on disk per pair. ``BENCH_CTAR_STREAM_USERS`` changes the
size (default 100,000). Run: ``.venv/bin/python benchmarks/bench_ctar_stream.py``; last line
``bench_ctar_stream=... PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_USERS = int(float(os.environ.get("BENCH_CTAR_STREAM_USERS", "100000")))
N_MOVIES, PGMPY_ROWS = 1_000, 1_000_000
GOAL_WALL, GOAL_GB, GOAL_SPEEDUP = 60.0, 1.0, 10.0

CHILD = """
import json, resource, sys, time
from core.ctar.config import CTARConfig
from core.ctar.stream import generate_stream
config = CTARConfig(n_users=int(sys.argv[1]), n_movies=int(sys.argv[2]), rct_users=1000)
t0 = time.perf_counter()
report = generate_stream(config, sys.argv[3])
wall = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps(dict(wall=wall, cpu=use.ru_utime + use.ru_stime, peak_gb=use.ru_maxrss / 1024 ** 2,
                      blocks=report.n_blocks, rows=report.rows)))
"""


def _disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench_stream(tmp: Path) -> dict:
    out = tmp / "stream"
    run = subprocess.run([sys.executable, "-c", CHILD, str(N_USERS), str(N_MOVIES), str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        print(run.stderr[-3000:])
        raise SystemExit("bench_ctar_stream=error goal=run FAIL")
    child = json.loads(run.stdout.strip().splitlines()[-1])
    child["disk"] = _disk_bytes(out)
    shutil.rmtree(out, ignore_errors=True)
    return child


def stats_equal(tmp: Path) -> bool:
    """summarize() of a streamed 1e6-pair output == of the in-memory sample with the same seed."""
    import pandas as pd

    from core.ctar.config import CTARConfig
    from core.ctar.sampler import sample
    from core.ctar.stats import summarize
    from core.ctar.stream import generate_stream, load_stream

    config = CTARConfig(n_users=1_000, n_movies=1_000, seed=11, chunk_pairs=100_000)
    generate_stream(config, tmp / "small")
    streamed, memory = summarize(load_stream(tmp / "small")), summarize(sample(config).tables())
    try:
        pd.testing.assert_frame_equal(streamed, memory)
    except AssertionError as exc:
        print(f"statistics differ: {exc}")
        return False
    print(f"statistics at 1e6 pairs: {len(memory)} rows, streamed == in memory")
    return True


def pgmpy_rate() -> float:
    from core.ctar.config import CTARConfig
    from core.ctar.graph import build_pair_template
    from core.ctar.sampler import sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template = build_pair_template(sample(CTARConfig()))
        t0 = time.perf_counter()
        sim = template.model.simulate(n_samples=PGMPY_ROWS, seed=0, show_progress=False)
        wall = time.perf_counter() - t0
    print(f"pgmpy simulate (per-pair template, 6 nodes): {len(sim):,} rows in {wall:.2f} s = "
          f"{len(sim) / wall:,.0f} rows/s")
    return len(sim) / wall


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--users", type=int, default=N_USERS,
                    help=f"users x {N_MOVIES:,} movies streamed (BENCH_CTAR_STREAM_USERS; default {N_USERS:,}: "
                         "1e8 pairs, the size the goals are set for)")
    args = ap.parse_args(argv)
    if args.users < 1:
        ap.error(f"--users must be at least 1, got {args.users}")
    return args


def main(argv: list[str] | None = None) -> int:
    global N_USERS
    N_USERS = parse_args(argv).users
    with tempfile.TemporaryDirectory(prefix="bench_ctar_stream_") as name:
        tmp = Path(name)
        child = bench_stream(tmp)
        pairs = N_USERS * N_MOVIES
        rate = pairs / child["wall"]
        print(f"streamed: {pairs:,} pairs in {child['blocks']} blocks to Parquet in {child['wall']:.1f} s wall, "
              f"{child['cpu']:.1f} CPU-s = {rate:,.0f} pairs/s ({pairs / child['cpu']:,.0f} per CPU-s); "
              f"peak RSS {child['peak_gb']:.2f} GB; {child['disk'] / 1e6:,.0f} MB on disk "
              f"({child['disk'] / pairs:.2f} B/pair)")
        print(f"  rows: {child['rows']}")
        same = stats_equal(tmp)
    baseline = pgmpy_rate()
    speedup = rate / baseline
    print(f"speedup streamed / pgmpy (rows per second): {speedup:.1f}x")
    ok = child["wall"] <= GOAL_WALL and child["peak_gb"] <= GOAL_GB and speedup >= GOAL_SPEEDUP and same
    print(f"bench_ctar_stream pairs={pairs:.0e} wall_s={child['wall']:.1f} cpu_s={child['cpu']:.1f} "
          f"peak_gb={child['peak_gb']:.2f} speedup={speedup:.1f}x stats_equal={same} "
          f"goal=wall<={GOAL_WALL:g}s,peak<={GOAL_GB:g}GB,speedup>={GOAL_SPEEDUP:g}x,stats_equal "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
