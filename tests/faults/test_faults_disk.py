"""A full disk at every write site: a clear message naming what was not written, nothing written
before is damaged, and the same step succeeds once space is freed.

Each test mounts a small tmpfs (:func:`small_disk`) as the product home or the output folder,
fills it with a filler file so the write under test fails partway, then deletes the filler and
retries. Mounting needs root (or CAP_SYS_ADMIN); without it the tests skip and say so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "equal"))
from crash_run import make_setup, make_space  # noqa: E402

from core.corpus.encoders import HashingEncoder  # noqa: E402
from core.disk import DiskFullError  # noqa: E402
from core.equal.extract.base import ExtractionResult, QAPair  # noqa: E402
from core.equal.run import BanditRun  # noqa: E402
from core.equal.store import RunStore, RunStoreFull  # noqa: E402
from tests.corpus._mapdata import topic_corpus  # noqa: E402

Disk = Callable[[int], Path]


@pytest.fixture()
def small_disk(tmp_path) -> Iterator[Disk]:
    """``small_disk(kib)``: a fresh tmpfs of ``kib`` KiB mounted under ``tmp_path``, unmounted at teardown."""
    mounted: list[Path] = []

    def mount(kib: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(kib)}k", "tmpfs", str(folder)],
                                  capture_output=True, text=True)
        except OSError as exc:  # no mount command at all
            pytest.skip(f"cannot mount a tmpfs to fill: {exc}")
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs to fill (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def fill(disk: Path, leave_kib: int = 0) -> Path:
    """Fill ``disk`` with ``disk/filler`` until at most ``leave_kib`` KiB are free; returns the filler."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    room = stat.f_bavail * stat.f_frsize - leave_kib * 1024
    with open(filler, "ab") as fh:
        try:
            while room > 0:
                block = min(room, 1 << 20)
                fh.write(b"\0" * block)
                fh.flush()
                room -= block
        except OSError:  # full before the count: tmpfs rounds to pages
            pass
    return filler


def _left_behind(folder: Path) -> list[str]:
    """Temporary files a failed write left in ``folder`` (they would hold the disk's space)."""
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


def _pull(store: RunStore, round_: int, seq: int, answer: str = "a") -> None:
    result = ExtractionResult(pairs=[QAPair(f"q{round_}.{seq}", answer, f"d{round_}.{seq}", "rules")], calls=1)
    store.commit_pull("r", round_, seq, 1, [f"d{round_}.{seq}"], [seq], 0.5, result, [(1, seq + 1, 1.0, 0.5)])


# ---------------------------------------------------------------------- the run store
def test_run_store_full_names_the_round_keeps_earlier_pulls_and_saves_the_pull_once_freed(small_disk):
    disk = small_disk(1024)
    store = RunStore(disk / "runs.sqlite")
    store.create_run("r", {"policy": "equal"}, "f", 10)
    for seq in range(3):
        _pull(store, 0, seq)
    filler = fill(disk)
    with pytest.raises(RunStoreFull) as err:
        _pull(store, 7, 0, answer="x" * 200_000)
    message = str(err.value)
    assert "could not save round 7, pull 0" in message and "the disk is full" in message
    assert "runs.sqlite" in message and str(disk) not in message  # the file's name, never the server folder
    assert isinstance(err.value, ValueError) and isinstance(err.value, OSError)  # both kinds of caller catch it
    stored = RunStore(disk / "runs.sqlite").load_run("r")  # a second connection reads the committed rows
    assert stored.pulls["seq"].tolist() == [0, 1, 2] and len(stored.pairs) == 3
    filler.unlink()
    _pull(store, 7, 0, answer="x" * 200_000)  # the same pull, once space is freed
    stored = store.load_run("r")
    assert stored.pulls["round"].tolist() == [0, 0, 0, 7] and stored.pairs["answer"].str.len().max() == 200_000


def test_a_new_run_store_on_a_full_disk_says_so_and_opens_once_freed(small_disk):
    disk = small_disk(256)
    filler = fill(disk)
    with pytest.raises(RunStoreFull, match="the run store could not be opened: the disk is full"):
        RunStore(disk / "runs.sqlite")
    filler.unlink()
    store = RunStore(disk / "runs.sqlite")
    store.create_run("r", {}, "f", 1)
    assert store.has_run("r")


