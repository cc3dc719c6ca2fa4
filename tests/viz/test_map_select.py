"""A box or lasso's points, found on the server from its polygon, against a point-by-point reference."""

from __future__ import annotations

import numpy as np
import pytest

from core.viz.map_select import MAX_VERTICES, points_in_polygon, polygon_vertices, region_indices
from core.viz.webgl_map import (
    MAX_SELECTED_DOTS,
    decode_payload,
    encode_payload,
    prepare_points,
    region_answer,
    selection_rows,
)


def _reference(x, y, poly) -> list[int]:
    """regl-scatterplot's isPointInPolygon (non-zero winding), one point at a time, in Python floats."""
    flat = [float(v) for v in poly]
    inside = []
    for k, (px, py) in enumerate(zip(map(float, x), map(float, y))):
        winding, j = 0, len(flat) - 2
        for i in range(0, len(flat), 2):
            x1, y1, x2, y2 = flat[i], flat[i + 1], flat[j], flat[j + 1]
            cross = (x2 - x1) * (py - y1) - (px - x1) * (y2 - y1)
            if y1 <= py:
                if y2 > py and cross > 0:
                    winding += 1
            elif y2 <= py and cross < 0:
                winding -= 1
            j = i
        if winding and len(flat) >= 6:
            inside.append(k)
    return inside


def _points_on_the_edges(poly, rng, per_edge=5):
    """Points exactly on the polygon's vertices and (up to rounding) on its edges."""
    v = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    t = rng.random((len(v), per_edge))
    on = v[:, None, :] + t[..., None] * (np.roll(v, -1, axis=0) - v)[:, None, :]
    return np.concatenate([v, on.reshape(-1, 2)])


@pytest.mark.parametrize("seed", range(12))
def test_random_lassos_select_exactly_what_the_point_by_point_test_selects(seed):
    rng = np.random.default_rng(seed)
    n_vertices = int(rng.integers(3, 40))
    # a random walk: self-intersecting, with loops wound twice and the other way round
    poly = rng.normal(size=(n_vertices, 2)).cumsum(axis=0).ravel()
    if seed % 3 == 0:
        poly = np.round(poly, 1)  # shared coordinates: horizontal and vertical edges, points on them
    pts = np.concatenate([rng.normal(scale=3, size=(3000, 2)), _points_on_the_edges(poly, rng)])
    if seed % 2:
        pts = pts.astype(np.float32)  # the map's own coordinates are float32
    got = points_in_polygon(pts[:, 0], pts[:, 1], poly)
    assert got.tolist() == _reference(pts[:, 0], pts[:, 1], poly)


def test_a_box_holds_its_inside_and_the_rule_is_non_zero_winding():
    x = np.array([0.5, 1.5, 0.0, 1.0, 0.5, -0.1], dtype=np.float32)
    y = np.array([0.5, 0.5, 0.0, 1.0, 1.0, 0.5], dtype=np.float32)
    square = [0, 0, 1, 0, 1, 1, 0, 1]
    assert points_in_polygon(x, y, square).tolist() == _reference(x, y, square)
    assert 0 in points_in_polygon(x, y, square) and 1 not in points_in_polygon(x, y, square)
    assert points_in_polygon(x, y, square[::-1]).tolist() == _reference(x, y, square[::-1])  # clockwise
    # the same square drawn twice: wound twice, still inside (even-odd would leave it out)
    assert 0 in points_in_polygon(x, y, square + square)


def test_degenerate_lassos_select_nothing_and_bad_ones_are_refused_with_the_reason():
    x, y = np.arange(5, dtype=np.float32), np.zeros(5, dtype=np.float32)
    assert points_in_polygon(x, y, []).tolist() == []
    assert points_in_polygon(x, y, [0, 0, 4, 0]).tolist() == []  # two vertices: a line
    assert points_in_polygon(x, y, [0, 0, 2, 0, 4, 0]).tolist() == []  # no area
    assert points_in_polygon([], [], [0, 0, 1, 0, 1, 1]).tolist() == []
    with pytest.raises(ValueError, match="odd number"):
        polygon_vertices([0, 0, 1])
    with pytest.raises(ValueError, match="NaN or infinite"):
        polygon_vertices([0, 0, 1, float("nan"), 1, 1])
    with pytest.raises(ValueError, match="list of numbers"):
        polygon_vertices([0, 0, "a", 1, 1, 1])
    with pytest.raises(ValueError, match="at most"):
        polygon_vertices([0.0] * (2 * MAX_VERTICES + 2))


def _poly_state(p, poly, seq=1, **extra):
    return {"seq": seq, "n": p.n, "v": p.version, "enc": "poly", "poly": list(poly), "hidden": []} | extra


def test_a_polygon_selection_comes_back_as_the_callers_rows_without_hidden_codes_or_other_maps():
    xs = np.array([0.0, 1.0, 2.0, np.nan, 3.0, 4.0])
    p = prepare_points(xs, xs, [0, 1, 0, 0, 1, 0])  # the NaN row is not drawn: rows and indices differ
    everything = [-2, -2, 2, -2, 2, 2, -2, 2]
    assert selection_rows(p, _poly_state(p, everything)).tolist() == [0, 1, 2, 4, 5]
    assert selection_rows(p, _poly_state(p, everything, hidden=[1])).tolist() == [0, 2, 5]
    assert selection_rows(p, _poly_state(p, everything, v="an older map")).tolist() == []
    assert selection_rows(p, _poly_state(p, everything, n=p.n + 1)).tolist() == []
    assert region_answer(p, None) is None and region_answer(p, {"enc": "i32", "n": 5, "b64": ""}) is None
    seq, idx = region_answer(p, _poly_state(p, everything, seq=7))
    assert seq == 7 and idx.tolist() == [0, 1, 2, 3, 4]
    assert region_indices(p, _poly_state(p, everything)) is region_indices(p, _poly_state(p, everything))
    # the same points coloured otherwise: codes hidden under the old colouring hide nothing of the new one, and the
    # answers kept for the old codes are not this colouring's
    q = prepare_points(xs, xs, [1, 1, 0, 0, 0, 0])
    assert q.version == p.version
    assert selection_rows(q, _poly_state(p, everything, hidden=[1], zv=p.codes_version)).tolist() == [0, 1, 2, 4, 5]
    assert selection_rows(q, _poly_state(q, everything, hidden=[1], zv=q.codes_version)).tolist() == [2, 4, 5]


def test_the_next_payload_counts_the_polygon_and_sends_its_points_only_when_few():
    n = MAX_SELECTED_DOTS * 3
    rng = np.random.default_rng(0)
    p = prepare_points(rng.random(n), rng.random(n))
    small = region_answer(p, _poly_state(p, [-0.01, -0.01, 0.01, -0.01, 0.01, 0.01, -0.01, 0.01], seq=3))
    header, sections = decode_payload(encode_payload(p, send_points=False, region=small))
    assert header["sel"] == {"seq": 3, "n": len(small[1])} and 0 < len(small[1]) <= MAX_SELECTED_DOTS
    assert sections["selected"].tolist() == small[1].tolist()
    large = region_answer(p, _poly_state(p, [-1, -1, 1, -1, 1, 1, -1, 1], seq=4))
    header, sections = decode_payload(encode_payload(p, send_points=False, region=large))
    assert header["sel"] == {"seq": 4, "n": n} and "selected" not in sections
    header, _ = decode_payload(encode_payload(p, send_points=False))
    assert "sel" not in header
