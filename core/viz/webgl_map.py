"""The WebGL corpus map's wire format: points and updates to bytes, the browser's selection back to rows.

The map component (``components/corpus_map``, mounted by ``pages/map_component.py``) draws every
point with regl-scatterplot. Streamlit hands it one ``bytes`` payload per rerun::

    b"CMAP" | uint32 LE header length | header JSON (UTF-8) | zero pad to 4 bytes | sections

``header["sections"]`` names each binary section ``{name: [byte offset, length, "f32" | "i32" | "u16"]}``
(offsets from the end of the padding; each section padded to 4 bytes). The points (``x, y`` float32 in
[-1, 1] with the aspect kept, ``z`` the colour code, uint16 when the codes fit: a million points are 10 MB,
not 12) travel only while the browser does not yet hold this map's ``version``
(its ``have`` state); every other rerun sends the header and the small sections (``highlight``)
only, and the component updates the same WebGL context. The ``version`` names the points' places (and what the
browser keeps with them), not their colours: ``header["zv"]`` names the colour codes, and new codes for the same
points (another "Colour by") travel alone, as the ``z`` section, so the browser recolours the points it holds and
keeps the user's selection, whose ``v`` still names these points.

Selections come back as ``{"seq", "n", "v", "enc", ...}`` (``v``: the version they were made on):
``enc`` is ``"none"``, ``"i32"`` (``b64``: little-endian int32 point indices, when fewer than ``n / 32``
are selected), ``"bits"`` (``b64``: a bitmap of ``n`` bits, bit ``i`` at byte ``i // 8``, bit ``i % 8``:
at most ``n / 8`` bytes, 125 kB for a million points) or ``"poly"`` (a box or lasso: ``poly`` its
polygon in the points' coordinates, ``hidden`` the colour codes the legend hid, ``zv`` the codes' version; the
points inside are
found here, :mod:`core.viz.map_select`, so a million-point lasso sends a few hundred numbers). The
next payload answers a polygon with ``header["sel"] = {"seq", "n"}`` (how many it holds) and, when at
most :data:`MAX_SELECTED_DOTS`, their point indices as the ``selected`` section: the map marks them.
Point indices count the drawn points; :func:`selection_rows` maps them to the caller's rows
through :attr:`MapPoints.rows` (non-finite coordinates are dropped, so the two differ).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.viz.map_select import region_indices

SNIPPET_CHARS = 300  # a hover text's length
EXTENT = 0.875  # points fill [-EXTENT, EXTENT] of the canvas's [-1, 1]
MAX_INLINE_TEXTS = 20_000  # up to this many points, every point's snippet travels with the map (no hover rerun)
MAX_MARKS = 2_000  # stars or rings drawn over the points, each
MAX_SELECTED_DOTS = 5_000  # a box or lasso holding at most this many points has them marked one by one


@dataclass(frozen=True)
class LegendEntry:
    """One legend entry: the colour ``code`` of its points, its ``name``, ``color`` and ``count`` of points."""

    code: int
    name: str
    color: str
    count: int


@dataclass(frozen=True)
class MapPoints:
    """The points a map draws, normalised, with the rows they came from.

    ``x, y, z`` have shape ``(m,)`` float32 (``m`` finite points of ``n`` given); ``rows (m,)`` int64
    are the caller's row numbers of the drawn points, ascending; ``version`` names the points (their places and
    :func:`prepare_points`'s ``salt``), ``codes_version`` their colour codes.
    """

    x: NDArray[np.float32]
    y: NDArray[np.float32]
    z: NDArray[np.float32]
    rows: NDArray[np.int64]
    n_given: int
    version: str
    center: tuple[float, float] = (0.0, 0.0)
    half: float = 1.0
    codes_version: str = ""

    def to_map(self, x: Any, y: Any) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The caller's coordinates in the drawn map's (the transform :func:`prepare_points` applied).

        >>> prepare_points([0.0, 4.0], [0.0, 2.0]).to_map([2.0], [1.0])
        (array([0.], dtype=float32), array([0.], dtype=float32))
        """
        xs = (np.asarray(x, dtype=np.float64) - self.center[0]) / self.half
        ys = (np.asarray(y, dtype=np.float64) - self.center[1]) / self.half
        return xs.astype(np.float32), ys.astype(np.float32)

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def dropped(self) -> int:
        return self.n_given - self.n

    @property
    def note(self) -> str:
        """What the map says about points it could not draw ("" when all were drawn)."""
        if not self.dropped:
            return ""
        return f"{self.dropped:,} of {self.n_given:,} points not drawn: their coordinates are NaN or infinite"


