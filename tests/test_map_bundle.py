"""The committed WebGL map bundle is what its source and lock file build (``make map-bundle``), byte for byte.

esbuild's output is deterministic for the same input, version and flags, so the test rebuilds from
``package.json``, ``package-lock.json`` and ``src/`` in a temporary folder (``npm ci``: the exact
versions of the lock) and compares the files. It needs node, npm and the npm registry: without
them it skips and says which is missing (in CI, ``CI=true``, that is a failure, never a silent pass).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPONENT = ROOT / "components" / "corpus_map"
BUNDLE_LIMIT = 1_000_000  # bytes: the whole map's JavaScript and CSS


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason + "; CI must rebuild the map bundle")
    pytest.skip(reason)


def test_the_committed_bundle_is_small_and_fetches_nothing_from_other_hosts():
    js = (COMPONENT / "dist" / "corpus_map.js").read_text(encoding="utf-8")
    css = (COMPONENT / "dist" / "corpus_map.css").read_text(encoding="utf-8")
    assert len(js.encode()) + len(css.encode()) <= BUNDLE_LIMIT
    for needle in ("import(\"http", "import('http", "fetch(", "importScripts(\"http", "@import"):
        assert needle not in js + css, f"the bundle loads code or data from another host: {needle}"
    assert "regl-scatterplot" in js or "createScatterplot" in js or "reglScatterplot" in js


@pytest.mark.slow
def test_the_committed_bundle_is_what_npm_ci_and_the_build_produce(tmp_path):
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable(f"node or npm is missing (node: {node}, npm: {npm}); install Node 20 to rebuild the bundle")
    ping = subprocess.run([npm, "ping"], capture_output=True, text=True, timeout=60)
    if ping.returncode != 0:
        _unavailable(f"the npm registry is unreachable (npm ping: {ping.stderr.strip()[-300:]})")
    work = tmp_path / "corpus_map"
    work.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(COMPONENT / name, work / name)
    shutil.copytree(COMPONENT / "src", work / "src")
    for cmd in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(cmd[1:])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    for name in ("corpus_map.js", "corpus_map.css"):
        built, committed = (work / "dist" / name).read_bytes(), (COMPONENT / "dist" / name).read_bytes()
        assert built == committed, (f"dist/{name} differs from what its source builds ({len(built)} vs "
                                    f"{len(committed)} bytes): run `make map-bundle` and commit dist/")
