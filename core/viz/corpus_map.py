"""Figures of the corpus map page: the document scatter and the elbow (inertia) curve.

The scatter uses ``go.Scattergl`` (WebGL), one trace per cluster; there is no legend (40
entries would scroll): each cluster's label sits on the map at its centroid, as datamapplot
places them. Every point carries ``custom_data=[doc_id]`` so a selection maps to documents by
id, never by position (a point index counts within its trace). Hover text is an
HTML-escaped snippet, because plotly renders hover text as HTML.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.corpus.selection import display_sample
from core.viz.style import finish

MAX_POINTS = 20_000
SNIPPET = 160
LABEL_TOKEN_CHARS = 14  # a keyword longer than this is cut with "…" in the on-map label


@functools.lru_cache(maxsize=65536)  # a map's texts are the same on every rerun: a search redraws the map
def _snippet(text: str, n: int = SNIPPET) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= n else text[: n - 1] + "…"
    return html.escape(text)


def short_label(name: str, max_tokens: int = 2, max_chars: int = LABEL_TOKEN_CHARS) -> str:
    """An on-map label from ``"kw1, kw2, kw3"``: at most ``max_tokens`` keywords of ``max_chars`` each.

    >>> short_label("asyncio.BufferedProtocol, transport, loop")
    'asyncio.Buffe…, transport'
    """
    tokens = [t.strip() for t in str(name).split(",") if t.strip()][:max_tokens]
    return ", ".join(t if len(t) <= max_chars else t[: max_chars - 1] + "…" for t in tokens)


def cluster_centroids(frame: pd.DataFrame) -> pd.DataFrame:
    """Median map position of each cluster: columns ``cluster, x, y, size`` (where its label goes)."""
    grouped = frame.groupby("cluster")
    return grouped[["x", "y"]].median().assign(size=grouped.size()).reset_index()


PLOT_WIDTH_PX = 1100  # the map's width at 1440 px wide with the sidebar open (labels are placed for it)
LABEL_CHAR_PX, LABEL_HEIGHT_PX = 7.2, 18  # a 12 px label: mean glyph width and line box with its padding


def place_labels(centroids: pd.DataFrame, texts: list[str], span: tuple[float, float],
                 size_px: tuple[float, float]) -> list[tuple[int, float, float]]:
    """Where each cluster label goes without covering another: ``[(row, x, y)]``, largest clusters first.

    A label is tried at its centroid, then one line above and below it; when all three overlap a
    label already placed, it is left out (its cluster is still named in the hover). ``span`` is the
    data extent ``(x, y)`` that fills the plot's ``size_px`` ``(width, height)``.

    >>> c = pd.DataFrame({"x": [0.0, 0.0, 5.0], "y": [0.0, 0.0, 5.0], "size": [30, 10, 5]})
    >>> [(i, y) for i, _, y in place_labels(c, ["alpha, beta", "gamma", "delta"], (10.0, 10.0), (500, 500))]
    [(0, 0.0), (1, 0.36), (2, 5.0)]
    """
    px_x, px_y = span[0] / size_px[0], span[1] / size_px[1]  # data units per pixel
    line = LABEL_HEIGHT_PX * px_y
    placed: list[tuple[float, float, float, float]] = []  # (x, y, half width, half height) in data units
    out: list[tuple[int, float, float]] = []
    for i in np.argsort(-centroids["size"].to_numpy(), kind="stable"):
        x, y0 = float(centroids["x"].iloc[i]), float(centroids["y"].iloc[i])
        half_w, half_h = len(texts[i]) * LABEL_CHAR_PX * px_x / 2 + 2 * px_x, line / 2
        for y in (y0, y0 + line, y0 - line):
            if all(abs(x - px) >= half_w + pw or abs(y - py) >= half_h + ph for px, py, pw, ph in placed):
                placed.append((x, y, half_w, half_h))
                out.append((int(i), x, round(y, 6)))
                break
    return sorted(out)


def _palette(k: int) -> list[str]:
    base = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24 + px.colors.qualitative.Alphabet
    return [base[i % len(base)] for i in range(k)]


MAX_LEGEND_CHARS = 48


def _cap(label: str, limit: int = MAX_LEGEND_CHARS) -> str:
    """A legend label of at most ``limit`` characters (an ellipsis marks the cut)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _hover_data(part: pd.DataFrame) -> np.ndarray | None:
    """``(n, 2)`` id and text snippet per row, the points' ``custom_data`` (``None`` for no rows)."""
    if not len(part):
        return None
    return np.stack([part["doc_id"].astype(str).to_numpy(), part["text"].map(_snippet).to_numpy()], axis=1)


