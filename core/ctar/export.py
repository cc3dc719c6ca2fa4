"""Write a sample in CTAR's file layout (CSV, same columns) or as Parquet, ground truth apart.

Layout (``folder/``)::

    train/rating.csv  train/obstag.csv  train/rcttag.csv  train/movie.csv     (CTAR's columns)
    test/test_1.csv  test/test_2.csv  test/test_3.csv  test/test.csv
    valid/val_1.csv  valid/val_2.csv  valid/val_3.csv  valid/validation.csv
    truth/liked.*  truth/movies.*  truth/tags.*  truth/forgotten.*  truth/obstag_pairs.*
    truth/pairs.parquet        (Parquet only, when the full matrices are kept: every pair's
                                latent rating, N, propensities, O^Y, O^T)
    config.json                (the CTARConfig, the intervention and the notes)

The observable files never contain ground truth, so the folder can be handed to a learner with
``truth/`` removed. :func:`zip_bytes` packs the same layout in memory for downloads.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from core.csv_safe import to_safe_csv
from core.ctar.sampler import CTARSample
from core.ctar.tables import TEST_NAMES, VALID_NAMES

Format = Literal["csv", "parquet"]


def _frames(sample: CTARSample) -> dict[str, pd.DataFrame]:
    tables = sample.tables()
    out = {"train/rating": tables.rating, "train/obstag": tables.obstag, "train/rcttag": tables.rcttag,
           "train/movie": tables.movie}
    for name in TEST_NAMES:
        out[f"test/{name}"] = tables.tests[name]
    for name in VALID_NAMES:
        out[f"valid/{name}"] = tables.tests[name]
    for name, df in sample.truth_frames().items():
        out[f"truth/{name}"] = df
    return out


def pairs_frame(sample: CTARSample) -> pd.DataFrame | None:
    """Every pair's ground truth (U*M rows) when the full matrices are kept, else None."""
    full = {"rating": sample.rating_full, "n_match": sample.n_match, "p_rating": sample.propensity_rating,
            "p_obstag": sample.propensity_obstag, "observed": sample.observed, "tagged": sample.tagged}
    kept = {name: matrix.ravel() for name, matrix in full.items() if matrix is not None}
    if not sample.keeps_full or len(kept) < len(full):
        return None
    u, m = sample.n_users, sample.n_movies
    return pd.DataFrame({
        "userid": np.repeat(np.arange(u, dtype=np.int32), m), "movieid": np.tile(np.arange(m, dtype=np.int32), u),
        **kept,
    })


def _meta(sample: CTARSample) -> str:
    return json.dumps({"config": sample.config.to_dict(), "intervention": sample.intervention.describe(),
                       "exposure": getattr(sample.exposure, "name", type(sample.exposure).__name__),
                       "obstag": getattr(sample.obstag_policy, "name", type(sample.obstag_policy).__name__),
                       "source": sample.catalogue.source, "notes": sample.notes}, indent=2)


def export_sample(sample: CTARSample, folder: str | Path, fmt: Format = "csv", with_pairs: bool = True) -> list[Path]:
    """Write ``sample`` under ``folder`` in CTAR's layout; returns the written paths."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    folder = Path(folder)
    written = []
    for name, df in _frames(sample).items():
        path = folder / f"{name}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            to_safe_csv(df, path_or_buf=path)
        else:
            df.to_parquet(path, index=False)
        written.append(path)
    if fmt == "parquet" and with_pairs:
        pairs = pairs_frame(sample)
        if pairs is not None:
            path = folder / "truth" / "pairs.parquet"
            pairs.to_parquet(path, index=False)
            written.append(path)
    path = folder / "config.json"
    path.write_text(_meta(sample), encoding="utf-8")
    written.append(path)
    return written


def zip_bytes(sample: CTARSample, fmt: Format = "csv", with_pairs: bool = False) -> bytes:
    """The layout of :func:`export_sample` as a zip archive in memory (for downloads)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        frames = _frames(sample)
        if fmt == "parquet" and with_pairs:
            pairs = pairs_frame(sample)
            if pairs is not None:
                frames["truth/pairs"] = pairs
        for name, df in frames.items():
            if fmt == "csv":
                zf.writestr(f"ctar/{name}.csv", to_safe_csv(df))
            else:
                b = io.BytesIO()
                df.to_parquet(b, index=False)
                zf.writestr(f"ctar/{name}.parquet", b.getvalue())
        zf.writestr("ctar/config.json", _meta(sample))
    return buf.getvalue()
