"""Pure helpers between the map's figure and the data: selections to ids, exports, display sampling.

A plotly selection reports ``point_index`` counted *within its trace*, so positions are
meaningless across traces; every point carries its document id in ``custom_data[0]`` and
selections are mapped through that id only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray


def ids_from_plotly_selection(selection: Any) -> list[str]:
    """Document ids of the selected points, in first-seen order, without duplicates.

    Accepts a Streamlit selection event (``event.selection.points`` / ``event["selection"]["points"]``),
    the ``selection`` mapping, or a list of point dicts. Each point's id is ``customdata[0]``
    (``custom_data`` is accepted too; a scalar customdata is taken as the id). Points without
    customdata are ignored, never mapped by position.
    """
    points: Iterable = ()
    if selection is None:
        return []
    if isinstance(selection, Mapping) or hasattr(selection, "selection") or hasattr(selection, "points"):
        sel = (selection.get("selection", selection) if isinstance(selection, Mapping)
               else getattr(selection, "selection", selection))
        points = (sel.get("points", ()) if isinstance(sel, Mapping) else getattr(sel, "points", ())) or ()
    else:
        points = selection
    out: dict[str, None] = {}
    for p in points:
        cd = None
        if isinstance(p, Mapping):
            cd = p.get("customdata", p.get("custom_data"))
        if cd is None:
            continue
        if isinstance(cd, (list, tuple, np.ndarray)):
            if len(cd) == 0:
                continue
            cd = cd[0]
        out.setdefault(str(cd), None)
    return list(out)


def export_documents(frame: pd.DataFrame, ids: Iterable[str], fmt: str) -> bytes:
    """The rows of ``frame`` (a ``documents_frame``) whose ``doc_id`` is in ``ids``, as JSONL or CSV bytes.

    Rows keep the frame's order; columns ``doc_id, text, source, cluster`` (plus any other
    non-coordinate columns). ``fmt`` is ``"jsonl"`` or ``"csv"`` (UTF-8); CSV text cells that a
    spreadsheet would run as formulas get a leading ``'`` (:mod:`core.csv_safe`).
    """
    fmt = fmt.lower()
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"fmt must be 'jsonl' or 'csv', got {fmt!r}")
    wanted = set(map(str, ids))
    rows = frame[frame["doc_id"].astype(str).isin(wanted)].drop(columns=[c for c in ("x", "y") if c in frame.columns])
    if fmt == "csv":  # cells starting with = + - @ are escaped: a spreadsheet must not run them
        from core.csv_safe import to_safe_csv

        return to_safe_csv(rows).encode("utf-8")
    buf = io.StringIO()
    for rec in rows.to_dict(orient="records"):
        buf.write(json.dumps({k: _json_value(v) for k, v in rec.items()}, ensure_ascii=False, allow_nan=False))
        buf.write("\n")
    return buf.getvalue().encode("utf-8")


def _json_value(value: Any) -> Any:
    """A frame cell as JSON holds it: numpy scalars as Python's, a missing value (a file column's blank: NaN,
    ``<NA>``, ``None``) as ``null``, never the ``NaN`` that no JSON reader but Python's accepts.

    >>> [_json_value(v) for v in (np.int64(3), float("nan"), pd.NA, "x")]
    [3, None, None, 'x']
    """
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def display_sample(n: int, max_points: int, seed: int = 0) -> NDArray[np.int64]:
    """Sorted indices of the points to draw: all ``n`` if ``n <= max_points``, else a seeded uniform
    sample of ``max_points`` (selection on the drawn sample still maps to ids; exports of a
    cluster or a search use the full data)."""
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False)).astype(np.int64)


def _inside_polygon(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> NDArray[np.bool_]:
    """Even-odd ray casting: which points ``(x, y)`` lie inside the polygon ``(px, py)``."""
    inside = np.zeros(len(x), dtype=bool)
    j = len(px) - 1
    for i in range(len(px)):
        xi, yi, xj, yj = px[i], py[i], px[j], py[j]
        crosses = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = (xj - xi) * (y - yi) / (yj - yi) + xi
        inside ^= crosses & (x < x_cross)
        j = i
    return inside


def region_mask(x: NDArray, y: NDArray, selection: Any) -> NDArray[np.bool_]:
    """Which points ``(x, y)`` lie inside the selection's boxes and lassos (point clicks carry no region)."""
    mask = np.zeros(len(x), dtype=bool)
    if selection is None:
        return mask
    sel = (selection.get("selection", selection) if isinstance(selection, Mapping)
           else getattr(selection, "selection", selection))
    get = (lambda key: sel.get(key, ()) if isinstance(sel, Mapping) else getattr(sel, key, ()))
    for box in get("box") or ():
        bx, by = np.sort(np.asarray(box["x"], float)), np.sort(np.asarray(box["y"], float))
        mask |= (x >= bx[0]) & (x <= bx[-1]) & (y >= by[0]) & (y <= by[-1])
    for lasso in get("lasso") or ():
        px, py = np.asarray(lasso["x"], float), np.asarray(lasso["y"], float)
        if len(px) >= 3:
            mask |= _inside_polygon(x, y, px, py)
    return mask


