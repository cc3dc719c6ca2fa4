"""Corpora larger than memory: streaming ingestion and a map index that scales to millions.

:func:`iter_document_chunks` reads JSONL, CSV/TSV, Parquet or a folder of text files in chunks
(never the whole file), splitting long documents into ``<id>#i`` pieces as
``core.corpus.load`` does, and hands the file's own columns to a
:class:`~core.corpus.columns.ColumnCollector` (``columns.parquet`` in the index).
:func:`index_large_corpus` builds a map index from such a stream,
with every step bounded in memory:

1. embed chunk by chunk with the fast tier, appending to ``embeddings.bin`` (float16 rows,
   memory-mapped afterwards; documents and ids go to ``docs.parquet`` as they come);
   with ``align_docs`` set (the default), a seeded uniform sample of that many documents is kept
   as the stream passes (reservoir sampling), embedded with MiniLM once the stream ends, and a
   ridge map fitted from the static vectors into MiniLM's space (:mod:`core.corpus.align`) is
   applied to every row, chunk by chunk, before anything else reads them;
2. k-means (faiss) trained on a sample of ``256 * k`` rows, then every row assigned in chunks;
3. a 2-D layout: UMAP on a uniform sample (``layout_sample`` rows, ``layout_epochs`` epochs), every
   other row placed at the similarity-weighted mean of its 5 nearest sample points (faiss IVF over
   a 32-d PCA of the sample);
4. c-TF-IDF keywords from up to ``keyword_docs`` documents per cluster;
5. a faiss IVF index with 8-bit scalar quantisation for semantic search over all rows, its
   inverted lists the k-means clusters of step 2 (nothing is assigned twice).

Everything is written to a temporary folder renamed into place at the end, so an interrupted
index leaves nothing half-written; :class:`LargeMap` reads it back (arrays memory-mapped).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.access import PathNotAllowedError, check_path, is_under_roots
from core.corpus.chunking import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_WORDS,
    TokenCounter,
    chunk_document,
    content_id,
)
from core.corpus.columns import ColumnCollector
from core.corpus.load import TEXT_EXTENSIONS
from core.corpus.progress import ProgressCallback, ProgressTracker
from core.corpus.readers import (
    ID_FIELD_NAMES,
    TEXT_FIELD_NAMES,
    CorpusFormatError,
    UniqueIds,
    decode_line,
    decode_utf8,
    detect_text_field,
    displayable_name,
    is_hidden,
    pick_column,
    record_columns,
    special_kind,
)
from core.disk import DiskFullError, drop_frames, is_disk_full, temp_path, write_atomic
from core.text import TEXT_SAMPLE_BYTES, not_text

_FORMAT = 5  # 2: search lists are the k-means clusters; 3: the ridge map into MiniLM's space; 4: chunks as loads;
# 5: the file's own columns (columns.parquet)


#: what a stream's reader yields per record: ``(id or None, text, location, the record's fields or None)``
_Read = tuple[str | None, str, str, Any]


class StreamFormatError(CorpusFormatError):
    """A streamed corpus that cannot be read: the message names the file and what is wrong."""


#: records a stream reads before it chooses the text field by the longest mean length (no field named or found
#: by name); a file of at most this many records gets the field :func:`core.corpus.load.load_corpus` picks
DETECT_RECORDS = 1_000


@dataclass
class StreamReport:
    """Counts of what streaming read, skipped and kept with a problem (first 100 issues kept with their location)."""

    read: int = 0
    documents: int = 0
    skipped: int = 0
    issues: list[tuple[str, str]] = field(default_factory=list)
    #: a folder's files read through a link, by their path inside the folder (as the file system names them)
    links: list[str] = field(default_factory=list)
    #: a folder's files skipped as links that lead outside the allowed folders (a page's read)
    outside: int = 0
    #: the file's own columns kept (:mod:`core.corpus.columns`), in ``columns.parquet``
    columns: list[str] = field(default_factory=list)

    def skip(self, where: str, why: str) -> None:
        """A record not read (counted in ``skipped``)."""
        self.skipped += 1
        self._note(where, why)

    def add(self, kind: str, location: str, detail: str) -> None:
        """A record kept with a problem (:class:`core.corpus.readers.IssueSink`: bad bytes replaced)."""
        self._note(location, f"{kind}: {detail}")

    def _note(self, where: str, why: str) -> None:
        if len(self.issues) < 100:
            self.issues.append((where, why))


def _pick_field(columns: list[str], wanted: str | None, names: tuple[str, ...], where: str) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise StreamFormatError(f"{where}: no field {wanted!r}; fields are {sorted(columns)}")
        return wanted
    return pick_column(columns, names)


def _detect_text_field(head: list[tuple[str, Any]], columns: list[str], name: str) -> str:
    """:func:`core.corpus.readers.detect_text_field` on the first records, its refusal a :class:`StreamFormatError`."""
    try:
        return detect_text_field(head, columns, name)
    except CorpusFormatError as exc:
        raise StreamFormatError(str(exc)) from None


def _text_files(path: Path, hidden: list[Path] | None = None) -> list[Path]:
    """The files a stream of the folder ``path`` reads: every text file under it, links followed, sorted; as
    :func:`core.corpus.load.load_corpus` does, a dot-named file or folder or ``__MACOSX`` is not read
    (:func:`core.corpus.readers.is_hidden`; appended to ``hidden`` if given)."""
    files = []
    for p in sorted(p for p in path.rglob("*") if p.suffix.lower() in TEXT_EXTENSIONS and p.is_file()):
        if not is_hidden(p.relative_to(path).as_posix()):
            files.append(p)
        elif hidden is not None:
            hidden.append(p)
    return files


def source_stamp(path: Path) -> str:
    """:func:`_source_stamp` as one string: a key that changes when ``path``'s indexed content may have changed."""
    return json.dumps(_source_stamp(Path(path)), sort_keys=True)


def _source_stamp(path: Path) -> dict[str, Any]:
    """What says whether ``path`` changed since it was indexed: a file's size and mtime; a folder's a digest of the
    relative path, size and mtime of every file a stream of it reads (:func:`_text_files`; ``stat`` only, nothing
    opened). A folder's own size and mtime do not change when a file inside it is edited, and change when a file
    it does not read is added, so they are not used."""
    if not path.is_dir():
        info = path.stat()
        return {"size": info.st_size, "mtime": info.st_mtime}
    digest = hashlib.sha256()
    for f in _text_files(path):
        f_info = f.stat()
        line = f"{f.relative_to(path).as_posix()}\0{f_info.st_size}\0{f_info.st_mtime_ns}\n"
        digest.update(line.encode("utf-8", "surrogateescape"))
    return {"files": digest.hexdigest()}