def _cluster_traces(shown: pd.DataFrame, clusters: list[int], names: Mapping[int, str],
                    highlight_cluster: int | None) -> list[go.Scattergl]:
    """One WebGL trace per cluster, coloured by cluster id; all but ``highlight_cluster`` dimmed when it is set."""
    colours = _palette(max(clusters) + 1 if clusters else 1)
    rows = shown.groupby("cluster", sort=False).indices  # one pass, not a mask per cluster
    traces = []
    for c in clusters:
        part = shown.iloc[rows[c]] if c in rows else shown.iloc[:0]
        dim = highlight_cluster is not None and c != highlight_cluster
        traces.append(go.Scattergl(
            x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers", name=names[c], showlegend=False,
            marker=dict(size=5 if not dim else 4, color=colours[c], opacity=0.12 if dim else 0.8),
            customdata=_hover_data(part),
            hovertemplate="<b>%{customdata[0]}</b> · " + html.escape(names[c]) + "<br>%{customdata[1]}<extra></extra>",
        ))
    return traces


def _cluster_labels(frame: pd.DataFrame, cluster_names: Mapping[int, str] | None, highlight_cluster: int | None,
                    height: int) -> list[dict]:
    """Annotations naming the clusters at their centroids, placed by :func:`place_labels` so none overlap."""
    centroids = cluster_centroids(frame)
    texts = [short_label(cluster_names[int(c)]) if cluster_names and cluster_names.get(int(c)) else f"cluster {c}"
             for c in centroids["cluster"]]
    span = (float(frame["x"].max() - frame["x"].min()) or 1.0, float(frame["y"].max() - frame["y"].min()) or 1.0)
    labels = []
    for i, x, y in place_labels(centroids, texts, span, (PLOT_WIDTH_PX, height)):
        dim = highlight_cluster is not None and int(centroids["cluster"].iloc[i]) != highlight_cluster
        labels.append(dict(x=x, y=y, text=html.escape(texts[i]), showarrow=False, opacity=0.35 if dim else 0.95,
                           font=dict(size=12, color="#1f2430"), bgcolor="rgba(255,255,255,0.72)", borderpad=2))
    return labels


def make_corpus_map_figure(
    frame: pd.DataFrame,
    highlight_cluster: int | None = None,
    highlight_ids: Iterable[str] = (),
    max_points: int = MAX_POINTS,
    seed: int = 0,
    cluster_names: Mapping[int, str] | None = None,
    height: int = 500,
) -> go.Figure:
    """WebGL scatter of a ``documents_frame`` (columns ``doc_id, text, source, cluster, x, y``).

    ``highlight_cluster`` dims every other cluster; ``highlight_ids`` (e.g. search hits) are
    drawn on top as black-ringed stars in an extra trace (also carrying ``custom_data``). Above
    ``max_points`` rows a seeded uniform sample is drawn (``fig.layout.meta["sampled"]`` says so);
    highlighted documents are always drawn. ``cluster_names`` (e.g. each cluster's top keywords)
    label the clusters on the map (at their centroids, :func:`short_label`) and the hover as
    ``"3 · http, server"``.
    """
    n = len(frame)
    keep = display_sample(n, max_points, seed)
    clusters = sorted(int(c) for c in frame["cluster"].unique()) if n else []
    names = {c: _cap(f"{c} · {cluster_names[c]}") if cluster_names and cluster_names.get(c) else f"cluster {c}"
             for c in clusters}
    fig = go.Figure()
    # traces added at once, as are the labels below: one by one, plotly revalidates all of them each time
    fig.add_traces(_cluster_traces(frame.iloc[keep], clusters, names, highlight_cluster))
    ids = set(map(str, highlight_ids))
    if ids:
        hit = frame[frame["doc_id"].astype(str).isin(ids)]
        fig.add_trace(go.Scattergl(
            x=hit["x"], y=hit["y"], mode="markers", name="highlighted", showlegend=False,
            marker=dict(size=11, symbol="star", color="gold", line=dict(width=1, color="black")),
            customdata=_hover_data(hit),
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra>match</extra>",
        ))
    fig.update_layout(annotations=_cluster_labels(frame, cluster_names, highlight_cluster, height) if n else [])
    fig.update_layout(
        dragmode="pan", height=height, margin=dict(l=0, r=0, t=0, b=0), showlegend=False,
        xaxis=dict(visible=False), yaxis=dict(visible=False), hoverlabel=dict(align="left"),
        meta={"sampled": bool(len(keep) < n), "shown": int(len(keep)), "total": int(n)},
        uirevision="corpus-map",
    )
    return finish(fig)