def test_bandit_run_on_a_full_disk_keeps_its_pull_and_stores_it_when_freed(small_disk):
    ids, texts, labels, ref, ext, embed, config = make_setup()
    space = make_space(ids, texts, labels, doc_emb=embed(texts))
    reference = BanditRun(config, space, ref, ext, embed).run_until_done()
    disk = small_disk(2048)
    store = RunStore(disk / "runs.sqlite")
    run = BanditRun(config, space, ref, ext, embed, store=store, run_id="full")
    for _ in range(3):
        run.play_pull()
    filler = fill(disk)
    with pytest.raises(RunStoreFull, match="the run store could not save round"):
        for _ in range(50):  # the WAL holds a few pages spare: a later pull meets the full disk
            run.play_pull()
    played = len(run.pulls_frame())
    assert len(store.load_run("full").pulls) < played  # the pull the disk refused is not stored ...
    with pytest.raises(RunStoreFull):
        run.play_pull()  # ... nor played past while the disk is still full
    assert len(run.pulls_frame()) == played
    filler.unlink()
    run.run_until_done()
    stored = store.load_run("full")
    assert stored.status == "finished"
    assert (stored.pulls[["round", "seq", "arm"]].values.tolist()
            == reference.pulls_frame()[["round", "seq", "arm"]].values.tolist())  # nothing lost, nothing twice
    np.testing.assert_array_equal(stored.pulls["reward"].to_numpy(), reference.pulls_frame()["reward"].to_numpy())
    again = BanditRun.resume(store, "full", space, ref, ext, embed)
    np.testing.assert_array_equal(again.state.arm_to_sum, reference.state.arm_to_sum)


def test_live_loop_pauses_with_the_message_and_resumes_once_freed(small_disk):
    from core.equal.live import LiveLoop

    ids, texts, labels, ref, ext, embed, config = make_setup()
    space = make_space(ids, texts, labels, doc_emb=embed(texts))
    disk = small_disk(2048)
    store = RunStore(disk / "runs.sqlite")
    loop = LiveLoop(store)
    loop.start(BanditRun(config, space, ref, ext, embed, store=store, run_id="live"))
    loop.tick(max_rounds=1, max_seconds=60)
    filler = fill(disk)
    for _ in range(50):
        loop.tick(max_rounds=1, max_seconds=60)
        if not loop.playing:
            break
    assert loop.state == "paused" and "the disk is full" in loop.problem and str(disk) not in loop.problem
    filler.unlink()
    loop.resume()
    assert loop.problem == ""
    while loop.playing:
        loop.tick(max_rounds=5, max_seconds=60)
    assert loop.state == "finished" and store.load_run("live").status == "finished"
    assert len(store.load_run("live").pulls) == len(loop.run.pulls_frame())


@pytest.fixture()
def home_on(monkeypatch) -> Callable[[Path], Path]:
    """Point ``EQUALCTAR_HOME`` (every cache and run store) at a folder."""
    def point(folder: Path) -> Path:
        monkeypatch.setenv("EQUALCTAR_HOME", str(folder))
        return folder
    return point


# ---------------------------------------------------------------------- the embedding caches
def test_embedding_cache_full_names_the_cache_keeps_the_earlier_file_and_writes_once_freed(small_disk, home_on):
    from core.corpus.embed import corpus_embedding_path, embed_corpus, read_cached_embeddings

    disk = home_on(small_disk(1024))
    enc = HashingEncoder(512)
    small, _ = topic_corpus(40, seed=1)
    before = np.array(embed_corpus(small, enc))
    large, _ = topic_corpus(400, seed=2)  # 400 x 512 float32: 800 KiB, more than is left
    filler = fill(disk, leave_kib=200)
    with pytest.raises(DiskFullError) as err:
        embed_corpus(large, enc)
    assert "the embedding cache could not save the vectors of 400 documents (hashing-512)" in str(err.value)
    assert "the disk is full" in str(err.value) and str(disk) not in str(err.value)
    assert not corpus_embedding_path(large, enc).exists()  # no half-written file under the cache's name
    assert _left_behind(disk) == []  # the temporary file is gone: its space is back
    np.testing.assert_array_equal(read_cached_embeddings(small, enc), before)  # the earlier cache still loads
    filler.unlink()
    vecs = embed_corpus(large, enc)
    np.testing.assert_allclose(read_cached_embeddings(large, enc), vecs)
    np.testing.assert_allclose(vecs, enc.encode(large.texts), atol=1e-6)


