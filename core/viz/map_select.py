"""Which map points a box or lasso holds: the polygon the browser drew, tested here against every point.

The WebGL map (``components/corpus_map``) sends a box or lasso as its polygon in the points' own
coordinates (:attr:`core.viz.webgl_map.MapPoints.x` / ``y``) instead of the ids inside it: a few
hundred numbers instead of up to a million ids, and no WebGL frame before the page can answer.
The test is the one regl-scatterplot 1.16 (MIT) uses for its own lasso, the non-zero winding rule
(a point is inside when the polygon winds around it; self-intersecting lassos included)::

    for each edge (x1, y1) = vertex i, (x2, y2) = vertex i - 1:
        cross = (x2 - x1) * (py - y1) - (px - x1) * (y2 - y1)
        winding += 1  if y1 <= py < y2 and cross > 0
        winding -= 1  if y2 <= py < y1 and cross < 0

computed in float64. Vectorised: the points inside the polygon's bounding box are ordered by a
16-bit key of ``y`` (a radix sort, linear), so each edge touches only the contiguous run of points
whose ``y`` lies in its span: ``O(k + sum of spans)`` for ``k`` points in the box instead of
``O(k * edges)``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_VERTICES = 4096  # a lasso the map draws has at most 2,048
_CACHE: OrderedDict[tuple, NDArray[np.int64]] = OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()  # sessions run in threads of one server
BUCKETS = 1 << 16  # y keys of the points in the polygon's box


def _within(v: NDArray, lo: float, hi: float) -> NDArray[np.bool_]:
    """``lo <= v <= hi`` without copying ``v`` to float64: the bounds widened to ``v``'s dtype (a superset; the
    exact test in float64 follows)."""
    if v.dtype == np.float32:
        lo32 = np.nextafter(np.float32(lo), np.float32(-np.inf))
        hi32 = np.nextafter(np.float32(hi), np.float32(np.inf))
        return (v >= lo32) & (v <= hi32)
    return (v >= lo) & (v <= hi)


def polygon_vertices(poly: Any) -> NDArray[np.float64]:
    """A flat ``[x0, y0, x1, y1, ...]`` list as ``(v, 2)`` float64 vertices; a ``ValueError`` names what is wrong.

    >>> polygon_vertices([0, 0, 1, 0, 1, 1]).shape
    (3, 2)
    """
    try:
        flat = np.asarray(poly, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the selection polygon must be a list of numbers: {exc}") from None
    if len(flat) % 2:
        raise ValueError(f"the selection polygon has an odd number of coordinates ({len(flat)})")
    if len(flat) > 2 * MAX_VERTICES:
        raise ValueError(f"the selection polygon has {len(flat) // 2:,} vertices; at most {MAX_VERTICES:,}")
    if not np.isfinite(flat).all():
        raise ValueError("the selection polygon has a NaN or infinite coordinate")
    return flat.reshape(-1, 2)


def points_in_polygon(x: Any, y: Any, poly: Any) -> NDArray[np.int64]:
    """Indices (ascending) of the points ``(x[i], y[i])`` inside the polygon (non-zero winding, module docstring).

    ``x, y`` shape ``(n,)``; ``poly`` flat ``[x0, y0, ...]`` (closed implicitly). Fewer than 3 vertices select
    nothing.

    >>> points_in_polygon([0.5, 2.0, 0.0], [0.5, 0.5, 0.0], [0, 0, 1, 0, 1, 1, 0, 1]).tolist()
    [0, 2]
    """
    verts = polygon_vertices(poly)
    xs, ys = np.asarray(x).ravel(), np.asarray(y).ravel()
    if len(verts) < 3 or not len(xs):
        return np.zeros(0, dtype=np.int64)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    cand = np.flatnonzero(_within(xs, lo[0], hi[0]) & _within(ys, lo[1], hi[1]))
    px, py = xs[cand].astype(np.float64), ys[cand].astype(np.float64)
    # near-sorted by y in linear time: a radix sort of 16-bit keys; each edge then reads the run of keys its span
    # covers (a few points more than the span itself, which the exact test below leaves out)
    scale = (BUCKETS - 1) / (hi[1] - lo[1]) if hi[1] > lo[1] else 0.0
    keys = np.clip((py - lo[1]) * scale, 0, BUCKETS - 1).astype(np.uint16)
    order = np.argsort(keys, kind="stable")
    keys, px, py, cand = keys[order], px[order], py[order], cand[order]
    winding = np.zeros(len(cand), dtype=np.int32)
    for i in range(len(verts)):
        x1, y1 = verts[i]
        x2, y2 = verts[i - 1]
        if y1 == y2:
            continue  # a horizontal edge crosses no ray
        e_lo, e_hi = min(y1, y2), max(y1, y2)
        a = int(np.searchsorted(keys, np.uint16(min(max((e_lo - lo[1]) * scale, 0), BUCKETS - 1)), side="left"))
        b = int(np.searchsorted(keys, np.uint16(min(max((e_hi - lo[1]) * scale, 0), BUCKETS - 1)), side="right"))
        if a >= b:
            continue
        ya, xa = py[a:b], px[a:b]
        cross = (x2 - x1) * (ya - y1) - (xa - x1) * (y2 - y1)
        band = (ya >= e_lo) & (ya < e_hi)
        if y1 < y2:
            winding[a:b] += band & (cross > 0)
        else:
            winding[a:b] -= band & (cross < 0)
    return np.sort(cand[winding != 0]).astype(np.int64)


def region_indices(points, state: Mapping[str, Any]) -> NDArray[np.int64]:
    """Drawn point indices a ``{"enc": "poly", "poly": [...], "hidden": [codes]}`` selection holds: inside the
    polygon, and not of a colour code the legend hid (the browser neither draws nor selects those). Codes hidden
    under another colouring (``state["zv"]`` is not ``points.codes_version``) hide nothing: the browser shows every
    point of a new colouring.

    ``points``: :class:`core.viz.webgl_map.MapPoints`. The last few answers are kept by map version and polygon
    (a page asks twice per run: before it mounts the map, and for what the map returns)."""
    other_codes = state.get("zv") not in (None, points.codes_version)
    hidden = [] if other_codes else sorted({float(c) for c in state.get("hidden") or []})
    poly = tuple(polygon_vertices(state.get("poly") or []).ravel().tolist())
    key = (points.version, points.codes_version, poly, tuple(hidden))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    idx = points_in_polygon(points.x, points.y, state.get("poly") or [])
    if hidden and len(idx):
        idx = idx[~np.isin(points.z[idx], np.asarray(hidden, dtype=np.float32))]
    idx.setflags(write=False)
    with _LOCK:
        _CACHE[key] = idx
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return idx
