"""CTAR's training facts and test sets I/II/III, vectorised, leak-free, with bounded quotas.

Definitions (Lyu et al. 2022; KID-22/CTAR ``generate_data.py`` / ``extract_data.py``):

* **training facts** ``F``: (u, t, islike) from RCTTag (written tags 1, the movie's other tags
  0) and ObsTag (written tags 1; a "-1" row makes every tag of the movie 0). A tag written
  anywhere is a positive fact (positives override negatives, as in the original).
* **Test I**: the forgotten liked tags of tagged pairs (all positive). The original keeps pairs
  (u, t) that ``F`` already holds as positives (795 of 1,267 in the release): a leak. Here they
  are removed and duplicates dropped unless ``test_exact_compat``.
* **Test II "identifiable"**: (u, t) with t on a movie u *rated*, not in ``F`` nor Test I,
  ``test_identifiable_n`` rows of which ``test_identifiable_pos`` positive.
* **Test III "inidentifiable"**: (u, t) with t on *no* movie u rated (drawn from an unrated
  (u, m) pair's tags), ``test_inidentifiable_n`` rows, ``test_inidentifiable_pos`` positive; also
  disjoint from ``F``, Test I and Test II unless ``test_exact_compat``.
* labels ``islike = 1[t in L_u]``.

Candidates are drawn like the original (a random rated row, or a random unrated (u, m), then a
tag of the movie; here a uniformly random tag position rather than the first eligible one) in
vectorised batches; each quota takes what it can and after ``test_max_rounds`` batches (or
three batches in a row without a new candidate) a shortfall is recorded in the notes instead of
looping forever. A ``validation_share`` of each
set (per label) moves to the validation set, as in the original.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.ctar.config import CTARConfig


def unique_sorted(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """``np.unique(keys)`` by sorting: numpy 2.4's hash-based ``unique`` takes ~2 s on 1.6M keys of a wide range
    (the rated pairs' tag keys at 1e7 pairs), a sort 0.02 s."""
    ordered = np.sort(np.asarray(keys).ravel())
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if ordered.size else ordered


def _union(a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
    """``np.union1d`` by sorting (see :func:`unique_sorted`)."""
    return unique_sorted(np.concatenate([np.asarray(a).ravel(), np.asarray(b).ravel()]))


def _isin_sorted(keys: NDArray[np.int64], sorted_ref: NDArray[np.int64]) -> NDArray[np.bool_]:
    if sorted_ref.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.searchsorted(sorted_ref, keys)
    pos = np.minimum(pos, sorted_ref.size - 1)
    return sorted_ref[pos] == keys


@dataclass
class Facts:
    """Training facts ``F`` as sorted unique keys ``u * V + t`` with labels (1 overrides 0)."""

    keys: NDArray[np.int64]
    islike: NDArray[np.int8]
    n_tags: int

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "userid": self.keys // self.n_tags,
                "tagid": self.keys % self.n_tags,
                "islike": self.islike.astype(np.int64),
            }
        )


def extract_facts(
    obstag: pd.DataFrame,
    rcttag: pd.DataFrame,
    movie_tags: NDArray[np.int64],
    liked: NDArray[np.bool_] | None,
    n_tags: int,
) -> Facts:
    """Training facts from ObsTag and RCTTag rows (CTAR's ``extract_data.py``), vectorised."""
    keys, labels = [], []
    for table, all_tags_negative in ((rcttag, True), (obstag, False)):
        u = table["userid"].to_numpy(np.int64)
        m = table["movieid"].to_numpy(np.int64)
        t = table["tagid"].to_numpy(np.int64)
        written = t >= 0
        keys.append(u[written] * n_tags + t[written])
        labels.append(np.ones(int(written.sum()), dtype=np.int8))
        # negatives: every tag of an RCT pair; every tag of a "-1" ObsTag pair
        pairs = (
            pd.DataFrame({"u": u, "m": m}) if all_tags_negative else pd.DataFrame({"u": u[~written], "m": m[~written]})
        )
        pairs = pairs.drop_duplicates()
        pu = pairs["u"].to_numpy(np.int64)
        pt = movie_tags[pairs["m"].to_numpy(np.int64)]
        keys.append((pu[:, None] * n_tags + pt).ravel())
        labels.append(np.zeros(pt.size, dtype=np.int8))
    k = np.concatenate(keys)
    lab = np.concatenate(labels)
    order = np.lexsort((-lab, k))  # by key, positives first
    k, lab = k[order], lab[order]
    first = np.ones(k.size, dtype=bool)
    first[1:] = k[1:] != k[:-1]
    return Facts(k[first], lab[first], n_tags)