def test_text_embedding_cache_full_names_the_cache_and_fills_in_once_freed(small_disk, home_on):
    from core.corpus.embed import embed_texts

    disk = home_on(small_disk(2048))
    enc = HashingEncoder(256)  # a file of 1 KiB per text (a 4 KiB page on tmpfs): 200 texts need 800 KiB
    seen = embed_texts(["how do I parse json", "what is a socket"], enc)
    texts = [f"question number {i} about dates" for i in range(200)]
    filler = fill(disk, leave_kib=40)
    with pytest.raises(DiskFullError, match="the text-embedding cache could not save the vectors of 200 texts") as err:
        embed_texts(texts, enc)
    assert "holding text-embeddings" in str(err.value)
    assert _left_behind(disk) == []
    calls: list[int] = []

    class Counting(HashingEncoder):
        def encode(self, batch, batch_size=64, progress=None):
            calls.append(len(batch))
            return super().encode(batch, batch_size, progress)

    counting = Counting(256)
    np.testing.assert_array_equal(embed_texts(["how do I parse json", "what is a socket"], counting), seen)
    assert calls == []  # the vectors cached before the disk filled still load
    filler.unlink()
    np.testing.assert_allclose(embed_texts(texts, counting), enc.encode(texts), atol=1e-6)
    calls.clear()
    embed_texts(texts, counting)
    assert calls == []  # every text is cached now


# ---------------------------------------------------------------------- the background upgrade
class _Counting(HashingEncoder):
    """Counts the documents it is asked to embed (to see which chunks a resumed job redoes)."""

    def __init__(self, dim: int, calls: list[int]) -> None:
        super().__init__(dim)
        self.calls = calls

    def encode(self, texts, batch_size=64, progress=None):
        self.calls.append(len(texts))
        return super().encode(texts, batch_size, progress)


def _upgrade_job(monkeypatch, calls: list[int]):
    """200 documents in 10 chunks of 20 x 512 float32 (40 KiB each; the final cache file 400 KiB)."""
    import core.corpus.encoders as encoders
    from core.corpus.upgrade import ensure_upgrade

    corpus, _ = topic_corpus(200, seed=3)
    monkeypatch.setattr(encoders, "load_encoder", lambda name: _Counting(512, calls))
    return corpus, ensure_upgrade(corpus, "hashing-512", chunk=20, start=False)


def _chunks_are_valid(job, corpus) -> int:
    rows, vecs = job.done_rows()
    np.testing.assert_allclose(vecs, HashingEncoder(512).encode([corpus.texts[r] for r in rows]), atol=1e-6)
    return len(job.chunk_paths())


def test_upgrade_chunk_on_a_full_disk_fails_with_its_number_and_resumes_from_the_last_chunk(small_disk, home_on,
                                                                                           monkeypatch):
    from core.corpus.embed import corpus_embedding_path, read_cached_embeddings
    from core.corpus.upgrade import ensure_upgrade, run_worker

    disk = home_on(small_disk(1024))
    calls: list[int] = []
    corpus, job = _upgrade_job(monkeypatch, calls)
    filler = fill(disk, leave_kib=150)  # room for three chunks and the status, not the fourth
    assert run_worker(job.folder) == 1
    st = job.status()
    assert st["state"] == "failed" and job.state == "failed"  # still full: no worker would get further
    assert "the background upgrade could not save chunk" in st["error"] and "the disk is full" in st["error"]
    assert str(disk) not in st["error"] and not st["error"].startswith("DiskFullError")
    finished = _chunks_are_valid(job, corpus)
    assert 1 <= finished < 10 and f"chunk {finished + 1} of 10" in st["error"]
    assert _left_behind(disk) == []  # the half-written chunk is gone, not left under a chunk's name
    assert ensure_upgrade(corpus, "hashing-512", chunk=20, start=False).state == "failed"
    filler.unlink()
    assert job.state == "stopped"  # space was freed: the next open resumes it
    calls.clear()
    assert run_worker(job.folder) == 0
    assert calls == [20] * (10 - finished)  # only the chunks that were missing
    assert job.status()["state"] == "done" and _chunks_are_valid(job, corpus) == 10
    enc = HashingEncoder(512)
    assert corpus_embedding_path(corpus, enc).exists()
    np.testing.assert_allclose(read_cached_embeddings(corpus, enc), enc.encode(corpus.texts), atol=1e-6)


