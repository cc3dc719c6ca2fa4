from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.corpus.selection import display_sample, export_documents, ids_from_plotly_selection
from core.viz.corpus_map import LABEL_CHAR_PX, LABEL_HEIGHT_PX, PLOT_WIDTH_PX, make_corpus_map_figure


def _frame(n=30):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"doc_id": [f"d{i}" for i in range(n)], "text": [f"text <b>{i}</b>, \"q\"" for i in range(n)],
                         "source": ["s"] * n, "cluster": np.arange(n) % 3,
                         "x": rng.normal(size=n).astype(np.float32), "y": rng.normal(size=n).astype(np.float32)})


def test_selection_maps_through_custom_data_not_point_index():
    frame = _frame()
    fig = make_corpus_map_figure(frame)
    # simulate a box selection of point 0 of every trace: the same point_index means different documents
    points = []
    for curve, trace in enumerate(fig.data):
        points.append({"curve_number": curve, "point_index": 0, "point_number": 0,
                       "customdata": list(trace.customdata[0])})
    ids = ids_from_plotly_selection({"selection": {"points": points, "box": [], "lasso": []}})
    assert ids == ["d0", "d1", "d2"]
    for curve, trace in enumerate(fig.data):  # each trace holds only its cluster's ids
        assert {str(c[0]) for c in trace.customdata} == set(frame.loc[frame.cluster == curve, "doc_id"])


def test_selection_accepts_object_events_and_drops_missing_customdata():
    class Sel:
        points = [{"point_index": 3}, {"customdata": ["a", "snip"]}, {"customdata": "b"}, {"customdata": ["a"]}]

    class Event:
        selection = Sel()

    assert ids_from_plotly_selection(Event()) == ["a", "b"]
    assert ids_from_plotly_selection(None) == []
    assert ids_from_plotly_selection([]) == []


def test_export_jsonl_and_csv_round_trip():
    frame = _frame()
    data = export_documents(frame, ["d5", "d1", "nope"], "jsonl")
    rows = [json.loads(line) for line in data.decode().splitlines()]
    assert [r["doc_id"] for r in rows] == ["d1", "d5"]
    assert rows[0]["text"] == 'text <b>1</b>, "q"' and "x" not in rows[0] and rows[0]["cluster"] == 1
    back = pd.read_csv(io.BytesIO(export_documents(frame, ["d5", "d1"], "csv")))
    assert back["doc_id"].tolist() == ["d1", "d5"] and back["text"].iloc[1] == 'text <b>5</b>, "q"'
    with pytest.raises(ValueError, match="fmt"):
        export_documents(frame, [], "xml")


def test_export_writes_a_file_columns_blanks_as_json_null_and_empty_csv_cells():
    frame = pd.DataFrame({"doc_id": ["a", "b"], "text": ["x", "y"], "source": ["f:2", "f:3"], "cluster": [0, 1],
                          "x": [0.0, 1.0], "y": [0.0, 1.0], "year": pd.array([2001, None], dtype="Int64"),
                          "score": [0.5, np.nan], "label": pd.Series(["spam", None], dtype=object)})

    def strict(text: str) -> dict:
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))

    rows = [strict(line) for line in export_documents(frame, ["a", "b"], "jsonl").decode().splitlines()]
    assert rows[0] == {"doc_id": "a", "text": "x", "source": "f:2", "cluster": 0, "year": 2001, "score": 0.5,
                       "label": "spam"}
    assert (rows[1]["year"], rows[1]["score"], rows[1]["label"]) == (None, None, None)
    csv_rows = pd.read_csv(io.BytesIO(export_documents(frame, ["b"], "csv")))
    assert csv_rows[["year", "score", "label"]].isna().all(axis=None)


def test_display_sample_and_figure_note():
    assert (display_sample(10, 20, 0) == np.arange(10)).all()
    s = display_sample(1000, 100, 1)
    assert len(s) == 100 and len(set(s)) == 100 and (np.diff(s) > 0).all()
    assert (s == display_sample(1000, 100, 1)).all()
    frame = _frame(200)
    fig = make_corpus_map_figure(frame, max_points=50, highlight_ids=["d199"])
    assert fig.layout.meta["sampled"] and fig.layout.meta["shown"] == 50
    assert sum(len(t.x) for t in fig.data[:-1]) == 50
    assert fig.data[-1].name == "highlighted" and fig.data[-1].customdata[0][0] == "d199"


def test_hover_snippet_is_escaped():
    fig = make_corpus_map_figure(_frame(3))
    snippets = [c[1] for t in fig.data for c in t.customdata]
    assert all("<b>" not in s and "&lt;b&gt;" in s for s in snippets)


def test_region_selection_uses_full_data():
    from core.corpus.selection import ids_in_selected_region

    frame = pd.DataFrame({"doc_id": ["a", "b", "c", "d"], "x": [0.0, 1.2, 2.0, 0.5], "y": [0.0, 1.2, 2.0, 0.2]})
    box = {"selection": {"points": [], "box": [{"x": [1.5, -0.5], "y": [-1, 1.5]}], "lasso": []}}
    assert ids_in_selected_region(frame, box) == ["a", "b", "d"]
    tri = {"selection": {"points": [], "box": [], "lasso": [{"x": [-1, 3, -1], "y": [-1, -1, 3]}]}}
    assert ids_in_selected_region(frame, tri) == ["a", "d"]  # b (1.2, 1.2) lies beyond x + y = 2


