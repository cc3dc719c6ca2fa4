"""What the Corpus map's WebGL map draws (core.viz.map_view): colour by any column, rows and ids, neighbours."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.corpus.encoders import HashingEncoder
from core.corpus.mapping import MapSettings, build_corpus_map
from core.viz.map_view import color_columns, coloring, large_view, map_view, nearest_neighbours, rows_of
from core.viz.webgl_map import MISSING_COLOR, SEQUENTIAL, LegendEntry, cluster_colors, column_coloring
from tests.corpus._mapdata import topic_corpus


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"doc_id": ["a", "b", "c", "d"], "text": ["x", "<b>bold</b> " * 5, "zz", "y"],
                         "source": ["s1", "s2", "s1", "s1"], "cluster": [0, 1, 1, 0],
                         "x": [0.0, 1.0, np.nan, 2.0], "y": [0.0, 1.0, 1.0, 2.0]})


def test_colour_by_cluster_source_or_length_and_unknown_columns_are_named():
    frame = _frame()
    view = map_view(frame, "source", {0: "zero", 1: "one"})
    assert view.points.n == 3 and view.points.note.startswith("1 of 4 points not drawn")  # NaN dropped, counted
    assert [(e.name, e.count) for e in view.coloring.legend] == [("s1", 3), ("s2", 1)]
    assert view.points.z.tolist() == [0.0, 1.0, 0.0]  # rows a, b, d
    assert view.hover[1].startswith("b · cluster 1: <b>bold</b>")  # raw text: the browser shows it as text
    assert [e.name for e in map_view(frame, "cluster", {1: "one"}).coloring.legend] == ["0", "1 · one"]
    assert len(coloring(frame, "length (characters)").legend) >= 2
    with pytest.raises(ValueError, match="cannot colour the map by 'x'; choose one of cluster, source"):
        coloring(frame, "x")


def test_many_categories_keep_the_most_frequent_and_numbers_are_binned():
    values = ["common"] * 50 + [f"rare{i}" for i in range(30)]
    c = column_coloring(values, max_categories=5)
    assert c.legend[0].name == "common" and c.legend[-1].name == "other" and len(c.legend) == 5
    assert sum(e.count for e in c.legend) == 80 and c.codes.max() == 4
    n = column_coloring(np.arange(100, dtype=float))
    assert len(n.legend) == 6 and np.bincount(n.codes).tolist() == [e.count for e in n.legend]
    assert n.legend[0].color != n.legend[-1].color


def test_rows_of_ids_and_nearest_neighbours_leave_the_document_out():
    corpus, _ = topic_corpus(90, seed=2)
    cmap = build_corpus_map(corpus, MapSettings(encoder_name="hashing-64", k=4, seed=0), encoder=HashingEncoder(64))
    frame = cmap.documents_frame()
    assert rows_of(frame, ["doc5", "nope", "doc2"]).tolist() == [2, 5]
    near = nearest_neighbours(cmap, "doc5", n=6)
    assert len(near) == 6 and "doc5" not in set(near["doc_id"]) and near["score"].is_monotonic_decreasing
    emb = cmap.embeddings / np.linalg.norm(cmap.embeddings, axis=1, keepdims=True)
    best = np.argsort(-(emb @ emb[5]))[1:7]  # brute force: the same six
    assert set(near["doc_id"]) == {f"doc{i}" for i in best}
    with pytest.raises(ValueError, match="no document 'nope'"):
        nearest_neighbours(cmap, "nope")


def test_a_map_whose_hover_texts_changed_gets_a_new_version():
    # another number of clusters: same layout and, coloured by source, same colours; the browser keeps hover texts
    # until the version changes, so texts naming the old clusters must change the version
    frame = _frame()
    other = frame.assign(cluster=[1, 0, 0, 2])
    for column in ("source", "length (characters)", "doc_id"):
        assert map_view(frame, column).points.version == map_view(frame, column).points.version
        assert map_view(frame, column).points.version != map_view(other, column).points.version


def _with_file_columns() -> pd.DataFrame:
    """The frame of a corpus whose file had ``year`` (one blank) and ``label`` columns."""
    return _frame().assign(year=pd.array([2001, 1999, None, 2020], dtype="Int64"),
                           label=pd.Series(["spam", None, "ham", "spam"], dtype=object))


def test_a_numeric_file_column_is_a_low_to_high_scale_named_with_its_range_and_blanks_are_grey():
    frame = _with_file_columns()
    assert color_columns(frame) == ["cluster", "source", "year", "label", "doc_id", "length (characters)"]
    view = map_view(frame, "year")
    legend = view.coloring.legend
    assert [(e.name, e.count) for e in legend] == [("1999", 1), ("2001", 1), ("2020", 1), ("missing", 1)]
    assert [e.color for e in legend[:3]] == [SEQUENTIAL[0], SEQUENTIAL[round(2.5)], SEQUENTIAL[-1]]  # low to high
    assert legend[-1].color == MISSING_COLOR and view.title == "year, 1999 – 2020"
    assert view.note == "1 document has no year: drawn grey, as “missing” in the legend."
    assert view.points.z.tolist() == [1.0, 0.0, 2.0]  # rows a, b, d (c's coordinates are NaN)
    many = column_coloring(pd.array(list(range(100)) + [None], dtype="Int64"))
    assert len(many.legend) == 7 and many.span == "0 – 99" and many.legend[0].name == "0 – 16"  # whole numbers
    assert many.codes[-1] == 6 and many.legend[-1].name == "missing"


def test_a_text_file_column_is_categories_with_other_and_missing_kept_apart():
    view = map_view(_with_file_columns(), "label")
    assert [(e.name, e.count, e.color == MISSING_COLOR) for e in view.coloring.legend] == [
        ("spam", 2, False), ("ham", 1, False), ("missing", 1, True)]
    assert view.title == "label" and view.note.startswith("1 document has no label")
    values = ["common"] * 50 + [f"rare{i}" for i in range(30)] + [None] * 5
    c = column_coloring(values, max_categories=5)
    assert [e.name for e in c.legend] == ["common", "rare0", "rare1", "rare2", "other", "missing"]
    assert c.legend[-2].color != c.legend[-1].color == MISSING_COLOR and c.missing == 5


def test_hover_shows_the_file_columns_coloured_one_first_and_only_for_a_file_that_has_them():
    frame = _with_file_columns()
    assert map_view(frame, "label").hover[1] == "b · cluster 1 · no label · year 1999: <b>bold</b> <b>bold</b> " \
                                               "<b>bold</b> <b>bold</b> <b>bold</b>"
    assert map_view(frame, "cluster").hover[0] == "a · cluster 0 · year 2001 · label spam: x"
    assert map_view(_frame(), "cluster").hover[0] == "a · cluster 0: x"  # without file columns: as before


def _fake_large_index():
    """What :func:`large_view` reads of a large index: coordinates, clusters, ``k`` and the file's own columns."""
    xy = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 1.0], [3.0, 0.0]])
    columns = pd.DataFrame({"year": pd.array([2001, None, 1999, 2001], dtype="Int64")})
    return SimpleNamespace(xy=xy, labels=np.array([0, 1, 1, 2]), meta={"k": 3}, columns=columns)


def test_large_view_colours_by_cluster_or_by_a_column_with_legend_title_and_note():
    lmap = _fake_large_index()
    legend = [LegendEntry(c, f"c{c}", "#000", 1) for c in range(3)]
    by_cluster = large_view(lmap, "cluster", legend)
    assert by_cluster.points.z.tolist() == [0, 1, 1, 2] and by_cluster.colors == cluster_colors(3)
    assert by_cluster.legend == legend and (by_cluster.title, by_cluster.note) == ("cluster", "")
    by_year = large_view(lmap, "year", legend)
    assert [e.name for e in by_year.legend] == ["1999", "2001", "missing"]
    assert by_year.points.z.tolist() == [1, 2, 0, 1] and by_year.colors == [e.color for e in by_year.legend]
    assert by_year.title == "year, 1999 – 2001" and by_year.note.startswith("1 document has no year")
    assert by_year.points.x.tolist() == by_cluster.points.x.tolist()  # the same points, coloured otherwise
    with pytest.raises(ValueError, match="choose one of cluster, year"):
        large_view(lmap, "label", legend)
