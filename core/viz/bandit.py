"""Figures for the bandit loop: pure functions, frames in, plotly Figures out.

Inputs are the frames of :class:`core.equal.run.BanditRun` (``arms_frame``, ``rounds_frame``)
and the corpus map's ``xy``; nothing here runs a bandit. Every figure speaks in words: arms by
their cluster's name (:func:`arm_names`, the keywords the Corpus map labels them with), axes by
what they measure; the formulas live in :data:`METRIC_HELP`, for the page's help text. All traces
are SVG (``go.Scatter``/``go.Bar``): an SVG chart updates in place, a WebGL one (``Scattergl``)
costs a new WebGL context each time it is redrawn.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.viz.style import finish

BASELINE_STYLE = {"random": dict(dash="dot", color="#888"), "all": dict(dash="dash", color="#444"),
                  "avg-sim": dict(dash="dashdot", color="#2ca02c")}
BASELINE_NAMES = {"random": "Random documents", "all": "Every document, in corpus order",
                  "avg-sim": "Most similar documents first (Avg-sim)"}
METRIC_LABELS = {"coverage": "closeness to the reference set", "reward_cum": "mean reward so far",
                 "pairs_cum": "QA pairs collected", "reward": "reward of the round"}
METRIC_HELP = {
    "coverage": "Closeness to the reference set: for each reference example, the cosine similarity of the "
                "closest extracted pair, averaged over the reference examples (1 = every example has an exact "
                "match). It can only rise as pairs are added.",
    "reward": "The reward of a pull: how close its QA pairs sit to the reference set, by optimal transport "
              "(reward = 1 - W - offset, W the Wasserstein distance; with document credit, the mean transported "
              "cosine per document read). It falls as the best clusters are used up: that is the bandit spending "
              "its best pulls first, not getting worse.",
    "score": "How promising each cluster looks to the policy now: its estimated reward plus the policy's "
             "exploration bonus (EQUAL's DS score, UCB's bound, Thompson's draw, EXP3's probability).",
}
EXTRACTED_COLOR = "#e8590c"  # the map component's highlight colour (components/corpus_map: ACTIVE)
X_LABELS = {"calls_cum": "extraction calls", "docs_cum": "documents extracted", "cost_cum": "cost", "round": "round"}


def arm_names(clusters: pd.DataFrame | None, k: int) -> list[str]:
    """A readable name per arm ``0..k-1``: ``"14 · numpy, array"`` from the map's cluster keywords.

    >>> arm_names(pd.DataFrame({"cluster": [0, 1], "keywords": ["numpy, array, dtype", ""]}), 3)
    ['0 · numpy, array', '1 · cluster 1', '2 · cluster 2']
    """
    from core.viz.corpus_map import short_label

    words: dict[int, str] = {}
    if clusters is not None and "keywords" in clusters:
        words = {int(c): short_label(kw) for c, kw in zip(clusters["cluster"], clusters["keywords"])}
    return [f"{a} · {words.get(a) or f'cluster {a}'}" for a in range(int(k))]


def baseline_label(name: str) -> str:
    """A baseline's legend entry in words (``"random"`` -> ``"Random documents (baseline)"``)."""
    return f"{BASELINE_NAMES.get(name.split()[0].lower(), name)} (baseline)"


def _score_words(score: float) -> str:
    """A bar's score in its hover: 4 decimals, or "untried" for UCB1's +inf (its bar is capped, its value is not).

    >>> _score_words(-0.41237), _score_words(float("inf"))
    ('-0.4124', 'untried (read first)')
    """
    return "untried (read first)" if score == np.inf else f"{score:.4f}"


def score_label(policy: str) -> str:
    """What the score bars' axis calls a score under ``policy``: the learned policy's is the score of an arm's best
    unread document (which decides whether the next round reads from it), any other's how promising the arm looks.

    >>> score_label("learned"), score_label("ucb1")
    ("best unread document's score", 'how promising (score)')
    """
    return "best unread document's score" if policy == "learned" else "how promising (score)"


