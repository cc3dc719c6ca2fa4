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

Each file is written under a temporary name and renamed into place, so no file is ever left
half-written under its name: on a full disk :func:`export_sample` raises
:class:`~core.disk.DiskFullError` naming the file it could not write (``train/rating.csv``), the
files of an earlier export stay whole, and a rerun once space is freed writes them all.
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
from core.disk import naming_disk_full, write_atomic

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


def _write_frame(df: pd.DataFrame, folder: Path, name: str, fmt: Format) -> Path:
    """``folder/<name>.<fmt>``, written to a temporary name and renamed; a full disk names ``<name>.<fmt>``."""
    path = folder / f"{name}.{fmt}"
    what = f"the CTAR sample could not write {name}.{fmt}"
    with naming_disk_full(what, folder):
        path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return write_atomic(path, lambda tmp: to_safe_csv(df, path_or_buf=tmp), what, folder)
    return write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False), what, folder)


def export_sample(sample: CTARSample, folder: str | Path, fmt: Format = "csv", with_pairs: bool = True) -> list[Path]:
    """Write ``sample`` under ``folder`` in CTAR's layout; returns the written paths.

    Raises :class:`~core.disk.DiskFullError` naming the file not written when the disk fills (see the module).
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    folder = Path(folder)
    frames = _frames(sample)
    if fmt == "parquet" and with_pairs:
        pairs = pairs_frame(sample)
        if pairs is not None:
            frames["truth/pairs"] = pairs
    written = []
    for name, df in frames.items():
        written.append(_write_frame(df, folder, name, fmt))
    meta = _meta(sample)
    written.append(write_atomic(folder / "config.json", lambda tmp: tmp.write_text(meta, encoding="utf-8"),
                                "the CTAR sample could not write config.json", folder))
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
