"""Streamed CTAR generation (core/ctar/stream.py): partitioned, resumable, equal to the in-memory sample."""

from __future__ import annotations

import errno
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.ctar.__main__ import main
from core.ctar.sampler import Intervention, SamplePlan, sample
from core.ctar.stats import summarize
from core.ctar.stream import (
    StreamError,
    generate_stream,
    load_stream,
    read_parts,
    run_blocks_here,
    write_block,
    written_blocks,
)
from core.disk import DiskFullError
from tests.ctar.conftest import small_config

CONFIG = small_config(n_users=230, chunk_pairs=15_000)  # 50 users a block: 5 blocks, the last one short


def _digest(folder: Path) -> dict[str, str]:
    """sha256 of every part file, by path relative to the output (the bytes, not just the values)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("part-*.parquet"))}


@pytest.fixture(scope="module")
def streamed(tmp_path_factory, synthetic_inputs):
    out = tmp_path_factory.mktemp("stream") / "out"
    report = generate_stream(CONFIG, out, synthetic_inputs)
    return out, report


def test_streamed_output_equals_the_in_memory_sample(streamed, synthetic_inputs):
    out, report = streamed
    assert report.n_blocks == 5 and report.written == [0, 1, 2, 3, 4] and report.rows["truth/pairs"] == 230 * 300
    s = sample(CONFIG, synthetic_inputs)
    got, want = load_stream(out), s.tables()
    for name in ("rating", "obstag", "rcttag", "movie"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))
    assert got.tests.keys() == want.tests.keys()
    for name, df in want.tests.items():
        pd.testing.assert_frame_equal(got.tests[name], df)
    pd.testing.assert_frame_equal(summarize(got), summarize(want))
    pairs = read_parts(out, "truth/pairs")
    assert np.array_equal(pairs["rating"].to_numpy().reshape(230, 300), s.rating_full)
    assert np.array_equal(pairs["observed"].to_numpy().reshape(230, 300), s.observed)
    assert np.array_equal(pairs["p_obstag"].to_numpy().reshape(230, 300), s.propensity_obstag)
    liked = read_parts(out, "truth/liked")
    assert np.array_equal(np.argwhere(s.liked), liked[["userid", "tagid"]].to_numpy())
    pd.testing.assert_frame_equal(read_parts(out, "truth/forgotten"), s.forgotten)


def test_a_streamed_do_quality_writes_the_quality_used(synthetic_inputs, tmp_path):
    do_q = Intervention(quality=4.0)
    generate_stream(small_config(n_users=40), tmp_path / "out", synthetic_inputs, intervention=do_q)
    movies = pd.read_parquet(tmp_path / "out" / "truth" / "movies.parquet")
    assert (movies["quality"] == 4.0).all() and movies["quality_natural"].nunique() > 1


def test_blocks_do_not_depend_on_order_or_on_who_writes_them(streamed, synthetic_inputs, tmp_path):
    out, _ = streamed

    def backwards(plan: SamplePlan, blocks, folder, progress):
        return run_blocks_here(plan, list(reversed(blocks)), folder, progress)

    generate_stream(CONFIG, tmp_path / "b", synthetic_inputs, runner=backwards)
    assert _digest(tmp_path / "b") == _digest(out)


def test_a_crashed_run_resumes_and_writes_only_the_missing_blocks(streamed, synthetic_inputs, tmp_path):
    out, _ = streamed
    copy = tmp_path / "c"
    shutil.copytree(out, copy)
    (copy / "done.json").unlink()
    (copy / "blocks/part-00001.json").unlink()  # block 1 crashed after some parts: a torn state
    (copy / "truth/pairs/part-00001.parquet").unlink()
    (copy / "blocks/part-00003.json").unlink()
    (copy / "train/rating/part-00003.parquet").write_bytes(b"half a file")
    shutil.rmtree(copy / "test")
    report = generate_stream(CONFIG, copy, synthetic_inputs)
    assert report.written == [1, 3] and report.skipped == [0, 2, 4]
    assert _digest(copy) == _digest(out)
    again = generate_stream(CONFIG, copy, synthetic_inputs)
    assert again.written == [] and again.rows == {}


def test_a_folder_holding_another_configuration_is_refused(streamed, synthetic_inputs, tmp_path):
    out, _ = streamed
    with pytest.raises(StreamError, match=r"another CTAR configuration.*config\.seed \(there 3, here 4\)"):
        generate_stream(CONFIG.replace(seed=4), out, synthetic_inputs)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(StreamError, match="not an empty folder"):
        generate_stream(CONFIG, tmp_path / "busy", synthetic_inputs)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_a_full_disk_leaves_whole_blocks_names_the_missing_ones_and_a_rerun_finishes(
    streamed, synthetic_inputs, tmp_path, monkeypatch
):
    out, _ = streamed
    real_write = pq.write_table
    calls = {"n": 0}

    def filling(table, where, **kw):
        calls["n"] += 1
        if calls["n"] > 3 + 2 * 7:  # the 3 catalogue files and two whole blocks, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", filling)
    with pytest.raises(DiskFullError, match=r"blocks missing: 2-4 of 0-4"):
        generate_stream(CONFIG, tmp_path / "d", synthetic_inputs)
    assert written_blocks(tmp_path / "d") == {0, 1}
    assert not list((tmp_path / "d").rglob("*.tmp*"))
    monkeypatch.setattr(pq, "write_table", real_write)
    with pytest.raises(StreamError, match=r"not finished \(2 of 5 blocks"):
        load_stream(tmp_path / "d")
    assert generate_stream(CONFIG, tmp_path / "d", synthetic_inputs).written == [2, 3, 4]
    assert _digest(tmp_path / "d") == _digest(out)


def test_a_size_beyond_the_free_disk_is_refused_with_the_largest_that_fits(synthetic_inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 300_000, 300_000))
    with pytest.raises(StreamError, match=r"n_users=230 needs .* the largest n_users that fits is about 166"):
        generate_stream(CONFIG, tmp_path / "e", synthetic_inputs)
    assert not (tmp_path / "e").exists()


def test_write_block_is_idempotent(streamed, synthetic_inputs, tmp_path):
    from core.ctar.sampler import plan_sample

    out, _ = streamed
    before = _digest(out)
    write_block(plan_sample(CONFIG, synthetic_inputs), 2, out)
    assert _digest(out) == before


def test_cli_streams_resumes_and_reads_a_partitioned_output(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["generate", "--out", str(out), "--format", "partitioned", "--n-users", "120", "--n-movies", "200",
            "--set", "chunk_pairs=12000", "--set", "rct_users=10", "--set", "test_identifiable_n=50",
            "--set", "test_identifiable_pos=10", "--set", "test_inidentifiable_n=50",
            "--set", "test_inidentifiable_pos=10", "--quiet"]
    assert main(args) == 0
    assert "2 blocks (2 written now, 0 already there), 24,000 pairs" in capsys.readouterr().out
    assert main(args) == 0
    assert "(0 written now, 2 already there)" in capsys.readouterr().out
    assert main(["stats", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ratings" in printed and "Test II rows" in printed
    assert main([*args[:-1], "--seed", "5", "--quiet"]) == 2
    assert "holds another CTAR configuration" in capsys.readouterr().err
    assert main(["generate", "--out", str(tmp_path / "x"), "--engine", "ray", "--quiet"]) == 2
    assert "--engine ray needs --format partitioned" in capsys.readouterr().err