def _folder_records(path: Path, report: StreamReport,
                    roots: tuple[Path, ...] | None) -> Iterator[_Read]:
    """Every text file under ``path`` (sorted), its relative path as id; bad bytes are replaced and reported
    (:func:`core.corpus.readers.decode_utf8`); a file whose links lead outside ``roots`` is skipped (a page's read;
    :func:`core.access.check_path`), and so is one that cannot be read (removed since the folder was listed)."""
    hidden: list[Path] = []
    files = _text_files(path, hidden)
    for f in hidden:
        report.add("hidden_file", displayable_name(f.relative_to(path).as_posix(), report),
                   "dot-named or __MACOSX; not read")
    if not files:
        raise StreamFormatError(f"{path}: no {', '.join(TEXT_EXTENSIONS)} files in this folder"
                                + (f" ({len(hidden)} dot-named or __MACOSX ones, not read)" if hidden else ""))
    for f in files:
        report.read += 1
        rel = displayable_name(str(f.relative_to(path)), report)  # a name that is not UTF-8: U+FFFD, reported
        if roots is not None and not is_under_roots(f, roots):
            report.outside += 1
            report.skip(rel, "a link that leads outside the allowed folders; not read")
            continue
        try:
            data = f.read_bytes()
        except OSError as err:  # removed (or made unreadable) since the folder was listed: the rest still indexes
            report.skip(rel, f"cannot be read ({err.strerror}); not indexed")
            continue
        if (why := not_text(data)) is not None:  # a binary given a text name: skipped, as load does
            report.skip(rel, f"{why}; not indexed")
            continue
        if f.is_symlink():  # what a page re-checks before it opens the index (:func:`outside_links`)
            report.links.append(f.relative_to(path).as_posix())
        yield rel, decode_utf8(data, rel, report), rel, None  # located by its path in the folder, as every note is


def _jsonl_values(path: Path, report: StreamReport) -> Iterator[tuple[str, Any]]:
    """``(location, JSON value)`` per non-blank line; a leading byte order mark dropped, bad bytes replaced and
    reported, a line that is not JSON skipped."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a leading BOM (Windows editors), dropped as load does
                raw = raw[3:]
            if not raw.strip():
                continue
            report.read += 1
            where = f"{path.name}:{lineno}"
            try:
                yield where, json.loads(decode_line(raw, where, report))
            except ValueError as exc:  # not JSON, or an integer of more than 4300 digits
                report.skip(where, f"malformed JSON ({exc})")
            except RecursionError:
                report.skip(where, "malformed JSON (nested too deeply to read)")


def _csv_values(path: Path, report: StreamReport) -> Iterator[tuple[str, Any]]:
    """``(location, record)`` per CSV (TSV) row, read line by line by the loader's own reader
    (:func:`core.corpus.load.csv_records`: its header, quoting and ``malformed_row`` notes); a leading byte order mark
    dropped, bad bytes replaced and reported per line, a row not read at all skipped."""
    from core.corpus.load import csv_records

    def lines() -> Iterator[str]:
        with open(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                yield decode_line(raw, f"{path.name}:{lineno}", report)

    try:
        for where, record in csv_records(lines(), path.name, report, "\t" if path.suffix.lower() == ".tsv" else ","):
            report.read += 1
            if record is None:
                report.skip(where, "unreadable CSV row")
            else:
                yield where, record
    except CorpusFormatError as exc:
        raise StreamFormatError(str(exc)) from None


def _dict_records(values: Iterator[tuple[str, Any]], name: str, text_field: str | None, report: StreamReport,
                  columns: ColumnCollector | None) -> Iterator[_Read]:
    """One record per value: a string, or an object (a JSONL line, a CSV row). The text and id fields are chosen as
    :mod:`core.corpus.readers` does, on the first :data:`DETECT_RECORDS` records; every other field is a column
    (``columns``, if given, is told which are not)."""
    head = list(itertools.islice(values, DETECT_RECORDS))
    fields = record_columns(head)
    text_key = _pick_field(fields, text_field, TEXT_FIELD_NAMES, name) if fields else None
    if fields and text_key is None:
        text_key = _detect_text_field(head, fields, name)
    id_key = pick_column(fields, ID_FIELD_NAMES) if fields else None
    id_key = id_key if id_key != text_key else None
    if columns is not None:
        columns.exclude = {k for k in (text_key, id_key) if k is not None}
    for where, rec in itertools.chain(head, values):
        if isinstance(rec, str):
            yield None, rec, where, None
            continue
        if not isinstance(rec, dict):
            report.skip(where, f"expected an object or a string, got {type(rec).__name__}")
            continue
        text = rec.get(text_key) if text_key is not None else None
        if not isinstance(text, str):
            report.skip(where, f"field {text_key!r} missing or not text")
            continue
        yield (None if id_key is None or rec.get(id_key) is None else str(rec[id_key])), text, where, rec


def _parquet_records(path: Path, text_field: str | None, report: StreamReport, batch: int,
                     columns: ColumnCollector | None = None) -> Iterator[_Read]:
    """One record per row, read ``batch`` rows at a time from the text (and id, if any) columns only; with
    ``columns``, the other columns too (:func:`_parquet_columns`), given to it as the row's dict."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    text_key = _pick_field(names, text_field, TEXT_FIELD_NAMES, path.name)
    if text_key is None:
        head = pf.read_row_group(0).slice(0, DETECT_RECORDS).to_pylist() if pf.num_row_groups else []
        text_key = _detect_text_field([(path.name, row) for row in head], names, path.name)
    id_key = pick_column(names, ID_FIELD_NAMES)
    id_key = id_key if id_key != text_key else None
    fields = [c for c in (text_key, id_key) if c]
    others = [] if columns is None else _parquet_columns(pf, path.name, fields, columns, batch)
    row = 0
    for rb in pf.iter_batches(batch_size=batch, columns=fields + others):
        texts = rb.column(text_key).to_pylist()
        ids = rb.column(id_key).to_pylist() if id_key else [None] * len(texts)
        recs = rb.select(others).to_pylist() if others else [None] * len(texts)
        for i, t, rec in zip(ids, texts, recs):
            row += 1
            report.read += 1
            if not isinstance(t, str):
                report.skip(f"{path.name}: row {row}", f"column {text_key!r} empty or not text")
                continue
            yield (None if i is None else str(i)), t, f"{path.name}: row {row}", rec


