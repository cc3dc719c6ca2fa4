"""benchmarks/README.md's 'Running them': each script runs as ``.venv/bin/python benchmarks/bench_<name>.py``; one
that takes options answers ``--help`` with them (bench_equal's crashed: a ``%`` in a help text, which argparse
formats with ``%``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests._benchmarks import ROOT

WITH_OPTIONS = sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py") if "argparse" in p.read_text())


def test_the_scripts_with_options_are_found():
    assert "bench_equal.py" in WITH_OPTIONS and len(WITH_OPTIONS) >= 5


@pytest.mark.parametrize("script", WITH_OPTIONS)
def test_a_benchmark_answers_help(script):
    done = subprocess.run([sys.executable, f"benchmarks/{script}", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:") and "--help" in done.stdout
