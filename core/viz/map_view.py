"""What the Corpus map's WebGL map draws for one view, computed here so the page only places it.

Pure functions over a :class:`~core.corpus.mapping.CorpusMap` and its ``documents_frame``
(columns ``doc_id, text, source, cluster, x, y``): the columns a map can be coloured by, the
points with their colour codes and hover texts, ids to rows and back, and a clicked document's
nearest neighbours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.corpus.columns import file_columns_of
from core.viz.webgl_map import (
    MISSING,
    Coloring,
    LegendEntry,
    MapPoints,
    cluster_coloring,
    cluster_colors,
    column_coloring,
    prepare_points,
    short_text,
)

LENGTH = "length (characters)"
NEIGHBOURS = 10


def color_columns(frame: pd.DataFrame) -> list[str]:
    """The columns the map can be coloured by: the cluster first, then every other column but the
    coordinates and the text (its length instead).

    >>> color_columns(pd.DataFrame(columns=["doc_id", "text", "source", "cluster", "x", "y", "year"]))
    ['cluster', 'source', 'year', 'doc_id', 'length (characters)']
    """
    rest = [c for c in frame.columns if c not in ("cluster", "x", "y", "text", "doc_id")]
    return ["cluster", *rest, "doc_id", LENGTH]


def coloring(frame: pd.DataFrame, column: str, names: Mapping[int, str] | None = None) -> Coloring:
    """Colour codes and legend for ``column`` (:func:`color_columns`; the cluster's legend names each cluster
    by ``names``). An unknown column is a ``ValueError`` naming the ones there are."""
    if column == "cluster":
        return cluster_coloring(frame["cluster"].to_numpy(), names)
    if column == LENGTH:
        return column_coloring(frame["text"].str.len().to_numpy(dtype=np.float64))
    if column not in frame.columns or column in ("x", "y", "text"):
        raise ValueError(f"cannot colour the map by {column!r}; choose one of {', '.join(color_columns(frame))}")
    return column_coloring(frame[column])


@dataclass(frozen=True)
class MapView:
    """The points of one colouring (``points.z`` the codes), its legend, one hover text per document, the legend's
    ``title`` (the column, and a numeric column's range) and a ``note`` on rows drawn grey for want of a value."""

    points: MapPoints
    coloring: Coloring
    hover: list[str]
    title: str = "cluster"
    note: str = ""


HOVER_VALUE_CHARS = 40  # one column's value in a hover text
HOVER_VALUES_CHARS = 160  # all of them together


def _value_words(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row, the ``columns``' values in words: ``"year 2001 · no label"`` (each value and the whole cut short)."""
    parts = []
    for name in columns:
        values = frame[name].astype(object)
        parts.append(values.map(lambda v, name=name: f"no {name}" if pd.isna(v)
                                else f"{name} {short_text(v, HOVER_VALUE_CHARS)}"))
    joined = parts[0].str.cat(parts[1:], sep=" · ") if len(parts) > 1 else parts[0]
    return joined.map(lambda t: short_text(t, HOVER_VALUES_CHARS))


def hover_texts(frame: pd.DataFrame, column: str = "cluster") -> list[str]:
    """One hover text per row: ``"<id> · cluster <c>: <text>"``, with the corpus file's own columns' values after
    the cluster (``column`` first when it is one of them).

    >>> f = pd.DataFrame({"doc_id": ["a"], "text": ["hi"], "source": ["f:2"], "cluster": [3], "x": [0.0],
    ...                   "y": [0.0], "year": pd.array([None], dtype="Int64"), "label": ["spam"]})
    >>> hover_texts(f, "label"), hover_texts(f.drop(columns=["year", "label"]))
    (['a · cluster 3 · label spam · no year: hi'], ['a · cluster 3: hi'])
    """
    head = frame["doc_id"].astype(str) + " · cluster " + frame["cluster"].astype(str)
    extra = file_columns_of(frame)
    if extra:
        ordered = sorted(extra, key=lambda c: c != column)  # stable: the coloured column first, the rest in order
        head = head + " · " + _value_words(frame, ordered)
    return (head + ": " + frame["text"].map(short_text)).tolist()


def _title_and_note(frame: pd.DataFrame, column: str, colors: Coloring) -> tuple[str, str]:
    """The legend's title (``"year, 1990 – 2020"``) and what the page says of rows without a value."""
    title = f"{column}, {colors.span}" if colors.span else column
    if not colors.missing:
        return title, ""
    rows = f"{colors.missing:,} of {len(frame):,} documents have" if colors.missing > 1 else "1 document has"
    return title, f"{rows} no {column}: drawn grey, as “{MISSING}” in the legend."


def map_view(frame: pd.DataFrame, column: str = "cluster", names: Mapping[int, str] | None = None) -> MapView:
    """The map of ``frame`` coloured by ``column``; hover texts :func:`hover_texts`."""
    colors = coloring(frame, column, names)
    hover = hover_texts(frame, column)
    texts = hashlib.blake2b("\n".join(hover).encode("utf-8", "replace"), digest_size=8).hexdigest()
    points = prepare_points(frame["x"].to_numpy(), frame["y"].to_numpy(), colors.codes, salt=texts)
    return MapView(points, colors, hover, *_title_and_note(frame, column, colors))


def rows_of(frame: pd.DataFrame, ids: Iterable[str]) -> NDArray[np.int64]:
    """The frame rows of the document ``ids`` (unknown ids left out), ascending.

    >>> rows_of(pd.DataFrame({"doc_id": ["a", "b", "c"]}), ["c", "a", "zz"]).tolist()
    [0, 2]
    """
    where = pd.Index(frame["doc_id"]).get_indexer(pd.Index(list(ids), dtype=object))
    return np.unique(where[where >= 0]).astype(np.int64)


def ids_of(frame: pd.DataFrame, rows: Iterable[int]) -> list[str]:
    """The document ids of frame ``rows``, in that order."""
    return frame["doc_id"].iloc[np.asarray(list(rows), dtype=np.int64)].astype(str).tolist()


def nearest_neighbours(cmap, doc_id: str, n: int = NEIGHBOURS) -> pd.DataFrame:
    """The ``n`` documents nearest ``doc_id`` in the map's embedding space (cosine), best first: columns
    ``doc_id, score, cluster, text``; the document itself is left out."""
    frame = cmap.documents_frame()
    row = rows_of(frame, [doc_id])
    if not len(row):
        raise ValueError(f"no document {doc_id!r} on this map")
    hits = cmap.search(np.asarray(cmap.embeddings[int(row[0])], dtype=np.float32), top_n=n + 1)
    hits = hits[hits["doc_id"] != doc_id].head(n)
    return hits.merge(frame[["doc_id", "text"]], on="doc_id")


def cluster_rows(frame: pd.DataFrame, cluster: int | None) -> NDArray[np.int64]:
    """The rows of ``cluster`` (none for ``None``): the map highlights them.

    >>> cluster_rows(pd.DataFrame({"cluster": [1, 0, 1]}), 1).tolist(), cluster_rows(pd.DataFrame(), None).tolist()
    ([0, 2], [])
    """
    if cluster is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(frame["cluster"].to_numpy() == int(cluster)).astype(np.int64)


def large_color_columns(lmap) -> list[str]:
    """What a large index (:class:`core.corpus.stream.LargeMap`) can be coloured by: the cluster, then its corpus
    file's own columns (:attr:`~core.corpus.stream.LargeMap.columns`)."""
    return ["cluster", *(str(c) for c in lmap.columns.columns)]


def large_coloring(lmap, column: str) -> tuple[Coloring, str, str]:
    """A large index coloured by one of its file's own ``column``: the colour codes and legend of the Corpus map's
    own colouring (:func:`coloring`: numbers low to high, text by its most frequent values, no value grey), the
    legend's title and the note on rows without a value. An unknown column is a ``ValueError`` naming the ones
    there are."""
    frame = lmap.columns
    if column not in frame.columns:
        raise ValueError(f"cannot colour the map by {column!r}; choose one of {', '.join(large_color_columns(lmap))}")
    colors = coloring(frame, column)
    return (colors, *_title_and_note(frame, column, colors))


@dataclass(frozen=True)
class LargeView:
    """What the Large corpus page draws for one "Colour by" choice: the ``points`` (``points.z`` the colour codes),
    one colour per code, the legend's entries and ``title``, and a ``note`` on documents drawn grey for want of a
    value (``""`` when none)."""

    points: MapPoints
    colors: list[str]
    legend: list[LegendEntry]
    title: str = "cluster"
    note: str = ""


def large_view(lmap, column: str, cluster_legend: Sequence[LegendEntry]) -> LargeView:
    """A large index (:class:`core.corpus.stream.LargeMap`) coloured by ``column``: ``"cluster"`` (its clusters'
    colours and ``cluster_legend``, :func:`index_view`'s) or one of its file's own columns (:func:`large_coloring`;
    an unknown one is a ``ValueError``)."""
    x, y = lmap.xy[:, 0], lmap.xy[:, 1]
    if column == "cluster":
        return LargeView(prepare_points(x, y, lmap.labels), cluster_colors(int(lmap.meta["k"])), list(cluster_legend))
    colors, title, note = large_coloring(lmap, column)
    return LargeView(prepare_points(x, y, colors.codes), colors.colors, colors.legend, title, note)


def large_hover_text(lmap, row: int, column: str = "cluster") -> str:
    """The hover text of ``row`` of a large index: its file's own values (``column`` first; ``"year 2001 · no
    label"``, as the Corpus map's hover shows them), then its text read from disk."""
    text = lmap.texts([int(row)])[0]
    names = [str(c) for c in lmap.columns.columns]
    if not names:
        return text
    values = _value_words(lmap.columns.iloc[[int(row)]], sorted(names, key=lambda c: c != column))
    return f"{values.iloc[0]}: {text}"


def index_view(lmap) -> tuple[list, list[LegendEntry]]:
    """Labels by zoom and the legend entries of a large index (:class:`core.corpus.stream.LargeMap`), by its
    clusters' keywords (:func:`core.corpus.labels.keyword_labels`)."""
    from core.corpus.labels import keyword_labels, label_names

    names = dict(zip(lmap.clusters["cluster"].astype(int), lmap.clusters["keywords"].astype(str)))
    keywords = [names.get(c, "") for c in range(len(lmap.centroids))]
    labels = keyword_labels(lmap.xy, lmap.labels, keywords, lmap.centroids)
    return labels, cluster_coloring(lmap.labels, label_names(labels)).legend
