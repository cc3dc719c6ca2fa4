"""Figures of the debiasing lab: pure functions, data in, plotly Figure out.

* :func:`make_bias_graph_figure` the causal graph of a bias mechanism, its edges drawn red when
  they break an assumption for an estimator that conditions on ``conditioned_on`` (conditioned
  nodes are drawn as boxes, the broken assumption is in the title);
* :func:`make_estimates_figure` mean estimate per estimator with bias ± spread error bars and the
  true loss as a line;
* :func:`make_error_vs_strength_figure` bias (± sd over seeds) against the mechanism's strength;
* :func:`make_learner_figure` learner AUC bars beside the popularity baseline.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.debias.mechanisms import ASSUMPTIONS, BiasMechanism, default_grid
from core.viz.style import finish

# node -> (x, y, label); the graph is the per-pair template of the lab's world
NODES = {
    "Pop": (0.0, 1.0, "Popularity"),
    "X": (0.0, 0.0, "User-item match x"),
    "H": (1.0, 1.6, "Hidden h"),
    "Rank": (1.0, -0.9, "Rank in list"),
    "Filter": (1.3, -1.2, "Filter / cold start"),
    "Coin": (1.3, -1.2, "Random coin (MCAR)"),
    "O": (2.0, 0.0, "Observed o"),
    "R": (2.0, 1.0, "Rating r(1)"),
    "O_other": (3.3, -1.2, "Others' feedback"),
    "R_obs": (3.0, 0.5, "Recorded rating"),
}
# presentation mode: the same nodes without notation
PLAIN_NODE_LABELS = {"X": "How well user and movie match", "H": "Something hidden", "O": "Rated or not",
                     "R": "True rating", "Coin": "Random chance"}
BASE_EDGES = (("Pop", "R"), ("X", "R"), ("R", "R_obs"), ("O", "R_obs"))
NODE_CONDITION = {"Pop": "popularity", "X": "match", "Rank": "position", "H": "confounder", "R": "rating",
                  "O_other": "others_feedback"}
PALETTE = {"ok": "#2a9d8f", "broken": "#d62828", "base": "#8d99ae", "cond": "#264653"}
ESTIMATOR_COLORS = {"Naive": "#8d99ae", "EIB": "#e9c46a", "IPS": "#f4a261", "SNIPS": "#2a9d8f", "DR": "#264653"}


def make_bias_graph_figure(mechanism: BiasMechanism, conditioned_on: set[str] | frozenset[str] = frozenset(),
                           plain: bool = False) -> go.Figure:
    """The causal graph with ``mechanism``'s edges: red when it breaks an assumption given ``conditioned_on``.

    ``plain=True`` (presentation mode) labels nodes and title in words, with no notation.
    """
    broken = mechanism.violated_assumptions(set(conditioned_on))
    edges = [(a, b, "base") for a, b in BASE_EDGES] + [(a, b, "broken" if broken else "ok")
                                                       for a, b in mechanism.graph_edges]
    if mechanism.name in ("mcar",) or not mechanism.graph_edges:
        edges.append(("Coin", "O", "ok"))
    used = {n for a, b, _ in edges for n in (a, b)} | {"O", "R"}
    fig = go.Figure()
    for a, b, kind in edges:
        (x0, y0, _), (x1, y1, _) = NODES[a], NODES[b]
        fig.add_annotation(
            x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=3,
            arrowsize=1.4, arrowwidth=4 if kind == "broken" else 2, arrowcolor=PALETTE[kind], standoff=22,
            startstandoff=22,
        )
    names = sorted(used)
    conditioned = [NODE_CONDITION.get(n) in conditioned_on for n in names]
    fig.add_trace(
        go.Scatter(
            x=[NODES[n][0] for n in names], y=[NODES[n][1] for n in names], mode="markers+text",
            text=[_node_label(n, plain) + (" (conditioned)" if c else "") for n, c in zip(names, conditioned)],
            textposition="top center", hoverinfo="text",
            marker=dict(size=34, symbol=["square" if c else "circle" for c in conditioned],
                        color=[PALETTE["cond"] if c else ("#ffffff" if n != "H" else "#dddddd")
                               for n, c in zip(names, conditioned)],
                        line=dict(width=2, color=PALETTE["cond"])),
            showlegend=False,
        )
    )
    if plain:
        title = f"{mechanism.label.split(' (')[0]} at strength {mechanism.strength:g}: " + (
            "the ratings we see mislead" if broken else "the ratings we see are fair")
    else:
        verdict = ", ".join(f"{a}: {ASSUMPTIONS[a].split(':')[0]}" for a in broken) or "no assumption broken"
        title = f"{mechanism.label} at strength {mechanism.strength:g} — {verdict}"  # its symbol: the slider's help
    fig.update_layout(
        title=dict(text=title,
                   font=dict(color=PALETTE["broken"] if broken else PALETTE["ok"])),
        xaxis=dict(visible=False, range=[-0.6, 3.6]), yaxis=dict(visible=False, range=[-1.6, 2.0]),
        height=380, margin=dict(l=10, r=10, t=50, b=10),
    )
    return finish(fig)


def _node_label(node: str, plain: bool) -> str:
    return PLAIN_NODE_LABELS.get(node, NODES[node][2]) if plain else NODES[node][2]


def make_estimates_figure(summary: pd.DataFrame, mechanism: str, strength: float,
                          names: Mapping[str, str] | None = None) -> go.Figure:
    """Mean estimate per estimator with error bars of one sd of its error over seeds (each seed draws its own
    world, so the spread of the error, not of the estimate); the dashed line is the true loss.

    ``names`` shows estimators under other names (the tour's words); colours stay the estimator's own.
    """
    s = summary[(summary.mechanism == mechanism) & (summary.strength == strength)]
    fig = go.Figure()
    if s.empty:
        fig.update_layout(title="No sweep results for this setting yet")
        return fig
    fig.add_trace(
        go.Bar(x=[(names or {}).get(e, e) for e in s.estimator], y=s.estimate,
               error_y=dict(type="data", array=s.sd, visible=True),
               marker_color=[ESTIMATOR_COLORS.get(e, "#999") for e in s.estimator],
               customdata=s[["bias", "sd", "n_estimates"]].to_numpy(),
               hovertemplate="%{x}: %{y:.4f}<br>bias %{customdata[0]:+.4f} ± %{customdata[1]:.4f} over "
                             "%{customdata[2]} seeds<extra></extra>")
    )
    truth = float(s.truth.mean())
    fig.add_hline(y=truth, line_dash="dash", line_color=PALETTE["broken"], annotation_text=f"true loss {truth:.3f}")
    # an estimator undefined in every seed (NaN: nothing observed) has no bar and does not move the axis
    lo = float(np.nanmin(np.append((s.estimate - s.sd).to_numpy(dtype=float), truth)))
    hi = float(np.nanmax(np.append((s.estimate + s.sd).to_numpy(dtype=float), truth)))
    pad = 0.15 * (hi - lo or 1.0)
    fig.update_layout(title=f"Estimates vs the true loss ({mechanism}, strength {strength:g})",
                      yaxis=dict(title="loss (bars: ± 1 sd of the error over seeds)",
                                 range=[max(0.0, lo - pad), hi + pad]),
                      height=380, margin=dict(l=10, r=10, t=50, b=10))
    return finish(fig)


def make_error_vs_strength_figure(summary: pd.DataFrame, mechanism: str) -> go.Figure:
    """Bias (mean error over seeds, ± sd) of each estimator against the mechanism's strength."""
    s = summary[summary.mechanism == mechanism].sort_values("strength")
    fig = go.Figure()
    for name, g in s.groupby("estimator", sort=False):
        fig.add_trace(go.Scatter(x=g.strength, y=g.bias, mode="lines+markers", name=name,
                                 line=dict(color=ESTIMATOR_COLORS.get(name)),
                                 error_y=dict(type="data", array=g.sd, visible=True, thickness=1)))
    fig.add_hline(y=0, line_color="#444")
    grid = default_grid(mechanism)
    fig.update_layout(title=f"Error (estimate − truth) as {mechanism} bias grows",
                      xaxis=dict(title="strength (no bias on the left)",
                                 autorange="reversed" if grid[0] > grid[-1] else True),  # selection: 1 is no bias
                      yaxis_title="bias ± sd", height=380, margin=dict(l=10, r=10, t=50, b=10))
    return finish(fig)


def make_learner_figure(table: pd.DataFrame, metric: str = "auc") -> go.Figure:
    """Bars of ``metric`` per learner (the popularity baseline in grey)."""
    t = table.dropna(subset=[metric])
    fig = go.Figure(go.Bar(x=t.learner, y=t[metric],
                           marker_color=["#8d99ae" if n == "Popularity" else "#264653" for n in t.learner],
                           text=[f"{v:.3f}" for v in t[metric]], textposition="outside"))
    fig.update_layout(title=f"{metric.upper()} against the full truth",
                      yaxis=dict(range=[0, 1.05] if "auc" in metric else None),
                      height=340, margin=dict(l=10, r=10, t=50, b=10))
    return finish(fig)