def prepare_points(x: Any, y: Any, codes: Any = None, salt: str = "") -> MapPoints:
    """Drop non-finite points and scale the rest into [-EXTENT, EXTENT] (one scale for both axes, so shapes
    keep; the margin keeps edge points off the canvas border). The version digests the points and ``salt``: what
    else the browser keeps with the points (their hover texts), so a map whose layout did not change but whose
    texts did (another number of clusters) is sent again. The codes have their own ``codes_version``: the same
    points coloured otherwise keep their version (and the browser its selection on them).

    >>> p = prepare_points([0.0, 2.0, float("nan"), 4.0], [0.0, 1.0, 1.0, 2.0], [0, 1, 1, 2])
    >>> p.rows.tolist(), p.x.tolist(), p.y.tolist(), p.dropped
    ([0, 1, 3], [-0.875, 0.0, 0.875], [-0.4375, 0.0, 0.4375], 1)
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if len(xs) != len(ys):
        raise ValueError(f"x and y differ in length: {len(xs)} and {len(ys)}")
    zs = np.zeros(len(xs)) if codes is None else np.asarray(codes, dtype=np.float64).ravel()
    if len(zs) != len(xs):
        raise ValueError(f"codes has {len(zs)} values for {len(xs)} points")
    keep = np.isfinite(xs) & np.isfinite(ys)
    rows = np.flatnonzero(keep).astype(np.int64)
    xs, ys = xs[rows], ys[rows]
    zs = np.where(np.isfinite(zs[rows]), zs[rows], 0.0)
    cx = cy = 0.0
    half = 1.0
    if len(rows):
        cx, cy = float(xs.min() + xs.max()) / 2, float(ys.min() + ys.max()) / 2
        half = float(max(xs.max() - xs.min(), ys.max() - ys.min()) / 2 or 1.0) / EXTENT
        xs, ys = (xs - cx) / half, (ys - cy) / half
    out = [np.ascontiguousarray(a, dtype=np.float32) for a in (xs, ys, zs)]
    digest = hashlib.blake2b(salt.encode(), digest_size=8)
    for a in (out[0], out[1], rows):
        digest.update(a.tobytes())
    codes = hashlib.blake2b(out[2].tobytes(), digest_size=8).hexdigest()
    return MapPoints(out[0], out[1], out[2], rows, len(keep), digest.hexdigest(), (cx, cy), half, codes)


def point_indices(points: MapPoints, rows: Any) -> NDArray[np.int32]:
    """Indices among the drawn points of the given caller ``rows`` (rows not drawn are left out), ascending."""
    rows = np.unique(np.asarray(rows, dtype=np.int64).ravel())
    pos = np.searchsorted(points.rows, rows)
    pos = np.minimum(pos, max(points.n - 1, 0))
    found = (points.n > 0) & (points.rows[pos] == rows) if points.n else np.zeros(len(rows), dtype=bool)
    return pos[found].astype(np.int32)


WIRE_DTYPES = {"f32": "<f4", "i32": "<i4", "u16": "<u2"}  # a section's kind -> its little-endian dtype


def wire_codes(z: NDArray[np.float32]) -> NDArray:
    """Colour codes as they travel: uint16 when every code is a whole number in [0, 65535], else float32.

    >>> wire_codes(np.array([0.0, 3.0, 65535.0], dtype=np.float32)).dtype.str, wire_codes(np.array([0.5])).dtype.str
    ('<u2', '<f4')
    """
    z = np.asarray(z, dtype=np.float32)
    if len(z) and (z.min() < 0 or z.max() > 65535 or not np.array_equal(z, np.floor(z))):
        return z
    return z.astype("<u2")


def _signature(values: NDArray | None, key: str = "") -> str | None:
    if values is None:
        return None
    return hashlib.blake2b(np.ascontiguousarray(values).tobytes() + key.encode(), digest_size=8).hexdigest()


def short_text(text: Any, n: int = SNIPPET_CHARS) -> str:
    """One line of at most ``n`` characters (an ellipsis marks the cut); never markup-escaped: the map shows
    text with ``textContent``."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def encode_payload(points: MapPoints, *, send_points: bool, send_codes: bool = False, highlight: Any = None,
                   colors: Sequence[str] | None = None, texts: Sequence[str] | None = None,
                   hover: tuple[int, str] | None = None, height: int = 560, stars: Any = None, marks: Any = None,
                   labels: Sequence[Any] | None = None, legend: Sequence[LegendEntry] | None = None,
                   legend_title: str = "cluster", highlight_key: str = "", png_name: str = "corpus-map",
                   region: tuple[int, NDArray[np.int64]] | None = None) -> bytes:
    """The bytes one rerun sends the component (module docstring): the header, the highlight, and the points
    when ``send_points`` (their colour codes alone when ``send_codes``: the browser holds the points, coloured
    otherwise). ``highlight``: caller rows to mark (``None``: leave the user's selection alone;
    empty: clear it); ``texts``: one hover text per DRAWN point (small maps; sent with the points only, the
    browser keeps them with its copy); ``hover``: ``(point index, text)`` answering the browser's request for
    one point's text. ``stars`` and ``marks``: caller rows drawn as stars (search matches, tags) and as rings
    (a clicked point's neighbours) over the points, at most :data:`MAX_MARKS` each. ``labels``:
    :class:`core.corpus.labels.MapLabel` in the caller's coordinates (level 0 shows zoomed out, 1 zoomed in; a
    group's label ends with its clusters, which the browser's legend hides it with);
    ``legend``: :class:`LegendEntry` per colour code, whose entries hide and show their points. A new
    ``highlight_key`` applies the same ``highlight`` again (a Clear button: the user's selection is dropped);
    ``png_name`` names the file the map's Save PNG button writes. ``region``: ``(seq, point indices)`` of the
    browser's box or lasso selection (:func:`region_answer`), counted in the header and, when few, sent back."""
    sections: dict[str, NDArray] = {}
    if send_points:
        sections.update(x=points.x, y=points.y, z=wire_codes(points.z))
    elif send_codes:
        sections["z"] = wire_codes(points.z)
    hl = None if highlight is None else point_indices(points, highlight)
    if hl is not None:
        sections["highlight"] = hl
    for name, rows in (("stars", stars), ("marks", marks)):
        if rows is not None:
            sections[name] = point_indices(points, rows)[:MAX_MARKS]
    header: dict[str, Any] = {"v": points.version, "zv": points.codes_version, "n": points.n, "height": int(height),
                              "note": points.note, "colors": list(colors or []),
                              "highlight_sig": _signature(hl, highlight_key), "sections": {}}
    if png_name != "corpus-map":
        header["png"] = str(png_name)
    if region is not None:
        header["sel"] = {"seq": int(region[0]), "n": len(region[1])}
        if len(region[1]) <= MAX_SELECTED_DOTS:
            sections["selected"] = np.asarray(region[1], dtype=np.int32)
    if texts is not None and send_points:
        header["texts"] = list(texts)
    if hover is not None:
        header["hover"] = {"i": int(hover[0]), "text": str(hover[1])}
    if labels:
        lx, ly = points.to_map([lab.x for lab in labels], [lab.y for lab in labels])
        header["labels"] = [[int(lab.level), int(lab.code), str(lab.text), round(float(x), 5), round(float(y), 5),
                             int(lab.size)] + ([list(map(int, lab.members))] if getattr(lab, "members", ()) else [])
                            for lab, x, y in zip(labels, lx, ly)]
    if legend is not None:
        entries = [[int(e.code), str(e.name), str(e.color), int(e.count)] for e in legend]
        header["legend"] = {"title": str(legend_title), "clusters": legend_title == "cluster", "entries": entries}
    return _pack(header, sections)


