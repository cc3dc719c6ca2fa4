"""CTAR's file layout as one dataclass: what the released dataset holds and what a sample exports.

Released layout (KID-22/CTAR, ``CTAR/train`` and ``CTAR/test``):

========================  =======================================================
``train/rating.csv``      userid, movieid, rating (observed ratings, 1..5)
``train/obstag.csv``      userid, movieid, tagid (voluntary tags; -1 = tagged, no liked tag)
``train/rcttag.csv``      userid, movieid, tagid (randomized slice; -1 = no liked tag)
``train/movie.csv``       movieid, taglist ("t1,t2,...", the movie's K tags)
``test/test_1.csv`` ...   userid, tagid, islike (Test I/II/III and their union ``test.csv``)
``valid/val_1.csv`` ...   same columns (validation share; absent from the release)
========================  =======================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.ctar.inputs import CTARInputError

TRAIN_FILES = {"rating": ("userid", "movieid", "rating"), "obstag": ("userid", "movieid", "tagid"),
               "rcttag": ("userid", "movieid", "tagid"), "movie": ("movieid", "taglist")}
TEST_NAMES = ("test_1", "test_2", "test_3", "test")
VALID_NAMES = ("val_1", "val_2", "val_3", "validation")
TEST_COLUMNS = ("userid", "tagid", "islike")


@dataclass
class CTARTables:
    """The observable dataset in CTAR's layout (DataFrames with CTAR's columns).

    Attributes
    ----------
    rating, obstag, rcttag, movie : DataFrame, columns as in :data:`TRAIN_FILES`
    tests : dict name -> DataFrame (userid, tagid, islike); names from :data:`TEST_NAMES`
        and :data:`VALID_NAMES`
    n_users, n_movies : int or None, the design size when known (a sample knows it; a release
        is counted from its files)
    """

    rating: pd.DataFrame
    obstag: pd.DataFrame
    rcttag: pd.DataFrame
    movie: pd.DataFrame
    tests: dict[str, pd.DataFrame] = field(default_factory=dict)
    n_users: int | None = None
    n_movies: int | None = None

    def movie_tags(self) -> np.ndarray:
        """(M, K) int64 tag ids by movie row (movie.csv's taglist parsed)."""
        lists = self.movie["taglist"].astype(str).str.split(",")
        return np.array([[int(t) for t in row] for row in lists], dtype=np.int64)


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """``path`` (a ``.csv``), or the ``.parquet`` beside it that ``generate --format parquet`` writes instead."""
    parquet = path.with_suffix(".parquet")
    if not path.is_file() and not parquet.is_file():
        raise CTARInputError(f"{path}: file not found")
    df = pd.read_csv(path) if path.is_file() else pd.read_parquet(parquet)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CTARInputError(f"{path if path.is_file() else parquet}: missing column(s) {missing}; "
                             f"found {list(df.columns)}")
    return df[list(columns)]


def release_folder(folder: str | Path) -> Path:
    """The folder that holds ``train/``: ``folder`` itself, or its ``csv/`` (else ``parquet/``) sub-folder, where
    ``generate --format both`` writes the two copies.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> (out / "csv" / "train").mkdir(parents=True); (out / "parquet" / "train").mkdir(parents=True)
    >>> release_folder(out).name
    'csv'
    """
    folder = Path(folder)
    if not (folder / "train").is_dir():
        for sub in ("csv", "parquet"):
            if (folder / sub / "train").is_dir():
                return folder / sub
    return folder


def load_release(folder: str | Path) -> CTARTables:
    """Read a dataset in CTAR's layout (the released ``CTAR/`` folder or an exported sample).

    ``folder`` (or its ``csv/``/``parquet/`` copy, :func:`release_folder`) holds ``train/`` and ``test/`` (and
    optionally ``valid/``), as CSV or as Parquet. Test files that are absent are left out of ``tests``.
    """
    folder = release_folder(folder)
    train = {name: _read(folder / "train" / f"{name}.csv", cols) for name, cols in TRAIN_FILES.items()}
    for name in ("rating", "obstag", "rcttag"):
        for col in train[name].columns:
            if not pd.api.types.is_integer_dtype(train[name][col]):
                raise CTARInputError(f"{folder / 'train' / (name + '.csv')}: column {col!r} must hold integers")
    tests = {}
    for sub, names in (("test", TEST_NAMES), ("valid", VALID_NAMES)):
        for name in names:
            path = folder / sub / f"{name}.csv"
            if path.is_file() or path.with_suffix(".parquet").is_file():
                tests[name] = _read(path, TEST_COLUMNS)
    return CTARTables(train["rating"], train["obstag"], train["rcttag"], train["movie"], tests)
