"""Shared CTAR fixtures: small seeded configs and samples; the real data folder when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ctar.config import CTARConfig
from core.ctar.inputs import make_synthetic_inputs
from core.ctar.sampler import sample

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data" / "ctar"


def small_config(**changes) -> CTARConfig:
    base = dict(
        n_users=400,
        n_movies=300,
        seed=3,
        rct_users=40,
        rct_movies=10,
        test_identifiable_n=600,
        test_identifiable_pos=180,
        test_inidentifiable_n=500,
        test_inidentifiable_pos=150,
        chunk_pairs=30_000,
    )
    base.update(changes)
    return CTARConfig(**base)


@pytest.fixture(scope="session")
def synthetic_inputs():
    return make_synthetic_inputs(seed=1, n_movies=600, n_tags=400)


@pytest.fixture(scope="session")
def small_sample(synthetic_inputs):
    return sample(small_config(), synthetic_inputs)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if (
        not (DATA / "original" / "movie_tag_ct.csv").is_file()
        or not (DATA / "release" / "train" / "rating.csv").is_file()
    ):
        pytest.skip(f"CTAR real inputs/release not found under {DATA.resolve()} (../shared/data/ctar is optional)")
    return DATA
