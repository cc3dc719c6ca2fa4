"""A corpus file's own columns (core.corpus.columns): kept with the documents, bounded, each left-out one named."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.corpus.columns import MAX_COLUMNS, MAX_VALUE_CHARS
from core.corpus.embed import embedding_cache_path
from core.corpus.load import Corpus, LoadReport, load_corpus_bytes
from core.corpus.mapping import MapSettings, map_cache_path

TEXTS = ["Lists keep items in order.", "A dictionary maps keys to values.", "Sets hold unique items."]


def _rows(report: LoadReport, kind: str) -> list[str]:
    return [detail for k, _, detail in report.issues if k == kind]


def _values(corpus: Corpus) -> dict[str, tuple]:
    return {c.name: c.values for c in corpus.columns}


def test_csv_keeps_numbers_and_labels_and_leaves_long_text_out_with_a_note():
    frame = pd.DataFrame({"id": ["a", "b", "c"], "text": TEXTS, "year": ["2001", "", "1999"],
                          "score": ["0.5", "1e3", "-2"], "label": ["spam", "ham", "spam"],
                          "abstract": ["a long abstract of many words " * 5] * 3, "source": ["web", "mail", "web"]})
    corpus, report = load_corpus_bytes(frame.to_csv(index=False).encode(), "docs.csv")
    assert _values(corpus) == {"year": (2001, None, 1999), "score": (0.5, 1000.0, -2),
                               "label": ("spam", "ham", "spam"), "source (column)": ("web", "mail", "web")}
    assert [c.numeric for c in corpus.columns] == [True, True, False, False]
    assert report.columns == ["year", "score", "label", "source (column)"]
    assert corpus.sources == ("docs.csv:2", "docs.csv:3", "docs.csv:4")  # the loader's own source is untouched
    (left_out,) = _rows(report, "column_left_out")
    assert left_out.startswith("column 'abstract': long text") and left_out.endswith("left out")
    assert "kept as 'source (column)'" in _rows(report, "column_renamed")[0]
    assert "4 other columns ('year', 'score', 'label', …)" in report.summary()
    frame = corpus.to_frame()
    assert list(frame.columns) == ["id", "text", "source", "year", "score", "label", "source (column)"]


def test_jsonl_records_with_other_keys_are_blank_and_nested_values_are_left_out_by_name():
    records = [{"id": "a", "text": TEXTS[0], "year": 2001, "tags": ["x", "y"], "ok": True},
               {"id": "b", "text": TEXTS[1], "author": "Ada", "meta": {"k": 1}, "ok": False},
               {"id": "c", "text": TEXTS[2], "year": "1999", "ok": None, "mixed": 3}]
    records[0]["mixed"] = "three"
    data = "\n".join(json.dumps(r) for r in records).encode()
    corpus, report = load_corpus_bytes(data, "docs.jsonl")
    assert _values(corpus) == {"year": (2001, None, 1999), "ok": (True, False, None), "mixed": ("three", None, "3"),
                               "author": (None, "Ada", None)}
    left = _rows(report, "column_left_out")
    assert left == ["column 'tags' holds lists or objects (nested values) (first at docs.jsonl:1); left out",
                    "column 'meta' holds lists or objects (nested values) (first at docs.jsonl:2); left out"]


def test_parquet_columns_keep_their_types_and_nulls():
    table = pa.table({"text": TEXTS, "year": pa.array([2001, None, 1999], pa.int64()),
                      "score": [0.25, float("nan"), 1.0], "label": ["spam", None, "ham"],
                      "vec": [[1.0], [2.0], [3.0]], "blob": [b"a", b"b", b"c"]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    corpus, report = load_corpus_bytes(buf.getvalue(), "docs.parquet")
    assert _values(corpus) == {"year": (2001, None, 1999), "score": (0.25, None, 1.0), "label": ("spam", None, "ham")}
    assert corpus.columns[0].to_series().dtype == "Int64" and corpus.columns[1].to_series().dtype == "float64"
    assert [d.split(" (first")[0] for d in _rows(report, "column_left_out")] == [
        "column 'vec' holds lists or objects (nested values)", "column 'blob' holds binary values"]


def test_chunks_of_a_long_document_carry_its_values():
    long_text = " ".join(f"word{i}" for i in range(25))
    data = json.dumps([{"id": "long", "text": long_text, "year": 2001},
                       {"id": "short", "text": "one two", "year": 1999}]).encode()
    corpus, _ = load_corpus_bytes(data, "docs.json", max_words=10)
    assert corpus.ids == ("long#0", "long#1", "long#2", "short")
    assert _values(corpus) == {"year": (2001, 2001, 2001, 1999)}
    assert _values(corpus.subset([3, 0])) == {"year": (1999, 2001)}


def test_columns_are_bounded_and_long_values_cut_with_a_note():
    n_extra = MAX_COLUMNS + 3
    frame = pd.DataFrame({"text": TEXTS, **{f"c{i}": [str(i)] * 3 for i in range(n_extra)}})
    frame["c0"] = ["x" * (MAX_VALUE_CHARS + 20), "short", "also short"]
    corpus, report = load_corpus_bytes(frame.to_csv(index=False).encode(), "wide.csv")
    assert [c.name for c in corpus.columns] == [f"c{i}" for i in range(MAX_COLUMNS)]
    assert _rows(report, "column_left_out") == [f"3 more columns left out (at most {MAX_COLUMNS} are kept): "
                                                f"c{MAX_COLUMNS}, c{MAX_COLUMNS + 1}, c{MAX_COLUMNS + 2}"]
    cut = corpus.columns[0].values[0]
    assert len(cut) == MAX_VALUE_CHARS and cut.endswith("…")
    assert _rows(report, "values_cut") == [f"column 'c0': 1 value longer than {MAX_VALUE_CHARS} characters cut"]


def test_blank_or_nameless_columns_are_left_out_and_said():
    data = b"text,,empty\nfirst text,1,\nsecond text,2,\n"
    corpus, report = load_corpus_bytes(data, "odd.csv")
    assert corpus.columns == ()
    assert _rows(report, "column_left_out") == ["a column without a name; left out",
                                                "column 'empty': no value in any record; left out"]


def test_a_corpus_without_columns_keeps_its_cache_keys_and_one_with_columns_reuses_its_maps():
    plain, report = load_corpus_bytes("\n".join(json.dumps({"id": i, "text": t}) for i, t in
                                                 enumerate(TEXTS)).encode(), "docs.jsonl")
    assert plain.columns == () and report.columns == [] and plain.frame_hash == plain.content_hash
    assert "other column" not in report.summary()
    dated, _ = load_corpus_bytes("\n".join(json.dumps({"id": i, "text": t, "year": 2000 + i}) for i, t in
                                           enumerate(TEXTS)).encode(), "docs.jsonl")
    redated, _ = load_corpus_bytes("\n".join(json.dumps({"id": i, "text": t, "year": 1990 + i}) for i, t in
                                             enumerate(TEXTS)).encode(), "docs.jsonl")
    settings = MapSettings(encoder_name="hashing", k=2)
    # the embeddings and the map on disk follow the texts: the same for all three, nothing is rebuilt
    assert plain.content_hash == dated.content_hash == redated.content_hash
    assert map_cache_path(plain, settings) == map_cache_path(dated, settings) == map_cache_path(redated, settings)
    assert embedding_cache_path(dated.content_hash, "hashing", 256) == embedding_cache_path(plain.content_hash,
                                                                                            "hashing", 256)
    # what is kept in memory with the corpus (the map's documents, colours) follows the values too
    assert len({plain.frame_hash, dated.frame_hash, redated.frame_hash}) == 3