def _parquet_columns(pf, name: str, fields: list[str], columns: ColumnCollector, batch: int) -> list[str]:
    """The Parquet columns besides ``fields`` (the text and id) that are read row by row for ``columns``, in the
    file's order. A column of lists, structs, maps or bytes is not converted a row at a time (a column of embeddings
    would cost gigabytes): its first value alone is shown to ``columns``, which leaves it out as a load does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns.exclude = set(fields)
    columns.declare(pf.schema_arrow.names)
    scalar = []
    for key in pf.schema_arrow.names:
        kind = pf.schema_arrow.field(key).type
        if key in fields:
            continue
        if not (pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                or pa.types.is_fixed_size_binary(kind)):
            scalar.append(key)
            continue
        row = 0
        for rb in pf.iter_batches(batch_size=batch, columns=[key]):  # to its first value only
            col = rb.column(0)
            if col.null_count < len(col):
                first = int(pc.indices_nonzero(pc.is_valid(col))[0].as_py())
                columns.see(key, f"{name}: row {row + first + 1}", col[first].as_py())
                break
            row += len(col)
    return scalar


def _records(path: Path, text_field: str | None, report: StreamReport, batch: int,
             roots: tuple[Path, ...] | None = None, columns: ColumnCollector | None = None) -> Iterator[_Read]:
    """``(id or None, text, location, record or None)`` per record of one file or folder, streamed by the reader of
    its format (the record: its fields, for ``columns``)."""
    suffix = path.suffix.lower()
    if path.is_dir():
        yield from _folder_records(path, report, roots)
    elif suffix in (".jsonl", ".ndjson", ".csv", ".tsv") and (why := _not_text_file(path)):
        raise StreamFormatError(f"{path.name}: {why}")  # a binary given a text name: refused, as load does
    elif suffix in (".jsonl", ".ndjson"):
        yield from _dict_records(_jsonl_values(path, report), path.name, text_field, report, columns)
    elif suffix in (".csv", ".tsv"):
        yield from _dict_records(_csv_values(path, report), path.name, text_field, report, columns)
    elif suffix in (".parquet", ".pq"):
        yield from _parquet_records(path, text_field, report, batch, columns)
    else:
        raise StreamFormatError(f"{path}: streaming reads .jsonl/.ndjson, .csv/.tsv, .parquet or a folder of text "
                                f"files, not {suffix or 'this'}")


def _not_text_file(path: Path) -> str | None:
    """Why the file at ``path`` is not text, read from its first bytes (:func:`core.text.not_text`)."""
    with open(path, "rb") as fh:
        return not_text(fh.read(TEXT_SAMPLE_BYTES))


def _check_streamable(path: Path) -> None:
    """Refuse a path that does not exist or is neither a file nor a folder (a FIFO, a device, a socket: never
    opened, as :func:`core.corpus.load.load_corpus` refuses it; a stream of a FIFO waited for a writer forever)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise StreamFormatError(f"{path} does not exist") from None
    special = special_kind(info.st_mode)
    if special is not None:
        raise StreamFormatError(f"{path}: {special}, not a file or folder; refused (it is never opened)")


def iter_document_chunks(path: str | Path, chunk_size: int = 20_000, text_field: str | None = None,
                         max_words: int | None = DEFAULT_MAX_WORDS, report: StreamReport | None = None,
                         roots: tuple[Path, ...] | None = None, *, max_tokens: int | None = DEFAULT_MAX_TOKENS,
                         count_tokens: TokenCounter | None = None,
                         columns: ColumnCollector | None = None) -> Iterator[tuple[list[str], list[str]]]:
    """Yield ``(ids, texts)`` lists of at most ``chunk_size`` documents, reading ``path`` as a stream.

    Empty texts are skipped (counted in ``report``); every text is cut by
    :func:`core.corpus.chunking.chunk_document` as :func:`core.corpus.load.load_corpus` cuts it (stripped; over
    ``max_words`` words or ``max_tokens`` tokens of ``count_tokens``, else of the char rule, it becomes ``<id>#0``,
    ``<id>#1``, ...); missing ids are the content hash of the stripped text. Exact duplicates are
    not removed here (that would need every text's hash in memory); ids stay unique by a ``~n`` suffix, as
    :func:`core.corpus.load.load_corpus` makes them (:class:`core.corpus.readers.UniqueIds`, a ``duplicate_id``
    note in ``report``).
    ``roots`` (a page's read): the path and every file read in a folder, links followed, lie under
    one of them (:mod:`core.access`); ``None`` (the command line) reads any path.
    ``columns``: gets every kept record's other fields with the number of chunks it became
    (:class:`core.corpus.columns.ColumnCollector`), so the file's own columns go with every chunk, as a load keeps them.
    """
    path = Path(path).expanduser() if roots is None else check_path(path, roots)
    _check_streamable(path)
    report = report if report is not None else StreamReport()
    ids: list[str] = []
    texts: list[str] = []
    unique = UniqueIds(report)  # as load_corpus names them: a repeat is renamed id~2 and reported
    for doc_id, text, where, record in _records(path, text_field, report, chunk_size, roots, columns):
        pieces = chunk_document(text, max_words, max_tokens, count_tokens)
        if not pieces:
            report.skip(where, "empty text")
            continue
        if columns is not None:
            columns.add(where, record, len(pieces))
        base = unique(doc_id if doc_id is not None else content_id(text.strip()), where)
        for j, piece in enumerate(pieces):
            ids.append(base if len(pieces) == 1 else unique(f"{base}#{j}", where))
            texts.append(piece)
        report.documents += 1
        if len(ids) >= chunk_size:
            yield ids, texts
            ids, texts = [], []
    if ids:
        yield ids, texts


@dataclass(frozen=True)
class LargeIndexConfig:
    """Settings of a large map index (all of them are part of its cache key, with the input)."""

    encoder_name: str = "static-minilm"
    k: int | None = None
    seed: int = 42
    chunk_size: int = 20_000
    layout_sample: int = 10_000
    layout_epochs: int = 200
    keyword_docs: int = 300
    float16: bool = True
    max_words: int | None = DEFAULT_MAX_WORDS
    max_tokens: int | None = DEFAULT_MAX_TOKENS  # the encoder's own, when it has a tokenizer (chunking_options)
    text_field: str | None = None
    align_docs: int = 1024  # documents MiniLM embeds to fit the ridge map (0: the static space as it is)
    align_encoder: str = "all-MiniLM-L6-v2 (packaged)"

    def __post_init__(self) -> None:
        if self.k is not None and int(self.k) < 2:
            raise ValueError(f"k must be >= 2, got {self.k}")
        if int(self.seed) < 0:  # numpy's generators refuse it, but only once the corpus is embedded
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if int(self.chunk_size) < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if int(self.layout_sample) < 100:
            raise ValueError(f"layout_sample must be >= 100, got {self.layout_sample}")
        if int(self.align_docs) != 0 and int(self.align_docs) < 40:
            raise ValueError(f"align_docs must be 0 (no alignment) or >= 40, got {self.align_docs}")


def large_index_path(path: str | Path, config: LargeIndexConfig) -> Path:
    """Folder of the index of ``path`` (keyed by its absolute path, size, mtime and ``config``; a folder also by
    the relative path, size and mtime of every file it reads, so editing one rebuilds the index)."""
    from core.settings import cache_dir

    p = Path(path).expanduser().resolve()
    payload = json.dumps({"path": str(p), **_source_stamp(p), "format": _FORMAT, **asdict(config)}, sort_keys=True)
    return cache_dir("large-maps") / hashlib.sha256(payload.encode()).hexdigest()[:24]


