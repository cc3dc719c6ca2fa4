"""Real and synthetic inputs of the CTAR generator, validated, and the kept catalogue.

Three sources give the same :class:`CatalogueInputs` (a (movie, tag, count) table and a mean
rating per movie on 1..5):

* :func:`load_ctar_original` — CTAR's own files ``movie_tag_ct.csv`` (movieid, tagid, tagCount)
  and ``movie_rating.csv`` (movieid, rating) (KID-22/CTAR, MIT).
* :func:`load_movielens` — a MovieLens folder: ``tags.csv`` (userId, movieId, tag, ...) is
  aggregated into (movie, tag) application counts (tag text stripped and lower-cased, names
  kept), ``ratings.csv`` (userId, movieId, rating, ...) into a per-movie mean with half stars
  rescaled to 1..5 by ``1 + (r - 0.5) * 4 / 4.5``, ``movies.csv`` (movieId, title, ...) gives titles.
* :func:`make_synthetic_inputs` — the offline default: a seeded catalogue with heavy-tailed
  popularity (``Pop ∝ (rank + 1)^-0.6``, lognormal jitter, matching the real files' decay), a
  Zipf tag vocabulary with readable names, a few movies with fewer than 8 tags (exercising the
  padding), and base ratings correlated with log popularity (about 0.2, as in the real top 1000).

Every reader raises :class:`CTARInputError` naming the file, the column and the line
(1 = header) of the first bad value; nothing is dropped silently: movies with tags but no
rating are left out of the ranking and counted in ``CatalogueInputs.notes``.

:func:`prepare_catalogue` then applies CTAR's steps 1-3: popularity ``Pop_m = sum_t c(m, t)``,
the top ``M`` movies sorted (column j = rank), tag popularity ``pi_t`` over the kept movies, and
each movie's top-``K`` tags by count (ties by tag id), padded by draws from ``pi`` without
replacement. Tag indices are CTAR's "reranked" ids: order of first appearance in the movies'
tag lists (then the remaining tags of ``pi``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.access import check_path, inside
from core.ctar.config import CTARConfig, CTARConfigError
from core.text import TEXT_SAMPLE_BYTES, not_text


class CTARInputError(ValueError):
    """An input file is missing or malformed; the message names file, column and line."""


@dataclass
class CatalogueInputs:
    """Movies, tags and base ratings before selection.

    Attributes
    ----------
    movie_tag : DataFrame (movieid int64, tagid int64, tagCount int64), one row per (movie, tag)
    movie_rating : DataFrame (movieid int64, rating float64 on 1..5)
    tag_names : dict tagid -> readable name (may be empty: names are then ``"tag <id>"``)
    movie_titles : dict movieid -> title (may be empty)
    source : str, where the inputs came from
    notes : list of str, what was left out and why
    """

    movie_tag: pd.DataFrame
    movie_rating: pd.DataFrame
    tag_names: dict[int, str] = field(default_factory=dict)
    movie_titles: dict[int, str] = field(default_factory=dict)
    source: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Catalogue:
    """The kept movies and tags (CTAR steps 1-3); arrays indexed by rank j and tag index t.

    Attributes
    ----------
    movie_source_ids : (M,) int64, movie ids in the inputs, by popularity rank
    popularity : (M,) float64, ``Pop_m``
    base_rating : (M,) float64, ``b_m``
    movie_tags : (M, K) int64, tag indices (rows in the order written to movie.csv)
    n_real_tags : (M,) int64, how many of the K tags are real (the rest padded from ``pi``)
    tag_source_ids : (V,) int64, tag ids in the inputs
    tag_names : (V,) object, readable names
    pi : (V,) float64, tag popularity over the kept movies, sums to 1
    movie_titles : (M,) object
    source : str
    """

    movie_source_ids: NDArray[np.int64]
    popularity: NDArray[np.float64]
    base_rating: NDArray[np.float64]
    movie_tags: NDArray[np.int64]
    n_real_tags: NDArray[np.int64]
    tag_source_ids: NDArray[np.int64]
    tag_names: NDArray[np.object_]
    pi: NDArray[np.float64]
    movie_titles: NDArray[np.object_]
    source: str = ""

    @property
    def n_movies(self) -> int:
        return int(self.movie_tags.shape[0])

    @property
    def n_tags(self) -> int:
        return int(self.pi.size)

    @property
    def movie_tag_mask(self) -> NDArray[np.bool_]:
        """(M, V) bool, ``t in T_m``."""
        mask = np.zeros((self.n_movies, self.n_tags), dtype=bool)
        np.put_along_axis(mask, self.movie_tags, True, axis=1)
        return mask


# ----------------------------------------------------------------------------- readers

def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise CTARInputError(f"{path}: file not found (expected columns {', '.join(columns)})")
    with open(path, "rb") as fh:
        head = fh.read(TEXT_SAMPLE_BYTES)
    if (why := not_text(head)) is not None:  # a binary (a gzip, random bytes) given the CSV's name
        raise CTARInputError(f"{path}: {why}")
    if not head.strip():
        raise CTARInputError(f"{path}: the file is empty (expected a header row with columns {', '.join(columns)})")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except UnicodeDecodeError:  # another encoding: where, and what to do (not Python's codec words)
        raise CTARInputError(f"{path}: line {_first_bad_line(path)}: not UTF-8 text; save it as UTF-8 and try "
                             "again") from None
    except Exception as exc:  # pandas raises several parser errors
        raise CTARInputError(f"{path}: not a readable CSV ({exc})") from exc
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CTARInputError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    if df.empty:
        raise CTARInputError(f"{path}: no data rows")
    return df


def _first_bad_line(path: Path) -> int:
    """The first line of ``path`` that is not UTF-8 (1-based; read line by line, only when pandas refused it)."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return 1