def _split(df: pd.DataFrame, share: float, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(validation, test): ``round(share * n)`` rows of each label to validation."""
    if share <= 0 or df.empty:
        return df.iloc[:0], df.reset_index(drop=True)
    val_idx = []
    for _, grp in df.groupby("islike", sort=True):
        idx = rng.permutation(grp.index.to_numpy())
        val_idx.append(idx[: int(round(share * idx.size))])
    v = np.concatenate(val_idx) if val_idx else np.array([], dtype=np.int64)
    mask = df.index.isin(v)
    return df[mask].reset_index(drop=True), df[~mask].reset_index(drop=True)


def _fresh(cand: NDArray[np.int64], exclude: NDArray[np.int64],
           taken: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """Candidates not in the sorted ``exclude``; with ``taken`` (sorted) also deduplicated, first
    occurrence kept in draw order, and not already chosen."""
    cand = cand[~_isin_sorted(cand, exclude)]
    if taken is not None:
        _, first = np.unique(cand, return_index=True)
        cand = cand[np.sort(first)]
        cand = cand[~_isin_sorted(cand, taken)]
    return cand


def _shortfalls(name: str, have: dict[int, int], want: dict[int, int], max_rounds: int) -> list[str]:
    """A note per label whose quota was not met."""
    return [f"{name}: only {have[c]} of {want[c]} {label} rows could be drawn (at most {max_rounds} "
            f"rounds; the candidate pool is too small for the quota with these settings)"
            for c, label in ((1, "positive"), (0, "negative")) if have[c] < want[c]]


def _fill_quota(
    draw,
    exclude: NDArray[np.int64],
    liked_flat: NDArray[np.bool_],
    n_total: int,
    n_pos: int,
    max_rounds: int,
    dedupe: bool,
    name: str,
    notes: list[str],
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Draw candidate keys with ``draw(size)`` until the positive and negative quotas are met.

    Returns the chosen keys (pos first). Stops after ``max_rounds`` batches, noting a shortfall.
    """
    want = {1: n_pos, 0: n_total - n_pos}
    chosen: dict[int, list[NDArray[np.int64]]] = {1: [], 0: []}
    have = {1: 0, 0: 0}
    taken = np.array([], dtype=np.int64)
    drawn, hits = {1: 0, 0: 0}, {1: 0, 0: 0}
    stale = 0
    for _ in range(max_rounds):
        short = {c: max(0, want[c] - have[c]) for c in (0, 1)}
        if sum(short.values()) == 0:
            break
        # batch sized by the yield seen so far (a rare label needs more draws), bounded
        size = max(short[c] * 2 * (drawn[c] + 1) / (hits[c] + 1) for c in (0, 1) if short[c] > 0)
        cand = draw(int(min(max(size, 256), 500_000)))
        if cand.size == 0:
            break
        n_raw = cand.size
        cand = _fresh(cand, exclude, taken if dedupe else None)
        lab = liked_flat[cand]
        added = 0
        for c in (1, 0):
            drawn[c] += n_raw
            hits[c] += int((lab == bool(c)).sum())
            room = want[c] - have[c]
            if room > 0:
                pick = cand[lab == bool(c)][:room]
                chosen[c].append(pick)
                have[c] += pick.size
                added += pick.size
        stale = stale + 1 if added == 0 else 0
        if stale >= 3:  # three batches without a new candidate: the pool is exhausted
            break
        if dedupe:
            taken = np.sort(np.concatenate([taken] + chosen[1][-1:] + chosen[0][-1:]))
    notes.extend(_shortfalls(name, have, want, max_rounds))
    parts = chosen[1] + chosen[0]
    return np.concatenate(parts) if parts else np.array([], dtype=np.int64)


def _test1_keys(forgotten: pd.DataFrame, facts_keys: NDArray[np.int64], n_tags: int, exact: bool,
                notes: list[str]) -> NDArray[np.int64]:
    """Test I: the forgotten liked tags as ``u * n_tags + t``; without ``exact``, those the facts hold removed."""
    t1 = forgotten["userid"].to_numpy(np.int64) * n_tags + forgotten["tagid"].to_numpy(np.int64)
    if exact:
        return t1
    leaked = _isin_sorted(t1, facts_keys)
    if leaked.any():
        notes.append(
            f"Test I: {int(leaked.sum())} forgotten tag(s) already known from training facts removed "
            f"(the original's leak)"
        )
    return unique_sorted(t1[~leaked])


def _rated_drawer(ru: NDArray[np.int64], rm: NDArray[np.int64], movie_tags: NDArray[np.int64], n_tags: int,
                  rng: np.random.Generator) -> Callable[[int], NDArray[np.int64]]:
    """Test II's candidates: a random rated row, then a random tag position of its movie."""
    k = movie_tags.shape[1]

    def draw_rated(size: int) -> NDArray[np.int64]:
        if ru.size == 0:
            return np.array([], dtype=np.int64)
        i = rng.integers(0, ru.size, size)
        pos = rng.integers(0, k, size)
        return ru[i] * n_tags + movie_tags[rm[i], pos]

    return draw_rated


def _unrated_drawer(rated_pairs: NDArray[np.int64], movie_tags: NDArray[np.int64], n_users: int, n_tags: int,
                    rng: np.random.Generator) -> Callable[[int], NDArray[np.int64]]:
    """Test III's candidates: a random unrated (u, m), then a random tag position of the movie."""
    n_movies, k = movie_tags.shape

    def draw_unrated(size: int) -> NDArray[np.int64]:
        u = rng.integers(0, n_users, size)
        m = rng.integers(0, n_movies, size)
        keep = ~_isin_sorted(u * n_movies + m, rated_pairs)
        u, m = u[keep], m[keep]
        pos = rng.integers(0, k, u.size)
        return u * n_tags + movie_tags[m, pos]

    return draw_unrated


def _test_frames(parts: tuple[NDArray[np.int64], ...], liked_flat: NDArray[np.bool_], n_tags: int, share: float,
                 rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """``test_i``/``val_i`` for each part's keys (``userid, tagid, islike``), and their concatenations."""
    out: dict[str, pd.DataFrame] = {}
    for i, keys in enumerate(parts, start=1):
        frame = pd.DataFrame(
            {"userid": keys // n_tags, "tagid": keys % n_tags, "islike": liked_flat[keys].astype(np.int64)}
        )
        val, test = _split(frame, share, rng)
        out[f"test_{i}"], out[f"val_{i}"] = test, val
    out["test"] = pd.concat([out["test_1"], out["test_2"], out["test_3"]], ignore_index=True)
    out["validation"] = pd.concat([out["val_1"], out["val_2"], out["val_3"]], ignore_index=True)
    return out


def build_test_sets(
    config: CTARConfig,
    liked: NDArray[np.bool_],
    movie_tags: NDArray[np.int64],
    rating: pd.DataFrame,
    obstag: pd.DataFrame,
    rcttag: pd.DataFrame,
    forgotten: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Test I/II/III (and validation) in CTAR's layout, plus notes on any shortfall.

    Parameters
    ----------
    liked : (U, V) bool, ``t in L_u``
    movie_tags : (M, K) int64
    rating, obstag, rcttag : DataFrames in CTAR's layout
    forgotten : DataFrame (userid, movieid, tagid), the liked tags left unwritten by the forget coin

    Returns
    -------
    tests : dict with ``test_1``, ``test_2``, ``test_3``, ``test`` and ``val_1``..``validation``
    notes : list of str
    """
    n_users, n_tags = liked.shape
    n_movies = movie_tags.shape[0]
    liked_flat = liked.ravel()
    notes: list[str] = []
    exact = config.test_exact_compat
    facts = extract_facts(obstag, rcttag, movie_tags, liked, n_tags)
    t1 = _test1_keys(forgotten, facts.keys, n_tags, exact, notes)
    exclude = _union(facts.keys, t1)
    ru = rating["userid"].to_numpy(np.int64)
    rm = rating["movieid"].to_numpy(np.int64)
    t2 = _fill_quota(_rated_drawer(ru, rm, movie_tags, n_tags, rng), exclude, liked_flat,
                     config.test_identifiable_n, config.test_identifiable_pos, config.test_max_rounds, not exact,
                     "Test II", notes, rng)
    # Test III: a tag on no movie the user rated, disjoint from the facts, Test I and Test II unless exact
    rated_pairs = unique_sorted(ru * n_movies + rm)
    rated_tags = unique_sorted(ru[:, None] * n_tags + movie_tags[rm])
    exclude3 = rated_tags if exact else _union(rated_tags, _union(exclude, t2))
    t3 = _fill_quota(_unrated_drawer(rated_pairs, movie_tags, n_users, n_tags, rng), exclude3, liked_flat,
                     config.test_inidentifiable_n, config.test_inidentifiable_pos, config.test_max_rounds, not exact,
                     "Test III", notes, rng)
    return _test_frames((t1, t2, t3), liked_flat, n_tags, config.validation_share, rng), notes
