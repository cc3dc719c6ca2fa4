"""Streamed CTAR generation: partitioned Parquet, one partition per block of users, in bounded memory.

``generate_stream(config, out)`` writes what :func:`core.ctar.export.export_sample` writes, but
block by block, so the size is bounded by the disk, not by memory. A block is a chunk of the
in-memory sampler (``config.users_per_chunk`` users, :meth:`~core.ctar.sampler.SamplePlan.sample_chunk`):
a pure function of the configuration, the seed and the block index, so any block can be
regenerated alone, blocks can run in any order on any number of workers, and the joined
output equals :func:`core.ctar.sampler.sample`'s bit for bit.

Layout of ``out``::

    manifest.json                      the configuration, its fingerprint, the blocks (written first)
    train/movie.parquet                movieid, taglist (once)
    train/{rating,obstag,rcttag}/part-00000.parquet ...      CTAR's files, one part per block
    truth/{pairs,liked,forgotten,obstag_pairs}/part-00000.parquet ...
                                       every pair's r(1), N, propensities, O^Y, O^T; L_u; forgotten tags
    truth/{movies,tags}.parquet        the catalogue's truth (once)
    blocks/part-00000.json             a block's row counts: written last, after its parts
    test/*.parquet, valid/*.parquet    CTAR's test sets, built from the joined parts once all blocks exist
    done.json                          the run finished

Every file is written to a temporary name and renamed (:func:`core.disk.write_atomic`), so a
crash or a full disk leaves whole files only; a block counts as written when its
``blocks/part-*.json`` exists. Rerunning with the same configuration skips the written blocks
and finishes the rest; a folder that holds another configuration is refused, naming the
settings that differ. Peak memory is one block's working arrays per worker (about 64 bytes a
pair of ``config.chunk_pairs``) plus, at the end, the observed tables and ``L_u`` as a dense
``(U, V)`` mask for the test sets.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.access import check_path
from core.ctar.config import CTARConfig, CTARConfigError
from core.ctar.inputs import Catalogue, CatalogueInputs
from core.ctar.sampler import ChunkResult, Intervention, SamplePlan, plan_sample
from core.ctar.tables import TEST_NAMES, VALID_NAMES, CTARTables
from core.disk import DiskFullError, naming_disk_full, write_atomic

LAYOUT_VERSION = 1
MANIFEST, DONE = "manifest.json", "done.json"
BLOCK_TABLES = ("train/rating", "train/obstag", "train/rcttag", "truth/pairs", "truth/liked", "truth/forgotten",
                "truth/obstag_pairs")
BYTES_PER_PAIR_ON_DISK = 6.0  # measured ~4.5 (zstd, synthetic catalogue at M = 1000) plus headroom
_COMPRESSION = "zstd"

Progress = Callable[[int, int], object]  # (blocks done, blocks in all); the return value is ignored


class StreamError(CTARConfigError):
    """The output folder cannot take this run (another configuration, missing blocks); the message says why."""


def part_name(block: int) -> str:
    """``part-00042.parquet``'s stem for block 42."""
    return f"part-{block:05d}"


def fingerprint(plan: SamplePlan) -> dict[str, Any]:
    """What the output depends on: the configuration, the intervention, the mechanisms and the catalogue's hash."""
    cat = plan.catalogue
    digest = hashlib.sha256()
    for array in (cat.pi, cat.movie_tags, cat.base_rating, cat.popularity):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {
        "layout": LAYOUT_VERSION,
        "config": plan.config.to_dict(),
        "intervention": plan.intervention.describe(),
        "exposure": getattr(plan.exposure, "name", type(plan.exposure).__name__),
        "obstag": getattr(plan.obstag, "name", type(plan.obstag).__name__),
        "outcome": getattr(plan.outcome, "name", type(plan.outcome).__name__),
        "catalogue": f"{cat.source} sha256:{digest.hexdigest()[:16]}",
    }


def _differences(have: dict[str, Any], want: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(have) | set(want)):
        a, b = have.get(key), want.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{d}" for d in _differences(a, b)]
        elif a != b:
            out.append(f"{key} (there {a!r}, here {b!r})")
    return out


def pairs_table(res: ChunkResult, start: int) -> pa.Table:
    """Every pair of a block (userid, movieid int32; rating, n_match int8; p_rating, p_obstag float32;
    observed, tagged bool), row-major: the columns of :func:`core.ctar.export.pairs_frame`."""
    n, m = res.ctx.rating.shape
    return pa.table({
        "userid": np.repeat(np.arange(start, start + n, dtype=np.int32), m),
        "movieid": np.tile(np.arange(m, dtype=np.int32), n),
        "rating": res.ctx.rating.ravel(),
        "n_match": np.asarray(res.ctx.n_match, dtype=np.int8).ravel(),
        "p_rating": res.p_rating.astype(np.float32).ravel(),
        "p_obstag": res.p_obstag.astype(np.float32).ravel(),
        "observed": res.observed.ravel(),
        "tagged": res.tagged.ravel(),
    })