@dataclass
class LargeMap:
    """A large map index read back from its folder. Shapes: ``embeddings (n, d)`` float16/32
    memory-mapped, ``labels (n,)`` int32, ``xy (n, 2)`` float32, ``centroids (k, d)``;
    ``clusters`` columns ``cluster, size, keywords``; ``ids`` and texts stay in ``docs.parquet``."""

    folder: Path
    meta: dict
    embeddings: NDArray
    labels: NDArray[np.int32]
    xy: NDArray[np.float32]
    centroids: NDArray[np.float32]
    clusters: pd.DataFrame
    _ids: NDArray | None = None
    _index: Any = None  # a faiss index, read on the first search (faiss is imported lazily)
    _columns: pd.DataFrame | None = None

    @property
    def columns(self) -> pd.DataFrame:
        """The corpus file's own columns, one row per row of the index (read once from ``columns.parquet``: numbers
        as ``Int64``/``float64``, booleans ``boolean``, text ``category``); no column for an index built before it
        kept them (``"columns" not in meta``) or of a folder of text files."""
        if self._columns is None:
            path = self.folder / "columns.parquet"
            self._columns = pd.read_parquet(path) if path.exists() else pd.DataFrame(index=pd.RangeIndex(len(self)))
        return self._columns

    @property
    def space_id(self) -> str:
        return str(self.meta["space_id"])

    def __len__(self) -> int:
        return int(self.meta["n"])

    def query_encoder(self, base):
        """What a search query is encoded with: ``base`` (the encoder named ``meta["base_encoder"]``)
        followed by the index's ridge map when it has one, so queries land in the rows' space."""
        from core.corpus.align import AlignedEncoder, Alignment

        path = self.folder / "align.npz"
        return AlignedEncoder(base, Alignment.load(path)) if path.exists() else base

    def encode_query(self, base, query: str) -> NDArray[np.float32] | None:
        """``query`` as a unit vector ``(d,)`` in the rows' space (:meth:`query_encoder`), or ``None`` when ``base``
        knows none of its words (an emoji to the static tier): that zero vector the ridge map would turn into its
        intercept, which lies near every document alike, so any search would "find" 20 of them."""
        raw = np.asarray(base.encode([query]), dtype=np.float32)
        if not np.any(raw):
            return None
        encoder = self.query_encoder(base)
        return raw[0] if encoder is base else encoder.alignment.apply(raw)[0]

    @property
    def ids(self) -> NDArray:
        """Every document id, ``shape (n,)`` (read once from ``docs.parquet``)."""
        if self._ids is None:
            import pyarrow.parquet as pq

            self._ids = pq.read_table(self.folder / "docs.parquet", columns=["doc_id"]).column("doc_id").to_numpy()
        return self._ids

    def texts(self, rows) -> list[str]:
        """Texts of ``rows`` (row numbers), read from ``docs.parquet`` without loading the rest."""
        import pyarrow.parquet as pq

        rows = np.asarray(rows, dtype=np.int64)
        pf = pq.ParquetFile(self.folder / "docs.parquet")
        out: dict[int, str] = {}
        start = 0
        wanted = np.sort(rows)
        for g in range(pf.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            inside = wanted[(wanted >= start) & (wanted < start + n)]
            if len(inside):
                col = pf.read_row_group(g, columns=["text"]).column("text")
                for r in inside:
                    out[int(r)] = col[int(r - start)].as_py()
            start += n
        return [out[int(r)] for r in rows]

    def search(self, query_vector: NDArray[np.float32], top_n: int = 20, nprobe: int = 16) -> pd.DataFrame:
        """Nearest documents to a unit query vector ``(d,)`` via the IVF index: ``doc_id, score, cluster, row``."""
        import faiss

        if self._index is None:
            self._index = faiss.read_index(str(self.folder / "search.faiss"), faiss.IO_FLAG_MMAP)
        self._index.nprobe = int(nprobe)
        q = np.ascontiguousarray(np.asarray(query_vector, dtype=np.float32).reshape(1, -1))
        scores, idx = self._index.search(q, int(top_n))
        keep = idx[0] >= 0
        rows = idx[0][keep]
        return pd.DataFrame({"doc_id": self.ids[rows], "score": scores[0][keep].astype(float),
                             "cluster": self.labels[rows].astype(np.int64), "row": rows.astype(np.int64)})


def _source_key(path: Path) -> Path:
    from core.settings import cache_dir

    p = Path(path).expanduser().resolve()
    return cache_dir("large-maps") / "by-source" / f"{hashlib.sha256(str(p).encode()).hexdigest()[:24]}.json"


def find_large_index(path: str | Path) -> Path | None:
    """The newest finished index of ``path`` (any settings) whose input is unchanged since, else ``None``."""
    p = Path(path).expanduser().resolve()
    try:
        pointer = json.loads(_source_key(p).read_text())
        stamp = _source_stamp(p)
    except (OSError, ValueError):
        return None
    folder = Path(pointer["folder"])
    if any(pointer.get(k) != v for k, v in stamp.items()) or not (folder / "done").exists():
        return None
    return folder


def outside_links(lmap: LargeMap, source: str | Path, roots: tuple[Path, ...]) -> list[str]:
    """The files of the folder ``source`` that ``lmap`` was built from through a link that leads outside ``roots``
    today (paths inside the folder; ``[]`` for a file's index). Only the links the index recorded are resolved, no
    file is opened; an index written before it recorded them has its folder walked once (``stat`` only, as
    :func:`source_stamp` walks it).

    The command line is exempt from the roots (:mod:`core.access`): an index it built of ``allowed/corp``, where
    ``corp/theirs.txt -> /elsewhere/secret.txt``, holds that text, which a page must not show."""
    source = Path(source)
    if not source.is_dir():
        return []  # a file: the page's gate resolved it, links followed
    if "links" in lmap.meta:
        names = json.loads((lmap.folder / "links.json").read_text()) if lmap.meta["links"] else []
    else:
        names = [f.relative_to(source).as_posix() for f in _text_files(source) if f.is_symlink()]
    return [name for name in names if not is_under_roots(source / name, roots)]


class IndexOutsideRootsError(PathNotAllowedError):
    """An index built (by the command line) from files that lead outside the roots a page may read."""


def check_index_sources(lmap: LargeMap, source: str | Path, roots: tuple[Path, ...]) -> None:
    """Raise :class:`IndexOutsideRootsError`, naming the index and its files that lead outside ``roots``
    (:func:`outside_links`), if it has any."""
    bad = outside_links(lmap, source, roots)
    if not bad:
        return
    shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3:,} more" if len(bad) > 3 else "")
    one = len(bad) == 1
    raise IndexOutsideRootsError(
        f"the index of {Path(source).name} holds the text of {len(bad):,} file{'' if one else 's'} that "
        f"{'is a link' if one else 'are links'} leading outside the allowed folders ({shown}), read by the command "
        "line; a page does not open it. Index it again from the page (those files are skipped), or start the app with "
        "EQUALCTAR_ROOTS naming the folders they lead to")


