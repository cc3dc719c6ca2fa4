"""The WebGL map's wire format (core.viz.webgl_map): points out once, selections back as rows."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from core.viz.webgl_map import (
    MAX_INLINE_TEXTS,
    decode_payload,
    decode_payload_header,
    encode_payload,
    hover_answer,
    inline_texts,
    point_indices,
    prepare_points,
    selection_indices,
    selection_is_stale,
    selection_rows,
)


def _sections(payload: bytes) -> dict[str, np.ndarray]:
    """The binary sections of a payload, read as the browser reads them."""
    header = decode_payload_header(payload)
    size = int.from_bytes(payload[4:8], "little")
    start = 8 + size + (4 - size % 4) % 4
    dtypes = {"i32": np.dtype("<i4"), "f32": np.dtype("<f4"), "u16": np.dtype("<u2")}
    return {name: np.frombuffer(payload[start + off:start + off + dtypes[kind].itemsize * n], dtype=dtypes[kind])
            for name, (off, n, kind) in header["sections"].items()}


def _state(indices, n: int, enc: str) -> dict:
    idx = np.asarray(indices, dtype=np.int64)
    if enc == "i32":
        raw = idx.astype("<i4").tobytes()
    else:
        bits = np.zeros(n, dtype=np.uint8)
        bits[idx] = 1
        raw = np.packbits(bits, bitorder="little").tobytes()
    return {"seq": 1, "n": n, "enc": enc, "b64": base64.b64encode(raw).decode()}


def test_non_finite_points_are_dropped_counted_in_a_note_and_rows_keep_their_numbers():
    x = np.array([0.0, np.nan, 1.0, np.inf, 2.0, 3.0])
    y = np.array([0.0, 1.0, -np.inf, 1.0, 2.0, 3.0])
    p = prepare_points(x, y, [0, 1, 2, 3, 4, 5])
    assert p.rows.tolist() == [0, 4, 5] and p.n == 3 and p.dropped == 3
    assert p.note == "3 of 6 points not drawn: their coordinates are NaN or infinite"
    assert p.z.tolist() == [0.0, 4.0, 5.0]
    assert np.abs(np.concatenate([p.x, p.y])).max() <= 1.0
    assert prepare_points([0.0, 1.0], [0.0, 1.0]).note == ""
    with pytest.raises(ValueError, match="x and y differ"):
        prepare_points([0.0], [0.0, 1.0])


def test_the_version_names_the_points_and_the_codes_version_their_colours():
    a = prepare_points([0.0, 1.0, 2.0], [0.0, 1.0, 0.5], [0, 1, 1])
    assert a.version == prepare_points([0.0, 1.0, 2.0], [0.0, 1.0, 0.5], [0, 1, 1]).version
    assert a.version != prepare_points([0.0, 1.0, 2.0], [0.0, 1.0, 0.6], [0, 1, 1]).version
    recoloured = prepare_points([0.0, 1.0, 2.0], [0.0, 1.0, 0.5], [0, 1, 2])
    assert recoloured.version == a.version and recoloured.codes_version != a.codes_version  # the same points


def test_new_codes_for_the_same_points_travel_alone_and_a_selection_on_them_stays():
    a = prepare_points([0.0, 1.0, 2.0], [0.0, 1.0, 0.5], [0, 1, 1])
    b = prepare_points([0.0, 1.0, 2.0], [0.0, 1.0, 0.5], [2, 0, 1])
    header, sections = decode_payload(encode_payload(b, send_points=False, send_codes=True))
    assert header["v"] == a.version and header["zv"] == b.codes_version
    assert set(sections) == {"z"} and sections["z"].tolist() == [2, 0, 1]
    assert set(decode_payload(encode_payload(b, send_points=False))[1]) == set()  # codes held: nothing travels
    state = {"seq": 1, "n": 3, "v": a.version, "enc": "i32", "b64": "AQAAAA=="}  # point 1, clicked on a
    assert not selection_is_stale(b, state) and selection_rows(b, state).tolist() == [1]


def test_points_travel_only_when_asked_and_highlights_are_drawn_point_indices():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(1000, 2))
    xy[10] = np.nan  # row 10 is not drawn: rows after it sit one index lower
    p = prepare_points(xy[:, 0], xy[:, 1], rng.integers(0, 5, 1000))
    full = encode_payload(p, send_points=True, highlight=[5, 10, 11, 999, 5000], colors=["#000"])
    header, sections = decode_payload_header(full), _sections(full)
    assert header["n"] == 999 and header["v"] == p.version and "1 of 1,000" in header["note"]
    np.testing.assert_array_equal(sections["x"], p.x)
    np.testing.assert_array_equal(sections["z"], p.z)
    assert sections["highlight"].tolist() == [5, 10, 998]  # rows 5, 11, 999; row 10 and 5000 are not drawn
    # the codes travel as uint16 (10 bytes a point, not 12); the next section still starts 4-aligned after 999 of them
    assert header["sections"]["z"][2] == "u16" and all(off % 4 == 0 for off, _, _ in header["sections"].values())
    assert len(full) < 10 * 999 + 1000
    small = encode_payload(p, send_points=False, highlight=[5])
    assert set(_sections(small)) == {"highlight"} and len(small) < 600
    assert decode_payload_header(small)["highlight_sig"] != header["highlight_sig"]
    none = decode_payload_header(encode_payload(p, send_points=False))
    assert none["highlight_sig"] is None and none["sections"] == {}


@pytest.mark.parametrize("enc", ["i32", "bits"])
def test_a_selection_comes_back_as_the_callers_rows(enc):
    x = np.arange(20, dtype=float)
    x[[3, 7]] = np.nan
    p = prepare_points(x, np.zeros(20))
    picked = [0, 3, 4, 17]  # drawn indices: rows 0, 4, 5, 19 (rows 3 and 7 are not drawn)
    assert selection_rows(p, _state(picked, p.n, enc)).tolist() == [0, 4, 5, 19]
    assert selection_rows(p, _state(picked, p.n, enc) | {"v": p.version}).tolist() == [0, 4, 5, 19]
    assert selection_rows(p, _state(picked, p.n, enc) | {"v": "another map"}).tolist() == []


def test_a_million_point_selection_pages_through_a_bitmap_quickly():
    n = 1_000_000
    picked = np.arange(0, n, 3)
    state = _state(picked, n, "bits")
    assert len(state["b64"]) < n // 8 * 4 // 3 + 4  # n bits, base64: at most 167 kB
    np.testing.assert_array_equal(selection_indices(state, n), picked)


def test_selections_of_another_map_or_of_nothing_select_nothing():
    assert selection_indices(None, 5).tolist() == []
    assert selection_indices({"enc": "none", "n": 5, "b64": ""}, 5).tolist() == []
    assert selection_indices(_state([1, 2], 6, "i32"), 5).tolist() == []  # made for 6 points, not 5
    assert selection_indices(_state([1, 4], 5, "i32") | {"b64": base64.b64encode(
        np.array([1, 9, -2], "<i4").tobytes()).decode()}, 5).tolist() == [1]
    with pytest.raises(ValueError, match="unknown selection encoding"):
        selection_indices({"enc": "gzip", "n": 5, "b64": ""}, 5)


def test_hover_texts_inline_for_small_maps_and_one_at_a_time_for_large_ones():
    p = prepare_points([0.0, np.nan, 2.0], [0.0, 0.0, 1.0])
    texts = inline_texts(p, ["a <b>x</b>", "dropped", "c " * 400])
    assert texts is not None and texts[0] == "a <b>x</b>" and len(texts) == 2 and texts[1].endswith("…")
    assert hover_answer(p, 1, lambda row: f"row {row}") == (1, "row 2")
    assert hover_answer(p, 7, lambda row: "x") is None and hover_answer(p, None, lambda row: "x") is None
    big = prepare_points(np.arange(MAX_INLINE_TEXTS + 1.0), np.zeros(MAX_INLINE_TEXTS + 1))
    assert inline_texts(big, ["t"] * (MAX_INLINE_TEXTS + 1)) is None


def test_point_indices_of_rows_not_drawn_are_left_out():
    p = prepare_points([0.0, np.nan, 2.0, 3.0], [0.0, 0.0, 1.0, 1.0])
    assert point_indices(p, [3, 1, 0, 3, 42]).tolist() == [0, 2]
    empty = prepare_points([np.nan], [np.nan])
    assert point_indices(empty, [0]).tolist() == [] and empty.note.startswith("1 of 1")


def test_stars_rings_labels_and_legend_travel_in_the_small_header_and_texts_only_with_the_points():
    from core.corpus.labels import MapLabel
    from core.viz.webgl_map import MAX_MARKS, LegendEntry, decode_payload

    p = prepare_points([0.0, 2.0, float("nan"), 4.0], [0.0, 1.0, 1.0, 2.0], [0, 1, 1, 0])
    kw = dict(stars=[3, 2], marks=np.arange(4), labels=[MapLabel(1, 0, "parse date", 2.0, 1.0, 2),
                                                         MapLabel(0, 0, "dates", 2.0, 1.0, 3, members=(0, 4))],
              legend=[LegendEntry(0, "zero <b>", "#000000", 2), LegendEntry(1, "one", "#ffffff", 1)],
              texts=["a", "b", "c"])
    header, sections = decode_payload(encode_payload(p, send_points=True, **kw))
    assert sections["stars"].tolist() == [2] and sections["marks"].tolist() == [0, 1, 2]  # drawn points only
    assert header["labels"] == [[1, 0, "parse date", 0.0, 0.0, 2],  # in the drawn map's coordinates
                                [0, 0, "dates", 0.0, 0.0, 3, [0, 4]]]  # a group's label with its clusters
    assert header["legend"]["entries"][0] == [0, "zero <b>", "#000000", 2] and header["legend"]["clusters"]
    assert header["texts"] == ["a", "b", "c"]
    again, _ = decode_payload(encode_payload(p, send_points=False, **kw))
    assert "texts" not in again  # the browser keeps them with its copy of the points
    many = decode_payload(encode_payload(prepare_points(np.arange(5000.0), np.arange(5000.0)), send_points=False,
                                         stars=np.arange(5000)))[1]
    assert len(many["stars"]) == MAX_MARKS
    cleared = decode_payload_header(encode_payload(p, send_points=False, highlight=[], highlight_key="1"))
    assert cleared["highlight_sig"] != decode_payload_header(encode_payload(p, send_points=False, highlight=[]))[
        "highlight_sig"]  # a Clear applies the same (empty) highlight again


def test_codes_that_are_not_small_whole_numbers_travel_as_float32():
    for codes in ([0.5, 1.0, 2.0], [-1.0, 0.0, 1.0], [0.0, 70_000.0, 1.0]):
        p = prepare_points([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], codes)
        header, sections = decode_payload(encode_payload(p, send_points=True))
        assert header["sections"]["z"][2] == "f32"
        np.testing.assert_array_equal(sections["z"], np.asarray(codes, dtype=np.float32))


def test_whole_number_bins_are_named_by_the_whole_numbers_they_hold():
    # the Corpus map coloured by length (600 built-in documents) read "6 – 261", "261 – 560.7", ...: a length of
    # 560.7 characters, and 261 named by two bins (it belongs to the second)
    from core.viz.webgl_map import column_coloring

    lengths = np.random.default_rng(0).integers(6, 2500, size=600).astype(float)
    lengths[3] = np.nan
    coloring = column_coloring(lengths)
    bins = [e for e in coloring.legend if e.name != "missing"]
    assert len(bins) == 6 and not [e.name for e in bins if "." in e.name], [e.name for e in bins]
    spans = [tuple(int(v) for v in e.name.split(" – ")) for e in bins]
    assert all(hi < lo_next for (_, hi), (lo_next, _) in zip(spans, spans[1:])), spans  # no value named twice
    for (lo, hi), entry in zip(spans, bins):  # each bin holds exactly the values its name says
        held = lengths[coloring.codes == entry.code]
        inside = ((lengths >= lo) & (lengths <= hi)).sum()
        assert held.min() >= lo and held.max() <= hi and len(held) == entry.count == inside
