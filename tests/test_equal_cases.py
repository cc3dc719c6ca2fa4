"""benchmarks/_equal_cases.py: the decoys bench_equal judges EQUAL on are off-task, barren and as many as promised.

A decoy that yields pairs, or a kind that quietly makes a handful of documents, would make the decoy
goal measure something else; these run the real makers and the real rule extractor on real docstrings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.corpus.builtin import load_builtin_corpus
from core.equal.extract import make_extractor
from core.equal.ontask import PROVENANCE, is_on_task
from core.equal.replay import extract_all
from tests._benchmarks import load_benchmark

cases = load_benchmark("_equal_cases")


def test_mirrored_cycles_versions_until_the_count():
    docs = cases.mirrored(["a", "b"], "decoy-x", n=5)
    assert [i for i, _ in docs] == [f"decoy-x#{k}" for k in range(5)]
    assert [t for _, t in docs] == ["Python 3.0: a", "Python 3.0: b", "Python 3.1: a", "Python 3.1: b", "Python 3.2: a"]
    assert len(cases.mirrored(["a"], "decoy-x")) == min(cases.DECOYS_PER_CASE, len(cases.VERSIONS))


@pytest.mark.parametrize("kind", ["unanswered", "index", "boilerplate"])
def test_decoys_are_off_task_barren_and_a_budget_of_them(kind):
    corpus = load_builtin_corpus()
    prefixes = PROVENANCE["text-processing"]
    on = [(d, t) for d, t in zip(corpus.ids, corpus.texts) if is_on_task(d, prefixes)]
    dec = cases.make_decoys("text-processing", kind, on, prefixes)
    assert len(dec) == cases.DECOYS_PER_CASE
    assert len({i for i, _ in dec}) == len(dec)
    assert not any(is_on_task(i, prefixes) for i, _ in dec)
    pairs = extract_all([i for i, _ in dec], [t for _, t in dec], make_extractor("rules"))
    assert sum(len(p) for p in pairs.values()) == 0


@pytest.mark.parametrize("share", ["0", "1.5", "-0.05"])
def test_bench_equal_refuses_a_budget_share_outside_0_1(share):
    bench = Path(__file__).parents[1] / "benchmarks" / "bench_equal.py"
    out = subprocess.run([sys.executable, str(bench), "--share", share], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--share must be in (0, 1]" in out.stderr