def open_large_index(source: str | Path, roots: Sequence[str | Path] | None) -> LargeMap | None:
    """The newest finished index of ``source`` (:func:`find_large_index`) read back, else ``None``; with ``roots``
    (a page's open; folders, resolved), refused with :class:`IndexOutsideRootsError` if it was built from files that
    lead outside them (:func:`check_index_sources`)."""
    folder = find_large_index(source)
    if folder is None:
        return None
    lmap = load_large_map(folder)
    if roots is not None:
        check_index_sources(lmap, source, tuple(Path(root) for root in roots))
    return lmap


def _reusable(final: Path, source: Path, roots: tuple[Path, ...] | None) -> bool:
    """Whether the finished index ``final`` of ``source`` serves this build: a page's (``roots``) only if none of
    its files leads outside them; the command line's only if no file was skipped for leading outside (a page built
    it), so that each gets what it would have built."""
    lmap = load_large_map(final)
    if roots is None:
        return not lmap.meta.get("outside")
    return not outside_links(lmap, source, roots)


def load_large_map(folder: str | Path) -> LargeMap:
    folder = Path(folder)
    if not (folder / "done").exists():
        raise FileNotFoundError(f"{folder} holds no finished large map index")
    meta = json.loads((folder / "meta.json").read_text())
    dtype = np.float16 if meta["float16"] else np.float32
    emb = np.memmap(folder / "embeddings.bin", dtype=dtype, mode="r", shape=(int(meta["n"]), int(meta["dim"])))
    return LargeMap(folder, meta, emb, np.load(folder / "labels.npy", mmap_mode="r"), np.load(folder / "xy.npy"),
                    np.load(folder / "centroids.npy"), pd.read_json(folder / "clusters.json", orient="records"))


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _unit_rows(x: NDArray) -> NDArray:
    """``x`` with each row scaled to unit length (in place for float32 input)."""
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def _remember_source(path: Path, final: Path) -> None:
    """Point ``path`` (by :func:`_source_stamp`) at its index folder, so the page finds it whatever the settings."""
    pointer = _source_key(path)
    pointer.parent.mkdir(exist_ok=True)
    data = json.dumps({"folder": str(final), **_source_stamp(path)})
    write_atomic(pointer, lambda tmp: tmp.write_text(data), f"the large index of {path.name} could not be recorded",
                 "large-maps")


class _Reservoir:
    """A seeded uniform sample of ``size`` texts of a stream seen chunk by chunk (Algorithm R, one draw per text)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seen = int(size), 0
        self.texts: list[str] = []
        self.rng = np.random.default_rng(seed)

    def add(self, texts: list[str]) -> None:
        take = max(0, min(len(texts), self.size - len(self.texts)))
        self.texts.extend(texts[:take])
        self.seen += take
        rest = texts[take:]
        if rest:
            slots = self.rng.integers(0, self.seen + np.arange(1, len(rest) + 1))  # text i replaces slot j < size
            for i in np.flatnonzero(slots < self.size):
                self.texts[int(slots[i])] = rest[int(i)]
            self.seen += len(rest)


def chunking_of(config: LargeIndexConfig) -> dict[str, Any]:
    """``max_tokens``/``count_tokens`` for :func:`iter_document_chunks`: as the Corpus map loads a corpus for the same
    encoder (:func:`core.corpus.encoders.chunking_options`: its tokenizer and window where it has one, else the char
    rule at ``config.max_tokens``), so a file gives both pages the same chunks."""
    from core.corpus.encoders import chunking_options

    if config.max_words is None or config.max_tokens is None:
        return {"max_tokens": config.max_tokens}
    return {"max_tokens": config.max_tokens, **chunking_options(config.encoder_name)}


def _embed_stream(path: Path, tmp: Path, config: LargeIndexConfig, encoder, report,
                  out_name: str = "embeddings.bin", sample: _Reservoir | None = None,
                  roots: tuple[Path, ...] | None = None) -> tuple[int, StreamReport]:
    """Step 1: embed ``path`` chunk by chunk into ``tmp/<out_name>``, texts into ``tmp/docs.parquet``
    (and into ``sample``, if given), the file's own columns into ``tmp/columns.parquet`` (one row per chunk; names
    in ``report.columns``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # the bytes the stream will read (a folder's other files, images or a .git, are not): the total's estimate
    size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in _text_files(path))
    tracker = ProgressTracker("embed", report)
    stream_report = StreamReport()
    dtype = np.float16 if config.float16 else np.float32
    writer, n, read_bytes = None, 0, 0
    columns = ColumnCollector()
    with open(tmp / out_name, "wb") as fh:
        for ids, texts in iter_document_chunks(path, config.chunk_size, config.text_field, config.max_words,
                                               stream_report, roots, **chunking_of(config), columns=columns):
            fh.write(np.asarray(encoder.encode(texts), dtype=np.float32).astype(dtype).tobytes())
            if sample is not None:
                sample.add(texts)
            table = pa.table({"doc_id": ids, "text": texts})
            if writer is None:
                writer = pq.ParquetWriter(tmp / "docs.parquet", table.schema)
            writer.write_table(table, row_group_size=len(ids))
            n += len(ids)
            read_bytes += sum(len(x) for x in texts)
            tracker.update(n, max(n, int(n * size / max(read_bytes, 1))))  # total estimated from the bytes read
    if writer is not None:
        writer.close()
    if n == 0:
        raise _no_document(path, stream_report, config.text_field)
    frame = columns.frame(displayable_name(path.name, StreamReport()), stream_report)
    if len(frame.columns):
        frame.to_parquet(tmp / "columns.parquet", index=False)
    stream_report.columns = [str(c) for c in frame.columns]
    tracker.update(n, n)
    return n, stream_report


def _no_document(path: Path, report: StreamReport, text_field: str | None) -> StreamFormatError:
    """Why no document remained, by the first note (a file in UTF-16 is a line of bad bytes, then not JSON), and what
    to do: a file without records needs some; a text field that held no text, another one named."""
    if report.read == 0:
        return StreamFormatError(f"{path}: it holds no records; choose a file with documents in it")
    first = "; the first note, {}: {}".format(*report.issues[0]) if report.issues else ""
    todo = ("" if path.is_dir() else "; if another column holds the text, index it with `python -m core.corpus "
            f"index --corpus {path} --text-field <column>`" + (f" (the text field was '{text_field}')"
                                                               if text_field else ""))
    return StreamFormatError(f"{path}: no document with text ({report.skipped} records skipped{first}){todo}")


def _wants_alignment(config: LargeIndexConfig, encoder) -> bool:
    from core.corpus.encoders import space_id

    return int(config.align_docs) > 0 and getattr(encoder, "space_id", encoder.name) != space_id(config.align_encoder)


