"""The tuning lab's chart: closeness to the reference set against extraction calls, one curve per setting cell.

Input is :func:`core.equal.tune.summarize_tune`'s frame (``cell, kind, calls, mean, lo, hi, seeds``).
Each setting cell is a line (the mean over seeds) inside a band (the lowest to the highest seed);
a deterministic cell, played once, is a line alone (the legend and hover say so).
Random and Avg-sim are dashed beside them. Plain SVG traces: a grid of a dozen curves is a few
hundred points, and a page that redraws it opens no WebGL context.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.equal.tune import BASELINE_NAMES
from core.viz.style import finish

VALUE_LABELS = {
    "coverage": "Closeness to the reference set (reference coverage)",
    "on_task_share": "On-task share of the pairs found",
    "reward": "Mean reward so far",
}
BASELINE_STYLE = {"random": dict(color="#7f7f7f", dash="dash", width=2),
                  "avg-sim": dict(color="#222222", dash="dot", width=2)}
BASELINE_RANK = 1  # the dashed lines' names head the legend (plotly's default rank is 1000): below a dozen cells
# they were scrolled out of the legend's view, dashed lines with no name in sight
PALETTE = qualitative.Dark24


def _rgba(hex_color: str, alpha: float) -> str:
    """``"#1f77b4"`` -> ``"rgba(31,119,180,0.15)"``.

    >>> _rgba("#ff0000", 0.5)
    'rgba(255,0,0,0.5)'
    """
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


CLICK_MARKER = dict(size=12, opacity=0)  # what a click on a curve lands on
#: the legend's title, by whether a setting cell draws a band (it said so over a grid of cells each played once)
LEGEND_TITLES = {True: "Setting cell (band: lowest to highest seed)", False: "Setting cell (each played once)"}


def make_tuning_figure(summary: pd.DataFrame, value: str = "coverage", highlight: str | None = None,
                       title: str | None = None) -> go.Figure:
    """Curves of ``summary`` (one per cell, a band over seeds) with the baselines dashed; ``highlight`` draws one
    cell thicker and the others fainter. Each trace carries its cell in ``customdata`` (a click names the cell).
    """
    fig = go.Figure()
    cells = list(dict.fromkeys(summary.loc[summary["kind"] == "setting", "cell"]))
    banded = False  # a cell of several runs draws a band; a deterministic one plays once (TuneGrid.seeds_for)
    for i, cell in enumerate(cells):
        d = summary[summary["cell"] == cell].dropna(subset=["mean"])
        color = PALETTE[i % len(PALETTE)]
        faint = highlight is not None and cell != highlight
        runs = int(d["seeds"].max()) if "seeds" in d and len(d) else 1
        banded |= runs > 1
        over = f"mean over {runs} seeds" if runs > 1 else "one run"
        group = dict(legendgroup=cell, customdata=[cell] * len(d))
        fig.add_scatter(x=d["calls"], y=d["hi"], mode="lines", line=dict(width=0), showlegend=False,
                        hoverinfo="skip", **group)
        fig.add_scatter(x=d["calls"], y=d["lo"], mode="lines", line=dict(width=0), fill="tonexty",
                        fillcolor=_rgba(color, 0.06 if faint else 0.18), showlegend=False, hoverinfo="skip", **group)
        # invisible markers on the mean line: plotly selects markers, not lines, so a click on the curve picks it
        fig.add_scatter(x=d["calls"], y=d["mean"], mode="lines+markers", name=cell, marker=CLICK_MARKER,
                        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
                        line=dict(color=color, width=4 if cell == highlight else 2), opacity=0.35 if faint else 1.0,
                        hovertemplate=f"{cell}<br>%{{x:,}} calls: %{{y:.3f}} ({over})<extra></extra>",
                        **group)
    for policy in ("random", "avg-sim"):
        d = summary[(summary["cell"] == policy) & (summary["kind"] == "baseline")].dropna(subset=["mean"])
        if d.empty:
            continue
        name = BASELINE_NAMES[policy]
        fig.add_scatter(x=d["calls"], y=d["mean"], mode="lines", name=name, line=BASELINE_STYLE[policy],
                        customdata=[policy] * len(d), legendrank=BASELINE_RANK,
                        hovertemplate=f"{name}<br>%{{x:,}} calls: %{{y:.3f}}<extra></extra>")
    label = VALUE_LABELS.get(value, value)
    fig.update_layout(title=title or f"{label.split(' (')[0]} against extraction calls",
                      xaxis_title="Extraction calls (documents read)", yaxis_title=label, height=460,
                      margin=dict(l=50, r=10, t=50, b=40), hovermode="closest",
                      legend=dict(title=LEGEND_TITLES[banded]))
    return finish(fig)