def test_upgrade_final_cache_on_a_full_disk_keeps_every_chunk_and_is_written_once_freed(small_disk, home_on,
                                                                                       monkeypatch):
    from core.corpus.embed import corpus_embedding_path, read_cached_embeddings
    from core.corpus.upgrade import run_worker

    disk = home_on(small_disk(1400))
    calls: list[int] = []
    corpus, job = _upgrade_job(monkeypatch, calls)
    filler = fill(disk, leave_kib=600)  # the ten chunks (440 KiB) fit; the 400 KiB cache file then does not
    assert run_worker(job.folder) == 1
    error = job.status()["error"]
    assert "the background upgrade could not write the finished embedding cache" in error, error
    assert _chunks_are_valid(job, corpus) == 10
    enc = HashingEncoder(512)
    assert not corpus_embedding_path(corpus, enc).exists() and _left_behind(disk) == []
    filler.unlink()
    calls.clear()
    assert job.state == "stopped" and run_worker(job.folder) == 0
    assert calls == []  # nothing embedded again: the chunks were all there
    np.testing.assert_allclose(read_cached_embeddings(corpus, enc), enc.encode(corpus.texts), atol=1e-6)


# ---------------------------------------------------------------------- the large index
def _large_input(folder: Path, name: str, n: int) -> Path:
    path = folder / name
    topics = ("json", "dates", "sockets", "arrays")
    path.write_text("\n".join(json.dumps({"text": f"document {i} about files and {topics[i % 4]} parsing number "
                                                   f"{i % 17}"}) for i in range(n)) + "\n")
    return path


_LARGE = dict(k=4, layout_sample=200, align_docs=0, chunk_size=500, layout_epochs=20)  # no MiniLM: no alignment


@pytest.mark.parametrize("leave_kib", [400, 1700, 2430])  # in the embeddings, the search index, the drawn sample
def test_large_index_on_a_full_disk_names_the_input_keeps_nothing_half_built_and_completes_once_freed(
        small_disk, home_on, tmp_path, leave_kib):
    """3,000 documents x 256 dims: embeddings.bin 1,500 KiB and docs.parquet 75 KiB first, search.faiss
    780 KiB next, lod.parquet 120 KiB after; each ``leave_kib`` lets the build reach a later write."""
    from core.corpus.stream import LargeIndexConfig, find_large_index, index_large_corpus, large_index_path

    home_on(small_disk(4096))
    disk = Path(os.environ["EQUALCTAR_HOME"])
    enc = HashingEncoder(256)
    earlier = index_large_corpus(_large_input(tmp_path, "earlier.jsonl", 200), LargeIndexConfig(**_LARGE), encoder=enc)
    path = _large_input(tmp_path, "docs.jsonl", 3000)
    config = LargeIndexConfig(**_LARGE)
    filler = fill(disk, leave_kib=leave_kib)
    with pytest.raises(DiskFullError) as err:
        index_large_corpus(path, config, encoder=enc)
    message = str(err.value)
    assert "the large index of docs.jsonl could not be written: the disk is full" in message
    assert str(disk) not in message and str(tmp_path) not in message
    final = large_index_path(path, config)
    assert not final.exists() and find_large_index(path) is None  # nothing half-built under the index's name
    assert not list(final.parent.glob("*.tmp")) and _left_behind(disk) == []  # the temporary folder is gone
    again = index_large_corpus(tmp_path / "earlier.jsonl", LargeIndexConfig(**_LARGE), encoder=enc)
    assert again.folder == earlier.folder and len(again) == 200  # the earlier index still loads
    filler.unlink()
    lmap = index_large_corpus(path, config, encoder=enc)
    assert len(lmap) == 3000 and find_large_index(path) == lmap.folder
    np.testing.assert_allclose(np.asarray(lmap.embeddings[:5], dtype=np.float32),
                               enc.encode([f"document {i} about files and {t} parsing number {i}" for i, t in
                                           enumerate(("json", "dates", "sockets", "arrays", "json"))]), atol=2e-3)