def _fit_and_apply_alignment(tmp: Path, n: int, config: LargeIndexConfig, encoder, sample: _Reservoir,
                             report) -> tuple[Any, dict]:
    """Step 1b: MiniLM embeds the sample, a ridge map is fitted (:func:`core.corpus.align.fit_alignment`) and
    applied to every row of ``static.bin`` into ``embeddings.bin``, chunk by chunk; ``align.npz`` keeps the map.

    Returns the encoder a query needs (the static tier followed by the map) and the map's report.
    If the reference cannot be loaded or the sample is too small, the static rows are kept as they
    are and the report says why (``{"error": ...}``): the index is still complete.
    """
    from core.corpus.align import AlignedEncoder, fit_alignment
    from core.corpus.encoders import load_encoder

    dtype = np.float16 if config.float16 else np.float32
    t = time.perf_counter()
    try:
        if len(sample.texts) < 40:
            raise ValueError(f"the corpus has {len(sample.texts)} documents; a ridge map needs at least 40")
        reference = load_encoder(config.align_encoder)
        tracker = ProgressTracker("align", report)
        t_ref = time.perf_counter()
        y = reference.encode(sample.texts, progress=tracker)
        ref_rate = len(sample.texts) / max(time.perf_counter() - t_ref, 1e-9)
        alignment, fitted = fit_alignment(encoder.encode(sample.texts), y, getattr(encoder, "space_id", encoder.name),
                                          getattr(reference, "space_id", reference.name), seed=config.seed)
    except (RuntimeError, ValueError, OSError, ImportError) as exc:
        os.replace(tmp / "static.bin", tmp / "embeddings.bin")
        return encoder, {"error": str(exc)}
    static = np.memmap(tmp / "static.bin", dtype=dtype, mode="r", shape=(n, int(encoder.dim)))
    with open(tmp / "embeddings.bin", "wb") as fh:
        for sl in _chunks(n, 100_000):
            fh.write(alignment.apply(static[sl]).astype(dtype).tobytes())
    del static
    (tmp / "static.bin").unlink()
    alignment.save(tmp / "align.npz")
    fitted.update(reference=reference.name, reference_docs_per_s=ref_rate, seconds=time.perf_counter() - t)
    return AlignedEncoder(encoder, alignment), fitted


def _asked_k(config: LargeIndexConfig, n: int) -> int:
    """The k-means ``k`` of an index of ``n`` rows: ``config.k``, else ``sqrt(n / 2)`` within 2..200; at most ``n``."""
    return min(int(config.k or min(200, max(2, round(np.sqrt(n / 2))))), n)


def _cluster_stream(emb: NDArray, config: LargeIndexConfig, rng: np.random.Generator,
                    report) -> tuple[NDArray, NDArray]:
    """Step 2: faiss k-means on a sample of at most ``256 k`` rows, then every row assigned in chunks.

    Returns ``(centroids, shape (k', dim) float32; labels, shape (n,) int32)``: a cluster no row is nearest to (a
    corpus of repeats) is dropped and the others renumbered, so ``k' <= k``.
    """
    import faiss

    from core.corpus.cluster import without_empty_clusters

    n, dim = emb.shape
    k = _asked_k(config, n)
    tracker = ProgressTracker("cluster", report, unit="rows")
    sample = np.sort(rng.choice(n, size=min(n, 256 * k), replace=False))
    km = faiss.Kmeans(dim, k, niter=20, seed=config.seed, spherical=False, verbose=False,
                      max_points_per_centroid=256, min_points_per_centroid=1)
    km.train(np.ascontiguousarray(emb[sample], dtype=np.float32))
    centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
    cindex = faiss.IndexFlatL2(dim)
    cindex.add(centroids)
    labels = np.empty(n, dtype=np.int32)
    for sl in _chunks(n, 100_000):
        labels[sl] = cindex.search(np.ascontiguousarray(emb[sl], dtype=np.float32), 1)[1][:, 0]
        tracker.update(sl.stop, n)
    kept, centroids, _ = without_empty_clusters(labels, centroids, k)  # repeats can leave a centroid no row
    return centroids, kept.astype(np.int32)