def block_tables(res: ChunkResult, start: int) -> dict[str, pa.Table]:
    """A block's rows, by table (:data:`BLOCK_TABLES`)."""
    lu, lt = np.nonzero(res.ctx.extras["liked"])
    frames = {
        "train/rating": res.rating_rows(start),
        "train/obstag": res.obstag_rows,
        "train/rcttag": res.rct_rows,
        "truth/liked": pd.DataFrame({"userid": lu.astype(np.int64) + start, "tagid": lt.astype(np.int64)}),
        "truth/forgotten": res.forgotten,
        "truth/obstag_pairs": res.obstag_pairs,
    }
    tables = {name: pa.Table.from_pandas(df, preserve_index=False) for name, df in frames.items()}
    tables["truth/pairs"] = pairs_table(res, start)
    return tables


def _write_table(table: pa.Table, path: Path, out: Path) -> None:
    what = f"the CTAR stream could not write {path.relative_to(out)}"
    with naming_disk_full(what, out):
        path.parent.mkdir(parents=True, exist_ok=True)
    dictionary = [c for c in table.column_names if c != "p_obstag"]  # per-user propensities: nearly all distinct
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression=_COMPRESSION, use_dictionary=dictionary),
                 what, out)


def _write_json(path: Path, data: dict[str, Any], out: Path) -> None:
    text = json.dumps(data, indent=1)
    with naming_disk_full(f"the CTAR stream could not write {path.relative_to(out)}", out):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                 f"the CTAR stream could not write {path.relative_to(out)}", out)


def write_block(plan: SamplePlan, block: int, out: str | Path) -> dict[str, int]:
    """Sample block ``block`` and write its parts, then its marker; returns the rows written per table.

    Idempotent: the parts are the same bytes every time (a pure function of the plan and the
    index), each replaces its file atomically, and the marker comes last.
    """
    out = Path(out)
    start, _ = plan.chunk_bounds()[block]
    res = plan.sample_chunk(block)
    tables = block_tables(res, start)
    del res
    rows = {}
    for name, table in tables.items():
        _write_table(table, out / name / f"{part_name(block)}.parquet", out)
        rows[name] = table.num_rows
    _write_json(out / "blocks" / f"{part_name(block)}.json", {"block": block, "rows": rows}, out)
    return rows


def written_blocks(out: str | Path) -> set[int]:
    """Indices of the blocks whose marker exists (their parts are complete)."""
    folder = Path(out) / "blocks"
    if not folder.is_dir():
        return set()
    return {int(p.stem.removeprefix("part-")) for p in folder.glob("part-*.json")}


def _spans(blocks: Iterable[int]) -> str:
    """``0-3, 7, 9-10`` for {0, 1, 2, 3, 7, 9, 10}."""
    ordered, spans = sorted(blocks), []  # type: list[int], list[list[int]]
    for b in ordered:
        if spans and b == spans[-1][1] + 1:
            spans[-1][1] = b
        else:
            spans.append([b, b])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


@dataclass
class StreamReport:
    """What a streamed run did: blocks written now and before, rows, seconds, where."""

    out: Path
    n_blocks: int
    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    engine: str = "local"

    def describe(self) -> str:
        pairs = self.rows.get("truth/pairs", 0)
        return (f"{self.n_blocks} blocks ({len(self.written)} written now, {len(self.skipped)} already there), "
                f"{pairs:,} pairs written now in {self.seconds:.1f} s with the {self.engine} engine, into {self.out}")


BlockRunner = Callable[[SamplePlan, Sequence[int], Path, Progress], dict[int, dict[str, int]]]


def run_blocks_here(
    plan: SamplePlan, blocks: Sequence[int], out: Path, progress: Progress
) -> dict[int, dict[str, int]]:
    """The local engine: the blocks one after the other in this process."""
    done: dict[int, dict[str, int]] = {}
    for block in blocks:
        done[block] = write_block(plan, block, out)
        progress(len(done), len(blocks))
    return done