def _numeric(df: pd.DataFrame, path: Path, column: str, *, integer: bool, low: float | None = None,
             high: float | None = None) -> pd.Series:
    raw = df[column].str.strip()
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna().to_numpy().copy()
    if integer:
        bad |= ~np.isclose(values.fillna(0).to_numpy(), np.round(values.fillna(0).to_numpy()))
    if low is not None:
        bad |= (values < low).fillna(False).to_numpy()
    if high is not None:
        bad |= (values > high).fillna(False).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "an integer" if integer else "a number"
        rng = "" if low is None and high is None else f" in [{low}, {high}]"
        raise CTARInputError(
            f"{path}: column {column!r}, line {i + 2}: expected {kind}{rng}, got {df[column].iloc[i]!r}")
    return values.astype(np.int64) if integer else values.astype(np.float64)


def _check_duplicates(df: pd.DataFrame, path: Path, keys: list[str]) -> None:
    dup = df.duplicated(keys, keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        row = ", ".join(f"{k}={df[k].iloc[i]}" for k in keys)
        raise CTARInputError(f"{path}: columns {keys}, line {i + 2}: duplicate row ({row})")


def _finish(movie_tag: pd.DataFrame, movie_rating: pd.DataFrame, tag_names: dict[int, str],
            titles: dict[int, str], source: str) -> CatalogueInputs:
    rated = set(movie_rating["movieid"].tolist())
    tagged = movie_tag["movieid"].unique()
    unrated = [int(m) for m in tagged if m not in rated]
    notes = []
    if unrated:
        notes.append(f"{len(unrated)} tagged movie(s) have no rating and are left out of the ranking "
                     f"(e.g. movieid {unrated[:5]})")
        movie_tag = movie_tag[movie_tag["movieid"].isin(rated)].reset_index(drop=True)
    if movie_tag.empty:
        raise CTARInputError(f"{source}: no tagged movie has a rating")
    return CatalogueInputs(movie_tag, movie_rating, tag_names, titles, source, notes)


def load_ctar_original(folder: str | Path, roots: tuple[Path, ...] | None = None) -> CatalogueInputs:
    """Read CTAR's ``movie_tag_ct.csv`` and ``movie_rating.csv`` from ``folder``.

    ``roots`` (a page's read): each file, its links followed, must lie under one of them
    (:func:`core.access.inside`), else :class:`core.access.PathNotAllowedError`.

    Raises
    ------
    CTARInputError
        Missing file or column, a non-integer id or count, a negative count, a rating outside
        [1, 5], or a duplicate (movieid, tagid) / movieid row, naming file, column and line.
    """
    folder = Path(folder)
    path = inside(folder, "movie_tag_ct.csv", roots)
    raw = _read_csv(path, ("movieid", "tagid", "tagCount"))
    movie_tag = pd.DataFrame({
        "movieid": _numeric(raw, path, "movieid", integer=True, low=0),
        "tagid": _numeric(raw, path, "tagid", integer=True, low=0),
        "tagCount": _numeric(raw, path, "tagCount", integer=True, low=0),
    })
    _check_duplicates(movie_tag, path, ["movieid", "tagid"])
    rpath = inside(folder, "movie_rating.csv", roots)
    rraw = _read_csv(rpath, ("movieid", "rating"))
    movie_rating = pd.DataFrame({
        "movieid": _numeric(rraw, rpath, "movieid", integer=True, low=0),
        "rating": _numeric(rraw, rpath, "rating", integer=False, low=1, high=5),
    })
    _check_duplicates(movie_rating, rpath, ["movieid"])
    return _finish(movie_tag, movie_rating, {}, {}, f"CTAR original files in {folder}")


def rescale_half_stars(rating: NDArray[np.float64]) -> NDArray[np.float64]:
    """MovieLens 0.5..5 stars to CTAR's 1..5: ``1 + (r - 0.5) * 4 / 4.5``."""
    return 1.0 + (np.asarray(rating, dtype=float) - 0.5) * 4.0 / 4.5


def load_movielens(folder: str | Path, roots: tuple[Path, ...] | None = None) -> CatalogueInputs:
    """Aggregate a MovieLens folder (``ratings.csv``, ``tags.csv``, ``movies.csv``).

    Tag applications are counted per (movie, normalised tag text); tag ids are assigned in
    sorted order of the text and the names kept. Ratings (0.5..5) are averaged per movie and
    rescaled to 1..5. Movie ids in ``tags.csv``/``ratings.csv`` must exist in ``movies.csv``.
    ``roots``: as in :func:`load_ctar_original`.
    """
    folder = Path(folder)
    mpath = inside(folder, "movies.csv", roots)
    movies = _read_csv(mpath, ("movieId", "title"))
    movie_ids = _numeric(movies, mpath, "movieId", integer=True, low=0)
    movies = movies.assign(movieId=movie_ids)
    _check_duplicates(movies, mpath, ["movieId"])
    known = set(movie_ids.tolist())

    tpath = inside(folder, "tags.csv", roots)
    tags = _read_csv(tpath, ("userId", "movieId", "tag"))
    _numeric(tags, tpath, "userId", integer=True, low=0)
    tmovie = _numeric(tags, tpath, "movieId", integer=True, low=0)
    text = tags["tag"].str.strip().str.lower()
    empty = (text == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise CTARInputError(f"{tpath}: column 'tag', line {i + 2}: empty tag")
    unknown = ~tmovie.isin(known).to_numpy()
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise CTARInputError(f"{tpath}: column 'movieId', line {i + 2}: movie {tmovie.iloc[i]} not in {mpath.name}")

    rpath = inside(folder, "ratings.csv", roots)
    ratings = _read_csv(rpath, ("userId", "movieId", "rating"))
    _numeric(ratings, rpath, "userId", integer=True, low=0)
    rmovie = _numeric(ratings, rpath, "movieId", integer=True, low=0)
    stars = _numeric(ratings, rpath, "rating", integer=False, low=0.5, high=5)
    unknown = ~rmovie.isin(known).to_numpy()
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise CTARInputError(f"{rpath}: column 'movieId', line {i + 2}: movie {rmovie.iloc[i]} not in {mpath.name}")

    names = np.array(sorted(set(text.tolist())), dtype=object)
    tag_id = {name: i for i, name in enumerate(names)}
    apps = pd.DataFrame({"movieid": tmovie.to_numpy(), "tagid": text.map(tag_id).to_numpy()})
    movie_tag = apps.groupby(["movieid", "tagid"]).size().rename("tagCount").reset_index()
    movie_tag = movie_tag.astype({"movieid": np.int64, "tagid": np.int64, "tagCount": np.int64})
    mean = pd.Series(stars.to_numpy()).groupby(rmovie.to_numpy()).mean()
    movie_rating = pd.DataFrame({"movieid": mean.index.astype(np.int64), "rating": rescale_half_stars(mean.to_numpy())})
    titles = dict(zip(movie_ids.tolist(), movies["title"].tolist()))
    return _finish(movie_tag, movie_rating, {i: str(n) for i, n in enumerate(names)}, titles,
                   f"MovieLens folder {folder}")


def load_inputs(source: str | Path | None, roots: tuple[Path, ...] | None = None) -> CatalogueInputs:
    """``None`` or ``"synthetic"``: :func:`make_synthetic_inputs`; a folder: CTAR original files if
    ``movie_tag_ct.csv`` is there, else MovieLens (``tags.csv``). ``roots`` (a page's read): the
    folder and every file read in it, links followed, must lie under one of them."""
    if source is None or str(source) == "synthetic":
        return make_synthetic_inputs()
    folder = Path(source) if roots is None else check_path(source, roots)
    if not folder.is_dir():
        raise CTARInputError(f"{folder}: not a folder (expected CTAR's movie_tag_ct.csv or MovieLens' tags.csv)")
    if (folder / "movie_tag_ct.csv").exists():
        return load_ctar_original(folder, roots)
    if (folder / "tags.csv").exists():
        return load_movielens(folder, roots)
    raise CTARInputError(f"{folder}: neither movie_tag_ct.csv (CTAR) nor tags.csv (MovieLens) found")


# ----------------------------------------------------------------------------- synthetic

_ADJECTIVES = (
    "dark", "witty", "slow", "epic", "quirky", "tense", "gentle", "bleak", "heartwarming", "surreal",
    "gritty", "whimsical", "violent", "romantic", "cerebral", "campy", "melancholic", "uplifting",
    "stylish", "nostalgic", "absurd", "brooding", "feel-good", "twisty", "atmospheric", "raunchy",
    "poetic", "satirical", "suspenseful", "colourful", "minimalist", "operatic", "offbeat", "haunting",
    "playful", "intimate", "sprawling", "cynical", "tender", "frantic",
)
_NOUNS = (
    "comedy", "thriller", "romance", "drama", "western", "heist", "musical", "noir", "war story",
    "space opera", "time travel", "coming of age", "road movie", "courtroom", "biopic", "horror",
    "mystery", "fantasy", "satire", "family saga", "martial arts", "dystopia", "revenge", "spy story",
    "sports", "animation", "documentary", "cult classic", "monster movie", "period piece",
    "superhero", "zombies", "robots", "small town", "big city", "friendship", "first love",
    "family", "survival", "conspiracy",
)


def synthetic_tag_names(n_tags: int) -> list[str]:
    """``n_tags`` unique readable names (adjective + noun, then numbered variants)."""
    base = list(_NOUNS) + [f"{a} {n}" for a in _ADJECTIVES for n in _NOUNS]
    names = base[:n_tags]
    k = 2
    while len(names) < n_tags:
        names.extend(f"{b} {k}" for b in base[: n_tags - len(names)])
        k += 1
    return names


def make_synthetic_inputs(seed: int = 0, n_movies: int = 2000, n_tags: int = 1200,
                          tags_per_movie: int = 8, zipf_movies: float = 0.6, zipf_tags: float = 0.9,
                          short_share: float = 0.15) -> CatalogueInputs:
    """A seeded synthetic catalogue shaped like CTAR's real inputs (the offline default).

    * popularity ``Pop_m = 3e5 (r_m + 1)^-zipf_movies * LogNormal(0, 0.3)`` (heavy tail);
    * tag popularity ``pi_t ∝ (t + 1)^-zipf_tags`` over ``n_tags`` readable names;
    * each movie gets ``tags_per_movie`` tags (``short_share`` of them 2..7) drawn without
      replacement from ``pi`` (Gumbel-top-k), with counts ``Pop_m * share``, shares decreasing;
    * base rating ``b_m = clip(3.85 + 0.06 z(log Pop_m) + N(0, 0.3^2), 1, 5)``: corr ≈ 0.2
      with log popularity, mean/sd as CTAR's top 1000 (3.86 / 0.31).
    """
    if n_movies < 1 or n_tags < tags_per_movie:
        raise CTARConfigError(f"need n_movies >= 1 and n_tags >= tags_per_movie, got {n_movies}, {n_tags}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC7A2]))
    rank = rng.permutation(n_movies)
    pop = 3e5 * (rank + 1.0) ** (-zipf_movies) * rng.lognormal(0, 0.3, n_movies)
    log_pi = -zipf_tags * np.log(np.arange(n_tags) + 1.0)
    k = np.full(n_movies, tags_per_movie)
    short = rng.random(n_movies) < short_share
    k[short] = rng.integers(2, tags_per_movie, size=int(short.sum()))
    keys = log_pi[None, :] + rng.gumbel(size=(n_movies, n_tags))
    top = np.argsort(-keys, axis=1)[:, :tags_per_movie]
    shares = rng.dirichlet(np.ones(tags_per_movie) * 1.5, size=n_movies)
    shares = -np.sort(-shares, axis=1)
    keep = np.arange(tags_per_movie)[None, :] < k[:, None]
    counts = np.maximum(1, np.round(pop[:, None] * shares)).astype(np.int64)
    movie_tag = pd.DataFrame({"movieid": np.repeat(np.arange(n_movies), tags_per_movie)[keep.ravel()],
                              "tagid": top[keep], "tagCount": counts[keep]}).astype(np.int64)
    lp = np.log(pop)
    base = np.clip(3.85 + 0.06 * (lp - lp.mean()) / lp.std() + rng.normal(0, 0.3, n_movies), 1, 5)
    movie_rating = pd.DataFrame({"movieid": np.arange(n_movies, dtype=np.int64), "rating": base})
    names = synthetic_tag_names(n_tags)
    titles = {m: f"Synthetic movie {m}" for m in range(n_movies)}
    return CatalogueInputs(movie_tag, movie_rating, dict(enumerate(names)), titles,
                           f"synthetic catalogue (seed {seed}, {n_movies} movies, {n_tags} tags)")


# ----------------------------------------------------------------------------- selection

def _popular_movies(inputs: CatalogueInputs, n_movies: int) -> pd.DataFrame:
    """Step 1: the ``n_movies`` movies with the most tag applications (ties by id): ``movieid, pop``."""
    pop = inputs.movie_tag.groupby("movieid")["tagCount"].sum()
    order = pd.DataFrame({"movieid": pop.index.to_numpy(), "pop": pop.to_numpy()})
    order = order.sort_values(["pop", "movieid"], ascending=[False, True], kind="stable")
    if n_movies > len(order):
        raise CTARConfigError(f"n_movies={n_movies} exceeds the {len(order)} rated, tagged movies of "
                              f"{inputs.source}")
    return order.head(n_movies)


def _tag_popularity(sub: pd.DataFrame, config: CTARConfig) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Step 2: the kept movies' tags by total count (most first) and their popularity ``pi``."""
    tag_count = sub.groupby("tagid")["tagCount"].sum().sort_values(ascending=False, kind="stable")
    for name in ("tags_per_movie", "liked_max"):  # too few movies kept to carry that many tags: say which to change
        if getattr(config, name) > tag_count.size:
            raise CTARConfigError(f"{name}={getattr(config, name)} exceeds the {tag_count.size} tags of the "
                                  f"n_movies={config.n_movies} kept movies; raise n_movies or lower {name}")
    weights = tag_count.to_numpy(np.float64)
    pi_src = weights / weights.sum() if weights.sum() > 0 else np.full(weights.size, 1.0 / weights.size)
    return tag_count.index.to_numpy(np.int64), pi_src


def _top_real_tags(sub: pd.DataFrame, movie_ids: NDArray[np.int64], src_tags: NDArray[np.int64],
                   k: int) -> NDArray[np.int64]:
    """Step 3: each movie's top-``k`` real tags by count (ties by tag id), as indices into ``src_tags``; -1 pads."""
    rank_of = pd.Series(np.arange(movie_ids.size), index=movie_ids)
    src_index = pd.Series(np.arange(src_tags.size), index=src_tags)
    s = sub.assign(rank=rank_of.loc[sub["movieid"]].to_numpy(), t=src_index.loc[sub["tagid"]].to_numpy())
    s = s.sort_values(["rank", "tagCount", "tagid"], ascending=[True, False, True], kind="stable")
    s["pos"] = s.groupby("rank").cumcount()
    s = s[s["pos"] < k]
    tags = np.full((movie_ids.size, k), -1, dtype=np.int64)
    tags[s["rank"].to_numpy(), s["pos"].to_numpy()] = s["t"].to_numpy()
    return tags


def _pad_from_pi(tags: NDArray[np.int64], pi_src: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.int64]:
    """Fill the -1 slots of movies with fewer than K real tags from ``pi`` without replacement (excluding the
    movie's own tags), in place; returns the number of real tags per movie.

    Tags with ``pi = 0`` (a tag applied 0 times) have key ``-inf`` and come last, in any order; the movie's own
    tags are removed by id, not by key, so a movie never lists a tag twice even when the positive-weight tags
    run out.
    """
    k = tags.shape[1]
    n_real = (tags >= 0).sum(axis=1)
    short = np.flatnonzero(n_real < k)
    if short.size:
        with np.errstate(divide="ignore"):
            log_pi = np.log(pi_src)
        keys = log_pi[None, :] + rng.gumbel(size=(short.size, pi_src.size))
        for i, m in enumerate(short):
            need = k - n_real[m]
            order = np.argsort(-keys[i])
            tags[m, n_real[m]:] = order[~np.isin(order, tags[m, :n_real[m]])][:need]
    return n_real


def _rerank_tags(tags: NDArray[np.int64], n_tags: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Tag ids in first appearance in the movies' tag lists, then the rest of pi: ``(perm, new_of_old)``."""
    first = pd.unique(tags.ravel())
    rest = np.setdiff1d(np.arange(n_tags), first, assume_unique=False)
    perm = np.concatenate([first, rest])
    new_of_old = np.empty_like(perm)
    new_of_old[perm] = np.arange(perm.size)
    return perm, new_of_old


def prepare_catalogue(inputs: CatalogueInputs, config: CTARConfig, rng: np.random.Generator) -> Catalogue:
    """CTAR steps 1-3: keep the top ``n_movies`` by popularity, tag popularity, top-K tags per movie.

    Raises
    ------
    CTARConfigError
        ``n_movies`` above the rated, tagged movies available; ``tags_per_movie`` or
        ``liked_max`` above the tags of the kept movies.
    """
    kept = _popular_movies(inputs, config.n_movies)
    movie_ids = kept["movieid"].to_numpy(np.int64)
    sub = inputs.movie_tag[inputs.movie_tag["movieid"].isin(movie_ids)]
    src_tags, pi_src = _tag_popularity(sub, config)
    tags = _top_real_tags(sub, movie_ids, src_tags, config.tags_per_movie)
    n_real = _pad_from_pi(tags, pi_src, rng)
    perm, new_of_old = _rerank_tags(tags, src_tags.size)
    names = np.array([inputs.tag_names.get(int(t), f"tag {int(t)}") for t in src_tags[perm]], dtype=object)
    base = inputs.movie_rating.set_index("movieid")["rating"].reindex(movie_ids).to_numpy(np.float64)
    titles = np.array([inputs.movie_titles.get(int(m), f"movie {int(m)}") for m in movie_ids], dtype=object)
    return Catalogue(
        movie_source_ids=movie_ids,
        popularity=kept["pop"].to_numpy(np.float64),
        base_rating=base,
        movie_tags=new_of_old[tags],
        n_real_tags=n_real.astype(np.int64),
        tag_source_ids=src_tags[perm],
        tag_names=names,
        pi=pi_src[perm],
        movie_titles=titles,
        source=inputs.source,
    )
