"""Figures of the corpus map page: the document scatter and the elbow (inertia) curve.

The scatter uses ``go.Scattergl`` (WebGL), one trace per cluster; there is no legend (40
entries would scroll): each cluster's label sits on the map at its centroid, as datamapplot
places them. Every point carries ``custom_data=[doc_id]`` so a selection maps to documents by
id, never by position (a point index counts within its trace). Hover text is an
HTML-escaped snippet, because plotly renders hover text as HTML.
"""

from __future__ import annotations

import html
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.corpus.selection import display_sample
from core.viz.style import finish

MAX_POINTS = 20_000
SNIPPET = 160
LABEL_TOKEN_CHARS = 14  # a keyword longer than this is cut with "…" in the on-map label


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


def _palette(k: int) -> list[str]:
    base = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24 + px.colors.qualitative.Alphabet
    return [base[i % len(base)] for i in range(k)]


MAX_LEGEND_CHARS = 48


def _cap(label: str, limit: int = MAX_LEGEND_CHARS) -> str:
    """A legend label of at most ``limit`` characters (an ellipsis marks the cut)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


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
    shown = frame.iloc[keep]
    clusters = sorted(int(c) for c in frame["cluster"].unique()) if n else []
    colours = _palette(max(clusters) + 1 if clusters else 1)
    fig = go.Figure()
    names = {c: _cap(f"{c} · {cluster_names[c]}") if cluster_names and cluster_names.get(c) else f"cluster {c}"
             for c in clusters}
    traces = []  # added at once, as are the labels below: one by one, plotly revalidates all of them each time
    for c in clusters:
        part = shown[shown["cluster"] == c]
        dim = highlight_cluster is not None and c != highlight_cluster
        traces.append(go.Scattergl(
            x=part["x"], y=part["y"], mode="markers", name=names[c], showlegend=False,
            marker=dict(size=5 if not dim else 4, color=colours[c], opacity=0.12 if dim else 0.8),
            customdata=np.stack([part["doc_id"].astype(str).to_numpy(), part["text"].map(_snippet).to_numpy()], axis=1)
            if len(part) else None,
            hovertemplate="<b>%{customdata[0]}</b> · " + html.escape(names[c]) + "<br>%{customdata[1]}<extra></extra>",
        ))
    fig.add_traces(traces)
    ids = set(map(str, highlight_ids))
    if ids:
        hit = frame[frame["doc_id"].astype(str).isin(ids)]
        fig.add_trace(go.Scattergl(
            x=hit["x"], y=hit["y"], mode="markers", name="highlighted", showlegend=False,
            marker=dict(size=11, symbol="star", color="gold", line=dict(width=1, color="black")),
            customdata=np.stack([hit["doc_id"].astype(str).to_numpy(), hit["text"].map(_snippet).to_numpy()], axis=1)
            if len(hit) else None,
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra>match</extra>",
        ))
    labels = []
    if n:
        for r in cluster_centroids(frame).itertuples():
            dim = highlight_cluster is not None and int(r.cluster) != highlight_cluster
            text = short_label(cluster_names[int(r.cluster)]) if cluster_names and cluster_names.get(int(r.cluster)) else f"cluster {r.cluster}"
            labels.append(dict(x=r.x, y=r.y, text=html.escape(text), showarrow=False, opacity=0.35 if dim else 0.95,
                               font=dict(size=12, color="#1f2430"), bgcolor="rgba(255,255,255,0.72)", borderpad=2))
    fig.update_layout(annotations=labels)
    fig.update_layout(
        dragmode="pan", height=height, margin=dict(l=0, r=0, t=0, b=0), showlegend=False,
        xaxis=dict(visible=False), yaxis=dict(visible=False), hoverlabel=dict(align="left"),
        meta={"sampled": bool(len(keep) < n), "shown": int(len(keep)), "total": int(n)},
        uirevision="corpus-map",
    )
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