def make_large_map_figure(drawn: pd.DataFrame, cluster_names: Mapping[int, str] | None = None,
                          height: int = 500) -> go.Figure:
    """The Large corpus map: the drawn sample (``doc_id, cluster, x, y``) as *one* WebGL trace.

    One trace with a colour per point instead of a trace per cluster, and a hover of id and
    cluster instead of a text snippet: at 200 clusters and 20,000 points the browser parses and
    draws a fraction of what :func:`make_corpus_map_figure` sends. Box and lasso selections are
    resolved on every row by region (:func:`core.corpus.selection.rows_in_selected_region`), so
    the points need no custom data. Labels are placed as on the small map (:func:`place_labels`).
    """
    n = len(drawn)
    clusters = drawn["cluster"].to_numpy(np.int64) if n else np.zeros(0, np.int64)
    colours = np.asarray(_palette(int(clusters.max()) + 1 if n else 1))
    names = {int(c): (short_label(cluster_names[int(c)]) if cluster_names and cluster_names.get(int(c))
                      else f"cluster {c}") for c in np.unique(clusters)}
    fig = go.Figure(go.Scattergl(
        x=drawn["x"].to_numpy(np.float32), y=drawn["y"].to_numpy(np.float32), mode="markers", showlegend=False,
        marker=dict(size=4, color=colours[clusters].tolist(), opacity=0.75),
        text=drawn["doc_id"].astype(str).to_numpy(), hovertemplate="<b>%{text}</b><extra></extra>",
    ))
    labels = []
    if n:
        centroids = cluster_centroids(drawn)
        texts = [names[int(c)] for c in centroids["cluster"]]
        span = (float(drawn["x"].max() - drawn["x"].min()) or 1.0, float(drawn["y"].max() - drawn["y"].min()) or 1.0)
        labels = [dict(x=x, y=y, text=html.escape(texts[i]), showarrow=False, opacity=0.95,
                       font=dict(size=12, color="#1f2430"), bgcolor="rgba(255,255,255,0.72)", borderpad=2)
                  for i, x, y in place_labels(centroids, texts, span, (PLOT_WIDTH_PX, height))]
    fig.update_layout(annotations=labels, dragmode="pan", height=height, margin=dict(l=0, r=0, t=0, b=0),
                      xaxis=dict(visible=False), yaxis=dict(visible=False), uirevision="large-map",
                      meta={"shown": int(n)})
    return finish(fig)


def make_blank_figure(height: int = 10) -> go.Figure:
    """An empty, transparent figure ``height`` pixels high (plotly's least): drawn where no chart is yet, it makes the
    browser load and compile plotly's code (~1.2 s in chromium here) before the real chart needs it."""
    fig = go.Figure(layout=dict(height=height, margin=dict(l=0, r=0, t=0, b=0), xaxis=dict(visible=False),
                                yaxis=dict(visible=False), showlegend=False))
    return finish(fig)


def make_inertia_figure(curve: pd.DataFrame, suggested_k: int | None = None) -> go.Figure:
    """Inertia against k (the elbow curve), with the suggested k marked."""
    fig = go.Figure(go.Scatter(x=curve["k"], y=curve["inertia"], mode="lines+markers", name="inertia"))
    if suggested_k is not None:
        fig.add_vline(x=suggested_k, line_dash="dash", annotation_text=f"elbow: k={suggested_k}")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="k (clusters)",
                      yaxis_title="inertia (sum of squared distances)")
    return finish(fig)


def make_warmup_loss_figure(loss_history: Iterable[float]) -> go.Figure:
    """Training loss of the contrastive warm-up per step (in-batch InfoNCE), with a rolling mean
    over ``max(1, steps // 10)`` steps so the trend shows through batch-to-batch noise."""
    losses = pd.Series(list(loss_history), dtype=float)
    steps = np.arange(1, len(losses) + 1)
    fig = go.Figure(go.Scatter(x=steps, y=losses, mode="lines+markers", name="loss per step",
                               marker=dict(size=4), line=dict(width=1)))
    window = max(1, len(losses) // 10)
    if window > 1:
        fig.add_trace(go.Scatter(x=steps, y=losses.rolling(window, min_periods=1).mean(), mode="lines",
                                 name=f"rolling mean ({window} steps)", line=dict(width=3)))
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="training step",
                      yaxis_title="InfoNCE loss", legend=dict(orientation="h", y=1.15))
    return finish(fig)
