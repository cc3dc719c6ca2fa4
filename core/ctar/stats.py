"""Descriptive statistics of a CTAR dataset, the same function for a sample and for the release.

:func:`summarize` reads only CTAR's layout (:class:`~core.ctar.tables.CTARTables`), so a
generated sample (``sample.tables()``) and the released files (:func:`~core.ctar.tables.load_release`)
go through identical code; :func:`compare_statistics` puts them side by side.
:data:`RELEASED_CTAR` holds the released dataset's figures as documented in ``docs/CTAR.md``
(counted from the KID-22/CTAR files), for when the files are absent.

Ground-truth views that only a sample has (latent ratings, liked tags, propensities) are in
:func:`summarize_truth` and :func:`check_marginals` (specified vs sampled).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from core.ctar.equations import rating_probs_by_match
from core.ctar.sampler import CTARSample, popularity_decile
from core.ctar.tables import CTARTables

#: The released CTAR dataset (docs/CTAR.md, counted from the files): item -> value.
RELEASED_CTAR: dict[str, float] = {
    "users": 1000,
    "movies": 1000,
    "tags": 1720,
    "tags per movie": 8,
    "ratings": 19897,
    "density": 19897 / 1e6,
    "ratings = 1": 203,
    "ratings = 2": 1501,
    "ratings = 3": 5530,
    "ratings = 4": 7517,
    "ratings = 5": 5146,
    "ObsTag rows": 9619,
    "ObsTag pairs": 7104,
    'ObsTag "-1" pairs': 1465,
    "RCTTag rows": 1489,
    "RCTTag pairs": 1000,
    'RCTTag "-1" pairs': 246,
    'RCTTag "-1" share': 0.246,
    "Test I rows": 1267,
    "Test II rows": 4170,
    "Test III rows": 3719,
    "Test all rows": 9156,
}


def _ids_max(*series: pd.Series) -> int:
    vals = [int(s.max()) for s in series if len(s)]
    return max(vals) + 1 if vals else 0


def summarize(tables: CTARTables) -> pd.DataFrame:
    """Statistics of a dataset in CTAR's layout.

    Returns
    -------
    DataFrame (group, item, value): counts and density, rating distribution, ratings per user and
    per movie, ratings by popularity decile (movieid = popularity rank, as in CTAR's files),
    ObsTag and RCTTag breakdowns, test set sizes and positive shares.
    """
    r, o, c = tables.rating, tables.obstag, tables.rcttag
    movie_tags = tables.movie_tags()
    n_users = tables.n_users or _ids_max(r["userid"], o["userid"], c["userid"])
    n_movies = tables.n_movies or len(tables.movie)
    rows: list[tuple[str, str, float]] = []
    add = rows.append
    add(("size", "users", n_users))
    add(("size", "movies", n_movies))
    add(("size", "tags", int(np.unique(movie_tags).size)))
    add(("size", "tags per movie", float(movie_tags.shape[1]) if movie_tags.size else 0.0))
    add(("ratings", "ratings", len(r)))
    add(("ratings", "density", len(r) / max(n_users * n_movies, 1)))
    dist = np.bincount(r["rating"].to_numpy(np.int64), minlength=6)[1:6]
    for y in range(1, 6):
        add(("ratings", f"ratings = {y}", int(dist[y - 1])))
    for y in range(1, 6):
        add(("ratings", f"share rating = {y}", dist[y - 1] / max(len(r), 1)))
    if len(r):
        add(("ratings", "mean rating", float(r["rating"].mean())))
    per_user = np.bincount(r["userid"].to_numpy(np.int64), minlength=n_users)
    per_movie = np.bincount(r["movieid"].to_numpy(np.int64), minlength=n_movies)
    for name, arr in (("per user", per_user), ("per movie", per_movie)):
        add(("ratings", f"ratings {name}: mean", float(arr.mean()) if arr.size else 0.0))
        add(("ratings", f"ratings {name}: median", float(np.median(arr)) if arr.size else 0.0))
        add(("ratings", f"ratings {name}: max", int(arr.max()) if arr.size else 0))
        add(("ratings", f"ratings {name}: zero", int((arr == 0).sum())))
    dec = popularity_decile(n_movies)
    by_dec = np.bincount(dec[r["movieid"].to_numpy(np.int64)], minlength=10) if len(r) else np.zeros(10, int)
    for d in range(10):
        add(("by popularity decile", f"ratings, decile {d + 1}", int(by_dec[d])))
    for name, t in (("ObsTag", o), ("RCTTag", c)):
        pairs = (t["tagid"] == -1).groupby([t["userid"], t["movieid"]], sort=False).any()  # vectorised: 1e8 in 0.5 s
        n_pairs = len(pairs)
        neg = int(pairs.sum())
        add((name, f"{name} rows", len(t)))
        add((name, f"{name} pairs", n_pairs))
        add((name, f'{name} "-1" pairs', neg))
        add((name, f'{name} "-1" share', neg / max(n_pairs, 1)))
        add((name, f"{name} tags per tagged pair", (len(t) - neg) / max(n_pairs - neg, 1)))
        add((name, f"{name} users", int(t["userid"].nunique())))
        if name == "ObsTag" and len(t):
            tdec = np.bincount(dec[t["movieid"].to_numpy(np.int64)], minlength=10)
            for d in range(10):
                add(("by popularity decile", f"ObsTag rows, decile {d + 1}", int(tdec[d])))
    for key, label in (("test_1", "Test I"), ("test_2", "Test II"), ("test_3", "Test III"), ("test", "Test all")):
        if key in tables.tests:
            t = tables.tests[key]
            add(("tests", f"{label} rows", len(t)))
            add(("tests", f"{label} positive share", float(t["islike"].mean()) if len(t) else 0.0))
            add(("tests", f"{label} duplicate rows", int(t.duplicated(["userid", "tagid"]).sum())))
    return pd.DataFrame(rows, columns=["group", "item", "value"])


_RATE_WORDS = ("density", "share")  # items in [0, 1], shown as percentages


def format_statistic(item: str, value: float) -> str:
    """One :func:`summarize` value as text: a count as an integer with thousands separators, a density or
    share as a percentage to 3 significant digits, any other fraction (a mean, a median) to 2 decimals;
    a missing value (NaN, a row the other dataset lacks) is blank.

    >>> format_statistic("ratings", 1e8), format_statistic("density", 0.019897), format_statistic("density", 2e-7)
    ('100,000,000', '1.99%', '0.0000200%')
    >>> format_statistic("mean rating", 3.799216), format_statistic('RCTTag "-1" share', 0.246)
    ('3.80', '24.6%')
    >>> format_statistic("ratings per user: median", 20.0), format_statistic("Test I rows", float("nan"))
    ('20', '')
    """
    value = float(value)
    if value != value:
        return ""
    if any(word in item for word in _RATE_WORDS):
        pct = 100 * value
        digits = max(0, 2 - int(np.floor(np.log10(abs(pct))))) if pct else 0
        return f"{pct:.{digits}f}%"
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"


def format_statistics(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarize` or :func:`compare_statistics` output with every value column as text
    (:func:`format_statistic`, row by row): what the command line prints."""
    out = table.copy()
    for col in out.columns.drop(["group", "item"], errors="ignore"):
        out[col] = [format_statistic(item, v) for item, v in zip(out["item"], out[col])]
    return out


def style_statistics(table: pd.DataFrame) -> Any:
    """:func:`format_statistics`'s text as a pandas ``Styler`` over the numbers (what the page shows): the
    cells read 19,897 or 1.99% yet stay numbers underneath, so a column still sorts by value."""
    values = [c for c in table.columns if c not in ("group", "item")]
    styler = table.style
    for row, item in zip(table.index, table["item"]):
        styler = styler.format(partial(format_statistic, item), subset=pd.IndexSlice[[row], values])
    return styler


def compare_statistics(stats: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Side by side: one value column per named :func:`summarize` result, joined on ``item``.

    The first result sets the rows (and their groups); the others fill in where they have the item.
    """
    merged: pd.DataFrame | None = None
    for name, df in stats.items():
        part = df.rename(columns={"value": name})
        if merged is None:
            merged = part
        else:
            merged = merged.merge(part.drop(columns="group"), on="item", how="left", sort=False)
    return merged if merged is not None else pd.DataFrame(columns=["group", "item"])


def released_statistics() -> pd.DataFrame:
    """:data:`RELEASED_CTAR` in :func:`summarize`'s shape (group 'documented')."""
    return pd.DataFrame([("documented", k, v) for k, v in RELEASED_CTAR.items()], columns=["group", "item", "value"])


def summarize_truth(sample: CTARSample) -> dict[str, pd.DataFrame]:
    """Ground-truth views of a sample (for plots).

    Returns
    -------
    dict of DataFrames:
    ``rating_distribution`` (rating, full, observed, obstag: shares), ``exposure_by_rank`` (rank,
    propensity, observed share), ``obstag_by_rating`` (rating, pairs, tagged, rate),
    ``liked_per_user`` (liked, users), ``reasons_per_pair`` (n_match, pairs, share).
    """
    c = sample.counts
    u = float(sample.n_users)
    full = c.rating_full / max(c.rating_full.sum(), 1)
    obs = np.bincount(sample.rating["rating"].to_numpy(np.int64), minlength=6)[1:6].astype(float)
    tag = c.obstag_by_rating.astype(float)
    dist = pd.DataFrame(
        {
            "rating": np.arange(1, 6),
            "full (latent)": full,
            "observed (rating.csv)": obs / max(obs.sum(), 1),
            "tagged (ObsTag)": tag / max(tag.sum(), 1),
        }
    )
    exposure = pd.DataFrame(
        {
            "rank": np.arange(sample.n_movies),
            "propensity": c.p_rating_by_movie / u,
            "observed share": c.observed_by_movie / u,
        }
    )
    ot = pd.DataFrame(
        {
            "rating": np.arange(1, 6),
            "pairs": c.pairs_by_rating,
            "tagged": c.obstag_by_rating,
            "rate": c.obstag_by_rating / np.maximum(c.pairs_by_rating, 1),
        }
    )
    k = sample.liked.sum(axis=1)
    liked = pd.Series(k).value_counts().sort_index()
    liked_df = pd.DataFrame({"liked": liked.index.astype(int), "users": liked.to_numpy()})
    n_tot = c.n_match_by_movie.sum(axis=0)
    reasons = pd.DataFrame({"n_match": np.arange(n_tot.size), "pairs": n_tot, "share": n_tot / max(n_tot.sum(), 1)})
    return {
        "rating_distribution": dist,
        "exposure_by_rank": exposure,
        "obstag_by_rating": ot,
        "liked_per_user": liked_df,
        "reasons_per_pair": reasons,
    }


_Row = tuple[str, float, float, float]  # (quantity, specified, sampled, standard error)


def _row(name: str, specified: float, sampled: float, se: float) -> _Row:
    return name, float(specified), float(sampled), float(se)


def _observation_rows(sample: CTARSample) -> list[_Row]:
    """Liked tags per user, the rating observation rate and (unless intervened on) the ObsTag rate."""
    cfg, c, pairs = sample.config, sample.counts, float(sample.config.n_pairs)
    k = sample.liked.sum(axis=1)
    width = cfg.liked_max - cfg.liked_min + 1
    rows = [_row("liked tags per user (mean)", (cfg.liked_min + cfg.liked_max) / 2, k.mean(),
                 np.sqrt((width**2 - 1) / 12 / max(len(k), 1)))]
    p_rate = c.p_rating_by_movie.sum() / pairs
    rows.append(_row("rating observation rate", p_rate, len(sample.rating) / pairs,
                     np.sqrt(p_rate * (1 - p_rate) / pairs)))
    p_tag = c.p_obstag_by_decile_rating.sum() / pairs
    if sample.intervention.obstag is None:
        rows.append(_row("share of pairs tagged (ObsTag rate; specified: Share of tags given)", cfg.obstag_rate,
                         len(sample.obstag_pairs) / pairs, np.sqrt(p_tag * (1 - p_tag) / pairs)))
    return rows


def _quality_and_memory_rows(sample: CTARSample) -> list[_Row]:
    """Mean and sd of the quality noise ``q - b`` (unless intervened on) and the remembered share of further tags."""
    cfg, rows = sample.config, []
    noise = sample.quality - sample.catalogue.base_rating
    if sample.intervention.quality is None:
        rows.append(_row("quality noise mean", 0.0, noise.mean(), cfg.quality_sigma / np.sqrt(noise.size)))
        rows.append(_row("quality noise sd", cfg.quality_sigma, noise.std(ddof=1),
                         cfg.quality_sigma / np.sqrt(2 * max(noise.size - 1, 1))))
    extra = sample.obstag_pairs["n_match"].clip(lower=1).sub(1).sum()
    written_extra = (sample.obstag["tagid"] >= 0).sum() - (sample.obstag_pairs["n_match"] > 0).sum()
    if extra > 0:
        keep = 1 - cfg.forget_prob
        rows.append(_row("remembered share of further liked tags", keep, written_extra / extra,
                         np.sqrt(keep * (1 - keep) / extra)))
    return rows


def _rating_given_match_rows(sample: CTARSample) -> list[_Row]:
    """``E[Y | N = n]`` for n = 0, 1, 2 (those a movie's ``tags_per_movie`` tags allow, with at least 100 pairs),
    analytic over the realised qualities."""
    cfg, c, rows = sample.config, sample.counts, []
    probs = rating_probs_by_match(
        sample.quality, cfg.tags_per_movie, offset=cfg.rating_offset, tag_effect=cfg.tag_effect,
        noise_sigma=cfg.noise_sigma,
    )  # (M, K+1, 5)
    w = c.n_match_by_movie.astype(float)  # (M, K+1)
    for n in range(min(3, w.shape[1])):  # N <= tags_per_movie
        if w[:, n].sum() < 100:
            continue
        p = (probs[:, n, :] * w[:, n, None]).sum(axis=0) / w[:, n].sum()
        mean = float(p @ np.arange(1, 6))
        var = float(p @ (np.arange(1, 6) - mean) ** 2)
        got = c.rating_by_match[n] @ np.arange(1, 6) / max(c.rating_by_match[n].sum(), 1)
        name = f"mean rating, {n} liked tag{'' if n == 1 else 's'} on the movie (E[Y | N = {n}])"  # words, notation
        rows.append(_row(name, mean, got, np.sqrt(var / w[:, n].sum()) * 3))  # pairs share movies, users
    return rows


#: :func:`check_marginals`' columns as a page heads them (the frame keeps the short names the tests and scripts read)
MARGINAL_HEADINGS = {"quantity": "Quantity", "specified": "Specified", "sampled": "Sampled", "se": "Standard error",
                     "difference": "Sampled − specified", "ok": "Within 4 standard errors"}


def check_marginals(sample: CTARSample) -> pd.DataFrame:
    """Specified vs sampled marginals, each with a standard error and ``ok = |diff| <= 4 se``.

    Quantities: liked tags per user, rating observation rate, ObsTag rate, quality noise
    (mean and sd of ``q - b``), the remembered share of further liked tags, ``E[Y | N = n]``
    (analytic from the rating equation over the realised qualities), RCT pairs.
    """
    cfg = sample.config
    rows = _observation_rows(sample) + _quality_and_memory_rows(sample)
    if sample.intervention.is_empty:
        rows += _rating_given_match_rows(sample)
    rows.append(_row("RCT pairs", cfg.rct_users * cfg.rct_movies, len(sample.rcttag.groupby(["userid", "movieid"])),
                     0.0))
    df = pd.DataFrame(rows, columns=["quantity", "specified", "sampled", "se"])
    df["difference"] = df["sampled"] - df["specified"]
    df["ok"] = df["difference"].abs() <= 4 * df["se"] + 1e-9
    return df
