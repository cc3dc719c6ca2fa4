from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.ctar.config import CTARConfig, CTARConfigError
from core.ctar.inputs import (
    CatalogueInputs,
    CTARInputError,
    load_ctar_original,
    load_inputs,
    load_movielens,
    make_synthetic_inputs,
    prepare_catalogue,
    rescale_half_stars,
)
from tests.ctar.conftest import small_config

TAGS = "movieid,tagid,tagCount\n0,0,10\n0,1,5\n1,1,7\n1,2,3\n2,0,1\n"
RATINGS = "movieid,rating\n0,4.5\n1,3.0\n2,2.0\n"


def _write(folder, tags=TAGS, ratings=RATINGS):
    (folder / "movie_tag_ct.csv").write_text(tags)
    (folder / "movie_rating.csv").write_text(ratings)
    return folder


def test_original_format_reads_and_ranks(tmp_path):
    inp = load_ctar_original(_write(tmp_path))
    assert len(inp.movie_tag) == 5 and inp.movie_rating["rating"].tolist() == [4.5, 3.0, 2.0]
    cat = prepare_catalogue(
        inp,
        small_config(n_movies=3, tags_per_movie=2, liked_min=1, liked_max=2, rct_movies=2),
        np.random.default_rng(0),
    )
    assert cat.movie_source_ids.tolist() == [0, 1, 2]  # popularity 15, 10, 1
    assert cat.popularity.tolist() == [15, 10, 1]
    assert cat.n_real_tags.tolist() == [2, 2, 1]  # movie 2 padded from pi
    assert len(set(cat.movie_tags[2])) == 2
    np.testing.assert_allclose(cat.pi.sum(), 1)


@pytest.mark.parametrize(
    "tags, ratings, fragment",
    [
        ("movieid,tag,tagCount\n0,0,1\n", RATINGS, "missing column"),
        ("movieid,tagid,tagCount\n0,0,1\n0,x,2\n", RATINGS, "column 'tagid', line 3"),
        ("movieid,tagid,tagCount\n0,0,1\n0,1,-4\n", RATINGS, "column 'tagCount', line 3"),
        ("movieid,tagid,tagCount\n0,0,1.5\n", RATINGS, "column 'tagCount', line 2"),
        ("movieid,tagid,tagCount\n0,0,1\n0,0,2\n", RATINGS, "line 3: duplicate"),
        ("movieid,tagid,tagCount\n", RATINGS, "no data rows"),
        (TAGS, "movieid,rating\n0,4.5\n1,7\n", "column 'rating', line 3"),
        (TAGS, "movieid,rating\n0,4.5\n0,3\n", "duplicate"),
        (TAGS, "movieid,score\n0,4\n", "missing column"),
        (TAGS, "movieid,rating\n9,4\n", "no tagged movie has a rating"),
    ],
)
def test_original_format_bad_inputs_name_file_column_line(tmp_path, tags, ratings, fragment):
    _write(tmp_path, tags, ratings)
    with pytest.raises(CTARInputError, match=fragment) as err:
        load_ctar_original(tmp_path)
    assert ".csv" in str(err.value) or "no tagged movie" in str(err.value)


def test_missing_file_is_named(tmp_path):
    (tmp_path / "movie_tag_ct.csv").write_text(TAGS)
    with pytest.raises(CTARInputError, match="movie_rating.csv: file not found"):
        load_ctar_original(tmp_path)
    with pytest.raises(CTARInputError, match="neither"):
        load_inputs(_empty(tmp_path))


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_unrated_movies_are_reported_not_silently_dropped(tmp_path):
    inp = load_ctar_original(_write(tmp_path, ratings="movieid,rating\n0,4\n1,3\n"))
    assert any("no rating" in n for n in inp.notes)
    assert set(inp.movie_tag["movieid"]) == {0, 1}


def _movielens(folder, tags=None, ratings=None, movies=None):
    (folder / "movies.csv").write_text(movies or "movieId,title,genres\n1,A,x\n2,B,y\n3,C,z\n")
    (folder / "tags.csv").write_text(
        tags or "userId,movieId,tag,timestamp\n1,1,Funny,0\n2,1, funny ,0\n1,2,dark,0\n3,1,dark,0\n"
    )
    (folder / "ratings.csv").write_text(
        ratings or "userId,movieId,rating,timestamp\n1,1,5,0\n2,1,0.5,0\n1,2,3,0\n1,3,4,0\n"
    )
    return folder


def test_movielens_aggregates_counts_names_and_rescales(tmp_path):
    inp = load_inputs(_movielens(tmp_path))
    assert inp.tag_names == {0: "dark", 1: "funny"}
    counts = {(int(r.movieid), inp.tag_names[int(r.tagid)]): int(r.tagCount) for r in inp.movie_tag.itertuples()}
    assert counts == {(1, "funny"): 2, (1, "dark"): 1, (2, "dark"): 1}
    mean = inp.movie_rating.set_index("movieid")["rating"]
    assert mean.loc[1] == pytest.approx(rescale_half_stars(2.75))
    assert rescale_half_stars(0.5) == 1 and rescale_half_stars(5) == 5
    assert inp.movie_titles[2] == "B"


