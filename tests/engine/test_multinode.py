"""Multi-node without a cluster: ray.cluster_utils.Cluster on this machine (a head and two 1-CPU worker
nodes), a node killed in the middle of `ctar generate` and of `extract-all` (tests/engine/_multinode.py,
run in a child process so that its Ray is not the session's). Nothing is lost, nothing is duplicated,
and rerunning the command finishes the job with the local engine's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt (make test does)")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def findings(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("multinode")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    run = subprocess.run([sys.executable, "-m", "tests.engine._multinode", str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=480)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_node_killed_mid_ctar_generate_loses_no_block_and_a_rerun_finishes(findings):
    ctar = findings["ctar"]
    assert findings["nodes"] == 3 and ctar["killed"], "no node was killed: the test did not test anything"
    assert ctar["first"] == [0, 1, 3, 4] and ctar["after_kill"] == [0, 1, 3, 4]  # only the killed block is missing
    assert "blocks missing after the run: 2 of 0-4" in ctar["missing_named"]
    assert ctar["rerun_written"] == [2] and ctar["rerun_skipped"] == [0, 1, 3, 4]
    assert ctar["same_as_local"]  # every part byte for byte, so no row lost or doubled


@pytest.mark.slow
def test_a_node_killed_mid_extract_all_is_retried_elsewhere_with_nothing_lost_or_doubled(findings):
    extract = findings["extract"]
    assert extract["killed"], "no node was killed: the test did not test anything"
    assert extract["retries"] == 1 and extract["failed"] == 0 and extract["docs_done"] == 24
    assert extract["duplicates"] == 0 and extract["same_as_local"]
    assert extract["rerun_batches"] == 0  # the rerun finds nothing left to do