# ---------------------------------------------------------------------- exports and CTAR output
def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _ctar_sample(seed: int):
    from core.ctar.inputs import make_synthetic_inputs
    from core.ctar.sampler import sample
    from tests.ctar.conftest import small_config

    return sample(small_config(n_users=120, n_movies=150, seed=seed, rct_users=10, test_identifiable_n=100,
                               test_identifiable_pos=30, test_inidentifiable_n=100, test_inidentifiable_pos=30),
                  make_synthetic_inputs(seed=1, n_movies=300, n_tags=200))


def test_ctar_export_on_a_full_disk_names_the_file_leaves_every_file_whole_and_completes_once_freed(small_disk,
                                                                                                   tmp_path):
    from core.ctar.export import export_sample

    old, new = _ctar_sample(3), _ctar_sample(4)
    export_sample(new, tmp_path / "expected", "csv")
    expected = _files(tmp_path / "expected")
    disk = small_disk(2048)
    out = disk / "ctar-out"
    export_sample(old, out, "csv")
    before = _files(out)
    filler = fill(disk, leave_kib=4)  # one spare page: the one-page files are replaced, train/movie.csv (2) is not
    with pytest.raises(DiskFullError) as err:
        export_sample(new, out, "csv")
    message = str(err.value)
    assert message.startswith("the CTAR sample could not write ") and "the disk is full" in message
    assert "holding ctar-out" in message and str(disk) not in message
    named = message.split("could not write ", 1)[1].split(":", 1)[0]
    assert named in expected and _files(out)[named] == before[named]  # the file it names is as it was
    now = _files(out)
    assert set(now) == set(before)  # no temporary file left, no file missing
    assert all(now[name] in (before[name], expected[name]) for name in now)  # each file whole: old or new
    assert any(now[name] == expected[name] != before[name] for name in now)  # it failed partway, not at once
    filler.unlink()
    export_sample(new, out, "csv")
    assert _files(out) == expected


def test_run_export_cli_on_a_full_disk_says_so_and_writes_the_file_once_freed(small_disk, tmp_path, capsys):
    from core.equal.__main__ import main

    ids, texts, labels, ref, ext, embed, config = make_setup()
    store = RunStore(tmp_path / "runs.sqlite")
    BanditRun(config, make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed, store=store,
              run_id="done").run_until_done()
    disk = small_disk(256)
    out = disk / "d_e.jsonl"
    args = ["export", "done", "--store", str(tmp_path / "runs.sqlite"), "--reference", "files-and-os",
            "--out", str(out)]
    out.write_text("an earlier export\n")
    filler = fill(disk)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: the export of run done could not be written to d_e.jsonl: the disk is full" in err
    assert str(disk) not in err and "Traceback" not in err
    assert out.read_text() == "an earlier export\n" and _left_behind(disk) == []
    filler.unlink()
    assert main(args) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == len(store.load_run("done").pairs) and all(json.loads(x)["messages"] for x in lines)


def test_sweep_cli_on_a_full_disk_says_so_and_writes_the_table_once_freed(small_disk, capsys):
    import pandas as pd

    from core.debias.__main__ import main

    disk = small_disk(256)
    out = disk / "sweep.csv"
    args = ["sweep", "--seeds", "2", "--users", "40", "--items", "40", "--out", str(out), "--quiet"]
    filler = fill(disk)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: the sweep's 40 rows could not be written to sweep.csv: the disk is full" in err
    assert str(disk) not in err and not out.exists() and _left_behind(disk) == []
    filler.unlink()
    assert main(args) == 0 and len(pd.read_csv(out)) == 40


def test_ctar_generate_cli_on_a_full_disk_names_the_file_not_written(small_disk, capsys):
    from core.ctar.__main__ import main

    disk = small_disk(256)
    out = disk / "o"
    args = ["generate", "--out", str(out), "--n-users", "120", "--n-movies", "150", "--quiet",
            "--set", "rct_users=10", "--set", "test_identifiable_n=100", "--set", "test_identifiable_pos=30",
            "--set", "test_inidentifiable_n=100", "--set", "test_inidentifiable_pos=30"]
    filler = fill(disk)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: the CTAR sample could not write train/rating.csv: the disk is full" in err
    assert str(disk) not in err and _left_behind(disk) == []
    filler.unlink()
    assert main(args) == 0 and (out / "config.json").is_file() and (out / "truth" / "liked.csv").is_file()