def check_disk(plan: SamplePlan, out: Path, missing: int) -> None:
    """Refuse a run whose remaining blocks would not fit on ``out``'s disk, naming the largest ``n_users`` that does."""
    probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    free = shutil.disk_usage(probe).free
    per_user = BYTES_PER_PAIR_ON_DISK * plan.catalogue.n_movies
    users = min(plan.config.n_users, missing * plan.config.users_per_chunk)
    if users * per_user > free:
        fits = int(free // per_user)
        raise StreamError(
            f"n_users={plan.config.n_users:,} needs about {users * per_user / 1e9:.1f} GB on {probe} "
            f"({BYTES_PER_PAIR_ON_DISK:g} bytes a pair) but {free / 1e9:.1f} GB are free: the largest n_users "
            f"that fits is about {fits:,}"
        )


def open_output(plan: SamplePlan, out: str | Path) -> Path:
    """Create ``out`` with the plan's manifest, or check that an existing one holds this configuration."""
    out = Path(out)
    want = fingerprint(plan)
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            have = json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint", {})
        except (OSError, ValueError, AttributeError) as exc:
            raise StreamError(f"--out {out}: {MANIFEST} cannot be read ({exc}); choose another folder") from exc
        diff = _differences(have, want)
        if diff:
            raise StreamError(
                f"--out {out} holds another CTAR configuration ({'; '.join(diff[:6])}); "
                "choose another folder, or remove this one to start over"
            )
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StreamError(f"--out {out} exists and is not an empty folder of a streamed CTAR run; choose another")
    check_disk(plan, out, len(plan.chunk_bounds()))  # before anything is written
    with naming_disk_full("the CTAR stream could not create its folder", out):
        out.mkdir(parents=True, exist_ok=True)
    cat = plan.catalogue
    once = {
        "train/movie": pd.DataFrame({"movieid": np.arange(cat.n_movies, dtype=np.int64),
                                     "taglist": [",".join(str(int(t)) for t in row) for row in cat.movie_tags]}),
        "truth/movies": pd.DataFrame({"movieid": np.arange(cat.n_movies, dtype=np.int64),
                                      "source_movieid": cat.movie_source_ids, "title": cat.movie_titles.astype(str),
                                      "popularity": cat.popularity, "base_rating": cat.base_rating,
                                      "quality": plan.intervention.calc_quality(plan.quality),
                                      "quality_natural": plan.quality, "n_real_tags": cat.n_real_tags}),
        "truth/tags": pd.DataFrame({"tagid": np.arange(cat.n_tags, dtype=np.int64), "source_tagid": cat.tag_source_ids,
                                    "name": cat.tag_names.astype(str), "pi": cat.pi}),
    }
    for name, df in once.items():
        _write_table(pa.Table.from_pandas(df, preserve_index=False), out / f"{name}.parquet", out)
    n_blocks = len(plan.chunk_bounds())
    _write_json(manifest, {"fingerprint": want, "n_blocks": n_blocks, "users_per_block": plan.config.users_per_chunk,
                           "n_users": plan.config.n_users, "n_movies": cat.n_movies}, out)
    return out


def read_parts(out: str | Path, table: str, columns: Sequence[str] | None = None,
               roots: tuple[Path, ...] | None = None) -> pd.DataFrame:
    """One table's parts joined in block order (``truth/pairs`` is every pair: mind its size).

    ``roots`` (a page's read): each part, its links followed, must lie under one of them.
    """
    folder = Path(out) / table
    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        raise StreamError(f"{folder}: no parts written")
    frames = [pq.read_table(_checked(p, roots), columns=list(columns) if columns else None).to_pandas()
              for p in parts]
    return pd.concat(frames, ignore_index=True)


def _liked_mask(out: Path, n_users: int, n_tags: int) -> np.ndarray:
    liked = np.zeros((n_users, n_tags), dtype=bool)
    for part in sorted((out / "truth/liked").glob("part-*.parquet")):
        t = pq.read_table(part)
        liked[t["userid"].to_numpy(), t["tagid"].to_numpy()] = True
    return liked


def finish_output(plan: SamplePlan, out: Path) -> list[str]:
    """Build CTAR's test sets from the joined parts (the in-memory path's tables, in the same order) and mark done."""
    rating, obstag, rcttag = (read_parts(out, f"train/{n}") for n in ("rating", "obstag", "rcttag"))
    forgotten = read_parts(out, "truth/forgotten")
    liked = _liked_mask(out, plan.config.n_users, plan.catalogue.n_tags)
    tests, notes = plan.build_test_sets(liked, rating, obstag, rcttag, forgotten)
    del liked
    for name in TEST_NAMES:
        _write_table(pa.Table.from_pandas(tests[name], preserve_index=False), out / "test" / f"{name}.parquet", out)
    for name in VALID_NAMES:
        _write_table(pa.Table.from_pandas(tests[name], preserve_index=False), out / "valid" / f"{name}.parquet", out)
    _write_json(out / DONE, {"notes": notes}, out)
    return notes


def generate_stream(
    config: CTARConfig,
    out: str | Path,
    inputs: CatalogueInputs | Catalogue | None = None,
    *,
    intervention: Intervention | None = None,
    runner: BlockRunner | None = None,
    engine: str = "local",
    progress: Progress | None = None,
) -> StreamReport:
    """Write a CTAR dataset to ``out`` block by block (see the module docstring); resume a run of the same config.

    Parameters
    ----------
    runner : how the missing blocks are written (default :func:`run_blocks_here`; the Ray engine
        passes :func:`core.engine.ray_engine.run_ctar_blocks_ray`); ``engine`` names it in the report.

    Raises
    ------
    StreamError : ``out`` holds another configuration, or the disk cannot hold the rest.
    DiskFullError : the disk filled mid-write; the message names the blocks that are missing
        (those written are whole, and a rerun finishes the rest).
    """
    t0 = time.perf_counter()
    plan = plan_sample(config, inputs, intervention=intervention)
    out = open_output(plan, out)
    n_blocks = len(plan.chunk_bounds())
    before = written_blocks(out)
    missing = [b for b in range(n_blocks) if b not in before]
    report = StreamReport(out, n_blocks, skipped=sorted(before), engine=engine)
    if missing and before:
        check_disk(plan, out, len(missing))
    try:
        done = (runner or run_blocks_here)(plan, missing, out, progress or (lambda done, total: None))
    except DiskFullError as exc:
        left = sorted(set(range(n_blocks)) - written_blocks(out))
        raise DiskFullError(f"{exc}; blocks written are whole, blocks missing: {_spans(left)} of 0-{n_blocks - 1} "
                            "(free space, then rerun the same command to finish)") from exc
    report.written = sorted(done)
    for rows in done.values():
        for name, n in rows.items():
            report.rows[name] = report.rows.get(name, 0) + n
    left = sorted(set(range(n_blocks)) - written_blocks(out))
    if left:
        raise StreamError(f"{out}: blocks missing after the run: {_spans(left)} of 0-{n_blocks - 1} "
                          "(their workers failed); rerun the same command to finish")
    if not (out / DONE).is_file():
        report.notes = finish_output(plan, out)
    report.seconds = time.perf_counter() - t0
    return report


def is_stream_output(folder: str | Path) -> bool:
    """Whether ``folder`` is a streamed run's output (holds its manifest)."""
    return (Path(folder) / MANIFEST).is_file()


def check_not_stream_output(out: str | Path, fmt: str) -> None:
    """Refuse to write a sample in memory (``fmt``: csv, parquet, both) into a streamed run's output: ``stats`` and
    the loaders read the stream's manifest and parts first, so they would go on reporting the old data.

    Raises :class:`StreamError` naming the folder (checked before any sampling).
    """
    for folder in (Path(out), *(Path(out) / sub for sub in ("csv", "parquet") if fmt == "both")):
        if is_stream_output(folder):
            raise StreamError(f"--out {folder} holds a partitioned (streamed) CTAR output, which stats would go on "
                              f"reading; write --format {fmt} to another folder, or remove this one first")


def _checked(path: Path, roots: tuple[Path, ...] | None) -> Path:
    """``path``, checked to lie under ``roots`` with its links followed (``None``: a command's read, unchecked)."""
    return path if roots is None else check_path(path, roots)


def load_stream(folder: str | Path, roots: tuple[Path, ...] | None = None) -> CTARTables:
    """A finished streamed output as :class:`~core.ctar.tables.CTARTables` (the observed tables and the tests).

    Reads the observed parts only (``truth/pairs`` stays on disk), so it fits in memory whenever
    the observed rows do (2% of the pairs at CTAR's rates). ``roots`` (a page's read): the folder and
    every file read, their links followed, must lie under one of them
    (:class:`core.access.PathNotAllowedError` otherwise).
    """
    folder = Path(folder) if roots is None else _checked(Path(folder), roots)
    if not is_stream_output(folder):
        raise StreamError(f"{folder}: no {MANIFEST}; not the output of a streamed CTAR run")
    manifest = json.loads(_checked(folder / MANIFEST, roots).read_text(encoding="utf-8"))
    if not (folder / DONE).is_file():
        have, n_blocks = written_blocks(folder), manifest["n_blocks"]
        raise StreamError(f"{folder}: the run has not finished ({len(have)} of {n_blocks} blocks written); "
                          "rerun `python -m core.ctar generate` with the same settings to finish it")
    tables = {n: read_parts(folder, f"train/{n}", roots=roots) for n in ("rating", "obstag", "rcttag")}
    tests = {}
    for sub, names in (("test", TEST_NAMES), ("valid", VALID_NAMES)):
        for name in names:
            tests[name] = pq.read_table(_checked(folder / sub / f"{name}.parquet", roots)).to_pandas()
    movie = pq.read_table(_checked(folder / "train/movie.parquet", roots)).to_pandas()
    return CTARTables(tables["rating"], tables["obstag"], tables["rcttag"], movie, tests,
                      n_users=int(manifest["n_users"]), n_movies=int(manifest["n_movies"]))
