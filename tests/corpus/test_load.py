"""Corpus ingestion: every format, every bad-input case with its location, errors, ids, chunking."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from core.corpus.chunking import content_id, split_words
from core.corpus.load import (
    Corpus,
    CorpusFormatError,
    EmptyCorpusError,
    LoadReport,
    load_corpus,
    load_corpus_bytes,
)

DOCS = [
    {"id": "a", "text": "Lists keep items in order and allow duplicates.", "lang": "en"},
    {"id": "b", "text": "A dictionary maps hashable keys to values.", "lang": "en"},
    {"id": "c", "text": "Sets hold unique items without order.", "lang": "en"},
]


def _kinds(report: LoadReport) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, loc, _ in report.issues:
        out.setdefault(kind, []).append(loc)
    return out


# ------------------------------------------------------------------ formats


def test_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in DOCS) + "\n", encoding="utf-8")
    corpus, report = load_corpus(path)
    assert corpus.ids == ("a", "b", "c")
    assert corpus.texts == tuple(d["text"] for d in DOCS)
    assert corpus.sources == ("docs.jsonl:1", "docs.jsonl:2", "docs.jsonl:3")
    assert corpus.name == "docs"
    assert (report.n_read, report.n_loaded, report.issues) == (3, 3, [])
    assert (report.text_field, report.id_field) == ("text", "id")


def test_json_array_of_objects_and_of_strings(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    path.write_text(json.dumps(DOCS), encoding="utf-8")
    corpus, report = load_corpus(path)
    assert corpus.ids == ("a", "b", "c")
    assert corpus.sources[1] == "docs.json row 2"

    strings = [d["text"] for d in DOCS]
    corpus, report = load_corpus_bytes(json.dumps(strings).encode(), "s.json")
    assert corpus.texts == tuple(strings)
    assert corpus.ids == tuple(content_id(t) for t in strings)
    assert report.text_field is None and report.id_field is None


def test_json_object_wrapping_one_array() -> None:
    corpus, _ = load_corpus_bytes(json.dumps({"data": DOCS, "version": 2}).encode(), "w.json")
    assert len(corpus) == 3


def test_csv_tsv_with_multiline_cell_and_line_numbers(tmp_path: Path) -> None:
    df = pd.DataFrame(DOCS)
    df.loc[1, "text"] = "A dictionary maps\nhashable keys to values."
    path = tmp_path / "docs.csv"
    df.to_csv(path, index=False)
    corpus, report = load_corpus(path)
    assert corpus.texts[1] == "A dictionary maps\nhashable keys to values."
    # record 3 starts on physical line 5 because record 2 spans lines 3-4
    assert corpus.sources == ("docs.csv:2", "docs.csv:3", "docs.csv:5")
    assert report.issues == []

    tsv = df.to_csv(sep="\t", index=False).encode()
    corpus_tsv, _ = load_corpus_bytes(tsv, "docs.tsv")
    assert corpus_tsv.texts == corpus.texts


def test_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame(DOCS + [{"id": "d", "text": None, "lang": "en"}])
    path = tmp_path / "docs.parquet"
    df.to_parquet(path)
    corpus, report = load_corpus(path)
    assert corpus.ids == ("a", "b", "c")
    assert _kinds(report) == {"missing_text": ["docs.parquet row 4"]}


def test_folder_recursive_sorted_and_skips_reported(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.md").write_text("# Title\n\nMarkdown body text.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Plain text file.", encoding="utf-8")
    (tmp_path / "b" / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    corpus, report = load_corpus(tmp_path)
    assert corpus.sources == ("a.txt", "b/z.md")
    assert corpus.texts == ("Plain text file.", "# Title\n\nMarkdown body text.")
    assert _kinds(report) == {"skipped_file": ["b/image.png"], "empty_text": ["empty.txt"]}


def test_zip_upload_reads_like_a_folder() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("docs/two.md", "Second document.")
        zf.writestr("docs/one.txt", "First document.")
    corpus, report = load_corpus_bytes(buf.getvalue(), "upload.zip")
    assert corpus.sources == ("docs/one.txt", "docs/two.md")
    assert report.n_read == 2


def test_upload_bytes_match_file_load(tmp_path: Path) -> None:
    data = "\n".join(json.dumps(d) for d in DOCS).encode()
    (tmp_path / "x.jsonl").write_bytes(data)
    from_file, _ = load_corpus(tmp_path / "x.jsonl")
    from_bytes, report = load_corpus_bytes(data, "x.jsonl")
    assert from_bytes == from_file
    assert report.source == "x.jsonl"


# ------------------------------------------------------------------ field detection


def test_text_field_detected_by_name_case_insensitive() -> None:
    rows = [{"Title": "short", "Body": "A much longer body of text here."}]
    _, report = load_corpus_bytes(json.dumps(rows).encode(), "r.json")
    assert report.text_field == "Body"


def test_text_field_falls_back_to_longest_string_column() -> None:
    rows = [{"k": "x1", "notes": "the long column with many words in it", "n": 3},
            {"k": "x2", "notes": "another long value with words", "n": 4}]
    corpus, report = load_corpus_bytes(json.dumps(rows).encode(), "r.json")
    assert report.text_field == "notes"
    assert corpus.texts[0] == rows[0]["notes"]


def test_named_fields_and_absent_field_error() -> None:
    rows = [{"uid": "p", "q": "Why is the sky blue?", "text": "ignored"}]
    corpus, report = load_corpus_bytes(json.dumps(rows).encode(), "r.json", text_field="q", id_field="uid")
    assert corpus.ids == ("p",) and corpus.texts == ("Why is the sky blue?",)
    with pytest.raises(CorpusFormatError, match=r"r\.json.*'body'.*\['uid', 'q', 'text'\]"):
        load_corpus_bytes(json.dumps(rows).encode(), "r.json", text_field="body")
    with pytest.raises(CorpusFormatError, match="id field 'nope'"):
        load_corpus_bytes(json.dumps(rows).encode(), "r.json", id_field="nope")


# ------------------------------------------------------------------ bad input


def test_every_bad_jsonl_case_is_reported_with_its_line() -> None:
    lines = [
        b'{"id": "1", "text": "first good document"}',       # 1
        b'{"id": "2", "text": "broken',                        # 2 malformed
        b'{"id": "3", "text": null}',                          # 3 null text
        b'{"id": "4"}',                                        # 4 absent text
        b'{"id": "5", "text": "   \\t "}',                     # 5 whitespace
        b'{"id": "6", "text": "first good document"}',        # 6 duplicate text
        b'{"id": "1", "text": "caf\xe9 au lait, second doc"}', # 7 non-UTF-8 + duplicate id
        b'42',                                                 # 8 not a record
        b'',                                                   # blank line: not a record
        b'{"id": "", "text": "third document, empty id"}',     # 10 missing id
        b'{"id": "9", "text": 17}',                            # 11 non-string text
    ]
    corpus, report = load_corpus_bytes(b"\n".join(lines), "bad.jsonl")
    kinds = _kinds(report)
    assert kinds == {
        "non_utf8": ["bad.jsonl:7"],
        "malformed_json": ["bad.jsonl:2"],
        "missing_text": ["bad.jsonl:3", "bad.jsonl:4", "bad.jsonl:11"],
        "empty_text": ["bad.jsonl:5"],
        "duplicate_text": ["bad.jsonl:6"],
        "duplicate_id": ["bad.jsonl:7"],
        "not_a_record": ["bad.jsonl:8"],
        "missing_id": ["bad.jsonl:10"],
    }
    # the non-UTF-8 document is kept with a replacement character, not dropped
    assert corpus.texts[1] == "caf\ufffd au lait, second doc"
    assert corpus.ids == ("1", "1~2", content_id("third document, empty id"))
    assert report.n_read == 10 and report.n_loaded == 3
    assert report.counts["missing_text"] == 3
    frame = report.to_frame()
    assert list(frame.columns) == ["kind", "location", "detail"] and len(frame) == len(report.issues)
    summary = report.summary()
    assert "\n" not in summary and "3 documents from 10 records" in summary and "1 malformed json" in summary


def test_bad_csv_rows_and_bytes_reported() -> None:
    data = b"id,text\n1,good row\n2\n3,extra,cell\n4,\xff\xfebad bytes\n5,\n"
    corpus, report = load_corpus_bytes(data, "bad.csv")
    kinds = _kinds(report)
    assert kinds["malformed_row"] == ["bad.csv:3", "bad.csv:4"]
    assert kinds["non_utf8"] == ["bad.csv:5"]
    assert kinds["empty_text"] == ["bad.csv:3", "bad.csv:6"]
    assert corpus.ids == ("1", "3", "4")
    assert corpus.texts[2] == "\ufffd\ufffdbad bytes"


def test_duplicate_ids_made_unique() -> None:
    rows = [{"id": "x", "text": f"document number {i}"} for i in range(3)]
    corpus, report = load_corpus_bytes(json.dumps(rows).encode(), "d.json")
    assert corpus.ids == ("x", "x~2", "x~3")
    assert _kinds(report) == {"duplicate_id": ["d.json row 2", "d.json row 3"]}


def test_empty_corpus_error_says_what_was_read_and_why() -> None:
    data = b'{"text": ""}\n{"text": null}\nnot json\n'
    with pytest.raises(EmptyCorpusError) as err:
        load_corpus_bytes(data, "all_bad.jsonl")
    message = str(err.value)
    assert "all_bad.jsonl" in message and "read 3 records" in message
    # in words, and what to do (the Corpus map showed "every record was dropped: 10 empty_text", a code name, and
    # said nothing to do for a CSV whose text column was blank)
    assert "1 empty text" in message and "1 missing text" in message and "1 malformed json" in message
    assert "_" not in message.split("dropped:")[1].split("(")[0], message
    assert "text field 'text'" in message and "name it as the text field (Text field in the sidebar" in message
    with pytest.raises(EmptyCorpusError, match=r"1 malformed json; a \.jsonl file holds one JSON object per line"):
        load_corpus_bytes(b"{not json\n", "broken.jsonl")
    with pytest.raises(EmptyCorpusError, match=r"3 not a record; each record must be a JSON object"):
        load_corpus_bytes(b"[1, 2, 3]", "numbers.json")
    with pytest.raises(EmptyCorpusError, match=r"every file was dropped: 1 empty text; choose one with text in it"):
        load_corpus_bytes(b"  \n", "blank.md")
    with pytest.raises(EmptyCorpusError, match="it holds no records; choose one with documents in it"):
        load_corpus_bytes(b"", "nothing.csv")
    assert issubclass(EmptyCorpusError, ValueError)


def test_format_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError, match="missing.jsonl: no such file"):
        load_corpus(tmp_path / "missing.jsonl")
    (tmp_path / "x.docx").write_bytes(b"PK")
    with pytest.raises(CorpusFormatError, match=r"x\.docx.*unknown corpus format '\.docx'"):
        load_corpus(tmp_path / "x.docx")
    with pytest.raises(CorpusFormatError, match=r"broken\.json: not valid JSON .*line 1"):
        load_corpus_bytes(b'[{"text": "a"', "broken.json")
    with pytest.raises(CorpusFormatError, match="bad.parquet: not a readable Parquet"):
        load_corpus_bytes(b"not parquet", "bad.parquet")
    with pytest.raises(CorpusFormatError, match="no column holds text"):
        load_corpus_bytes(json.dumps([{"n": 1}, {"n": 2}]).encode(), "nums.json")
    assert issubclass(CorpusFormatError, ValueError)


# ------------------------------------------------------------------ ids and chunking


def test_content_hash_ids_are_stable_across_loads_and_formats() -> None:
    texts = ["alpha beta gamma", "delta epsilon"]
    a, _ = load_corpus_bytes(json.dumps(texts).encode(), "one.json")
    b, _ = load_corpus_bytes("\n".join(json.dumps({"body": t}) for t in reversed(texts)).encode(), "two.jsonl")
    assert dict(zip(a.texts, a.ids)) == dict(zip(b.texts, b.ids))
    assert a.ids[0] == content_id("alpha beta gamma") and len(a.ids[0]) == 12
    assert a.content_hash != b.content_hash  # order differs


def test_long_documents_are_chunked_to_max_words() -> None:
    words = [f"w{i}" for i in range(450)]
    long_text = " ".join(words[:100]) + "\n\n" + " ".join(words[100:])
    rows = [{"id": "L", "text": long_text}, {"id": "S", "text": "short one"}]
    corpus, report = load_corpus_bytes(json.dumps(rows).encode(), "long.json")
    assert corpus.ids == ("L#0", "L#1", "L#2", "S")
    assert corpus.sources[:3] == ("long.json row 1",) * 3
    assert [len(t.split()) for t in corpus.texts] == [200, 200, 50, 2]
    assert "w99\n\nw100" in corpus.texts[0]  # whitespace inside a chunk is kept
    assert " ".join(" ".join(corpus.texts[:3]).split()) == " ".join(words)  # nothing lost
    assert _kinds(report) == {"chunked": ["long.json row 1"]}
    unchunked, _ = load_corpus_bytes(json.dumps(rows).encode(), "long.json", max_words=None)
    assert unchunked.ids == ("L", "S")
    with pytest.raises(ValueError, match="max_words"):
        load_corpus_bytes(json.dumps(rows).encode(), "long.json", max_words=0)


def test_split_words_boundaries() -> None:
    assert split_words("a b c", 3) == ["a b c"]
    assert split_words("a b c d", 3) == ["a b c", "d"]
    assert split_words("  a  b ", 1) == ["a", "b"]


def test_corpus_subset_and_frame() -> None:
    corpus = Corpus(ids=("a", "b", "c"), texts=("x", "y", "z"), sources=("s",) * 3)
    assert corpus.subset([2, 0]).ids == ("c", "a")
    assert list(corpus.to_frame().columns) == ["id", "text", "source"]


def test_a_dropped_record_is_one_row_even_with_bad_bytes_and_reads_plainly() -> None:
    """Issue #24: 14 records with bad bytes that were also not JSON were counted twice, and the detail read
    'starting at at column 24'."""
    data = b'{"text": "caf\xe9 au lait"}\n{"text": "broken \xff\n{"text": "fine"}\n'
    corpus, report = load_corpus_bytes(data, "mixed.jsonl")
    assert len(corpus) == 2
    assert report.counts == {"non_utf8": 1, "malformed_json": 1}
    (detail,) = [d for kind, _, d in report.issues if kind == "malformed_json"]
    assert " at at " not in detail and "invalid UTF-8" in detail


def test_a_jsonl_line_python_refuses_to_parse_is_one_malformed_row_not_a_crash() -> None:
    """A line nested too deeply (RecursionError) or with an integer of more than 4300 digits (a plain ValueError)
    aborted the whole load; it is now one malformed_json row, the other lines kept."""
    data = (b'{"text": "a good document"}\n' + b"[" * 100_000 + b"\n"
            + b'{"text": "x", "n": ' + b"1" * 5000 + b"}\n" + b'{"text": "another good one"}\n')
    corpus, report = load_corpus_bytes(data, "c.jsonl")
    assert corpus.texts == ("a good document", "another good one")
    assert _kinds(report) == {"malformed_json": ["c.jsonl:2", "c.jsonl:3"]}
    details = [d for _, _, d in report.issues]
    assert "nested too deeply" in details[0] and "4300 digits" in details[1] and "set_int_max" not in details[1]
    assert report.n_read == 4
    with pytest.raises(CorpusFormatError, match=r"deep\.json: not readable JSON \(nested too deeply\)"):
        load_corpus_bytes(b"[" * 100_000, "deep.json")


def test_a_damaged_or_encrypted_zip_member_is_a_format_error_naming_archive_and_member() -> None:
    """A damaged member escaped as zlib.error and an encrypted one as RuntimeError; both are now
    CorpusFormatError naming the archive and the member."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("docs/a.txt", "hello world " * 90)
    good = buf.getvalue()
    corrupt = bytearray(good)
    start = 30 + len("docs/a.txt")  # the deflate data, right after the local header
    corrupt[start:start + 10] = bytes(b ^ 0xFF for b in corrupt[start:start + 10])
    encrypted = bytearray(good)
    encrypted[6] |= 1  # the encrypted flag, in the local header and in the central directory
    encrypted[good.find(b"PK\x01\x02") + 8] |= 1
    with pytest.raises(CorpusFormatError, match=r"docs\.zip: member 'docs/a\.txt' cannot be decompressed"):
        load_corpus_bytes(bytes(corrupt), "docs.zip")
    with pytest.raises(CorpusFormatError, match=r"docs\.zip: member 'docs/a\.txt' is encrypted"):
        load_corpus_bytes(bytes(encrypted), "docs.zip")
    corpus, _ = load_corpus_bytes(good, "docs.zip")
    assert corpus.texts == (("hello world " * 90).strip(),)