def test_map_cache_on_a_full_disk_names_the_map_keeps_the_earlier_map_and_saves_once_freed(small_disk, home_on):
    from core.corpus.embed import embed_corpus
    from core.corpus.mapping import MapSettings, build_corpus_map, load_corpus_map

    disk = home_on(small_disk(2048))
    enc = HashingEncoder(128)
    settings = MapSettings(encoder_name="hashing-128", k=4)
    earlier, _ = topic_corpus(60, seed=5)
    build_corpus_map(earlier, settings, encoder=enc)
    corpus, _ = topic_corpus(600, seed=6)
    embed_corpus(corpus, enc)  # its embedding cache is written; the map's copy (300 KiB) is what does not fit
    filler = fill(disk, leave_kib=100)
    with pytest.raises(DiskFullError) as err:
        build_corpus_map(corpus, settings, encoder=enc)
    assert "the map cache could not save the map of 600 documents: the disk is full" in str(err.value)
    assert str(disk) not in str(err.value) and _left_behind(disk) == []  # the half-written folder is gone
    assert load_corpus_map(corpus, settings) is None
    assert load_corpus_map(earlier, settings) is not None  # the earlier map still loads
    filler.unlink()
    cmap = build_corpus_map(corpus, settings, encoder=enc)
    again = load_corpus_map(corpus, settings)
    assert again is not None and np.array_equal(again.labels, cmap.labels)


def test_extraction_cache_on_a_full_disk_refuses_cleanly_keeps_earlier_answers_and_saves_once_freed(small_disk):
    from core.equal.extract.cache import CachedExtraction, ExtractionCache

    disk = small_disk(1024)
    cache = ExtractionCache(disk / "extractions.sqlite")
    cache.put("k0", CachedExtraction((("q", "a"),), 10, 5, 0.01))
    filler = fill(disk)
    big = CachedExtraction(tuple((f"q{i}", "x" * 2000) for i in range(100)))
    with pytest.raises(DiskFullError, match="the extraction cache could not save an extraction: the disk is full"):
        cache.put("k1", big)
    assert cache.get("k0") == CachedExtraction((("q", "a"),), 10, 5, 0.01) and "k1" not in cache
    filler.unlink()
    other = ExtractionCache(disk / "extractions.sqlite")  # another process: no lock was left held
    other.put("k2", CachedExtraction((("q2", "a2"),)))
    cache.put("k1", big)
    assert cache.get("k1") == big and len(ExtractionCache(disk / "extractions.sqlite")) == 3


# ---------------------------------------------------------------------- what the browser is shown
def test_a_full_disk_reaches_the_page_as_its_message_not_as_a_bug():
    from core.errors import describe_failure, describe_unhandled

    full = DiskFullError("the map cache could not save the map of 600 documents", "maps")
    assert describe_unhandled(full, "Corpus map") == str(full)  # the app's last resort: no "Something went wrong"
    assert describe_failure(full, "Could not build the corpus map") == (
        None, f"Could not build the corpus map: {full}")
    assert "Something went wrong (error id" in describe_unhandled(KeyError("x"), "Corpus map")  # a bug still is one


@pytest.mark.slow
def test_bandit_page_pauses_on_a_full_disk_shows_what_was_not_saved_and_resumes(small_disk, home_on, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")
    disk = home_on(small_disk(16 * 1024))
    st.cache_resource.clear()  # the page's run store is cached per process: open it in this home
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "pages" / "bandit.py"), default_timeout=240)
        at.session_state["bd_budget"] = 1.0
        at.run()
        next(b for b in at.button if b.key == "bd_step").click().run()
        loop = at.session_state["bd_loop"]
        assert not at.exception and loop.state == "paused"
        filler = fill(disk)
        shown: list[str] = []
        for _ in range(20):  # Start takes the lease, each run's tick plays a pull or two: one of them meets the disk
            next(b for b in at.button if b.key == "bd_start").click().run()
            shown = [m.value for m in [*at.warning, *at.error]]
            if any("the disk is full" in m for m in shown):
                break
        assert not at.exception, [e.value for e in at.exception]
        assert loop.state == "paused", loop.state
        assert any("the run store could not save" in m and "the disk is full" in m for m in shown), shown
        assert all(str(disk) not in m for m in shown)
        filler.unlink()
        next(b for b in at.button if b.key == "bd_start").click().run()
        assert not at.exception and loop.problem == "" and not at.warning and not at.error
        assert loop.run.docs_done > 0
        stored = RunStore(disk / "runs" / "runs.sqlite").load_run(loop.run.run_id)
        assert len(stored.pulls) == len(loop.run.pulls_frame())  # the kept pull and the new ones are all stored
    finally:
        st.cache_resource.clear()


