"""The WebGL corpus map (``components/corpus_map``: regl-scatterplot in a Streamlit components.v2 module).

One WebGL context per map for the life of the page: a rerun calls the component again with the
same element, so highlights, colours and hover texts update in place, and the points themselves
travel only while the browser does not hold this map's version (``core.viz.webgl_map``).
Not a page: ``app.py`` lists pages explicitly, so this module is only imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from core.corpus.labels import label_names, map_labels
from core.viz import webgl_map
from core.viz.map_view import MapView, map_view
from core.viz.webgl_map import MapPoints
from pages import common

DIST = Path(__file__).resolve().parent.parent / "components" / "corpus_map" / "dist"


@st.cache_resource(show_spinner=False)
def _component():
    return st.components.v2.component(
        "equalctar.corpus_map", js=(DIST / "corpus_map.js").read_text(encoding="utf-8"),
        css=(DIST / "corpus_map.css").read_text(encoding="utf-8"), isolate_styles=False)


@dataclass(frozen=True)
class MapSelection:
    """What the map returned: the caller's ``rows`` selected by click, box or lasso (ascending), and the
    map's note on points it could not draw."""

    rows: NDArray[np.int64]
    note: str
    seq: int = 0  # the browser's selection counter: a new selection has a new one
    stale: bool = False  # made on another version of the map (rebuilt, upgraded since): it says nothing of this one


def _noop() -> None:
    """State changes rerun the page; the values are read from the result."""


def _browser_state(key: str) -> dict[str, Any]:
    """The component's state as the browser last set it (before this run mounts it)."""
    value = st.session_state.get(key)
    return dict(value) if isinstance(value, dict) else {}


def corpus_map(points: MapPoints, *, key: str, labels: Sequence[Any] | None = None, highlight: Any = None,
               colors: Sequence[str] | None = None, hover_text: Callable[[int], str] | None = None,
               height: int = 560, stars: Any = None, marks: Any = None, map_labels: Sequence[Any] | None = None,
               legend: Sequence[webgl_map.LegendEntry] | None = None, legend_title: str = "cluster",
               highlight_key: str = "", png_name: str = "corpus-map") -> MapSelection:
    """Draw ``points`` (:func:`core.viz.webgl_map.prepare_points`, cached by the caller) and return the selection.

    ``labels``: one hover text per given row (maps of up to ``MAX_INLINE_TEXTS`` points; above, use
    ``hover_text(row) -> str``, asked for one hovered point at a time). ``highlight``: rows to mark
    (``None`` leaves the user's own selection as it is). ``colors``: one colour per code. ``stars`` and
    ``marks``: rows drawn as stars and rings over the points; a new ``highlight_key`` applies ``highlight``
    again. ``map_labels``: labels by zoom (:func:`core.corpus.labels.map_labels`). ``legend``: one entry per
    code, each hides and shows its points. ``png_name``: the file name of the map's Save PNG button.
    """
    before = _browser_state(key)
    # the points go once per version and session, and again when the browser asks (``have`` None: it was mounted
    # again and lost them); it does not report every draw: that rerun request could swallow a page switch
    S = st.session_state
    sent_key, run_key, run_no = f"_map_sent:{key}", f"_map_run:{key}", S.get("_run_no", 0)
    mounted_again = S.get(run_key) not in (run_no, run_no - 1)  # not drawn by the run before: the browser lost it
    asked = "have" in before and before["have"] is None
    send = mounted_again or asked or S.get(sent_key) != points.version
    codes_key = f"_map_codes:{key}"  # the same points coloured otherwise: their codes go alone
    send_codes = S.get(codes_key) != points.codes_version
    S[sent_key], S[run_key], S[codes_key] = points.version, run_no, points.codes_version
    region = webgl_map.region_answer(points, before.get("selection"))
    payload = webgl_map.encode_payload(
        points, send_points=send, send_codes=send_codes, highlight=highlight, colors=colors,
        texts=webgl_map.inline_texts(points, labels) if send else None, height=height,
        hover=webgl_map.hover_answer(points, before.get("hover"), hover_text), stars=stars, marks=marks,
        labels=map_labels, legend=legend, legend_title=legend_title, highlight_key=highlight_key, png_name=png_name,
        region=region)
    result = _component()(key=key, data=payload, height=height + 2, on_have_change=_noop,
                          on_selection_change=_noop, on_hover_change=_noop)
    selection = result.get("selection")
    return MapSelection(webgl_map.selection_rows(points, selection), points.note,
                        int((selection or {}).get("seq", 0) or 0))


def selection_before(points: MapPoints, key: str) -> MapSelection:
    """The selection the browser holds before this run mounts the map (what :func:`corpus_map` will return):
    what the page draws may depend on it (a clicked point's neighbours)."""
    state = _browser_state(key).get("selection")
    return MapSelection(webgl_map.selection_rows(points, state), points.note, int((state or {}).get("seq", 0) or 0),
                        stale=webgl_map.selection_is_stale(points, state))


def _map_key(cmap) -> str:
    """A map's key in this module's caches: its corpus's frame hash (the content hash without file columns; the
    columns' values too with them) and settings."""
    return f"{cmap.corpus.frame_hash}|{cmap.settings!r}"


@st.cache_resource(show_spinner="Naming the clusters…", max_entries=8)
def _labels(key: str, _cmap) -> list:
    try:
        encode = common.encoder(_cmap.settings.encoder_name).encode
    except (RuntimeError, ValueError, OSError):
        encode = None
    return map_labels(_cmap, encode)


def cluster_labels(cmap) -> list:
    """Labels by zoom of a corpus map, once per map (``core.corpus.labels``: phrases reranked by the map's own
    encoder; by c-TF-IDF alone when that encoder cannot load, e.g. a map cached from a model folder since gone)."""
    return _labels(_map_key(cmap), cmap)


@st.cache_resource(show_spinner=False, max_entries=16)
def _view(key: str, column: str, _labels, _cmap) -> MapView:
    return map_view(_cmap.documents_frame(), column, label_names(_labels))


def colored_view(cmap, column: str, labels) -> MapView:
    """The corpus map's points coloured by ``column``, shared by sessions and pages (the browser gets them once
    per version); the legend names clusters by their ``labels``."""
    return _view(_map_key(cmap), column, labels, cmap)
