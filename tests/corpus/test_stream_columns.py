"""A streamed corpus keeps the file's own columns as a load does: a CSV's numeric and text columns go with every
chunk of its records into the large index (``columns.parquet``), typed by the same rules and held lean."""

from __future__ import annotations

import pandas as pd
import pytest

from core.corpus.columns import ColumnCollector
from core.corpus.encoders import HashingEncoder
from core.corpus.load import load_corpus
from core.corpus.stream import LargeIndexConfig, StreamReport, index_large_corpus, iter_document_chunks
from core.corpus.views import index_columns_note, large_selection_table

WORDS = ["apple banana fruit", "car engine wheel", "python code function", "river water fish"]
N = 120


def _csv(path) -> pd.DataFrame:
    rows = pd.DataFrame({
        "id": [f"d{i}" for i in range(N)],
        # every fifth record is long: cut into chunks of at most 12 words, each with the record's values
        "text": [" ".join([WORDS[i % 4], f"document {i}"] * (6 if i % 5 == 0 else 1)) for i in range(N)],
        "year": [None if i % 7 == 0 else 1990 + i % 25 for i in range(N)],
        "label": ["news" if i % 3 else "review" for i in range(N)],
    })
    rows.to_csv(path, index=False)
    return rows


def test_a_streamed_csv_keeps_its_numeric_and_text_columns_for_every_chunk(tmp_path):
    path = tmp_path / "dated.csv"
    rows = _csv(path).set_index("id")
    config = LargeIndexConfig(k=4, layout_sample=100, align_docs=0, max_words=12)
    lmap = index_large_corpus(path, config, encoder=HashingEncoder(16))
    assert lmap.meta["columns"] == ["year", "label"] and not index_columns_note(lmap.meta)
    cols = lmap.columns
    assert len(cols) == len(lmap) > N  # the long records became several rows
    assert str(cols["year"].dtype) == "Int64" and str(cols["label"].dtype) == "category"  # no object per row
    ids = pd.Series(lmap.ids).str.replace(r"#\d+$", "", regex=True)
    assert ids.str.len().gt(0).all() and (pd.Series(lmap.ids) != ids).sum() >= 24
    want_year = rows["year"].reindex(ids).to_numpy()
    got_year = cols["year"].to_numpy(dtype=float, na_value=float("nan"))
    assert pd.isna(got_year).tolist() == pd.isna(want_year).tolist()
    assert (got_year[~pd.isna(got_year)] == want_year[~pd.isna(want_year)]).all()
    assert cols["label"].astype(str).tolist() == rows["label"].reindex(ids).tolist()
    table = large_selection_table(lmap, [0, 1])
    assert list(table.columns) == ["doc_id", "cluster", "year", "label", "text"]


def _write(path, kind: str) -> None:
    rows = _csv(path.with_suffix(".csv"))
    rows["flag"] = [None if i % 4 == 0 else bool(i % 2) for i in range(N)]  # JSON booleans, some missing
    rows["tags"] = [["a"] if i == 3 else None for i in range(N)]  # nested: left out, as a load leaves it out
    rows["score"] = [i / 8 for i in range(N)]
    if kind == "jsonl":
        rows.to_json(path, orient="records", lines=True)
    elif kind == "parquet":
        rows.to_parquet(path, index=False)


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_the_stream_types_columns_as_the_loader_does(tmp_path, kind):
    path = tmp_path / f"dated.{kind}"
    _write(path, kind)
    loaded, _ = load_corpus(path, max_words=12)
    columns, report = ColumnCollector(), StreamReport()
    ids = [i for chunk, _ in iter_document_chunks(path, max_words=12, columns=columns, report=report) for i in chunk]
    frame = columns.frame(path.name, report)
    assert ids == list(loaded.ids)
    assert list(frame.columns) == [c.name for c in loaded.columns] and len(frame) == len(ids)
    assert all(frame[c].dtype != object for c in frame.columns)  # numbers, booleans, categories: no object a row
    if kind != "csv":  # the list column is left out, where its first list is said, as a load says it
        assert any("column 'tags' holds lists or objects (nested values) (first at " in note and "4)" in note
                   for _, note in report.issues), report.issues
    for col in loaded.columns:
        assert frame[col.name].astype(object).where(frame[col.name].notna(), None).tolist() == list(col.values)
