"""Streaming ingestion and the large map index (a 50,000-document corpus of real, recombined sentences)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.corpus.chunking import content_id
from core.corpus.encoders import STATIC_MODEL, HashingEncoder, load_encoder, static_model_ready
from core.corpus.stream import (
    LargeIndexConfig,
    StreamFormatError,
    StreamReport,
    index_large_corpus,
    iter_document_chunks,
    large_index_path,
    lod_sample,
    region_ids,
    write_recombined_corpus,
)
from tests.corpus._mapdata import TOPICS

SOURCE_TEXTS = [  # real-looking documentation sentences, four topics
    f"To {verb} a {noun}, call the function with the {noun} as its first argument. The result is a new {noun}. "
    f"Errors raise an exception that names the {noun}. See the {topic[0]} and {topic[1]} modules for details."
    for topic in TOPICS for verb in ("open", "read", "parse", "convert", "close") for noun in topic
]


def _fast_encoder():
    return load_encoder(STATIC_MODEL) if static_model_ready() else HashingEncoder(128)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = write_recombined_corpus(SOURCE_TEXTS, 50_000, tmp_path_factory.mktemp("big") / "docs.jsonl", seed=3)
    seen = []
    config = LargeIndexConfig(encoder_name="fast", k=20, layout_sample=2000, chunk_size=10_000,
                              align_docs=0)  # the ridge map into MiniLM's space: tests/corpus/test_align.py
    lmap = index_large_corpus(path, config, encoder=_fast_encoder(), report=seen.append)
    return path, config, lmap, seen


def test_fifty_thousand_documents_stream_into_a_complete_index(big):
    path, config, lmap, seen = big
    assert len(lmap) == 50_000 and lmap.embeddings.shape[0] == 50_000
    assert lmap.embeddings.dtype == np.float16
    assert lmap.xy.shape == (50_000, 2) and np.isfinite(lmap.xy).all()
    assert lmap.labels.shape == (50_000,) and set(np.unique(lmap.labels)) <= set(range(20))
    assert lmap.clusters["size"].sum() == 50_000 and (lmap.clusters["keywords"].str.len() > 0).all()
    assert len(set(lmap.ids)) == 50_000
    stages = {p.stage for p in seen}
    assert {"embed", "cluster", "project", "place", "index"} <= stages
    assert all(p.done <= p.total for p in seen)


def test_embedding_chunks_are_the_vectors_of_their_documents(big):
    _, _, lmap, _ = big
    rows = np.array([0, 9_999, 10_000, 49_999])
    direct = _fast_encoder().encode(lmap.texts(rows))
    np.testing.assert_allclose(np.asarray(lmap.embeddings[rows], dtype=np.float32), direct, atol=2e-3)  # float16


def test_placed_points_land_near_their_cluster(big):
    _, _, lmap, _ = big
    xy, labels = np.asarray(lmap.xy), np.asarray(lmap.labels)
    centres = np.stack([xy[labels == c].mean(axis=0) if (labels == c).any() else np.zeros(2) for c in range(20)])
    own = np.linalg.norm(xy - centres[labels], axis=1)
    other = np.linalg.norm(xy - centres[(labels + 7) % 20], axis=1)
    assert np.median(own) < np.median(other)


def test_box_selection_maps_to_every_id_inside_and_search_finds_a_document(big):
    _, _, lmap, _ = big
    xy = np.asarray(lmap.xy)
    x0, x1 = np.quantile(xy[:, 0], [0.2, 0.5])
    y0, y1 = np.quantile(xy[:, 1], [0.2, 0.6])
    ids = region_ids(lmap, (x1, x0), (y0, y1))
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert set(ids) == set(np.asarray(lmap.ids)[inside]) and len(ids) > 100
    shown = lod_sample(lmap, max_points=5_000)
    assert len(shown) == 5_000 and len(np.unique(shown)) == 5_000
    vec = np.asarray(lmap.embeddings[123], dtype=np.float32)
    hits = lmap.search(vec / np.linalg.norm(vec), top_n=5)
    assert lmap.ids[123] in set(hits["doc_id"]) or hits["score"].iloc[0] > 0.99


def test_search_lists_are_the_map_clusters_and_search_agrees_with_exact_search(big):
    import faiss

    _, _, lmap, _ = big
    index = faiss.read_index(str(lmap.folder / "search.faiss"))
    sizes = [index.invlists.list_size(c) for c in range(index.nlist)]
    assert sizes == np.bincount(np.asarray(lmap.labels), minlength=20).tolist()  # every row in its cluster's list
    emb = np.asarray(lmap.embeddings, dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    for r in np.random.default_rng(0).choice(len(emb), 30, replace=False):
        sims = emb @ emb[r]
        found = sims[lmap.search(emb[r], top_n=10)["row"].to_numpy()]  # exact similarity of what was found
        assert found.mean() >= 0.98 * np.sort(sims)[-10:].mean()  # (many recombined documents tie)


def test_a_second_index_of_the_same_file_is_read_from_the_cache(big):
    path, config, lmap, _ = big
    again = index_large_corpus(path, config, encoder=_fast_encoder())
    assert again.folder == lmap.folder == large_index_path(path, config)
    assert again.meta["timings"] == lmap.meta["timings"]


def test_bad_lines_are_counted_and_located_not_fatal(tmp_path):
    path = tmp_path / "mixed.jsonl"
    rows = [json.dumps({"id": "a", "text": "first document " * 3}), "{not json", json.dumps({"id": "b", "text": ""}),
            json.dumps({"id": "c", "body": "no text field here"}), json.dumps({"id": "d", "text": "word " * 450})]
    path.write_text("\n".join(rows) + "\n")
    report = StreamReport()
    chunks = list(iter_document_chunks(path, chunk_size=2, report=report))
    ids = [i for c in chunks for i in c[0]]
    assert ids == ["a", "d#0", "d#1", "d#2"]  # 450 words -> three pieces of at most 200
    assert report.skipped == 3
    assert [w for w, _ in report.issues] == ["mixed.jsonl:2", "mixed.jsonl:3", "mixed.jsonl:4"]


def test_parquet_and_folders_stream_too_and_unknown_input_is_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"doc_id": ["x", "y"], "content": ["alpha beta", "gamma delta"]}), tmp_path / "t.parquet")
    assert list(iter_document_chunks(tmp_path / "t.parquet")) == [(["x", "y"], ["alpha beta", "gamma delta"])]
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.txt").write_text("hello there")
    assert list(iter_document_chunks(tmp_path / "docs")) == [(["one.txt"], ["hello there"])]
    (tmp_path / "t.xlsx").write_bytes(b"x")
    with pytest.raises(StreamFormatError, match="t.xlsx"):
        list(iter_document_chunks(tmp_path / "t.xlsx"))
    (tmp_path / "empty.jsonl").write_text(json.dumps({"text": " "}) + "\n")
    with pytest.raises(StreamFormatError, match="no document"):
        index_large_corpus(tmp_path / "empty.jsonl", LargeIndexConfig(), encoder=HashingEncoder(16))
    assert not list(large_index_path(tmp_path / "empty.jsonl", LargeIndexConfig()).parent.glob("*.tmp"))


def test_the_index_is_found_by_its_source_until_the_source_changes(tmp_path):
    from core.corpus.stream import find_large_index

    path = tmp_path / "few.jsonl"
    path.write_text("\n".join(json.dumps({"text": f"document number {i} about files"}) for i in range(30)) + "\n")
    assert find_large_index(path) is None
    lmap = index_large_corpus(path, LargeIndexConfig(k=2, layout_sample=100), encoder=HashingEncoder(16))
    assert find_large_index(path) == lmap.folder
    path.write_text(path.read_text() + json.dumps({"text": "one more"}) + "\n")
    assert find_large_index(path) is None


def test_the_large_corpus_page_draws_every_point_of_the_index_on_the_webgl_map(big):
    """The page opens the 50k index by its corpus path and sends EVERY point to the WebGL map component."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from core.viz.webgl_map import decode_payload_header

    path, _, lmap, _ = big
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "pages" / "large_map.py"), default_timeout=180)
    at.session_state["lm_path"] = str(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("plotly_chart")
    maps = at.get("bidi_component")
    assert len(maps) == 1
    header = decode_payload_header(maps[0].proto.bytes)
    assert header["n"] == 50_000 and header["sections"]["x"][1] == 50_000  # the browser holds no points yet
    assert len(header["legend"]["entries"]) == lmap.meta["k"]  # a legend entry per cluster, named by its keywords
    assert {lab[0] for lab in header["labels"]} == {0, 1}  # labels by zoom: coarse groups, then clusters
    assert sum(lab[5] for lab in header["labels"] if lab[0] == 0) == 50_000
    assert any("50,000 documents (50,000 drawn)" in c.value for c in at.caption)
    assert not at.dataframe  # nothing selected, clusters folded: no table on the first open
    at.toggle(key="lm_clusters").set_value(True).run()
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == lmap.meta["k"]


def test_before_a_path_is_given_the_page_shows_how_to_index_and_no_map():
    """No path yet: the instructions, and no map."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "pages" / "large_map.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("python -m core.corpus index" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.get("bidi_component")


def test_load_and_stream_read_bad_bytes_and_an_unnamed_text_field_alike(tmp_path):
    """One reader layer (core.corpus.readers): bad UTF-8 is replaced and reported in both, not skipped in one;
    without a text field by name both take the longest string column, neither refuses."""
    from core.corpus.load import load_corpus

    path = tmp_path / "notes.jsonl"
    rows = [b'{"key": "n1", "tag": "a", "note": "caf\xe9 au lait and a long sentence"}',
            b'{"key": "n2", "tag": "b", "note": "second note about the weather today"}']
    path.write_bytes(b"\n".join(rows) + b"\n")
    corpus, load_report = load_corpus(path)
    report = StreamReport()
    ((ids, texts),) = list(iter_document_chunks(path, report=report))
    assert (ids, texts) == (list(corpus.ids), list(corpus.texts)) == (["n1", "n2"], list(corpus.texts))
    assert "\ufffd" in texts[0] and report.skipped == 0 and load_report.text_field == "note"
    assert [(kind, loc) for kind, loc, _ in load_report.issues] == [("non_utf8", "notes.jsonl:1")]
    assert report.issues == [(loc, f"{kind}: {detail}") for kind, loc, detail in load_report.issues]  # same words
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"fa\xe7ade of the building")
    corpus, _ = load_corpus(folder)
    assert list(iter_document_chunks(folder)) == [(["a.txt"], list(corpus.texts))]  # kept, not skipped
    (tmp_path / "numbers.jsonl").write_text(json.dumps({"a": 1, "b": 2}) + "\n")
    with pytest.raises(StreamFormatError, match="no column holds text"):
        list(iter_document_chunks(tmp_path / "numbers.jsonl"))


def test_a_line_nested_too_deeply_or_with_a_huge_integer_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b'{"text": "a good document"}\n' + b"[" * 100_000 + b"\n"
                     + b'{"text": "x", "n": ' + b"1" * 5000 + b"}\n" + b'{"text": "another good one"}\n')
    report = StreamReport()
    ((_, texts),) = list(iter_document_chunks(path, report=report))
    assert texts == ["a good document", "another good one"]
    assert report.skipped == 2 and [w for w, _ in report.issues] == ["odd.jsonl:2", "odd.jsonl:3"]
    assert "nested too deeply" in report.issues[0][1]


def test_streamed_ids_are_unique_like_load_corpus_makes_them(tmp_path):
    """A repeated id, or a repeated text without one, gave two documents one id; a repeat now gets ``~2`` as in
    load_corpus, with a duplicate_id note naming its line."""
    from core.corpus.load import load_corpus

    path = tmp_path / "dup.jsonl"
    rows = [{"id": "a", "text": "first doc"}, {"id": "a", "text": "second doc"}, {"id": "a#0", "text": "third"},
            {"id": "a", "text": "word " * 250}]
    path.write_text("\n".join(json.dumps(r) for r in rows + [{"text": "same"}, {"text": "same"}]) + "\n")
    report = StreamReport()
    ids = [i for chunk_ids, _ in iter_document_chunks(path, chunk_size=2, report=report) for i in chunk_ids]
    assert ids == ["a", "a~2", "a#0", "a~3#0", "a~3#1", content_id("same"), content_id("same") + "~2"]
    assert [w for w, why in report.issues if why.startswith("duplicate_id")] == ["dup.jsonl:2", "dup.jsonl:4",
                                                                                 "dup.jsonl:6"]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    corpus, _ = load_corpus(path)
    assert [i for c in iter_document_chunks(path) for i in c[0]] == list(corpus.ids)  # the same ids as a load


def test_a_concurrent_build_of_the_same_index_keeps_the_other_builds_temporary_folder(tmp_path, monkeypatch):
    """Both builds used ``<index>.<pid>.tmp``, and a build began by removing it: a second session (a thread of the
    same process) deleted the first one's half-built index under it. Each build now has its own folder."""
    import threading

    import core.corpus.project
    import core.corpus.stream as stream

    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"text": "one document"}) + "\n")
    a_building, b_done = threading.Event(), threading.Event()

    def fake_build(_path, tmp, config, encoder, report, roots=None):
        first = not a_building.is_set()
        (tmp / "who").write_text("first" if first else "second")
        if first:
            a_building.set()
            assert b_done.wait(10)  # the second build runs whole meanwhile
        (tmp / "done").write_text((tmp / "who").read_text())  # the first build's own files are still there

    monkeypatch.setattr(stream, "_build_index", fake_build)
    monkeypatch.setattr(stream, "load_large_map", lambda folder: folder)
    monkeypatch.setattr(core.corpus.project, "preload_umap", lambda: None)
    errors: list[BaseException] = []

    def build(after=None):
        try:
            index_large_corpus(path, LargeIndexConfig(), encoder=HashingEncoder(16), use_cache=False)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            if after is not None:
                after.set()

    first = threading.Thread(target=build)
    first.start()
    assert a_building.wait(10)
    build(after=b_done)
    first.join(20)
    b_done.set()
    final = large_index_path(path, LargeIndexConfig())
    assert errors == [] and (final / "done").read_text() == "first"  # the later rename won, whole
    assert not list(final.parent.glob("*.tmp"))