def _pack(header: dict[str, Any], sections: Mapping[str, NDArray]) -> bytes:
    """``header`` (its ``sections`` filled in here) and the binary ``sections`` as the wire format lays them out."""
    blobs, offset = [], 0
    for name, arr in sections.items():
        kind = "u16" if arr.dtype == np.dtype("<u2") else "i32" if arr.dtype.kind in "iu" else "f32"
        blob = np.ascontiguousarray(arr, dtype=WIRE_DTYPES[kind]).tobytes()
        blob += b"\0" * ((4 - len(blob) % 4) % 4)
        header["sections"][name] = [offset, len(arr), kind]
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = b"\0" * ((4 - len(head) % 4) % 4)
    return b"".join([b"CMAP", len(head).to_bytes(4, "little"), head, pad, *blobs])


def decode_payload_header(payload: bytes) -> dict[str, Any]:
    """The header of a payload (tests and tools read it back)."""
    if payload[:4] != b"CMAP":
        raise ValueError("not a corpus map payload (no CMAP magic)")
    size = int.from_bytes(payload[4:8], "little")
    return json.loads(payload[8:8 + size].decode("utf-8"))


def decode_payload(payload: bytes) -> tuple[dict[str, Any], dict[str, NDArray]]:
    """The header and the binary sections of a payload, read as the browser reads them (tests and tools)."""
    header = decode_payload_header(payload)
    size = int.from_bytes(payload[4:8], "little")
    start = 8 + size + (4 - size % 4) % 4
    sections = {}
    for name, (off, n, kind) in header["sections"].items():
        dtype = np.dtype(WIRE_DTYPES[kind])
        sections[name] = np.frombuffer(payload[start + off:start + off + dtype.itemsize * n], dtype=dtype)
    return header, sections