@pytest.mark.parametrize(
    "kw, fragment",
    [
        ({"tags": "userId,movieId,tag\n1,1,   \n"}, "tags.csv: column 'tag', line 2: empty tag"),
        ({"tags": "userId,movieId,tag\n1,9,x\n"}, "tags.csv: column 'movieId', line 2: movie 9 not in movies.csv"),
        ({"ratings": "userId,movieId,rating\n1,1,6\n"}, "ratings.csv: column 'rating', line 2"),
        ({"ratings": "userId,movieId,rating\n1,7,4\n"}, "ratings.csv: column 'movieId', line 2"),
        ({"ratings": "userId,movieId\n1,1\n"}, "ratings.csv: missing column"),
        ({"movies": "movieId,title\n1,A\n1,B\n"}, "movies.csv: columns \\['movieId'\\], line 3: duplicate"),
    ],
)
def test_movielens_bad_inputs(tmp_path, kw, fragment):
    with pytest.raises(CTARInputError, match=fragment):
        load_movielens(_movielens(tmp_path, **kw))


def test_synthetic_catalogue_is_seeded_heavy_tailed_and_readable():
    a, b = (
        make_synthetic_inputs(seed=4, n_movies=500, n_tags=300),
        make_synthetic_inputs(seed=4, n_movies=500, n_tags=300),
    )
    assert a.movie_tag.equals(b.movie_tag) and a.movie_rating.equals(b.movie_rating)
    assert not a.movie_tag.equals(make_synthetic_inputs(seed=5, n_movies=500, n_tags=300).movie_tag)
    pop = a.movie_tag.groupby("movieid")["tagCount"].sum().sort_values(ascending=False).to_numpy()
    assert pop[0] / np.median(pop) > 5  # heavy tail
    assert len(set(a.tag_names.values())) == 300 and all(" " in n or n.isalpha() for n in a.tag_names.values())
    base = a.movie_rating.set_index("movieid")["rating"].reindex(a.movie_tag.groupby("movieid")["tagCount"].sum().index)
    corr = np.corrcoef(np.log(a.movie_tag.groupby("movieid")["tagCount"].sum()), base)[0, 1]
    assert 0.05 < corr < 0.5
    assert (a.movie_tag.groupby("movieid").size() < 8).any()  # some movies need padding


def test_catalogue_refuses_sizes_the_inputs_cannot_give(synthetic_inputs):
    with pytest.raises(CTARConfigError, match="n_movies=5000"):
        prepare_catalogue(synthetic_inputs, small_config(n_movies=5000), np.random.default_rng(0))
    tiny = make_synthetic_inputs(seed=0, n_movies=50, n_tags=12)
    with pytest.raises(CTARConfigError, match="liked_max"):
        prepare_catalogue(tiny, small_config(n_movies=50, rct_movies=5), np.random.default_rng(0))


def test_padding_never_repeats_a_movies_own_tag_when_positive_tags_run_out():
    # tag 7 was applied 0 times (pi = 0): movie 1 (tag 0 only) needs 7 more tags, and only 6 others have pi > 0,
    # so padding reaches the pi = 0 keys (-inf), where it used to re-pick the movie's own tag 0 among them
    mt = pd.DataFrame({"movieid": [0] * 8 + [1], "tagid": list(range(8)) + [0],
                       "tagCount": [9, 8, 7, 6, 5, 4, 3, 0] + [5]}).astype("int64")
    inputs = CatalogueInputs(mt, pd.DataFrame({"movieid": [0, 1], "rating": [3.5, 3.0]}), source="tiny")
    cfg = CTARConfig(n_users=4, n_movies=2, tags_per_movie=8, liked_min=1, liked_max=2, rct_users=1, rct_movies=1,
                     test_identifiable_n=0, test_identifiable_pos=0, test_inidentifiable_n=0,
                     test_inidentifiable_pos=0)
    for seed in range(20):
        cat = prepare_catalogue(inputs, cfg, np.random.default_rng(seed))
        assert all(len(set(row.tolist())) == 8 for row in cat.movie_tags), (seed, cat.movie_tags.tolist())



@pytest.mark.parametrize(
    "ratings, fragment",
    [
        (bytes(range(256)) * 8, r"movie_rating\.csv: it holds binary data \(NUL bytes\), not text: save or export"),
        (b"movieid,rating\n0,4.5\n" + "1,3.0 caf\u00e9\n".encode("latin-1") * 3,
         r"movie_rating\.csv: line 3: not UTF-8 text; save it as UTF-8 and try again$"),
        (b"", r"movie_rating\.csv: the file is empty \(expected a header row with columns movieid, rating\)$"),
    ],
)
def test_a_binary_empty_or_non_utf8_input_says_what_it_is_and_what_to_do(tmp_path, ratings, fragment):
    """Found on the CTAR generator page (Folder): random bytes named ratings.csv read "not a readable CSV ('utf-8'
    codec can't decode byte 0xe9 in position 1: invalid continuation byte)", Python's words and nothing to do; an
    empty movies.csv read "not a readable CSV (No columns to parse from file)"."""
    _write(tmp_path)
    (tmp_path / "movie_rating.csv").write_bytes(ratings)
    with pytest.raises(CTARInputError, match=fragment):
        load_ctar_original(tmp_path)