def test_a_folders_index_is_rebuilt_when_a_file_inside_it_changes(tmp_path):
    """A folder was keyed by its own size and mtime, which editing a file inside does not change: the stale index
    was served. It is now keyed by the relative path, size and mtime of every file it reads."""
    import os

    from core.corpus.stream import find_large_index

    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    for i in range(30):
        (folder / ("sub" if i % 2 else ".") / f"d{i:02d}.txt").write_text(f"document number {i} about files")
    config = LargeIndexConfig(k=2, layout_sample=100, align_docs=0)
    lmap = index_large_corpus(folder, config, encoder=HashingEncoder(16))
    assert find_large_index(folder) == lmap.folder == large_index_path(folder, config)
    edited = folder / "sub" / "d01.txt"
    info = edited.stat()
    edited.write_text("document number 1 about dogs")  # the same size, in place: the folder's own stat is the same
    os.utime(edited, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    assert large_index_path(folder, config) != lmap.folder and find_large_index(folder) is None
    rebuilt = index_large_corpus(folder, config, encoder=HashingEncoder(16))
    assert rebuilt.folder != lmap.folder and "document number 1 about dogs" in rebuilt.texts(range(len(rebuilt)))
    assert find_large_index(folder) == rebuilt.folder
    (folder / "notes.bin").write_bytes(b"\0")  # a file the stream does not read changes nothing
    assert large_index_path(folder, config) == rebuilt.folder


def test_a_file_name_that_is_not_utf8_streams_with_a_replacement_and_a_note(tmp_path):
    """The id of b'caf\\xe9.txt' held a lone surrogate and docs.parquet could not be written (UnicodeEncodeError);
    it is now shown with U+FFFD, as load_corpus names it, with a non_utf8 note."""
    import pyarrow as pa

    from core.corpus.load import load_corpus
    from tests.corpus.test_load import _folder_with_a_latin1_name

    folder = _folder_with_a_latin1_name(tmp_path)
    report = StreamReport()
    ((ids, texts),) = list(iter_document_chunks(folder, report=report))
    assert ids == ["caf\ufffd.txt", "ok.txt"] and texts[0] == "a perfectly fine document about coffee"
    assert report.skipped == 0 and report.issues[0][0] == "caf\ufffd.txt" and "non_utf8" in report.issues[0][1]
    assert pa.table({"doc_id": ids, "text": texts}).num_rows == 2
    assert list(load_corpus(folder)[0].sources) == ids


def test_a_binary_file_given_a_text_name_is_refused_and_one_in_a_folder_skipped(tmp_path):
    """As load_corpus: random bytes named .csv/.jsonl streamed into an index of garbage documents."""
    noise = bytes(range(256)) * 20
    for name in ("noise.csv", "noise.jsonl"):
        (tmp_path / name).write_bytes(noise)
        with pytest.raises(StreamFormatError, match=rf"{name}: it holds binary data"):
            list(iter_document_chunks(tmp_path / name))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("hello there")
    (tmp_path / "docs" / "b.txt").write_bytes(noise)
    report = StreamReport()
    assert list(iter_document_chunks(tmp_path / "docs", report=report)) == [(["a.txt"], ["hello there"])]
    assert report.skipped == 1 and "binary data" in report.issues[0][1]


def test_an_index_of_no_document_says_what_to_do(tmp_path):
    """Found on the Large corpus page: an empty file read 'no document with text (0 records skipped)' and a CSV whose
    text column was blank said nothing to do."""
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(StreamFormatError, match=r"empty\.jsonl: it holds no records; choose a file with documents"):
        index_large_corpus(tmp_path / "empty.jsonl", LargeIndexConfig(), encoder=HashingEncoder(16))
    (tmp_path / "blank.csv").write_text("id,text,notes\n1, ,real words here\n2,,more words\n")
    with pytest.raises(StreamFormatError, match=r"2 records skipped; the first note, blank\.csv:2: .*; if another "
                                                r"column holds the text, index it with `python -m core\.corpus index "
                                                r"--corpus .*blank\.csv --text-field <column>`"):
        index_large_corpus(tmp_path / "blank.csv", LargeIndexConfig(), encoder=HashingEncoder(16))