def test_builtin_corpus_cache_on_a_full_disk_keeps_the_earlier_file_and_writes_once_freed(small_disk):
    from core.corpus.builtin import _read_cached, write_builtin_cache

    disk = small_disk(2048)
    path = disk / "builtin" / "builtin.parquet"
    earlier, _ = topic_corpus(50, seed=7)
    write_builtin_cache(earlier, path)
    corpus, _ = topic_corpus(20_000, seed=8)  # about 850 KiB as Parquet
    filler = fill(disk, leave_kib=400)
    with pytest.raises(DiskFullError, match="the built-in corpus cache could not save its 20,000 documents: the disk"):
        write_builtin_cache(corpus, path)
    back = _read_cached(path)
    assert back is not None and back.texts == earlier.texts  # the earlier cache is whole
    assert _left_behind(disk) == []
    filler.unlink()
    write_builtin_cache(corpus, path)
    assert _read_cached(path).texts == corpus.texts


def test_warmup_save_on_a_full_disk_names_the_model_and_saves_once_freed(small_disk):
    from core.equal.warmup import WarmupConfig, WarmupResult, save_warmup

    class Model:  # stands in for the trained SentenceTransformer: its save writes ~300 KiB of weights
        def save(self, folder: str) -> None:
            Path(folder, "model.safetensors").write_bytes(b"w" * 300_000)

    disk = small_disk(1024)
    out = disk / "warmup-abc"
    filler = fill(disk, leave_kib=100)
    result = WarmupResult(model_path=str(out), n_train_pairs=3, seconds=0.0, loss_history=[1.0])
    with pytest.raises(DiskFullError) as err:
        save_warmup(Model(), result, out, "base", "rules", WarmupConfig(), 0.0, lambda *a: None)
    assert "the warm-up could not save its model to warmup-abc: the disk is full" in str(err.value)
    assert str(disk) not in str(err.value) and not (out / "warmup.json").exists()  # not marked as saved
    filler.unlink()
    save_warmup(Model(), result, out, "base", "rules", WarmupConfig(), 0.0, lambda *a: None)
    assert json.loads((out / "warmup.json").read_text())["n_train_pairs"] == 3
    assert (out / "model.safetensors").stat().st_size == 300_000


def test_extract_all_sink_on_a_full_disk_names_the_batch_keeps_earlier_batches_and_commits_once_freed(small_disk):
    from core.engine.sink import BatchOutcome, PairSink

    def batch(first: int, answer: str) -> BatchOutcome:
        ids = [f"d{i}" for i in range(first, first + 10)]
        pairs = [QAPair(f"q{d}", answer, d, "rules") for d in ids]
        return BatchOutcome(ids, ExtractionResult(pairs=pairs, calls=10, cost=0.1), job="j")

    disk = small_disk(1024)
    sink = PairSink(disk / "pairs.sqlite")
    assert sink.commit(batch(0, "a"))
    filler = fill(disk)
    with pytest.raises(DiskFullError, match="extract all could not save a batch of 10 documents: the disk is full"):
        sink.commit(batch(10, "x" * 20_000))
    totals = sink.totals()
    assert (totals.docs_done, totals.pairs, totals.batches) == (10, 10, 1)  # the refused batch left nothing
    assert sink.done_ids() == {f"d{i}" for i in range(10)}  # its documents are not done: a rerun sends them
    filler.unlink()
    assert sink.commit(batch(10, "x" * 20_000))
    totals = PairSink(disk / "pairs.sqlite").totals()
    assert (totals.docs_done, totals.pairs, totals.batches) == (20, 20, 2) and totals.cost == pytest.approx(0.2)


def test_disk_full_errors_survive_pickling_with_their_message():
    import pickle

    for err in (DiskFullError("the map cache could not save the map of 6 documents", "maps"),
                RunStoreFull("the run store could not save round 7, pull 0", "runs.sqlite")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.errno == err.errno