def make_score_bars_figure(arms: pd.DataFrame, top: int = 40, score_label: str = "how promising (score)",
                           names: Sequence[str] | None = None) -> go.Figure:
    """Bars of the top-``top`` arms by score (exhausted arms greyed); hover shows pulls, mean, docs left.

    ``names``: one label per arm (:func:`arm_names`); without them an arm is ``"cluster 14"``.

    OT scores are almost always negative and close together (e.g. -0.36 to -0.44), so bars hanging
    from 0 would all look alike: when any score is negative the bars rise from just below the
    lowest one shown. Non-negative scores (EXP3's probabilities) rise from 0. Unplayed UCB arms
    (+inf) are capped just above the highest finite score; their hover says "untried", not the cap.
    """
    df = arms.sort_values("score", ascending=False).head(top)
    finite = df["score"].replace([np.inf, -np.inf], np.nan)
    hi = float(finite.max()) if finite.notna().any() else 1.0
    lo = float(finite.min()) if finite.notna().any() else 0.0
    cap = hi + 0.05
    floor = 0.0 if lo >= 0 else lo - max(0.15 * (hi - lo), 0.01)
    scores = np.clip(df["score"].to_numpy(dtype=float), floor, cap)
    colours = np.where(df["available"], "#1f77b4", "#c7c7c7")
    labels = [names[int(a)] if names is not None else f"cluster {a}" for a in df["arm"]]
    fig = go.Figure(go.Bar(x=labels, y=scores - floor, base=floor,
                           marker_color=colours,
                           customdata=np.column_stack([df[["pulls", "mean", "docs_left"]].to_numpy(dtype=object),
                                                       [_score_words(s) for s in df["score"]]]),
                           hovertemplate="%{x}: score %{customdata[3]}<br>pulls %{customdata[0]}, estimated reward "
                                         "%{customdata[1]:.4f}, "
                                         "documents left %{customdata[2]}<extra></extra>"))
    fig.update_layout(title=f"Which clusters the bandit favours (top {len(df)})", xaxis_title="cluster",
                      yaxis_title=score_label, height=300, margin=dict(l=40, r=10, t=40, b=40),
                      xaxis=dict(tickangle=-35, tickfont=dict(size=10)))
    return finish(fig)


