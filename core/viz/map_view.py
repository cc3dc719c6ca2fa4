"""What the Corpus map's WebGL map draws for one view, computed here so the page only places it.

Pure functions over a :class:`~core.corpus.mapping.CorpusMap` and its ``documents_frame``
(columns ``doc_id, text, source, cluster, x, y``): the columns a map can be coloured by, the
points with their colour codes and hover texts, ids to rows and back, and a clicked document's
nearest neighbours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.viz.webgl_map import (
    Coloring,
    LegendEntry,
    MapPoints,
    cluster_coloring,
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
    """The points of one colouring (``points.z`` the codes), its legend, and one hover text per document."""

    points: MapPoints
    coloring: Coloring
    hover: list[str]


def map_view(frame: pd.DataFrame, column: str = "cluster", names: Mapping[int, str] | None = None) -> MapView:
    """The map of ``frame`` coloured by ``column``; hover texts read ``"<id> · cluster <c>: <text>"``."""
    colors = coloring(frame, column, names)
    hover = (frame["doc_id"].astype(str) + " · cluster " + frame["cluster"].astype(str) + ": "
             + frame["text"].map(short_text)).tolist()
    texts = hashlib.blake2b("\n".join(hover).encode("utf-8", "replace"), digest_size=8).hexdigest()
    points = prepare_points(frame["x"].to_numpy(), frame["y"].to_numpy(), colors.codes, salt=texts)
    return MapView(points, colors, hover)


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


def index_view(lmap) -> tuple[list, list[LegendEntry]]:
    """Labels by zoom and the legend entries of a large index (:class:`core.corpus.stream.LargeMap`), by its
    clusters' keywords (:func:`core.corpus.labels.keyword_labels`)."""
    from core.corpus.labels import keyword_labels, label_names

    names = dict(zip(lmap.clusters["cluster"].astype(int), lmap.clusters["keywords"].astype(str)))
    keywords = [names.get(c, "") for c in range(len(lmap.centroids))]
    labels = keyword_labels(lmap.xy, lmap.labels, keywords, lmap.centroids)
    return labels, cluster_coloring(lmap.labels, label_names(labels)).legend
