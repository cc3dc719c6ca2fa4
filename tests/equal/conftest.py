"""Shared fixtures of the bandit tests, by name: the small deterministic world every run test plays in."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import BanditWorld, make_setup  # noqa: E402


@pytest.fixture(scope="module")
def bandit_world() -> BanditWorld:
    """The 5-cluster corpus (cluster 0 on task, cluster 4 without pairs), its reference set, the rule extractor,
    a cached hashing embedder and a small EQUAL config (:func:`crash_run.make_setup`)."""
    return make_setup()