def make_reward_figure(rounds: pd.DataFrame) -> go.Figure:
    """Round mean reward (markers) and running mean reward (line) against the round (formula: ``METRIC_HELP``),
    counted from 1 as the page's Round metric counts them (``rounds["round"]`` is 0-based), on whole-number ticks."""
    fig = go.Figure()
    shown = rounds["round"] + 1
    fig.add_scatter(x=shown, y=rounds["reward"], mode="markers", name="each round", marker=dict(size=5))
    fig.add_scatter(x=shown, y=rounds["reward_cum"], mode="lines", name="mean so far")
    fig.update_layout(title="Reward of each round", xaxis_title="round",
                      yaxis_title="reward (closeness of the round's pairs)",
                      height=300, margin=dict(l=40, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(rangemode="nonnegative", dtick=1 if len(rounds) <= 8 else None)  # few rounds: not -0.5, 0.5
    return finish(fig)


def make_budget_figure(runs: Mapping[str, pd.DataFrame], metric: str = "coverage", x: str = "calls_cum",
                       baselines: Mapping[str, pd.DataFrame] | None = None,
                       colors: Mapping[str, str] | None = None) -> go.Figure:
    """``metric`` against budget spent for one or more runs, the baselines dashed on the same axes
    (:func:`baseline_label`); ``colors`` (by run name) sets a run's line colour. A run's name (it holds a tag's
    name or an uploaded file's) is escaped: plotly reads ``<a href>``, ``<b>``... in a legend as markup."""
    fig = go.Figure()
    for name, df in runs.items():
        fig.add_scatter(x=df[x], y=df[metric], mode="lines" if len(df) > 1 else "markers",
                        name=html.escape(name, quote=False),  # one round: a dot, not nothing
                        line=dict(color=(colors or {}).get(name), width=3 if colors else 2))
    for name, df in (baselines or {}).items():
        style = BASELINE_STYLE.get(name.split()[0].lower(), dict(dash="dot"))
        fig.add_scatter(x=df[x], y=df[metric], mode="lines", name=baseline_label(name), line=style)
    what = METRIC_LABELS.get(metric, metric)
    fig.update_layout(title=f"{what[0].upper() + what[1:]} against {X_LABELS.get(x, x)}",
                      xaxis_title=X_LABELS.get(x, x), yaxis_title=what, height=320, margin=dict(l=40, r=10, t=40, b=40),
                      legend=dict(orientation="h", y=-0.25))
    frames = [*runs.values(), *(baselines or {}).values()]
    few = max((float(df[x].max()) for df in frames if len(df)), default=0.0) <= 8
    fig.update_xaxes(rangemode="tozero", dtick=1 if few and x != "cost_cum" else None)  # calls count whole: not 0.5
    if all(float(df[metric].min()) >= 0 for df in frames if len(df)):  # one round's dot: no axis below 0 for a
        fig.update_yaxes(rangemode="nonnegative")                       # measure that is not negative
    return finish(fig)


def make_pulls_map_figure(xy: np.ndarray, taken: np.ndarray, labels: np.ndarray, doc_ids: Sequence[str],
                          max_points: int = 20000, seed: int = 0) -> go.Figure:
    """The corpus map (Scattergl) with extracted documents in :data:`EXTRACTED_COLOR` and the rest grey.

    Above ``max_points`` documents a seeded sample is drawn (extracted documents always kept).
    Each point carries its ``doc_id`` in ``customdata``.
    """
    xy = np.asarray(xy)
    taken = np.asarray(taken).astype(bool)
    idx = np.arange(len(xy))
    if len(idx) > max_points:
        rest = idx[~taken]
        keep = np.random.default_rng(seed).choice(rest, size=max(0, max_points - int(taken.sum())), replace=False)
        idx = np.sort(np.concatenate([idx[taken], keep]))
    ids = np.asarray(doc_ids, dtype=object)
    fig = go.Figure()
    grey = idx[~taken[idx]]
    fig.add_trace(go.Scattergl(x=xy[grey, 0], y=xy[grey, 1], mode="markers", name="not extracted",
                               marker=dict(size=4, color="#d9d9d9"), customdata=ids[grey],
                               hovertemplate="%{customdata}<extra></extra>"))
    hot = idx[taken[idx]]
    fig.add_trace(go.Scattergl(x=xy[hot, 0], y=xy[hot, 1], mode="markers", name="extracted",
                               marker=dict(size=6, color=EXTRACTED_COLOR),  # one colour: the legend's dot matches
                               customdata=np.stack([ids[hot], np.asarray(labels)[hot]], axis=1) if len(hot) else None,
                               hovertemplate="%{customdata[0]} (cluster %{customdata[1]})<extra></extra>"))
    fig.update_layout(title=f"Extracted documents: {int(taken.sum()):,} of {len(xy):,}", height=420,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis=dict(visible=False), yaxis=dict(visible=False),
                      legend=dict(orientation="h", y=-0.05))
    return finish(fig)


COMPARE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")  # one per compared run
LABEL_SEP = " · "  # between the parts of a stored run's label (core.equal.live.label_runs)


def compared_names(labels: Sequence[str]) -> list[str]:
    """The compared runs' labels without the parts they all share, for the chart's legend and the settings table:
    a full label ("Learned · Numerical arrays · seed 0 · 2026-12-06 11:54 · finished · 766ca680bfad") as the
    table's first column pushed the settings it exists for past a 1440-px window. Labels of unequal parts are kept.

    >>> compared_names(["Learned · Arrays · seed 0 · 11:54 · finished · 766c", "UCB1 · Arrays · seed 0 · 11:53 · "
    ...                 "finished · 3ee9"])
    ['Learned · 11:54 · 766c', 'UCB1 · 11:53 · 3ee9']
    >>> compared_names(["a · b", "a · b · c"])
    ['a · b', 'a · b · c']
    """
    parts = [label.split(LABEL_SEP) for label in labels]
    if len(parts) < 2 or len({len(p) for p in parts}) != 1:
        return list(labels)
    keep = [i for i in range(len(parts[0])) if len({p[i] for p in parts}) > 1]
    return [LABEL_SEP.join(p[i] for i in keep) for p in parts] if keep else list(labels)


def compared_table_style(table: pd.DataFrame, column: str = "run"):
    """``table`` (a row per compared run, in the chart's order) as a pandas ``Styler`` whose ``column`` is written in
    each run's colour on :func:`make_comparison_figure`, so a row is matched to its curves by colour too."""
    colours = [f"color: {c}; font-weight: 600" for c in COMPARE_COLORS[:len(table)]]
    return table.style.apply(lambda _: colours, subset=[column])


def make_comparison_figure(runs: Sequence[tuple[str, pd.DataFrame]], x: str = "calls_cum") -> go.Figure:
    """Several runs overlaid (``runs``: ``(name, rounds_frame)`` each, in order, at most
    ``len(COMPARE_COLORS)``): closeness to the reference set and running mean reward against budget, one colour
    per run (the names escaped, as in :func:`make_budget_figure`)."""
    if len(runs) > len(COMPARE_COLORS):
        raise ValueError(f"at most {len(COMPARE_COLORS)} runs can be compared on one chart, got {len(runs)}")
    fig = make_subplots(rows=1, cols=2, subplot_titles=(METRIC_LABELS["coverage"], METRIC_LABELS["reward_cum"]))
    for (name, df), colour in zip(runs, COMPARE_COLORS):
        name = html.escape(name, quote=False)
        # lines: plotly's default draws dots on a trace of under 20 points, so a short run read as another kind;
        # a dot for a run of one round, which a line would not draw (as make_budget_figure)
        mode = "lines" if len(df) > 1 else "markers"
        fig.add_scatter(x=df[x], y=df["coverage"], name=name, mode=mode, line=dict(color=colour),
                        marker=dict(color=colour), row=1, col=1)
        fig.add_scatter(x=df[x], y=df["reward_cum"], name=name, mode=mode, line=dict(color=colour),
                        marker=dict(color=colour), showlegend=False, row=1, col=2)
    fig.update_xaxes(title_text=X_LABELS.get(x, x))
    fig.update_layout(height=340 + 22 * max(len(runs) - 2, 0), margin=dict(l=40, r=10, t=40, b=40),
                      legend=dict(orientation="h", y=-0.3))
    return finish(fig)