def test_large_map_selection_is_every_row_inside_by_number_and_its_table_reads_those_rows():
    from types import SimpleNamespace

    from core.corpus.selection import rows_in_selected_region
    from core.corpus.views import large_selection_table

    rng = np.random.default_rng(0)
    xy = rng.uniform(-1, 1, (10_000, 2)).astype(np.float32)
    both = {"selection": {"points": [], "box": [{"x": [0.5, 0.0], "y": [0.0, 0.5]}],
                          "lasso": [{"x": [-1, -0.5, -1], "y": [-1, -1, -0.5]}]}}
    rows = rows_in_selected_region(xy, both)
    in_box = (xy[:, 0] >= 0) & (xy[:, 0] <= 0.5) & (xy[:, 1] >= 0) & (xy[:, 1] <= 0.5)
    in_corner = (xy[:, 0] + xy[:, 1] < -1.5)  # the lasso's triangle
    assert rows.tolist() == np.flatnonzero(in_box | in_corner).tolist() and len(rows) > 500
    assert len(rows_in_selected_region(xy, None)) == 0
    clicks = {"selection": {"points": [{"customdata": ["d1"]}]}}
    assert len(rows_in_selected_region(xy, clicks)) == 0  # clicks: no region
    lmap = SimpleNamespace(ids=np.array([f"d{i}" for i in range(10_000)], dtype=object),
                           labels=np.arange(10_000) % 7, texts=lambda r: [f"text {i}" for i in r],
                           columns=pd.DataFrame({"year": pd.array(np.arange(10_000) + 1000, dtype="Int64")}))
    table = large_selection_table(lmap, rows, limit=50)
    assert table["doc_id"].tolist() == [f"d{r}" for r in rows[:50]]
    assert table["cluster"].tolist() == (rows[:50] % 7).tolist() and table["text"].iloc[0] == f"text {rows[0]}"
    assert table["year"].tolist() == (rows[:50] + 1000).tolist()  # the file's own columns, of the same rows
    lmap.columns = pd.DataFrame(index=pd.RangeIndex(10_000))  # an index without columns (a folder, or format 4)
    assert list(large_selection_table(lmap, rows, limit=5).columns) == ["doc_id", "cluster", "text"]


def test_cluster_names_label_legend_and_escaped_hover():
    frame = _frame(6)
    clusters = sorted(int(c) for c in frame["cluster"].unique())
    names = {clusters[0]: "http, <server>"}
    fig = make_corpus_map_figure(frame, cluster_names=names)
    assert fig.data[0].name == f"{clusters[0]} · http, <server>"
    assert "http, &lt;server&gt;" in fig.data[0].hovertemplate and "<server>" not in fig.data[0].hovertemplate
    # unnamed clusters keep the plain label
    assert all(t.name == f"cluster {c}" for t, c in zip(fig.data[1:], clusters[1:]))


def test_on_map_labels_never_overlap_and_the_largest_clusters_keep_theirs():
    """Twelve clusters crowded round one point: the labels drawn do not cover each other, big ones win."""
    rng = np.random.default_rng(1)
    n = 1200
    cluster = np.arange(n) % 12
    frame = pd.DataFrame({"doc_id": [f"d{i}" for i in range(n)], "text": ["t"] * n, "source": ["s"] * n,
                          "cluster": cluster, "x": rng.normal(size=n) * 0.05 + (cluster == 11) * 40.0,
                          "y": rng.normal(size=n) * 0.05})
    frame = frame[(frame.cluster > 0) | (frame.index < 600)]  # cluster 0 is the largest (all its rows kept)
    frame = pd.concat([frame, frame[frame.cluster == 0]])
    names = {c: f"keyword{c}, other{c}" for c in range(12)}
    fig = make_corpus_map_figure(frame, cluster_names=names, height=500)
    labels = fig.layout.annotations
    assert 3 <= len(labels) < 12  # the centroid and one line above and below: three fit, the rest are left out
    texts = {a.text for a in labels}
    assert "keyword0, other0" in texts and "keyword11, other11" in texts  # largest, and the one far away
    per_px_x = float(frame.x.max() - frame.x.min()) / PLOT_WIDTH_PX
    per_px_y = float(frame.y.max() - frame.y.min()) / 500
    boxes = [(a.x, a.y, len(a.text) * LABEL_CHAR_PX * per_px_x / 2) for a in labels]
    for i, (x1, y1, w1) in enumerate(boxes):
        for x2, y2, w2 in boxes[i + 1:]:  # apart in x by their half widths, or in y by a line
            assert abs(x1 - x2) >= w1 + w2 or abs(y1 - y2) >= LABEL_HEIGHT_PX * per_px_y * 0.999


def test_large_map_figure_is_one_trace_coloured_by_cluster():
    """200 clusters, 20,000 points: one WebGL trace (not 200), each point its cluster's colour, ids on hover."""
    from core.viz.corpus_map import make_large_map_figure

    rng = np.random.default_rng(0)
    n = 20_000
    drawn = pd.DataFrame({"doc_id": [f"doc{i}" for i in range(n)], "cluster": rng.integers(0, 200, n),
                          "x": rng.normal(size=n), "y": rng.normal(size=n)})
    fig = make_large_map_figure(drawn, {c: f"kw{c}, other{c}" for c in range(200)})
    assert len(fig.data) == 1 and fig.data[0].type == "scattergl" and len(fig.data[0].x) == n
    colours = list(fig.data[0].marker.color)
    same = drawn.groupby("cluster").indices
    assert all(len({colours[i] for i in rows}) == 1 for rows in same.values())  # one colour per cluster
    assert len({colours[rows[0]] for rows in same.values()}) > 20  # and clusters told apart
    assert fig.data[0].text[7] == "doc7" and 0 < len(fig.layout.annotations) < 200  # crowded labels left out
    per_cluster = make_corpus_map_figure(drawn.assign(text="a sentence of a document " * 8, source=""), max_points=n)
    assert len(fig.to_json()) < len(per_cluster.to_json()) / 3  # what the browser parses on open
