"""What the Corpus map's WebGL map draws (core.viz.map_view): colour by any column, rows and ids, neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.corpus.encoders import HashingEncoder
from core.corpus.mapping import MapSettings, build_corpus_map
from core.viz.map_view import coloring, map_view, nearest_neighbours, rows_of
from core.viz.webgl_map import column_coloring
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
