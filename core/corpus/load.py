"""Corpus ingestion: files in, a clean :class:`Corpus` plus a :class:`LoadReport` out.

Formats (dispatched on the file extension, the same for a path and for uploaded bytes):

* ``.jsonl`` / ``.ndjson``: one JSON object (or JSON string) per line;
* ``.json``: an array of objects or of strings (or an object holding exactly one such array);
* ``.csv`` / ``.tsv``: a header row, then one record per row (quoted multi-line cells allowed);
* ``.parquet`` / ``.pq``: one record per row;
* ``.txt`` / ``.md`` / ``.markdown`` / ``.rst``: the whole file is one document;
* a folder (path only) or a ``.zip`` (upload): every ``.txt``/``.md``/``.markdown``/``.rst``
  file inside, recursively, in sorted relative-path order, one document per file.

Fields (the rules of :mod:`core.corpus.readers`, which the streaming reader shares). The text field is the one
named (``text_field``), else the first column whose name
(case-insensitive) is in :data:`TEXT_FIELD_NAMES`, else the string column with the longest
mean length. The id field is the one named, else the first in :data:`ID_FIELD_NAMES`, else
none: then a document's id is ``sha1(text)[:12]`` (hex), so the same text gets the same id
in every load. Both choices are written to :attr:`LoadReport.text_field`/``id_field``.

Bad input never crashes and never disappears silently: each problem becomes one row of
:attr:`LoadReport.issues` ``(kind, location, detail)`` with ``location`` = ``file:line``
(JSONL, CSV, text) or ``file row N`` (JSON arrays, Parquet; 1-based). Kinds:

======================  =====================================================================
``malformed_json``      a JSONL line that is not JSON, or nested too deeply to read (record dropped)
``not_a_record``        a JSON value that is neither an object nor a string (dropped)
``malformed_row``       a CSV row with too many or too few cells (kept, missing cells empty), or with
                        broken quoting: a stray quote (its first line kept on its own, the next line read
                        as a new row, so one quote never merges the rows after it)
``missing_text``        no value, ``null`` or a non-string in the text field (dropped)
``empty_text``          a text that is empty or only whitespace (dropped)
``non_utf8``            bytes that are not UTF-8, in a text or in a file's name; decoded with U+FFFD (kept)
``duplicate_text``      exact duplicate of an earlier text after stripping (later one dropped)
``missing_id``          the id field is empty on this record; the content hash is used (kept)
``duplicate_id``        an id seen before; made unique with ``~2``, ``~3``, ... (kept)
``chunked``             a document longer than ``max_words`` words, split (kept, as chunks)
``skipped_file``        a file in a folder/zip whose extension is not a text extension (never read), or whose
                        bytes are not text (a binary given a text name; :func:`core.text.not_text`)
``hidden_file``         a dot-named file or folder (or ``__MACOSX``) in a folder/zip (not read)
``too_large``           a file or zip member over :attr:`LoadLimits.max_file_bytes` (not read)
``special_file``        a FIFO, device or socket in a folder (refused without opening it)
``broken_link``         a symbolic link whose target does not exist
``outside_roots``       a link in a folder that leads outside the allowed roots (page loads only)
``column_left_out``     one of the file's other columns not kept: nested values, long text, no name, no value,
                        or beyond the first 32 (location: the file; :mod:`core.corpus.columns`)
``column_renamed``      a column named like one of the map's own (``source``, ``cluster``, ...), kept as
                        ``"<name> (column)"``
``values_cut``          a kept text column's values longer than 80 characters, cut (counted per column)
======================  =====================================================================

Other columns. Every column besides the text and the id that holds single values (numbers, booleans, short
text) is kept in :attr:`Corpus.columns`, one value per document (a record without it: missing; each chunk of a
long document: its record's values); see :mod:`core.corpus.columns`. The kept names are in
:attr:`LoadReport.columns`.

Limits (:class:`LoadLimits`). Sizes are checked before anything is read: a file path or an
upload over ``max_total_bytes`` is refused; in a folder or a zip, a member's extension and
size are checked from the directory entry (``stat``, the zip's central directory), so a 3 GB
binary is skipped without being opened. A zip whose declared expansion exceeds
``max_total_bytes`` in total, or whose member expands more than ``max_zip_ratio`` times
(a zip bomb), is refused before any member is decompressed; members are then read with a
bounded read, so a central directory that lies about sizes cannot blow past the limit. A
path that is a FIFO, a device or a socket is refused with a message (opening a FIFO would
block forever).

Long documents. The packaged encoder reads at most 256 word-piece tokens, about 200 English
words; anything after is ignored by the model. So a document of more than ``max_words``
whitespace-separated words is split into consecutive chunks of at most ``max_words`` words,
keeping the original whitespace inside each chunk; chunk ``k`` (0-based) gets the id
``<id>#<k>`` and the same source as its origin. ``max_words=None`` switches chunking off.
Words are not tokens: a text without spaces (Chinese, Japanese, a minified file) is one
"word" of thousands of word pieces. So every chunk is then measured in tokens, with the
encoder's own tokenizer when one is given (``count_tokens``, see
:func:`core.corpus.encoders.token_counter`; the page passes it, about 1 ms per chunk), else with
:func:`core.corpus.chunking.estimate_tokens` (a char rule that counts every non-ASCII character as one token, as BERT's
word pieces do for CJK), and
cut further, at whitespace where there is some and between characters where there is none,
until no chunk exceeds ``max_tokens`` (default :data:`DEFAULT_MAX_TOKENS`, MiniLM's 256 minus
its two special tokens).

An input from which nothing remains raises :class:`EmptyCorpusError` (saying how many
records were read and why each was dropped); an unreadable input (missing file, unknown
extension, a named field that is absent, a JSON document that does not parse, a binary file given a text
extension: :func:`core.text.not_text`) raises
:class:`CorpusFormatError` naming the file and, where it applies, the available columns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import lzma
import os
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from core.corpus.chunking import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_WORDS,
    TokenCounter,
    chunk_document,
    content_id,
)
from core.corpus.columns import Column, columns_digest, file_columns
from core.corpus.readers import (
    ID_FIELD_NAMES,
    CorpusFormatError,
    IssueSink,
    UniqueIds,
    decode_utf8,
    detect_text_field,
    displayable_name,
    is_hidden,
    pick_column,
    record_columns,
    special_kind,
)
from core.text import counted, not_text

if TYPE_CHECKING:
    import pandas as pd


TEXT_EXTENSIONS: tuple[str, ...] = (".txt", ".md", ".markdown", ".rst")
RECORD_EXTENSIONS: tuple[str, ...] = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq")
SUPPORTED_EXTENSIONS: tuple[str, ...] = RECORD_EXTENSIONS + TEXT_EXTENSIONS + (".zip",)


@dataclass(frozen=True)
class LoadLimits:
    """Size limits checked before reading (bytes; ``max_zip_ratio`` is uncompressed / compressed).

    ``max_total_bytes`` bounds one input file, an upload, a zip's declared expansion and the
    sum of the text files of a folder; ``max_file_bytes`` one member of a folder or zip.
    """

    max_total_bytes: int = 1 << 30
    max_file_bytes: int = 256 << 20
    max_zip_ratio: float = 200.0
    max_files: int = 200_000

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_file_bytes", "max_files"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"LoadLimits.{name} must be a positive integer, got {value!r}")
        if not self.max_zip_ratio >= 1:
            raise ValueError(f"LoadLimits.max_zip_ratio must be >= 1, got {self.max_zip_ratio!r}")


DEFAULT_LIMITS = LoadLimits()


class EmptyCorpusError(ValueError):
    """The input was read, but no usable document remained."""


def content_hash(ids: Sequence[str], texts: Sequence[str]) -> str:
    """The project's one corpus-content hash: sha256 over ``(id, text)`` in order, hex.

    Every cache keyed by a corpus (embeddings, maps, warm-ups) uses it. A run's arm fingerprint
    (:func:`core.equal.space.arms_fingerprint`) is a different thing: it covers the clustering.

    >>> content_hash(["a"], ["x"]) == content_hash(["a"], ["x"]) != content_hash(["a"], ["y"])
    True
    """
    h = hashlib.sha256()
    for i, t in zip(ids, texts):
        h.update(i.encode("utf-8", "replace") + b"\x00" + t.encode("utf-8", "replace") + b"\x01")
    return h.hexdigest()


class CorpusTooLargeError(CorpusFormatError):
    """The input is over a :class:`LoadLimits` limit (refused before reading it)."""


def _size_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Corpus:
    """Documents in a fixed order. ``ids[i]`` names ``texts[i]``; ``sources[i]`` says where it came from
    (file name and line, or module path for the built-in corpus). ``columns``: the file's own other columns
    (:mod:`core.corpus.columns`), one value per document each; none for text files and the built-in corpus."""

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    sources: tuple[str, ...]
    name: str = "corpus"
    columns: tuple[Column, ...] = ()

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.texts) == len(self.sources)):
            raise ValueError("ids, texts and sources must have the same length")
        for col in self.columns:
            if len(col.values) != len(self.texts):
                raise ValueError(f"column '{col.name}' has {len(col.values)} values for {len(self.texts)} documents")

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def content_hash(self) -> str:
        """sha256 over ids and texts, the cache key of everything computed from this corpus (:func:`content_hash`).

        Computed once per corpus (~20 ms for 3,000 documents; a page run asks several times, every session
        shares the cached corpus), kept in the instance: the corpus is frozen, so it cannot go stale."""
        return content_hash(self.ids, self.texts)

    @cached_property
    def frame_hash(self) -> str:
        """The key of what is shown of this corpus (its map's documents, colours, hover texts): the
        :attr:`content_hash` for a corpus without columns, else that hash and the columns' values hashed together.
        Embeddings and the map on disk follow the text alone (:attr:`content_hash`); what is kept in memory with the
        corpus follows this, so a file whose values changed but whose texts did not is coloured by the new values.

        >>> plain = Corpus(("a",), ("x",), ("f:1",))
        >>> year = Corpus(("a",), ("x",), ("f:1",), columns=(Column("year", (2001,), True),))
        >>> plain.frame_hash == plain.content_hash == year.content_hash != year.frame_hash
        True
        """
        digest = columns_digest(self.columns)
        if not digest:
            return self.content_hash
        return hashlib.sha256(f"{self.content_hash}|{digest}".encode()).hexdigest()

    def subset(self, indices: list[int] | tuple[int, ...], name: str | None = None) -> Corpus:
        """The documents at ``indices`` (in that order), as a new corpus (their column values too)."""
        return Corpus(
            ids=tuple(self.ids[i] for i in indices),
            texts=tuple(self.texts[i] for i in indices),
            sources=tuple(self.sources[i] for i in indices),
            name=name or self.name,
            columns=tuple(col.take(indices) for col in self.columns),
        )

    def to_frame(self) -> pd.DataFrame:
        """Columns ``id``, ``text``, ``source``, then the file's own columns, one row per document."""
        import pandas as pd

        return pd.DataFrame({"id": list(self.ids), "text": list(self.texts), "source": list(self.sources),
                             **{col.name: list(col.values) for col in self.columns}})


def kind_in_words(kind: str) -> str:
    """A :class:`LoadReport` issue's kind as a reader says it (the report keeps the short name for scripts).

    >>> kind_in_words("malformed_row"), kind_in_words("non_utf8")
    ('malformed row', 'bytes not UTF-8')
    """
    return {"non_utf8": "bytes not UTF-8"}.get(kind, kind.replace("_", " "))


@dataclass
class LoadReport:
    """What happened to every input record. ``issues`` rows: (kind, location, detail).

    ``n_read`` counts input records (lines, rows, array items, files), ``n_loaded`` the
    documents in the resulting corpus (chunks counted one by one).
    """

    source: str
    n_read: int = 0
    n_loaded: int = 0
    issues: list[tuple[str, str, str]] = field(default_factory=list)
    format: str = ""
    text_field: str | None = None
    id_field: str | None = None
    max_words: int | None = DEFAULT_MAX_WORDS
    columns: list[str] = field(default_factory=list)  # the file's other columns kept (core.corpus.columns)

    def add(self, kind: str, location: str, detail: str) -> None:
        """Record one issue."""
        self.issues.append((kind, location, detail))

    def drop(self, kind: str, locations: set[str]) -> None:
        """Remove the ``kind`` rows at ``locations`` (a later row says more about those records)."""
        if locations:
            self.issues[:] = [row for row in self.issues if row[0] != kind or row[1] not in locations]

    @property
    def counts(self) -> dict[str, int]:
        """Number of issues per kind, in first-seen order."""
        return dict(Counter(kind for kind, _, _ in self.issues))

    def summary(self) -> str:
        """One line: documents loaded, records read, fields used and issue counts."""
        fields = f"text field '{self.text_field}'" if self.text_field else "whole text"
        fields += f", id field '{self.id_field}'" if self.id_field else ", content-hash ids"
        if self.columns:
            names = ", ".join(f"'{c}'" for c in self.columns[:3]) + (", …" if len(self.columns) > 3 else "")
            fields += f", {counted(len(self.columns), 'other column')} ({names})"
        counts = self.counts
        issues = ", ".join(f"{n} {kind_in_words(kind)}" for kind, n in counts.items()) if counts else "no issues"
        return (f"{self.source}: {counted(self.n_loaded, 'document')} from {counted(self.n_read, 'record')} "
                f"({fields}); {issues}")

    def to_frame(self) -> pd.DataFrame:
        """Columns ``kind`` (in words, :func:`kind_in_words`), ``location``, ``detail``, one row per issue."""
        import pandas as pd

        return pd.DataFrame([(kind_in_words(kind), where, detail) for kind, where, detail in self.issues],
                            columns=["kind", "location", "detail"])


_Record = tuple[str, Any]  # (location, value: dict | str | other JSON value)


def _read_jsonl(data: bytes, name: str, report: LoadReport) -> list[_Record]:
    text = decode_utf8(data, name, report)
    bad_bytes = {loc for kind, loc, _ in report.issues if kind == "non_utf8"}
    records: list[_Record] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        loc = f"{name}:{lineno}"
        try:
            records.append((loc, json.loads(line)))
        except (ValueError, RecursionError) as err:  # not JSON; nested too deeply; an int of > 4300 digits
            report.n_read += 1
            report.add("malformed_json", loc, _json_problem(err, loc in bad_bytes))
        else:
            bad_bytes.discard(loc)  # kept, with its bytes replaced: its non_utf8 row stays
    report.drop("non_utf8", bad_bytes)  # dropped as malformed: one row a record
    return records


def _json_problem(err: ValueError | RecursionError, bad_bytes: bool) -> str:
    """One row's detail for a line that is not JSON, or JSON Python refuses to read (nested too deeply, an integer
    of more than 4300 digits), which also held invalid UTF-8, if ``bad_bytes`` (one dropped record is one row, not
    two).

    >>> _json_problem(json.JSONDecodeError("Unterminated string starting at", '{"a": "b', 6), False)
    'not valid JSON (unterminated string starting at column 7)'
    >>> _json_problem(RecursionError("maximum recursion depth exceeded"), False)
    'not readable JSON (nested too deeply)'
    """
    if isinstance(err, json.JSONDecodeError):
        msg = err.msg[:1].lower() + err.msg[1:]
        text = f"not valid JSON ({msg.removesuffix(' at')} at column {err.colno})"
    elif isinstance(err, RecursionError):
        text = "not readable JSON (nested too deeply)"
    else:  # int(): "Exceeds the limit (4300 digits) ...; use sys.set_int_max_str_digits() ..."
        text = f"not readable JSON ({str(err).split('; use ')[0]})"
    return text + "; it also held invalid UTF-8 bytes" if bad_bytes else text


def _read_json(data: bytes, name: str, report: LoadReport) -> list[_Record]:
    text = decode_utf8(data, name, report)
    if not text.strip():
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusFormatError(
            f"{name}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
            "a JSON corpus is an array of objects or strings (use .jsonl for one object per line)"
        ) from None
    except (ValueError, RecursionError) as err:  # nested too deeply; an integer of more than 4300 digits
        raise CorpusFormatError(f"{name}: {_json_problem(err, False)}") from None
    if isinstance(value, dict):
        lists = [k for k, v in value.items() if isinstance(v, list)]
        if len(lists) != 1:
            raise CorpusFormatError(
                f"{name}: expected a JSON array of objects or strings, got an object with keys "
                f"{sorted(value)[:20]} ({len(lists)} of them hold arrays; exactly one is needed)"
            )
        value = value[lists[0]]
    if not isinstance(value, list):
        raise CorpusFormatError(f"{name}: expected a JSON array of objects or strings, got {type(value).__name__}")
    return [(f"{name} row {i}", v) for i, v in enumerate(value, 1)]


def _loose_cells(line: str, delimiter: str, width: int | None) -> list[str]:
    """The cells of one physical line whose quoting is broken: quotes taken literally when that gives the header's
    ``width`` (nothing of the line is lost), else read as the lenient (non-strict) reader does.

    >>> _loose_cells('1,"Hello he said\\n', ",", 2), _loose_cells('1,"a, b" c\\n', ",", 2)
    (['1', '"Hello he said'], ['1', 'a, b c'])
    """
    literal = next(csv.reader([line], delimiter=delimiter, quoting=csv.QUOTE_NONE), [])
    if width is None or len(literal) == width:
        return literal
    return next(csv.reader([line], delimiter=delimiter), [])


def _csv_rows(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """``(line of the record's start, cells, problem)`` per CSV record (the header first), quoting read strictly;
    ``lines`` are the physical lines (``io.StringIO(text, newline="")``, or a file's, read as a stream).

    A record whose quoting is broken (text after a closing quote, a quote never closed) is read from its first
    physical line alone (:func:`_loose_cells`) with the problem said, and reading resumes on the next line: a
    stray quote never merges the rows after it into one cell. ``cells`` is ``None`` for a line not read at all.
    """
    source = iter(lines)
    again: list[str] = []  # the lines a broken record took after its first, read again (the next one last)
    taken: list[str] = []  # the lines the record being read has taken so far

    def feed() -> Iterator[str]:
        while True:
            if again:
                line = again.pop()
            else:
                try:
                    line = next(source)
                except StopIteration:
                    return
            taken.append(line)
            yield line

    done, width = 0, None  # the physical lines before the record being read
    while True:
        reader = csv.reader(feed(), delimiter=delimiter, strict=True)
        try:
            for row in reader:
                width = len(row) if width is None else width
                start, done = done + 1, done + len(taken)
                taken.clear()
                yield start, row, None
            return
        except csv.Error as err:
            if not taken:
                return
            first = taken[0]
            again.extend(reversed(taken[1:]))
            taken.clear()
            done += 1
            try:
                cells: list[str] | None = _loose_cells(first, delimiter, width)
                width = len(cells or []) if width is None else width
                why = f"broken quoting ({err}); this line read on its own and the next one as a new row"
            except csv.Error as again_err:
                cells, why = None, f"unreadable CSV row ({again_err}); dropped"
            yield done, cells, why


def csv_records(lines: Iterable[str], name: str, report: IssueSink,
                delimiter: str) -> Iterator[tuple[str, dict[str, str] | None]]:
    """``(location, record)`` per CSV row of ``lines`` (:func:`_csv_rows`), a record a dict by the header's names
    (missing cells empty); ``None`` for a row not read at all. A problem gets a ``malformed_row`` row in ``report``.
    Shared by :func:`load_corpus` and the stream (:mod:`core.corpus.stream`)."""
    csv.field_size_limit(1 << 30)
    rows = _csv_rows(lines, delimiter)
    first = next(rows, None)
    if first is None:
        return
    lineno, header, why = first
    if header is None:
        raise CorpusFormatError(f"{name}: cannot read the CSV header ({why})")
    if why is not None:
        report.add("malformed_row", f"{name}:{lineno}", f"the header: {why}")
    header = [h.strip() for h in header]
    for lineno, row, why in rows:
        loc = f"{name}:{lineno}"
        if row and len(row) != len(header):
            why = "; ".join(filter(None, (why, f"{len(row)} cells for {len(header)} columns; missing cells read as "
                                                "empty, extra cells ignored")))
        if why is not None:
            report.add("malformed_row", loc, why)
        if row is None:
            yield loc, None
        elif row:
            yield loc, {h: (row[j] if j < len(row) else "") for j, h in enumerate(header)}


def _read_csv(data: bytes, name: str, report: LoadReport, delimiter: str) -> list[_Record]:
    records: list[_Record] = []
    for loc, record in csv_records(io.StringIO(decode_utf8(data, name, report), newline=""), name, report, delimiter):
        if record is None:  # not read at all: one record read, and dropped
            report.n_read += 1
        else:
            records.append((loc, record))
    return records


def _read_parquet(data: bytes, name: str) -> list[_Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as err:  # pyarrow raises several types for a broken file
        raise CorpusFormatError(f"{name}: not a readable Parquet file ({err})") from None
    return [(f"{name} row {i}", row) for i, row in enumerate(table.to_pylist(), 1)]


def _read_text_files(files: list[tuple[str, bytes]], name: str, report: LoadReport) -> list[_Record]:
    """One record ``{"text": ...}`` per text file (the caller has skipped and reported the others); a file whose
    bytes are not text (:func:`core.text.not_text`: a binary given a text name) is skipped and reported."""
    records: list[_Record] = []
    for rel, data in sorted(files):
        why = not_text(data)
        if why is None:
            records.append((rel, {"text": decode_utf8(data, rel, report)}))
        else:
            report.add("skipped_file", rel, f"{why}; not read")
    return records


def _is_text_name(rel: str) -> bool:
    return PurePosixPath(rel).suffix.lower() in TEXT_EXTENSIONS


def _not_readable_text(rel: str, size: int, limits: LoadLimits, size_verb: str = "") -> tuple[str, str, str] | None:
    """The report row ``(kind, rel, why)`` of a file or zip member not read as text (not a text name, or over
    the per-file limit), else ``None``; ``size_verb`` words the size (``"expands to "`` for a zip member)."""
    if not _is_text_name(rel):
        return "skipped_file", rel, f"not a text file ({', '.join(TEXT_EXTENSIONS)}); not read"
    if size > limits.max_file_bytes:
        return "too_large", rel, (f"{size_verb}{_size_text(size)}, over the {_size_text(limits.max_file_bytes)} "
                                  "limit per file; not read")
    return None


def _read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: LoadLimits) -> bytes:
    """A member's bytes, at most one past the per-file limit (a lying central directory cannot exceed it); a member
    that is encrypted or damaged raises :class:`CorpusFormatError` naming the archive and the member."""
    if info.flag_bits & 0x1:
        raise CorpusFormatError(f"{name}: member '{info.filename}' is encrypted (password-protected); "
                                "upload a zip without a password")
    try:
        with zf.open(info) as fh:
            return fh.read(limits.max_file_bytes + 1)
    # damaged data: zlib.error (deflate), OSError (bzip2), lzma.LZMAError, EOFError (cut short), BadZipFile (CRC or
    # header); NotImplementedError: a compression method Python cannot read
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, NotImplementedError,
            RuntimeError) as err:
        raise CorpusFormatError(f"{name}: member '{info.filename}' cannot be decompressed, the zip is damaged or "
                                f"uses an unsupported method ({err})") from None


def _read_zip(data: bytes, name: str, report: LoadReport, limits: LoadLimits) -> list[_Record]:
    """Text members of a zip, each checked from the central directory before it is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > limits.max_files:
                raise CorpusTooLargeError(f"{name}: {len(infos):,} members, more than the limit of "
                                          f"{limits.max_files:,}")
            chosen: list[zipfile.ZipInfo] = []
            for info in infos:
                rel = info.filename
                refused = _not_readable_text(rel, info.file_size, limits, "expands to ")
                if is_hidden(rel):
                    report.add("hidden_file", rel, "dot-named or __MACOSX member; not read")
                elif refused is not None:
                    report.add(*refused)
                elif info.file_size > (1 << 20) and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
                    report.add("too_large", rel, f"expands {info.file_size / max(info.compress_size, 1):,.0f} times "
                               f"(limit {limits.max_zip_ratio:g}): refused as a zip bomb; not read")
                else:
                    chosen.append(info)
            declared = sum(i.file_size for i in chosen)
            if declared > limits.max_total_bytes:
                raise CorpusTooLargeError(
                    f"{name}: its text files expand to {_size_text(declared)}, over the "
                    f"{_size_text(limits.max_total_bytes)} limit; nothing was decompressed"
                )
            files: list[tuple[str, bytes]] = []
            for info in chosen:
                content = _read_zip_member(zf, info, name, limits)
                if len(content) > limits.max_file_bytes:
                    report.add("too_large", info.filename, f"expands past the {_size_text(limits.max_file_bytes)} "
                               "limit per file although its header says less; dropped")
                    continue
                files.append((info.filename, content))
    except zipfile.BadZipFile as err:
        raise CorpusFormatError(f"{name}: not a readable zip file ({err})") from None
    return _read_text_files(files, name, report)


def _read_records(data: bytes, filename: str, report: LoadReport, limits: LoadLimits = DEFAULT_LIMITS) -> list[_Record]:
    name = Path(filename).name
    ext = Path(filename).suffix.lower()
    report.format = ext.lstrip(".")
    if len(data) > limits.max_total_bytes:
        raise CorpusTooLargeError(f"{name}: {_size_text(len(data))}, over the {_size_text(limits.max_total_bytes)} "
                                  "limit")
    if ext in (".jsonl", ".ndjson", ".json", ".csv", ".tsv", *TEXT_EXTENSIONS) and (why := not_text(data)):
        raise CorpusFormatError(f"{name}: {why}")  # a binary given a text name: refused, not read as garbage
    if ext in (".jsonl", ".ndjson"):
        return _read_jsonl(data, name, report)
    if ext == ".json":
        return _read_json(data, name, report)
    if ext in (".csv", ".tsv"):
        return _read_csv(data, name, report, "\t" if ext == ".tsv" else ",")
    if ext in (".parquet", ".pq"):
        return _read_parquet(data, name)
    if ext in TEXT_EXTENSIONS:
        return [(name, {"text": decode_utf8(data, name, report)})]
    if ext == ".zip":
        return _read_zip(data, name, report, limits)
    raise CorpusFormatError(
        f"{name}: unknown corpus format '{ext or '(no extension)'}'; "
        f"supported: {', '.join(SUPPORTED_EXTENSIONS)} or a folder of text files"
    )


def _prune_folders(root: Path, base: Path, dirnames: list[str], report: LoadReport) -> None:
    """Give dot-named folders and links to folders a row each and drop them from ``dirnames``
    (in place, so ``os.walk`` does not descend); the rest stay, sorted."""
    kept = []
    for d in sorted(dirnames):
        hidden = d.startswith(".") or d == "__MACOSX"
        if not hidden and not (base / d).is_symlink():
            kept.append(d)  # its files get their names checked as each is scanned
            continue
        rel = displayable_name((base / d).relative_to(root).as_posix(), report)
        if hidden:
            report.add("hidden_file", rel + "/", "dot-named folder; not read")
        else:
            report.add("skipped_file", rel + "/", "a link to a folder; not followed")
    dirnames[:] = kept


def _readable_size(path: Path, rel: str, report: LoadReport, limits: LoadLimits,
                   roots: tuple[Path, ...] | None) -> int | None:
    """The size of a text file to read, or ``None`` after giving it a row that says why it is not read.

    Only the directory entry is looked at (``stat``, which follows a link), never the contents.
    """
    from core.access import is_under_roots

    if path.name.startswith("."):
        report.add("hidden_file", rel, "dot-named file; not read")
        return None
    try:
        info = path.stat()  # follows a link
    except FileNotFoundError:
        report.add("broken_link", rel, "a link whose target does not exist")
        return None
    except OSError as err:
        report.add("skipped_file", rel, f"cannot be examined ({err.strerror})")
        return None
    special = special_kind(info.st_mode)
    refused = _not_readable_text(rel, info.st_size, limits)
    if path.is_symlink() and roots is not None and not is_under_roots(path, roots):
        report.add("outside_roots", rel, "a link that leads outside the allowed folders; not read")
    elif special is not None:
        report.add("special_file", rel, f"{special}, not a file; not opened")
    elif stat.S_ISDIR(info.st_mode):
        report.add("skipped_file", rel, "a link to a folder; not followed")
    elif refused is not None:
        report.add(*refused)
    else:
        return info.st_size
    return None


def _scan_folder(
    root: Path, report: LoadReport, limits: LoadLimits, roots: tuple[Path, ...] | None
) -> list[tuple[str, Path]]:
    """The text files of a folder to read, ``(relative path, path)``; everything else gets a row.

    Only directory entries are looked at (``lstat``/``stat``), never file contents: a FIFO is
    not opened, a 3 GB binary not read.
    """
    chosen: list[tuple[str, Path]] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        _prune_folders(root, base, dirnames, report)
        for fname in sorted(filenames):
            path = base / fname
            rel = displayable_name(path.relative_to(root).as_posix(), report)
            size = _readable_size(path, rel, report, limits, roots)
            if size is None:
                continue
            total += size
            chosen.append((rel, path))
            if len(chosen) > limits.max_files:
                raise CorpusTooLargeError(f"{root.name}: more than {limits.max_files:,} text files")
    if total > limits.max_total_bytes:
        raise CorpusTooLargeError(
            f"{root.name}: its text files hold {_size_text(total)}, over the "
            f"{_size_text(limits.max_total_bytes)} limit; nothing was read"
        )
    return chosen


# ---------------------------------------------------------------------------- assembling


def _resolve_fields(records: list[_Record], report: LoadReport, name: str, text_field: str | None,
                    id_field: str | None) -> tuple[str | None, str | None]:
    """The text and id fields: as asked (checked against the records' columns), else detected."""
    columns = record_columns(records)
    if text_field is not None and text_field not in columns:
        raise CorpusFormatError(
            f"{name}: text field '{text_field}' not found; available columns: "
            f"{columns or 'none (records are plain strings)'}"
        )
    if id_field is not None and id_field not in columns:
        raise CorpusFormatError(f"{name}: id field '{id_field}' not found; available columns: {columns}")
    if columns and text_field is None:
        text_field = detect_text_field(records, columns, name)
    if columns and id_field is None:
        candidate = pick_column(columns, ID_FIELD_NAMES)
        id_field = candidate if candidate != text_field else None
    report.text_field, report.id_field = text_field, id_field
    return text_field, id_field


def _record_text(loc: str, value: Any, text_field: str | None, id_field: str | None,
                 report: LoadReport) -> tuple[str, Any] | None:
    """``(stripped text, raw id or None)`` of one record, or None with the reason in ``report``."""
    text: Any
    if isinstance(value, str):
        text, raw_id = value, None
    elif isinstance(value, dict):
        text = value.get(text_field)
        raw_id = value.get(id_field) if id_field else None
    else:
        report.add("not_a_record", loc, f"a JSON {type(value).__name__}, not an object or a string")
        return None
    if text is None:
        why = "null" if isinstance(value, dict) and text_field in value else "absent"
        report.add("missing_text", loc, f"text field '{text_field}' is {why}")
        return None
    if not isinstance(text, str):
        report.add("missing_text", loc, f"text field '{text_field}' holds a {type(text).__name__}, not text")
        return None
    text = text.strip()
    if not text:
        report.add("empty_text", loc, "the text is empty or only whitespace")
        return None
    return text, raw_id


#: what to do when every record was dropped for one of these reasons (the first that applies is said)
_WHAT_TO_DO = (
    (("empty_text", "missing_text"), "if another column holds the text, name it as the text field (Text field in "
                                     "the sidebar, --text-field on the command line)"),
    (("malformed_json",), "a .jsonl file holds one JSON object per line (a file that is one JSON array: name it "
                          ".json)"),
    (("not_a_record",), "each record must be a JSON object with a text field, or a string"),
)


def _empty_corpus_error(name: str, report: LoadReport) -> EmptyCorpusError:
    """Why nothing remained, every count in words (:func:`kind_in_words`), and what to do."""
    counts = report.counts
    said = ", ".join(f"{n} {kind_in_words(k)}" for k, n in counts.items())
    files = report.format in ("folder", "zip") or f".{report.format}" in TEXT_EXTENSIONS  # a file is a document
    if report.n_read == 0 and files and counts:  # every file skipped before it was read
        why = f"none of its files was read ({said})"
    elif report.n_read == 0:
        what = f"text files ({', '.join(TEXT_EXTENSIONS)})" if files else "records"
        why = f"it holds no {what}" + (f" ({said})" if counts else "") + "; choose one with documents in it"
    elif files:
        why = f"every file was dropped: {said}; choose one with text in it"
    else:
        why = f"every record was dropped: {said}"
        if counts.keys() & {"empty_text", "missing_text"} and report.text_field:
            why += f" (text field '{report.text_field}')"
        why += next((f"; {todo}" for kinds, todo in _WHAT_TO_DO if counts.keys() & set(kinds)), "")
    return EmptyCorpusError(f"{name}: read {counted(report.n_read, 'record')} ({report.format or 'text'}) but no "
                            f"document remained; {why}")


def _assemble(
    records: list[_Record],
    report: LoadReport,
    name: str,
    text_field: str | None,
    id_field: str | None,
    max_words: int | None,
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter | None = None,
) -> Corpus:
    report.n_read += len(records)
    text_field, id_field = _resolve_fields(records, report, name, text_field, id_field)
    ids: list[str] = []
    texts: list[str] = []
    sources: list[str] = []
    kept: list[_Record] = []  # the records documents came from, in order
    origin: list[int] = []  # per document, its record in ``kept`` (chunks share one)
    seen_text: dict[str, str] = {}
    unique = UniqueIds(report)
    for loc, value in records:
        read = _record_text(loc, value, text_field, id_field, report)
        if read is None:
            continue
        text, raw_id = read
        if text in seen_text:
            report.add("duplicate_text", loc, f"same text as {seen_text[text]}; kept the first")
            continue
        seen_text[text] = loc
        if id_field and (raw_id is None or str(raw_id).strip() == ""):
            report.add("missing_id", loc, f"id field '{id_field}' is empty; content hash used")
            raw_id = None
        doc_id = unique(str(raw_id).strip() if raw_id is not None else content_id(text), loc)
        chunks = chunk_document(text, max_words, max_tokens, count_tokens)  # as the stream chunks it
        if len(chunks) > 1:
            report.add("chunked", loc, f"{counted(len(text.split()), 'word')} split into {len(chunks):,} chunks of "
                       f"at most {max_words} words" + (f" and {max_tokens} tokens" if max_tokens else ""))
            ids.extend(unique(f"{doc_id}#{k}", loc) for k in range(len(chunks)))
            texts.extend(chunks)
        else:
            ids.append(doc_id)
            texts.append(text)
        sources.extend([loc] * (len(texts) - len(sources)))
        origin.extend([len(kept)] * (len(texts) - len(origin)))  # every chunk has its record's values
        kept.append((loc, value))
    report.n_loaded = len(texts)
    if not texts:
        raise _empty_corpus_error(name, report)
    columns = _extra_columns(kept, origin, text_field, id_field, name, report)
    return Corpus(ids=tuple(ids), texts=tuple(texts), sources=tuple(sources), name=Path(name).stem or name,
                  columns=columns)


def _extra_columns(kept: list[_Record], origin: list[int], text_field: str | None, id_field: str | None, name: str,
                   report: LoadReport) -> tuple[Column, ...]:
    """The file's other columns (:mod:`core.corpus.columns`) over the ``kept`` records, one value per document
    (``origin``: each document's record); text files have none."""
    names = [c for c in record_columns(kept) if c not in (text_field, id_field)]
    columns = tuple(col.take(origin) for col in file_columns(kept, names, name, report))
    report.columns = [col.name for col in columns]
    return columns


def _check_max_words(max_words: int | None, max_tokens: int | None = None) -> None:
    if max_words is not None and (not isinstance(max_words, int) or max_words < 1):
        raise ValueError(f"max_words must be a positive integer or None, got {max_words!r}")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise ValueError(f"max_tokens must be a positive integer or None, got {max_tokens!r}")


def load_corpus_bytes(
    data: bytes,
    filename: str,
    text_field: str | None = None,
    id_field: str | None = None,
    max_words: int | None = DEFAULT_MAX_WORDS,
    *,
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter | None = None,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> tuple[Corpus, LoadReport]:
    """Load a corpus from the bytes of an uploaded file, dispatching on ``filename``'s extension.

    Parameters
    ----------
    data : bytes
        The file content (a ``.zip`` holds text files, read like a folder).
    filename : str
        The file's name; only its extension and base name are used.
    text_field, id_field : str, optional
        Column names; detected when omitted (see the module docstring).
    max_words : int or None
        Chunk size for long documents (``None``: no chunking).
    max_tokens : int or None
        Most tokens per chunk (``count_tokens``, else :func:`~core.corpus.chunking.estimate_tokens`);
        ``None``: words only.
    count_tokens : callable, optional
        ``str -> int``, the encoder's tokenizer without special tokens.
    limits : LoadLimits
        Size limits, checked before reading.

    Returns
    -------
    (Corpus, LoadReport)

    Raises
    ------
    CorpusFormatError
        Unknown extension, unreadable container, a named field that is absent, or (as
        :class:`CorpusTooLargeError`) an input over ``limits``.
    EmptyCorpusError
        Nothing usable remained.
    """
    _check_max_words(max_words, max_tokens)
    name = Path(filename).name or "upload"
    report = LoadReport(source=name, max_words=max_words)
    records = _read_records(bytes(data), name, report, limits)
    corpus = _assemble(records, report, name, text_field, id_field, max_words, max_tokens, count_tokens)
    return corpus, report


def _stat_corpus_path(path: Path) -> os.stat_result:
    """``path``'s stat, refusing what is missing, unreadable or neither a file nor a folder (never opened)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        kind = "a link whose target does not exist" if path.is_symlink() else "no such file or folder"
        raise CorpusFormatError(f"{path}: {kind}") from None
    except OSError as err:
        raise CorpusFormatError(f"{path}: cannot read ({err.strerror})") from None
    special = special_kind(info.st_mode)
    if special is not None:
        raise CorpusFormatError(f"{path}: {special}, not a file or folder; refused (it is never opened)")
    return info


def _read_chosen_files(chosen: list[tuple[str, Path]], report: LoadReport,
                       limits: LoadLimits) -> list[tuple[str, bytes]]:
    """The bytes of each scanned file, bounded per file (it may have grown since the scan); the rest reported."""
    files = []
    for rel, p in chosen:
        try:
            with open(p, "rb") as fh:
                content = fh.read(limits.max_file_bytes + 1)
        except OSError as err:
            report.add("skipped_file", rel, f"cannot be read ({err.strerror})")
            continue
        if len(content) > limits.max_file_bytes:
            report.add("too_large", rel, f"grew past the {_size_text(limits.max_file_bytes)} limit per file; "
                                         "dropped")
            continue
        files.append((rel, content))
    return files


def _read_corpus_file(path: Path, info: os.stat_result, limits: LoadLimits) -> bytes:
    """A corpus file's bytes, once its extension and size are known to be acceptable."""
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise CorpusFormatError(
            f"{path}: unknown corpus format '{path.suffix or '(no extension)'}'; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)} or a folder of text files"
        )
    if info.st_size > limits.max_total_bytes:
        raise CorpusTooLargeError(
            f"{path.name}: {_size_text(info.st_size)}, over the {_size_text(limits.max_total_bytes)} limit; not read"
        )
    try:
        with open(path, "rb") as fh:
            return fh.read(limits.max_total_bytes + 1)
    except OSError as err:
        raise CorpusFormatError(f"{path}: cannot read ({err.strerror})") from None


def load_corpus(
    path: str | Path,
    text_field: str | None = None,
    id_field: str | None = None,
    max_words: int | None = DEFAULT_MAX_WORDS,
    *,
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter | None = None,
    limits: LoadLimits = DEFAULT_LIMITS,
    roots: tuple[Path, ...] | None = None,
) -> tuple[Corpus, LoadReport]:
    """Load a corpus file (JSONL, JSON, CSV/TSV, Parquet, text, zip) or a folder of text files.

    A folder is read recursively; every ``.txt``/``.md``/``.markdown``/``.rst`` file is one
    document (sorted by relative path; its source is that path), everything else gets a report
    row without being read (see the module docstring). ``roots`` (page loads; see
    :mod:`core.access`): the path, with links followed, must lie under one of them, and
    links inside a folder that lead elsewhere are not read; ``None`` (the command line) allows
    any path. See :func:`load_corpus_bytes` for the other parameters and the errors.
    """
    _check_max_words(max_words, max_tokens)
    if roots is not None:
        from core.access import check_path

        check_path(path, roots)  # before anything else: a refusal never says whether it exists
    path = Path(path).expanduser()
    info = _stat_corpus_path(path)
    if stat.S_ISDIR(info.st_mode):
        report = LoadReport(source="", max_words=max_words, format="folder")
        report.source = displayable_name(path.name or str(path), report)
        files = _read_chosen_files(_scan_folder(path, report, limits, roots), report, limits)
        records = _read_text_files(files, report.source, report)
        corpus = _assemble(records, report, report.source, text_field, id_field, max_words, max_tokens, count_tokens)
        return corpus, report
    data = _read_corpus_file(path, info, limits)
    return load_corpus_bytes(data, path.name, text_field=text_field, id_field=id_field, max_words=max_words,
                             max_tokens=max_tokens, count_tokens=count_tokens, limits=limits)