def test_a_stray_quote_is_a_malformed_row_and_never_merges_or_drops_the_rows_after_it() -> None:
    """An unclosed quote used to merge every later row into one cell, and text after a closing quote lost the
    quotes, both without a report row. Quoting is now read strictly: the broken line is kept on its own with a
    malformed_row row naming it (quotes as written where that fits the columns), and the next line is a new row."""
    corpus, report = load_corpus_bytes(b'id,text\n1,"Hello he said\n2,second row\n3,third row\n', "a.csv")
    assert corpus.ids == ("1", "2", "3") and corpus.texts == ('"Hello he said', "second row", "third row")
    assert _kinds(report) == {"malformed_row": ["a.csv:2"]} and "unexpected end of data" in report.issues[0][2]
    corpus, report = load_corpus_bytes(b'id\ttext\n1\t"Quoted" start of text\n2\tnormal row\n', "a.tsv")
    assert corpus.texts == ('"Quoted" start of text', "normal row")
    assert _kinds(report) == {"malformed_row": ["a.tsv:2"]}
    corpus, report = load_corpus_bytes(b'id,text\n1,"a, b" c\n2,"multi\nline, ""quoted"""\n3,plain\n', "b.csv")
    assert corpus.texts == ("a, b c", 'multi\nline, "quoted"', "plain")  # a quoted comma kept; well-formed as ever
    assert _kinds(report) == {"malformed_row": ["b.csv:2"]} and corpus.sources[2] == "b.csv:5"


