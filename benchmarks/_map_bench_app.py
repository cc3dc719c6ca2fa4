"""The app ``bench_map.py`` serves: ``?r=webgl|plotly&n=<points>``, synthetic clusters, a highlight box.

Not a product page. ``hl`` (a number box) picks 100 random ids to highlight; the count of selected
rows that reached Python is printed as ``SELECTED <count> <run>``. ``&hover=1`` gives every point a hover text
(``document <row>: ...``), asked for one hovered point at a time as on the Large corpus page.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.corpus.selection import rows_in_selected_region
from core.viz.corpus_map import make_large_map_figure
from core.viz.webgl_map import cluster_colors, prepare_points
from pages.map_component import corpus_map

K = 50
TEXT = "a synthetic document of the benchmark whose hover text is read one point at a time " * 4


@st.cache_resource(max_entries=3)
def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10, size=(K, 2))
    codes = rng.integers(0, K, n)
    xy = (centres[codes] + rng.normal(size=(n, 2))).astype(np.float32)
    return xy, codes


@st.cache_resource(max_entries=3)
def _points(n: int):
    xy, codes = _data(n)
    return prepare_points(xy[:, 0], xy[:, 1], codes)


@st.cache_resource(max_entries=2)
def _frame(n: int) -> pd.DataFrame:
    xy, codes = _data(n)
    return pd.DataFrame({"doc_id": np.arange(n).astype(str), "cluster": codes, "x": xy[:, 0], "y": xy[:, 1]})


def _highlight(n: int, seed: int) -> np.ndarray | None:
    return None if seed == 0 else np.random.default_rng(seed).choice(n, 100, replace=False)


renderer, n = st.query_params.get("r", "webgl"), int(st.query_params.get("n", "1000"))
seed = int(st.number_input("hl", min_value=0, value=0, key="hl"))
hl = _highlight(n, seed)
st.session_state["runs"] = st.session_state.get("runs", 0) + 1
if renderer == "webgl":
    hover = None if st.query_params.get("hover") != "1" else (lambda row: f"document {row}: {TEXT}")
    picked = corpus_map(_points(n), key="bench_map", highlight=hl, colors=cluster_colors(K), height=600,
                        hover_text=hover)
    count = len(picked.rows)
else:
    fig = make_large_map_figure(_frame(n), height=600)
    if hl is not None:
        xy = _data(n)[0][hl]
        fig.add_trace(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", marker=dict(size=9, color="#e8590c")))
    fig.update_layout(dragmode="select", title=dict(text=f"hl={seed}", y=0.99), margin=dict(t=30))
    event = st.plotly_chart(fig, on_select="rerun", selection_mode=("box", "lasso"), key="bench_plotly")
    count = len(rows_in_selected_region(_data(n)[0], event))
st.markdown(f"SELECTED {count} {st.session_state['runs']}")
