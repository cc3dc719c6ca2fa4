"""bench_ctar: the full CTAR structure at 1e7 user-movie pairs vs pgmpy's per-pair sampling.

Goals (issue 4): 10,000 users x 1,000 movies (1e7 pairs, every mechanism, tables and test
sets) in <= 10 s wall with <= 2 GB peak memory (RSS high-water mark of a fresh child process,
so the figure is not polluted by this process), and >= 10x the rows per second of pgmpy's
``DiscreteBayesianNetwork.simulate`` on the per-pair template at 1e6 rows, measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_ctar.py``; prints figures, last line PASS|FAIL.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_USERS, N_MOVIES, PGMPY_ROWS = 10_000, 1_000, 1_000_000

CHILD = f"""
import json, resource, time, tracemalloc
from core.ctar.config import CTARConfig
from core.ctar.inputs import make_synthetic_inputs
from core.ctar.sampler import sample
inputs = make_synthetic_inputs()
config = CTARConfig(n_users={N_USERS}, n_movies={N_MOVIES}, rct_users=1000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
s = sample(config, inputs)
wall = time.perf_counter() - t0
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tests = {{k: len(v) for k, v in s.tests.items() if k.startswith('test')}}
print(json.dumps(dict(wall=wall, peak_gb=peak_kb / 1024 ** 2, base_gb=before / 1024 ** 2, ratings=len(s.rating),
                      obstag_pairs=len(s.obstag_pairs), tests=tests)))
"""


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " ")).parse_args()  # --help, then exit
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        print(out.stderr)
        print("bench_ctar=error goal=run FAIL")
        return 1
    child = json.loads(out.stdout.strip().splitlines()[-1])
    pairs = N_USERS * N_MOVIES
    numpy_rate = pairs / child["wall"]
    print(f"numpy sampler: {pairs:,} pairs (full structure) in {child['wall']:.2f} s = {numpy_rate:,.0f} pairs/s")
    print(f"  peak RSS {child['peak_gb']:.2f} GB (interpreter + inputs before sampling {child['base_gb']:.2f} GB)")
    print(f"  ratings {child['ratings']:,}, ObsTag pairs {child['obstag_pairs']:,}, tests {child['tests']}")

    from core.ctar.config import CTARConfig
    from core.ctar.graph import build_pair_template
    from core.ctar.sampler import sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template = build_pair_template(sample(CTARConfig()))
        t0 = time.perf_counter()
        sim = template.model.simulate(n_samples=PGMPY_ROWS, seed=0, show_progress=False)
        pg_wall = time.perf_counter() - t0
    pg_rate = len(sim) / pg_wall
    ratio = numpy_rate / pg_rate
    print(f"pgmpy simulate (per-pair template, 6 nodes): {len(sim):,} rows in {pg_wall:.2f} s = {pg_rate:,.0f} rows/s")
    print(f"speedup numpy / pgmpy (rows per second): {ratio:.1f}x")
    ok = child["wall"] <= 10 and child["peak_gb"] <= 2 and ratio >= 10
    print(
        f"bench_ctar wall_s={child['wall']:.2f} peak_gb={child['peak_gb']:.2f} speedup={ratio:.1f}x "
        f"goal=wall<=10s,peak<=2GB,speedup>=10x {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