def ids_in_selected_region(frame: pd.DataFrame, selection: Any) -> list[str]:
    """Ids of *all* documents of ``frame`` inside the selection's boxes and lassos (frame order).

    Used when the map draws a sample: a box or lasso drawn on the sample still selects every
    document of the full data inside it. Point clicks carry no region and add nothing here
    (combine with :func:`ids_from_plotly_selection`).
    """
    if selection is None:
        return []
    mask = region_mask(frame["x"].to_numpy(float), frame["y"].to_numpy(float), selection)
    return frame.loc[mask, "doc_id"].astype(str).tolist()


def rows_in_selected_region(xy: NDArray, selection: Any) -> NDArray[np.int64]:
    """Row numbers of every point of ``xy (n, 2)`` inside the selection's boxes and lassos, ascending.

    The large map's selection: numpy over all ``n`` rows (milliseconds at 1M), no id frame, no id lookups.
    """
    xy = np.asarray(xy)
    return np.flatnonzero(region_mask(xy[:, 0], xy[:, 1], selection)).astype(np.int64)


class SelectionMemory:
    """The map's selection across reruns, kept when only the figure changed.

    Streamlit resets a chart's selection whenever the figure it draws changes (a search adds
    its stars, a cluster row dims the others), so the event of that rerun comes back empty.
    An empty event clears the remembered ids only when the previous rerun drew the same figure
    (``token``) with a selection on it: that is the user deselecting. Otherwise the ids stay
    until :meth:`clear`.

    >>> m = SelectionMemory()
    >>> m.update(["a", "b"], token="plain")
    ['a', 'b']
    >>> m.update([], token="with search stars")  # the search redrew the figure: kept
    ['a', 'b']
    >>> m.update([], token="plain")  # the search cleared: redrawn again, still kept
    ['a', 'b']
    >>> m.update(["c"], token="plain"), m.update([], token="plain")  # selected, then deselected
    (['c'], [])

    A map that keeps its selection across reruns (the WebGL map) passes the browser's selection
    counter as the token (``counter=True``): the browser counts only the user's own selecting, so an
    empty selection under a new counter is the user deselecting (a click beside the points, Escape, the
    legend hiding the selected points); a counter of 0 is a map that has sent nothing yet (mounted again).
    After :meth:`clear`, the same selection coming back is not restored.

    >>> w = SelectionMemory(counter=True)
    >>> w.update(["a"], token=1), w.update(["a"], token=1), w.update([], token=0), w.update([], token=2)
    (['a'], ['a'], ['a'], [])
    >>> w.update(["a"], token=3)
    ['a']
    >>> w.clear(); w.update(["a"], token=3), w.update(["b"], token=4)
    ([], ['b'])

    A ``stale`` event (the browser's selection was made on a map since rebuilt or upgraded, so it selects nothing
    of the new one) is neither a selection nor the user deselecting: the ids stay.

    >>> w.update([], token=4, stale=True), w.update([], token=5)
    (['b'], [])
    """

    def __init__(self, counter: bool = False) -> None:
        self.counter = counter
        self.ids: list[str] = []
        self._token: Any = None
        self._shown = False  # whether the previous rerun's event carried a selection
        self._cleared: tuple[Any, list[str]] | None = None  # the token and ids that Clear dropped
        self._last: list[str] = []
        self.clears = 0  # how many times Clear was pressed: the map clears its own selection on a new one

    def update(self, event_ids: Iterable[str], token: Any, stale: bool = False) -> list[str]:
        if stale:
            return list(self.ids)
        event_ids = list(dict.fromkeys(str(i) for i in event_ids))
        if self._cleared is not None and (token, event_ids) == self._cleared:
            event_ids = []  # the selection that was cleared, sent again
        self._last = event_ids
        if event_ids:
            self.ids = event_ids
        elif self._shown and token == self._token:
            self.ids = []
        elif self.counter and token and token != self._token:
            self.ids = []
        self._token, self._shown = token, bool(event_ids)
        return list(self.ids)

    def clear(self) -> None:
        self.ids, self._shown, self._cleared = [], False, (self._token, self._last)
        self.clears += 1
