"""benchmarks/README.md's 'Running them': each script runs as ``.venv/bin/python benchmarks/bench_<name>.py``, and
every one answers ``--help`` with its description (and options) and exits: bench_ray and bench_ctar_stream took no
options and ran in full (minutes) on ``--help``; bench_equal's crashed (a ``%`` in a help text, which argparse
formats with ``%``)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests._benchmarks import ROOT

SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py"))


def _description(script: str) -> str:
    """The first words of the script's docstring (its first paragraph: the description), whitespace collapsed."""
    doc = ast.get_docstring(ast.parse((ROOT / "benchmarks" / script).read_text())) or ""
    return " ".join(doc.split("\n\n")[0].split()[:5])


def test_the_benchmarks_are_found_and_each_parses_its_arguments():
    assert {"bench_equal.py", "bench_ray.py", "bench_ctar_stream.py"} <= set(SCRIPTS) and len(SCRIPTS) >= 15
    assert [s for s in SCRIPTS if "argparse" not in (ROOT / "benchmarks" / s).read_text()] == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_answers_help_with_its_description_and_exits(script):
    done = subprocess.run([sys.executable, f"benchmarks/{script}", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:") and "--help" in done.stdout
    assert _description(script) in " ".join(done.stdout.split()), done.stdout[:500]


@pytest.mark.parametrize("script, options", [("bench_ray.py", ["--docs", "--extract-docs", "--ctar-users",
                                                              "--sweep-seeds"]),
                                             ("bench_ctar_stream.py", ["--users"])])
def test_the_sizes_of_the_long_benchmarks_are_options(script, options):
    done = subprocess.run([sys.executable, f"benchmarks/{script}", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert all(option in done.stdout for option in options), done.stdout
    bad = subprocess.run([sys.executable, f"benchmarks/{script}", options[0], "0"], cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert bad.returncode == 2 and f"{options[0]} must be at least 1, got 0" in bad.stderr, bad.stderr