def test_well_formed_quoted_csv_reads_exactly_as_pandas_writes_it() -> None:
    rows = [{"id": f"r{i}", "text": t} for i, t in enumerate(
        ['He said "hi", then left.', "two\nlines, and a comma", '"fully quoted"', "trailing quote\"", "plain"])]
    data = pd.DataFrame(rows).to_csv(index=False).encode()
    corpus, report = load_corpus_bytes(data, "q.csv")
    assert corpus.texts == tuple(r["text"] for r in rows) and report.issues == []
    corpus, report = load_corpus_bytes(b'id,text\n1,He said "hi" to me\n2,x\n', "loose.csv")  # quote inside a cell
    assert corpus.texts == ('He said "hi" to me', "x") and report.issues == []


def _folder_with_a_latin1_name(tmp_path: Path) -> Path:
    import os

    folder = tmp_path / "names"
    folder.mkdir()
    try:
        with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "w") as fh:
            fh.write("a perfectly fine document about coffee")
    except OSError as exc:  # a file system that only takes UTF-8 names cannot hold the case
        pytest.skip(f"cannot create a file whose name is not UTF-8 here: {exc}")
    (folder / "ok.txt").write_text("another fine document about tea")
    return folder


def test_a_file_name_that_is_not_utf8_is_shown_with_a_replacement_and_reported(tmp_path: Path) -> None:
    """b'caf\\xe9.txt' became a source holding a lone surrogate, and Corpus.to_frame() (and any UTF-8 writer after
    it) failed with UnicodeEncodeError. The name is now shown with U+FFFD, the document kept, and a row says so."""
    import pyarrow as pa

    corpus, report = load_corpus(_folder_with_a_latin1_name(tmp_path))
    assert corpus.sources == ("caf\ufffd.txt", "ok.txt")
    assert corpus.texts[0] == "a perfectly fine document about coffee"
    assert _kinds(report) == {"non_utf8": ["caf\ufffd.txt"]} and "caf\\xe9.txt" in report.issues[0][2]
    assert pa.Table.from_pandas(corpus.to_frame()).num_rows == 2  # Arrow writes it: no surrogate left
    assert pa.Table.from_pandas(report.to_frame()).num_rows == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("name, data", [
    ("export.tsv", "id\ttext\nd1\tcafé au lait, naïve\nd2\tsecond line\n"),  # Excel's "Unicode text": UTF-16 TSV
    ("notes.jsonl", '{"id": "d1", "text": "café au lait, naïve"}\n{"id": "d2", "text": "second line"}\n'),
])
def test_a_file_saved_as_utf16_or_utf32_with_its_bom_loads_its_text(name, data, encoding):
    """Read as UTF-8, a UTF-16 CSV became documents of NULs and U+FFFD under one 'non_utf8' row (its header a
    garbled text field), and a UTF-16 JSONL file had no document at all."""
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    corpus, report = load_corpus_bytes(bom + data.encode(encoding), name)
    assert corpus.ids == ("d1", "d2") and corpus.texts == ("café au lait, naïve", "second line")
    assert report.issues == []