def selection_indices(state: Mapping[str, Any] | None, n: int) -> NDArray[np.int64]:
    """Point indices of a selection state sent by the browser (module docstring), ascending, within ``[0, n)``.

    A state for another number of points (an older map) selects nothing.

    >>> selection_indices({"enc": "i32", "n": 10, "b64": "AwAAAAEAAAA="}, 10).tolist()
    [1, 3]
    >>> selection_indices({"enc": "bits", "n": 10, "b64": "BQI="}, 10).tolist()
    [0, 2, 9]
    """
    if not state or state.get("enc") in (None, "none") or int(state.get("n", -1)) != n:
        return np.zeros(0, dtype=np.int64)
    raw = base64.b64decode(state.get("b64") or "")
    if state["enc"] == "i32":
        idx = np.frombuffer(raw, dtype="<i4").astype(np.int64)
    elif state["enc"] == "bits":
        idx = np.flatnonzero(np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")[:n])
    else:
        raise ValueError(f"unknown selection encoding {state['enc']!r}; expected 'none', 'i32' or 'bits'")
    idx = np.unique(idx)
    return idx[(idx >= 0) & (idx < n)].astype(np.int64)


def selection_is_stale(points: MapPoints, state: Mapping[str, Any] | None) -> bool:
    """Whether the browser's selection ``state`` was made on another version of the map than ``points`` (the map
    was rebuilt or upgraded under it): it selects nothing here, and it is not the user deselecting either."""
    return bool(state) and state is not None and state.get("v") not in (None, points.version)


def drawn_selection(points: MapPoints, state: Mapping[str, Any] | None) -> NDArray[np.int64]:
    """Drawn point indices (ascending) of any selection state: ids sent by the browser, or the points inside its
    box or lasso polygon. A selection made on another version of the map selects nothing."""
    if not state or selection_is_stale(points, state):
        return np.zeros(0, dtype=np.int64)
    if state.get("enc") == "poly":
        if int(state.get("n", -1)) != points.n:
            return np.zeros(0, dtype=np.int64)
        return region_indices(points, state)
    return selection_indices(state, points.n)


def selection_rows(points: MapPoints, state: Mapping[str, Any] | None) -> NDArray[np.int64]:
    """The caller's rows of a selection state (ascending): drawn point indices mapped through ``points.rows``.
    A selection made on another version of the map selects nothing."""
    return points.rows[drawn_selection(points, state)]


def region_answer(points: MapPoints, state: Mapping[str, Any] | None) -> tuple[int, NDArray[np.int64]] | None:
    """``(seq, point indices)`` of a box or lasso selection state, for :func:`encode_payload`; ``None`` for any
    other selection."""
    if not state or state.get("enc") != "poly":
        return None
    return int(state.get("seq", 0) or 0), drawn_selection(points, state)


def hover_answer(points: MapPoints, index: Any, text_of: Callable[[int], str] | None) -> tuple[int, str] | None:
    """``(point index, short text)`` for the browser's hover request ``index`` (``None`` when there is none)."""
    if index is None or text_of is None or not 0 <= int(index) < points.n:
        return None
    return int(index), short_text(text_of(int(points.rows[int(index)])))


def inline_texts(points: MapPoints, labels: Sequence[Any] | None) -> list[str] | None:
    """Per drawn point hover texts for a small map (``labels`` per GIVEN row); ``None`` above
    :data:`MAX_INLINE_TEXTS` points or without labels (then hover asks for one text at a time)."""
    if labels is None or points.n > MAX_INLINE_TEXTS:
        return None
    if len(labels) != points.n_given:
        raise ValueError(f"labels has {len(labels)} texts for {points.n_given} points")
    return [short_text(labels[int(r)]) for r in points.rows]


def cluster_colors(k: int) -> list[str]:
    """One colour per cluster code ``0..k-1`` (the plotly maps' palette)."""
    from core.viz.corpus_map import _palette

    return _palette(max(int(k), 1))


MAX_CATEGORIES = 16  # colour by a column: its most frequent values, the rest "other"
QUANTILE_BINS = 6  # colour by a numeric column: this many quantile bins (or one per value, when fewer)
SEQUENTIAL = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"]  # viridis, low to high
MISSING, MISSING_COLOR = "missing", "#adb5bd"  # rows without a value: light grey, always their own entry
OTHER, OTHER_COLOR = "other", "#5c636a"  # the less frequent categories together: dark grey


@dataclass(frozen=True)
class Coloring:
    """Colour codes ``(n,)`` int per given row and the legend naming each code; ``span`` a numeric column's range
    (``"1990 – 2020"``, ``""`` for categories), ``missing`` the rows without a value (drawn grey)."""

    codes: NDArray[np.int64]
    legend: list[LegendEntry]
    span: str = ""
    missing: int = 0

    @property
    def colors(self) -> list[str]:
        """One colour per code ``0..len(legend)-1``."""
        return [e.color for e in self.legend]


def cluster_coloring(clusters: Any, names: Mapping[int, str] | None = None) -> Coloring:
    """The clusters' own colours, one legend entry per cluster ``0..k-1`` named ``"c · name"``.

    >>> [(e.code, e.name, e.count) for e in cluster_coloring([0, 1, 1], {1: "date parsing"}).legend]
    [(0, '0', 1), (1, '1 · date parsing', 2)]
    """
    codes = np.asarray(clusters, dtype=np.int64).ravel()
    k = int(codes.max()) + 1 if len(codes) else 1
    counts = np.bincount(codes, minlength=k)
    colors = cluster_colors(k)
    names = names or {}
    return Coloring(codes, [LegendEntry(c, f"{c} · {names[c]}" if names.get(c) else str(c), colors[c], int(counts[c]))
                            for c in range(k)])


def column_coloring(values: Any, max_categories: int = MAX_CATEGORIES) -> Coloring:
    """Colour codes for any column. A numeric column (plain or nullable numbers) on a sequential scale, low to high:
    one entry per value when it has at most :data:`QUANTILE_BINS` distinct values, else that many quantile bins
    named by their ranges. Anything else by its ``max_categories - 1`` most frequent values, the rest "other"
    (dark grey). Missing values (``None``, NaN, ``<NA>``) are their own light grey "missing" entry, last.

    >>> [(e.name, e.count) for e in column_coloring(["a", "b", "a", None, "c", "d"], max_categories=3).legend]
    [('a', 2), ('b', 1), ('other', 2), ('missing', 1)]
    >>> c = column_coloring([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, float("nan")])
    >>> c.codes.tolist(), c.legend[-1].name, c.span, c.missing
    ([0, 1, 2, 3, 4, 5, 5, 6], 'missing', '1 – 7', 1)
    >>> [e.name for e in column_coloring(pd.array([2001, None, 1999], dtype="Int64")).legend]
    ['1999', '2001', 'missing']
    """
    series = pd.Series(values).reset_index(drop=True)
    if series.dtype.kind in "iuf":
        return _numeric_coloring(series.to_numpy(dtype=np.float64, na_value=np.nan))
    missing = series.isna().to_numpy(dtype=bool)
    labels = series[~missing].map(str)
    counts = labels.value_counts(sort=True)
    top = list(counts.index[:max_categories - 1]) if len(counts) > max_categories else list(counts.index)
    top = sorted(top, key=lambda v: (-int(counts[v]), v))
    where = {v: i for i, v in enumerate(top)}
    n_kept = len(top) + (len(top) < len(counts))  # the categories, then "other" when some are not among them
    codes = np.full(len(series), n_kept, dtype=np.int64)  # missing: the code after them
    codes[~missing] = labels.map(lambda v: where.get(v, len(top))).to_numpy(dtype=np.int64)
    colors = cluster_colors(len(top))
    legend = [LegendEntry(i, short_text(v, 40), colors[i], int(counts[v])) for i, v in enumerate(top)]
    if len(top) < len(counts):
        legend.append(LegendEntry(len(top), OTHER, OTHER_COLOR, int((codes == len(top)).sum())))
    return _with_missing(Coloring(codes, legend), int(missing.sum()))


def _with_missing(coloring: Coloring, n_missing: int, span: str = "") -> Coloring:
    """``coloring`` with its grey "missing" entry (when any row has no value) and ``span``."""
    legend = list(coloring.legend)
    if n_missing:
        legend.append(LegendEntry(len(legend), MISSING, MISSING_COLOR, n_missing))
    return Coloring(coloring.codes, legend, span, n_missing)


def _number(v: float) -> str:
    """A number as a legend writes it: whole numbers in full (a year is 2001, not 2e+03), others to 4 digits."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:.4g}"


def _bin_names(edges: NDArray[np.float64], n_bins: int, whole: bool) -> list[str]:
    """The quantile bins' names. A bin holds its low edge, not its high one (the last holds both): of whole numbers
    it is named by the whole numbers it holds, so no two bins name the same value ("1 – 265", "266 – 602", where
    "1 – 266", "266 – 602.7" left 266 to guess and spoke of 602.7 characters).

    >>> _bin_names(np.array([1.0, 266.0, 603.0, 2968.0]), 3, True)
    ['1 – 265', '266 – 602', '603 – 2968']
    >>> _bin_names(np.array([0.5, 1.25, 2.0]), 2, False)
    ['0.5 – 1.25', '1.25 – 2']
    """
    last = len(edges) - 1
    names = []
    for i in range(n_bins):
        lo, hi = edges[i], edges[min(i + 1, last)]
        if whole and i + 1 < last:
            hi -= 1
        names.append(_number(lo) if lo == hi else f"{_number(lo)} – {_number(hi)}")
    return names


def _numeric_coloring(x: NDArray[np.float64]) -> Coloring:
    finite = np.isfinite(x)
    distinct = np.unique(x[finite])
    if not len(distinct):  # no value at all: every row missing
        return _with_missing(Coloring(np.zeros(len(x), dtype=np.int64), []), len(x))
    few = len(distinct) <= QUANTILE_BINS
    whole = bool(np.all(distinct == np.round(distinct)))
    if few:  # one entry per value
        edges, n_bins = distinct, len(distinct)
        codes = np.full(len(x), n_bins, dtype=np.int64)  # the last code: missing
        codes[finite] = np.searchsorted(distinct, x[finite])
    else:
        edges = np.quantile(x[finite], np.linspace(0, 1, QUANTILE_BINS + 1))
        edges = np.unique(np.ceil(edges) if whole else edges)  # whole numbers (lengths, counts) bin at whole numbers
        n_bins = max(len(edges) - 1, 1)
        codes = np.full(len(x), n_bins, dtype=np.int64)
        codes[finite] = np.clip(np.searchsorted(edges, x[finite], side="right") - 1, 0, n_bins - 1)
    palette = [SEQUENTIAL[round(i * (len(SEQUENTIAL) - 1) / max(n_bins - 1, 1))] for i in range(n_bins)]
    names = [_number(v) for v in edges] if few else _bin_names(edges, n_bins, whole)
    legend = [LegendEntry(i, names[i], palette[i], int((codes == i).sum())) for i in range(n_bins)]
    span = f"{_number(distinct[0])} – {_number(distinct[-1])}"
    return _with_missing(Coloring(codes, legend), int((~finite).sum()), span)
