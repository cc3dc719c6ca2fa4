"""Figures of the CTAR generator: the causal graph and the ground-truth plots (data in, Figure out).

Node selection is mapped through ids: each node point carries ``customdata=[node_id]`` and
:func:`selected_node` reads it back from a Streamlit/plotly selection event.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.ctar.graph import CausalGraph
from core.viz.style import finish

KIND_STYLE = {
    "real": ("#1f77b4", "square", "real input"),
    "synthetic": ("#ff7f0e", "diamond", "synthetic draw"),
    "latent": ("#7f7f7f", "circle-open", "latent"),
    "observed": ("#2ca02c", "circle", "observed file"),
}


NOTATION = set("_^(){}πΣ∩⊥")


def plain_label(label: str) -> str:
    """A node's name without its notation, for the graph itself (the notation is in the hover).

    >>> plain_label("Rating observed O^Y"), plain_label("Tag counts c(m,t)"), plain_label("rating.csv")
    ('Rating observed', 'Tag counts', 'rating.csv')
    """
    words: list[str] = []
    for word in label.split(" "):
        if words and (NOTATION & set(word) or (len(word) <= 2 and word[:1].isupper())):
            break
        words.append(word)
    return " ".join(words)


def make_causal_graph_figure(graph: CausalGraph, selected: str | None = None, height: int = 460) -> go.Figure:
    """The node-level graph: nodes styled by kind, arrows for edges, cut edges red and dashed.

    Node names are plain words (:func:`plain_label`) on opaque chips drawn over the edges, so no
    edge runs through a name; the notation and the equation are in each node's hover tooltip.
    """
    pos = {n.id: (n.x, n.y) for n in graph.nodes}
    fig = go.Figure()
    for a, b in graph.edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        cut = (a, b) in graph.cut
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=3 if not cut else 0, arrowsize=1.2, arrowwidth=1.2 if not cut else 2,
                           arrowcolor="#d62728" if cut else "#9aa0a6", standoff=14, startstandoff=10, opacity=0.9)
        if cut:
            fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
                                     line=dict(color="#d62728", dash="dash", width=2)))
    for kind, (color, symbol, label) in KIND_STYLE.items():
        nodes = [n for n in graph.nodes if n.kind == kind]
        if not nodes:
            continue
        fig.add_trace(go.Scatter(
            x=[n.x for n in nodes], y=[n.y for n in nodes], mode="markers", name=label,
            customdata=[[n.id] for n in nodes],
            hovertext=[f"<b>{n.label}</b><br>{n.equation}" for n in nodes], hoverinfo="text",
            marker=dict(size=[26 if n.id == selected else 18 for n in nodes], color=color, symbol=symbol,
                        line=dict(width=[3 if n.id == selected else 1 for n in nodes], color="#222")),
        ))
    for n in graph.nodes:  # after the edges: drawn on top of them
        fig.add_annotation(x=n.x, y=n.y, yshift=19, text=plain_label(n.label), showarrow=False,
                           font=dict(size=12, color="#1f2430"),
                           bgcolor="rgba(255,255,255,0.92)", bordercolor="rgba(31,36,48,0.18)", borderpad=2)
    if graph.cut:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="cut by do()",
                                 line=dict(color="#d62728", dash="dash", width=2)))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), clickmode="event+select",
                      dragmode=False, legend=dict(orientation="h", y=-0.05),
                      xaxis=dict(visible=False, range=[-0.6, 8.2]), yaxis=dict(visible=False, range=[-0.6, 6.8]))
    return finish(fig)


def selected_node(event: Any) -> str | None:
    """The node id of the first selected point of a plotly selection event (None when nothing)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        points = getattr(getattr(event, "selection", None), "points", None) or []
    for p in points:
        data = p.get("customdata") if isinstance(p, dict) else None
        if data:
            return str(data[0] if isinstance(data, (list, tuple)) else data)
    return None


def make_rating_distribution_figure(dist: pd.DataFrame) -> go.Figure:
    """Full (latent) vs observed vs tagged rating shares by rating 1..5."""
    fig = go.Figure()
    for col in [c for c in dist.columns if c != "rating"]:
        fig.add_trace(go.Bar(x=dist["rating"], y=dist[col], name=col))
    fig.update_layout(barmode="group", xaxis_title="rating", yaxis_title="share", height=320,
                      margin=dict(l=10, r=10, t=30, b=10), title="Full vs observed ratings")
    return finish(fig)


def make_exposure_figure(df: pd.DataFrame) -> go.Figure:
    """Observation probability by popularity rank: specified propensity and observed share."""
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=df["rank"], y=df["observed share"], mode="markers", name="observed share (sample)",
                               marker=dict(size=3, opacity=0.4)))
    fig.add_trace(go.Scatter(x=df["rank"], y=df["propensity"], mode="lines", name="specified chance (propensity)"))
    fig.update_layout(xaxis_title="popularity rank (0 = most popular)", yaxis_title="chance a rating is observed",
                      height=320, margin=dict(l=10, r=10, t=30, b=10), title="Rating exposure (MAR)")
    return finish(fig)


def make_obstag_rate_figure(df: pd.DataFrame) -> go.Figure:
    """ObsTag rate by latent rating (MNAR self-selection)."""
    fig = go.Figure(go.Bar(x=df["rating"], y=df["rate"], text=[f"{v:.4f}" for v in df["rate"]], textposition="outside"))
    fig.update_layout(xaxis_title="true (latent) rating", yaxis_title="share of pairs tagged", height=320,
                      margin=dict(l=10, r=10, t=30, b=10), title="ObsTag rate by latent rating (MNAR)")
    return finish(fig)


def make_count_figure(df: pd.DataFrame, x: str, y: str, title: str, x_title: str) -> go.Figure:
    """A bar chart of counts (liked tags per user, reasons per pair)."""
    fig = go.Figure(go.Bar(x=df[x], y=df[y]))
    fig.update_layout(xaxis_title=x_title, yaxis_title=y, height=300, margin=dict(l=10, r=10, t=30, b=10), title=title)
    return finish(fig)