def _place_rest(emb: NDArray, lay: NDArray, lay_x: NDArray, lay_xy: NDArray, xy: NDArray, report) -> None:
    """Place every row outside the UMAP sample ``lay`` at the similarity-weighted mean of its 5 nearest sample points.

    Neighbours are searched in a 32-d PCA of the sample: 8x less work than the full vectors, and a
    layout needs only the nearest few, not exact ranks. Writes into ``xy``.
    """
    import faiss

    rest_rows = np.setdiff1d(np.arange(len(emb)), lay, assume_unique=True)
    if not len(rest_rows):
        return
    tracker = ProgressTracker("place", report, unit="rows")
    dim = lay_x.shape[1]
    pca = faiss.PCAMatrix(dim, min(32, dim))
    pca.train(lay_x)
    lay_p = _unit_rows(pca.apply(lay_x))
    nlist = max(1, int(np.sqrt(len(lay))))
    sindex = faiss.IndexIVFFlat(faiss.IndexFlatIP(lay_p.shape[1]), lay_p.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    sindex.train(lay_p)
    sindex.add(lay_p)
    sindex.nprobe = min(nlist, 4)
    for sl in _chunks(len(rest_rows), 50_000):
        rows = rest_rows[sl]
        sims, nb = sindex.search(_unit_rows(pca.apply(np.ascontiguousarray(emb[rows], dtype=np.float32))), 5)
        nb = np.where(nb < 0, nb[:, :1], nb)
        w = np.maximum(sims, 0.0) ** 4 + 1e-6
        w /= w.sum(axis=1, keepdims=True)
        xy[rows] = (lay_xy[nb] * w[:, :, None]).sum(axis=1)
        tracker.update(sl.stop, len(rest_rows))


def _layout_stream(emb: NDArray, config: LargeIndexConfig, rng: np.random.Generator, report,
                   timings: dict[str, float]) -> NDArray[np.float32]:
    """Step 3: UMAP on a sample of ``layout_sample`` rows, the rest placed by :func:`_place_rest`; shape (n, 2)."""
    from core.corpus.project import umap_project

    n = len(emb)
    t = time.perf_counter()
    ProgressTracker("project", report, unit="rows").update(0, n)
    lay = np.sort(rng.choice(n, size=min(n, int(config.layout_sample)), replace=False))
    lay_x = _unit_rows(np.ascontiguousarray(emb[lay], dtype=np.float32))
    lay_xy = umap_project(lay_x, 15, 0.1, config.seed, n_epochs=int(config.layout_epochs))
    xy = np.empty((n, 2), dtype=np.float32)
    xy[lay] = lay_xy
    timings["umap_sample"] = time.perf_counter() - t  # a part of the layout's time, not a stage of its own
    _place_rest(emb, lay, lay_x, lay_xy, xy, report)
    return xy


def _keywords_stream(tmp: Path, emb: NDArray, labels: NDArray, xy: NDArray, centroids: NDArray,
                     config: LargeIndexConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Step 4: c-TF-IDF keywords from at most ``keyword_docs`` random documents per cluster: ``cluster, size,
    keywords``."""
    from core.corpus.cluster import cluster_keywords

    n, k, per = len(labels), len(centroids), int(config.keyword_docs)
    order = rng.permutation(n)
    picked = order[np.argsort(labels[order], kind="stable")]
    starts = np.searchsorted(labels[picked], np.arange(k))
    ends = np.searchsorted(labels[picked], np.arange(k), side="right")
    kw_rows = np.sort(np.concatenate([picked[s:min(e, s + per)] for s, e in zip(starts, ends, strict=True)]))
    kw_texts = LargeMap(tmp, {}, emb, labels, xy, centroids, pd.DataFrame()).texts(kw_rows)
    words = cluster_keywords(kw_texts, labels[kw_rows].astype(np.int64), top_n=8, k=k)
    return pd.DataFrame({"cluster": np.arange(k, dtype=np.int64),
                         "size": np.bincount(labels, minlength=k).astype(np.int64),
                         "keywords": [", ".join(w) for w in words]})


def _search_index_stream(tmp: Path, emb: NDArray, centroids: NDArray, labels: NDArray, rng: np.random.Generator,
                         report) -> None:
    """Step 5: an IVF index with 8-bit scalar quantisation over every (unit) row, written to ``tmp/search.faiss``.

    Its inverted lists are the k-means clusters of step 2 (the centroids as coarse quantizer, the
    labels as each row's list), so adding a row assigns nothing: at 1M rows, training 1,000 fresh
    lists and assigning every row to them took most of this step (148 s with 4 sqrt(n) lists).
    """
    import faiss

    n, dim = emb.shape
    tracker = ProgressTracker("index", report, unit="rows")
    quantizer = faiss.IndexFlatL2(dim)  # k-means assigned rows by L2; unit rows rank alike under IP
    quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, len(centroids), faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT, False)  # no residuals: raw unit rows
    train = np.sort(rng.choice(n, size=min(n, 20_000), replace=False))
    index.train(_unit_rows(np.ascontiguousarray(emb[train], dtype=np.float32)))
    for sl in _chunks(n, 100_000):
        rows = _unit_rows(np.ascontiguousarray(emb[sl], dtype=np.float32))
        lists = np.ascontiguousarray(labels[sl], dtype=np.int64)
        index.add_core(len(rows), faiss.swig_ptr(rows), None, faiss.swig_ptr(lists))
        tracker.update(sl.stop, n)
    faiss.write_index(index, str(tmp / "search.faiss"))


def _write_outputs(tmp: Path, labels: NDArray, xy: NDArray, centroids: NDArray, clusters: pd.DataFrame,
                   meta: dict) -> None:
    """The index's arrays, drawn sample, cluster table and metadata into ``tmp``; the ``done`` marker last."""
    _write_lod(tmp, labels, xy)
    for name, arr in (("labels", labels), ("xy", xy), ("centroids", centroids)):
        np.save(tmp / f"{name}.npy", arr)
    clusters.to_json(tmp / "clusters.json", orient="records")
    (tmp / "meta.json").write_text(json.dumps(meta))
    (tmp / "done").write_text("ok")


def _build_index(path: Path, tmp: Path, config: LargeIndexConfig, encoder, report,
                 roots: tuple[Path, ...] | None = None) -> None:
    """Steps 1-5 into ``tmp``, each timed, then the arrays, the cluster table and ``meta.json`` (with the timings
    and what streaming skipped); returns with the embeddings' memory map closed, so ``tmp`` can be renamed."""
    from core.corpus.cluster import k_lowered_note
    from core.corpus.encoders import space_id

    timings: dict[str, float] = {}
    t = time.perf_counter()
    base, alignment = encoder, None
    if _wants_alignment(config, encoder):
        sample = _Reservoir(config.align_docs, config.seed)
        n, stream_report = _embed_stream(path, tmp, config, encoder, report, "static.bin", sample, roots)
        timings["embed"], t = time.perf_counter() - t, time.perf_counter()
        encoder, alignment = _fit_and_apply_alignment(tmp, n, config, encoder, sample, report)
        timings["align"], t = time.perf_counter() - t, time.perf_counter()
    else:
        n, stream_report = _embed_stream(path, tmp, config, encoder, report, roots=roots)
        timings["embed"], t = time.perf_counter() - t, time.perf_counter()
    dim = int(encoder.dim)
    emb = np.memmap(tmp / "embeddings.bin", dtype=np.float16 if config.float16 else np.float32, mode="r",
                    shape=(n, dim))
    rng = np.random.default_rng(config.seed)
    centroids, labels = _cluster_stream(emb, config, rng, report)
    timings["cluster"], t = time.perf_counter() - t, time.perf_counter()
    xy = _layout_stream(emb, config, rng, report, timings)
    timings["layout"], t = time.perf_counter() - t, time.perf_counter()
    clusters = _keywords_stream(tmp, emb, labels, xy, centroids, config, rng)
    timings["keywords"], t = time.perf_counter() - t, time.perf_counter()
    _search_index_stream(tmp, emb, centroids, labels, rng, report)
    timings["search_index"] = time.perf_counter() - t
    meta = {"n": n, "dim": dim, "k": len(centroids), "k_note": k_lowered_note(_asked_k(config, n), len(centroids)),
            "float16": bool(config.float16), "encoder": encoder.name,
            "base_encoder": base.name, "alignment": alignment,
            "space_id": getattr(encoder, "space_id", space_id(encoder.name)), "source": str(path),
            "config": asdict(config), "timings": timings, "read": stream_report.read,
            "documents": stream_report.documents, "skipped": stream_report.skipped,
            "issues": stream_report.issues[:20], "links": len(stream_report.links), "outside": stream_report.outside,
            "columns": stream_report.columns}
    if stream_report.links:  # the files a page re-checks before it opens the index, and only those
        (tmp / "links.json").write_text(json.dumps(stream_report.links))
    _write_outputs(tmp, labels, xy, centroids, clusters, meta)
    del emb


def index_large_corpus(path: str | Path, config: LargeIndexConfig = LargeIndexConfig(), encoder=None,
                       report: ProgressCallback | None = None, use_cache: bool = True,
                       roots: tuple[Path, ...] | None = None) -> LargeMap:
    """Stream ``path`` through embed -> k-means -> layout -> keywords -> search index (see the module docstring).

    Every step writes into one temporary folder that is renamed into place at the end, so an
    interrupted run leaves nothing half-written. ``report`` receives :class:`Progress` snapshots
    per stage (``embed`` counts documents read against an estimate from the bytes read so far,
    the others count rows). Raises :class:`StreamFormatError` for unreadable input,
    :class:`~core.disk.DiskFullError` (naming the input file, no server folder) when the disk fills at
    any step, and ``OSError`` (the input named) for another failed write; the temporary folder is removed
    either way, an earlier index is untouched, and a rerun once space is freed builds it whole.
    ``roots``: as in :func:`iter_document_chunks` (a page's read).
    """
    import faiss

    from core.corpus.encoders import load_encoder

    path = Path(path).expanduser() if roots is None else check_path(path, roots)  # before any stat
    _check_streamable(path)
    final = large_index_path(path, config)
    if use_cache and (final / "done").exists() and _reusable(final, path, roots):
        try:
            _remember_source(path, final)
        except DiskFullError:
            pass  # the index is whole; the page finds it by its settings meanwhile, and the next open records it
        return load_large_map(final)
    from core.corpus.project import preload_umap

    preload_umap()  # its import overlaps the embedding
    encoder = encoder or load_encoder(config.encoder_name)
    tmp = temp_path(final)  # this build's own: a concurrent build of the same index (another session) has another
    tmp.mkdir(parents=True)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(os.environ.get("EQUALCTAR_FAISS_THREADS", "1")))  # OpenMP spin-waits on busy cores
    try:
        _build_index(path, tmp, config, encoder, report, roots)
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        _remember_source(path, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, Exception) and is_disk_full(exc):  # numpy, pyarrow and faiss each say it their own way
            drop_frames(exc)  # they hold the memory map of the deleted embeddings: free its space now
            raise DiskFullError(f"the large index of {path.name} could not be written", "large-maps") from exc
        if isinstance(exc, OSError):
            raise OSError(f"indexing {path} failed: {exc} (nothing kept; rerun)") from exc
        raise
    finally:
        faiss.omp_set_num_threads(threads)
    return load_large_map(final)


def region_ids(lmap: LargeMap, x: tuple[float, float], y: tuple[float, float]) -> NDArray:
    """Ids of every document whose layout point lies in the box ``x`` by ``y`` (all ``n`` rows)."""
    xy = lmap.xy
    inside = (xy[:, 0] >= min(x)) & (xy[:, 0] <= max(x)) & (xy[:, 1] >= min(y)) & (xy[:, 1] <= max(y))
    return lmap.ids[np.flatnonzero(inside)]


LOD_POINTS = 20_000  # what the Large corpus page draws


def _lod_rows(n: int, max_points: int, seed: int = 0) -> NDArray[np.int64]:
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size=int(max_points), replace=False)).astype(np.int64)