def test_one_blank_record_is_counted_in_the_singular():
    """An empty text file was refused as 'read 1 records (txt)'."""
    with pytest.raises(EmptyCorpusError, match=r"blank\.txt: read 1 record \(txt\) but no document remained"):
        load_corpus_bytes(b"  \n ", "blank.txt")


def test_the_load_report_names_its_issues_in_words() -> None:
    # the Corpus map's "Load report" of a CSV with a broken quote read "...; 1 malformed_row" and its table's kind
    # column "malformed_row": the code name; the report's issues keep it for scripts
    corpus, report = load_corpus_bytes(b'id,text,year\nx1,"unterminated quote,1999\nx2,ok text,abc\n', "bad.csv")
    assert report.counts == {"malformed_row": 1}
    assert report.summary().endswith("; 1 malformed row"), report.summary()
    assert report.to_frame()["kind"].tolist() == ["malformed row"]
    assert not [s for s in [report.summary(), *report.to_frame()["kind"]] if "_" in s.split("(")[0]]


@pytest.mark.parametrize("name", ["binary.csv", "binary.tsv", "binary.jsonl", "binary.json", "binary.txt"])
def test_a_binary_file_given_a_text_name_is_refused_with_what_to_do(name):
    """Found in chromium: random bytes renamed binary.csv loaded as 44 garbage documents (a map of noise, the load
    report naming a 'text field' of binary); a gzip renamed .csv loaded too. Both are refused, saying what to do."""
    import random

    noise = bytes(random.Random(0).randrange(256) for _ in range(5000))
    with pytest.raises(CorpusFormatError, match=rf"{name}: .* not (UTF-8 )?text: save or export it as text"):
        load_corpus_bytes(noise, name)
    import gzip

    with pytest.raises(CorpusFormatError, match="it is a gzip archive, not text: decompress it first"):
        load_corpus_bytes(gzip.compress(b"id,text\n1,hello there\n"), name)
    # text is still text: Latin-1 accents (a few bad bytes) and UTF-16 with its mark load as before
    assert len(load_corpus_bytes("id,text\n1,café crème\n".encode("latin-1"), "latin.csv")[0]) == 1
    assert len(load_corpus_bytes("id,text\n1,café\n".encode("utf-16"), "u16.csv")[0]) == 1


