"""Streaming a corpus as users' files come: files that vanish while a folder is read, hidden files, a byte order
mark, UTF-16, a named pipe; and what the index command and the progress say of them."""

from __future__ import annotations

import json

import pytest

from core.corpus.encoders import HashingEncoder
from core.corpus.stream import (
    LargeIndexConfig,
    StreamFormatError,
    StreamReport,
    index_large_corpus,
    iter_document_chunks,
)


def test_a_file_removed_while_the_folder_is_indexed_is_skipped_with_a_note_not_fatal(tmp_path):
    folder = tmp_path / "corp"
    folder.mkdir()
    for i in range(60):
        (folder / f"d{i:02d}.txt").write_text(f"document {i} about topic {i % 3}")
    gone = folder / "d59.txt"

    def remove_the_last_file(progress) -> None:  # the first chunk is embedded: the listing is already made
        if progress.stage == "embed" and gone.exists():
            gone.unlink()

    config = LargeIndexConfig(k=3, chunk_size=10, layout_sample=100, align_docs=0)
    lmap = index_large_corpus(folder, config, encoder=HashingEncoder(16), report=remove_the_last_file)
    assert len(lmap) == 59 and "d59.txt" not in set(lmap.ids)
    assert lmap.meta["skipped"] == 1
    assert [where for where, why in lmap.meta["issues"] if "cannot be read" in why] == ["d59.txt"]


def test_a_folder_streams_the_files_load_corpus_reads_leaving_hidden_and_macosx_members_out(tmp_path):
    from core.corpus.load import load_corpus

    folder = tmp_path / "unzipped"
    (folder / "__MACOSX").mkdir(parents=True)
    (folder / ".git").mkdir()
    (folder / "a.txt").write_text("a real document about apples")
    (folder / "._a.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(range(200)))
    (folder / "__MACOSX" / "._a.txt").write_bytes(b"\x00\x05\x16\x07Mac OS X" + bytes(100))
    (folder / ".git" / "notes.md").write_text("the repository's own notes")
    report = StreamReport()
    streamed = [text for _, texts in iter_document_chunks(folder, report=report) for text in texts]
    loaded, _ = load_corpus(folder)
    assert streamed == list(loaded.texts) == ["a real document about apples"]
    hidden = sorted(where for where, why in report.issues if why.startswith("hidden_file"))
    assert hidden == ["._a.txt", ".git/notes.md", "__MACOSX/._a.txt"]


def test_the_embedding_progress_of_a_folder_estimates_its_documents_from_the_files_it_reads(tmp_path):
    folder = tmp_path / "corp"
    folder.mkdir()
    for i in range(100):
        (folder / f"d{i:02d}.txt").write_text(f"document {i} about topic {i % 3} " * 5)
    (folder / "figure.png").write_bytes(bytes(2_000_000))  # not read: it must not count towards the total
    seen = []
    config = LargeIndexConfig(k=3, chunk_size=10, layout_sample=100, align_docs=0)
    index_large_corpus(folder, config, encoder=HashingEncoder(16), report=seen.append)
    totals = [p.total for p in seen if p.stage == "embed"]
    assert totals[-1] == 100 and max(totals) <= 120  # the estimate, from bytes read so far: near 100, not 16,000


def test_a_skipped_file_of_a_folder_is_located_by_its_path_inside_the_folder(tmp_path):
    folder = tmp_path / "corp"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a document")
    (folder / "sub" / "empty.txt").write_text("   ")
    (folder / "sub" / "again.txt").write_text("a document")
    report = StreamReport()
    list(iter_document_chunks(folder, report=report))
    assert report.issues == [("sub/empty.txt", "empty text")]  # the server's folders are not shown


def test_a_jsonl_file_saved_with_a_byte_order_mark_keeps_its_first_record(tmp_path):
    from core.corpus.load import load_corpus

    path = tmp_path / "windows.jsonl"
    lines = "".join(json.dumps({"id": f"x{i}", "text": f"document {i}"}) + "\n" for i in range(3))
    path.write_bytes(b"\xef\xbb\xbf" + lines.encode())
    report = StreamReport()
    streamed = [i for ids, _ in iter_document_chunks(path, report=report) for i in ids]
    assert streamed == list(load_corpus(path)[0].ids) == ["x0", "x1", "x2"]
    assert report.issues == [] and report.skipped == 0


def test_a_corpus_with_no_readable_record_says_why_by_its_first_note(tmp_path):
    path = tmp_path / "powershell.jsonl"  # PowerShell's Out-File writes UTF-16
    path.write_bytes("".join(json.dumps({"text": f"document {i}"}) + "\n" for i in range(3)).encode("utf-16"))
    with pytest.raises(StreamFormatError, match=r"4 records skipped; the first note, powershell.jsonl:1: non_utf8"):
        index_large_corpus(path, LargeIndexConfig(align_docs=0), encoder=HashingEncoder(16))


def test_the_index_command_counts_the_records_it_read_and_lists_what_it_skipped(tmp_path, capsys):
    from core.corpus.__main__ import main

    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps({"text": f"document {i} about topic {i % 3}"}) for i in range(60)]
    lines[10] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    assert main(["index", "--corpus", str(path), "--encoder", "hashing-16", "--k", "3", "--align", "0",
                 "--layout-sample", "100"]) == 0
    out = capsys.readouterr().out
    assert "indexed 59 documents (60 records read, 1 skipped)" in out
    assert "  mixed.jsonl:11: malformed JSON" in out


def test_a_named_pipe_is_refused_by_name_not_opened(tmp_path):
    import os
    import threading

    pipe = tmp_path / "corpus.jsonl"
    os.mkfifo(pipe)
    outcome: list[BaseException] = []

    def index() -> None:
        try:
            index_large_corpus(pipe, LargeIndexConfig(align_docs=0), encoder=HashingEncoder(16))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=index, daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # opening the pipe waits for a writer: be that writer, so the thread ends
        with open(pipe, "wb"):
            pass
        worker.join(20)
        pytest.fail("indexing a named pipe waited for a writer instead of refusing it")
    assert len(outcome) == 1 and isinstance(outcome[0], StreamFormatError)
    assert "corpus.jsonl: a FIFO (named pipe), not a file or folder; refused" in str(outcome[0])


def test_a_negative_seed_is_refused_by_name_before_anything_is_embedded(tmp_path, capsys):
    from core.corpus.__main__ import main

    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"document {i}"}) + "\n" for i in range(60)))
    assert main(["index", "--corpus", str(path), "--encoder", "hashing-16", "--align", "0", "--seed", "-1"]) == 2
    captured = capsys.readouterr()
    assert "error: seed must be >= 0, got -1" in captured.err
    assert "Embedding" not in captured.err + captured.out  # refused before the stream was read