def lod_sample(lmap: LargeMap, max_points: int = 100_000, seed: int = 0) -> NDArray[np.int64]:
    """Rows to draw at full zoom: at most ``max_points``, every cluster kept in proportion
    (a seeded uniform sample). Selections are still resolved on every row (:func:`region_ids`)."""
    return _lod_rows(len(lmap), max_points, seed)


def _write_lod(tmp: Path, labels: NDArray, xy: NDArray) -> None:
    """Step 6: the drawn sample (:data:`LOD_POINTS` rows) with ids and texts in ``lod.parquet``, so opening
    the map reads 20,000 rows instead of scanning every row group of ``docs.parquet`` for them."""
    unused = np.empty((0, 0), dtype=np.float32)  # ids and texts come from docs.parquet; no vectors are read
    part = LargeMap(tmp, {}, unused, labels, xy, unused, pd.DataFrame())
    rows = _lod_rows(len(labels), LOD_POINTS)
    pd.DataFrame({"row": rows, "doc_id": part.ids[rows], "text": part.texts(rows),
                  "cluster": labels[rows].astype(np.int64), "x": xy[rows, 0], "y": xy[rows, 1]}).to_parquet(
        tmp / "lod.parquet", index=False)


def lod_frame(lmap: LargeMap, max_points: int = LOD_POINTS) -> pd.DataFrame:
    """The drawn sample as a documents frame (``doc_id, text, source, cluster, x, y``; :func:`lod_sample` rows).

    Read from ``lod.parquet`` (written by the index) when it holds these rows, else gathered from
    ``docs.parquet`` (a scan of every row group: seconds at a million rows).
    """
    rows = lod_sample(lmap, max_points)
    path = lmap.folder / "lod.parquet"
    if path.exists():
        lod = pd.read_parquet(path)
        if np.array_equal(lod["row"].to_numpy(), rows):
            return lod.assign(source="")[["doc_id", "text", "source", "cluster", "x", "y"]]
    xy = np.asarray(lmap.xy)
    return pd.DataFrame({"doc_id": lmap.ids[rows], "text": lmap.texts(rows), "source": "",
                         "cluster": np.asarray(lmap.labels)[rows].astype(np.int64), "x": xy[rows, 0], "y": xy[rows, 1]})


def write_recombined_corpus(texts, n: int, path: str | Path, seed: int = 0, per_doc: tuple[int, int] = (2, 4)) -> Path:
    """Write a JSONL corpus of ``n`` documents made of real sentences from ``texts``, recombined.

    Each document joins ``per_doc[0]..per_doc[1]`` sentences drawn (seeded) from the pool of
    every sentence in ``texts``, mostly from one source text and its neighbours, so the corpus
    keeps topical structure (a random mix of sentences would have none). For scale tests and
    benchmarks; written in chunks, then renamed into place.
    """
    import re

    sentences: list[str] = []
    starts: list[int] = []
    for t in texts:
        starts.append(len(sentences))
        sentences.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+|\n{2,}", t) if len(s.split()) >= 3)
    if not sentences:
        raise ValueError("no sentences of 3 or more words in the given texts")
    starts_arr = np.asarray(starts)
    pool = np.asarray(sentences, dtype=object)
    rng = np.random.default_rng(seed)
    path = Path(path)
    tmp = temp_path(path)  # this call's own: two sessions may write the sample corpus at once
    with open(tmp, "w", encoding="utf-8") as fh:
        for start in range(0, int(n), 50_000):
            m = min(50_000, int(n) - start)
            counts = rng.integers(per_doc[0], per_doc[1] + 1, m)
            anchor = starts_arr[rng.integers(0, len(starts_arr), m)]
            lines = []
            for i in range(m):
                offs = anchor[i] + rng.integers(0, 12, counts[i])  # sentences of this text and the next few
                doc = " ".join(pool[np.minimum(offs, len(pool) - 1)])
                lines.append(json.dumps({"id": f"d{start + i}", "text": doc}))
            fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


SAMPLE_DOCS = 100_000


def sample_corpus(n: int | None = None, seed: int = 0) -> Path:
    """A large corpus to try the Large corpus page on without one of your own: the built-in documents'
    sentences recombined into ``n`` documents (:func:`write_recombined_corpus`), written once into the cache
    (``cache_dir("samples")``, under the allowed folders) and reused; ``n`` defaults to :data:`SAMPLE_DOCS`."""
    from core.corpus.builtin import load_builtin_corpus
    from core.settings import cache_dir

    n = SAMPLE_DOCS if n is None else n
    path = cache_dir("samples") / f"builtin-recombined-{n}-{seed}.jsonl"
    if not path.exists():
        write_recombined_corpus(load_builtin_corpus().texts, n, path, seed=seed)
    return path