def test_a_binary_file_in_a_folder_or_zip_is_skipped_and_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("a real note about lists")
    (tmp_path / "docs" / "b.txt").write_bytes(b"\x00\x01\x02binary\xff" * 50)
    corpus, report = load_corpus(tmp_path / "docs")
    assert list(corpus.texts) == ["a real note about lists"]
    assert [(k, loc) for k, loc, _ in report.issues] == [("skipped_file", "b.txt")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(tmp_path / "docs" / "a.txt", "a.txt")
        zf.write(tmp_path / "docs" / "b.txt", "b.txt")
    corpus, report = load_corpus_bytes(buf.getvalue(), "docs.zip")
    assert list(corpus.texts) == ["a real note about lists"] and "binary data" in report.issues[0][2]


def test_a_huge_single_line_is_chunked_and_its_note_counts_in_words() -> None:
    """A CSV cell of five million characters without a space read '1 words split into 2813 chunks' in the load report
    (seen in chromium); a long text's count had no thousands separator."""
    _, report = load_corpus_bytes(b'id,text\n1,"' + b"x" * 60_000 + b'"\n', "one_line.csv")
    assert report.issues[0][0] == "chunked" and report.issues[0][2].startswith("1 word split into "), report.issues
    _, report = load_corpus_bytes(("id,text\n2," + "word " * 2_000 + "\n").encode(), "long.csv")
    assert report.issues[0][2].startswith("2,000 words split into 10 chunks"), report.issues
