"""Corpus ingestion: files in, a clean :class:`Corpus` plus a :class:`LoadReport` out.

Formats (dispatched on the file extension, the same for a path and for uploaded bytes):

* ``.jsonl`` / ``.ndjson``: one JSON object (or JSON string) per line;
* ``.json``: an array of objects or of strings (or an object holding exactly one such array);
* ``.csv`` / ``.tsv``: a header row, then one record per row (quoted multi-line cells allowed);
* ``.parquet`` / ``.pq``: one record per row;
* ``.txt`` / ``.md`` / ``.markdown`` / ``.rst``: the whole file is one document;
* a folder (path only) or a ``.zip`` (upload): every ``.txt``/``.md``/``.markdown``/``.rst``
  file inside, recursively, in sorted relative-path order, one document per file.

Fields. The text field is the one named (``text_field``), else the first column whose name
(case-insensitive) is in :data:`TEXT_FIELD_NAMES`, else the string column with the longest
mean length. The id field is the one named, else the first in :data:`ID_FIELD_NAMES`, else
none: then a document's id is ``sha1(text)[:12]`` (hex), so the same text gets the same id
in every load. Both choices are written to :attr:`LoadReport.text_field`/``id_field``.

Bad input never crashes and never disappears silently: each problem becomes one row of
:attr:`LoadReport.issues` ``(kind, location, detail)`` with ``location`` = ``file:line``
(JSONL, CSV, text) or ``file row N`` (JSON arrays, Parquet; 1-based). Kinds:

======================  =====================================================================
``malformed_json``      a JSONL line that is not JSON (record dropped)
``not_a_record``        a JSON value that is neither an object nor a string (dropped)
``malformed_row``       a CSV row with too many or too few cells (kept, missing cells empty)
``missing_text``        no value, ``null`` or a non-string in the text field (dropped)
``empty_text``          a text that is empty or only whitespace (dropped)
``non_utf8``            bytes that are not UTF-8; decoded with U+FFFD replacement (kept)
``duplicate_text``      exact duplicate of an earlier text after stripping (later one dropped)
``missing_id``          the id field is empty on this record; the content hash is used (kept)
``duplicate_id``        an id seen before; made unique with ``~2``, ``~3``, ... (kept)
``chunked``             a document longer than ``max_words`` words, split (kept, as chunks)
``skipped_file``        a file in a folder/zip whose extension is not a text extension
======================  =====================================================================

Long documents. The packaged encoder reads at most 256 word-piece tokens, about 200 English
words; anything after is ignored by the model. So a document of more than ``max_words``
whitespace-separated words is split into consecutive chunks of at most ``max_words`` words,
keeping the original whitespace inside each chunk; chunk ``k`` (0-based) gets the id
``<id>#<k>`` and the same source as its origin. ``max_words=None`` switches chunking off.

An input from which nothing remains raises :class:`EmptyCorpusError` (saying how many
records were read and why each was dropped); an unreadable input (missing file, unknown
extension, a named field that is absent, a JSON document that does not parse) raises
:class:`CorpusFormatError` naming the file and, where it applies, the available columns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import pandas as pd

TEXT_FIELD_NAMES: tuple[str, ...] = (
    "text", "content", "body", "document", "doc", "passage", "abstract", "question",
    "prompt", "instruction", "sentence", "description", "summary", "title",
)
ID_FIELD_NAMES: tuple[str, ...] = ("id", "doc_id", "_id", "uuid", "docid", "document_id", "key")
TEXT_EXTENSIONS: tuple[str, ...] = (".txt", ".md", ".markdown", ".rst")
RECORD_EXTENSIONS: tuple[str, ...] = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq")
SUPPORTED_EXTENSIONS: tuple[str, ...] = RECORD_EXTENSIONS + TEXT_EXTENSIONS + (".zip",)
DEFAULT_MAX_WORDS = 200

_SPACE = re.compile(r"(\s+)")


class CorpusFormatError(ValueError):
    """The input cannot be read as a corpus at all (missing file, unknown format, absent field)."""


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


@dataclass(frozen=True)
class Corpus:
    """Documents in a fixed order. ``ids[i]`` names ``texts[i]``; ``sources[i]`` says where it came from
    (file name and line, or module path for the built-in corpus)."""

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    sources: tuple[str, ...]
    name: str = "corpus"

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.texts) == len(self.sources)):
            raise ValueError("ids, texts and sources must have the same length")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def content_hash(self) -> str:
        """sha256 over ids and texts, the cache key of everything computed from this corpus (:func:`content_hash`)."""
        return content_hash(self.ids, self.texts)

    def subset(self, indices: "list[int] | tuple[int, ...]", name: str | None = None) -> "Corpus":
        """The documents at ``indices`` (in that order), as a new corpus."""
        return Corpus(
            ids=tuple(self.ids[i] for i in indices),
            texts=tuple(self.texts[i] for i in indices),
            sources=tuple(self.sources[i] for i in indices),
            name=name or self.name,
        )

    def to_frame(self) -> "pd.DataFrame":
        """Columns ``id``, ``text``, ``source``, one row per document."""
        import pandas as pd

        return pd.DataFrame({"id": list(self.ids), "text": list(self.texts), "source": list(self.sources)})


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

    def add(self, kind: str, location: str, detail: str) -> None:
        """Record one issue."""
        self.issues.append((kind, location, detail))

    @property
    def counts(self) -> dict[str, int]:
        """Number of issues per kind, in first-seen order."""
        return dict(Counter(kind for kind, _, _ in self.issues))

    def summary(self) -> str:
        """One line: documents loaded, records read, fields used and issue counts."""
        fields = f"text field '{self.text_field}'" if self.text_field else "whole text"
        fields += f", id field '{self.id_field}'" if self.id_field else ", content-hash ids"
        counts = self.counts
        issues = ", ".join(f"{n} {kind}" for kind, n in counts.items()) if counts else "no issues"
        return f"{self.source}: {self.n_loaded} documents from {self.n_read} records ({fields}); {issues}"

    def to_frame(self) -> "pd.DataFrame":
        """Columns ``kind``, ``location``, ``detail``, one row per issue."""
        import pandas as pd

        return pd.DataFrame(self.issues, columns=["kind", "location", "detail"])


def content_id(text: str) -> str:
    """Stable id of a text: the first 12 hex digits of ``sha1(text)`` (UTF-8)."""
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:12]


def split_words(text: str, max_words: int | None) -> list[str]:
    """Split ``text`` into consecutive chunks of at most ``max_words`` whitespace-separated words.

    Whitespace inside a chunk is kept as in the input; a text of at most ``max_words`` words
    (or ``max_words=None``) comes back as ``[text]``.
    """
    if max_words is None:
        return [text]
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1 or None, got {max_words}")
    if len(text.split(None, max_words)) <= max_words:  # fast path: at most max_words words
        return [text]
    parts = _SPACE.split(text.strip())  # word, space, word, ..., word (2n - 1 parts)
    step = 2 * max_words
    return ["".join(parts[k : k + step - 1]) for k in range(0, len(parts), step)]


# ---------------------------------------------------------------------------- reading


_Record = tuple[str, Any]  # (location, value: dict | str | other JSON value)


def _decode(data: bytes, name: str, report: LoadReport) -> str:
    """UTF-8 decode; invalid bytes become U+FFFD and every affected line is reported."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    out = []
    for lineno, raw in enumerate(lines, 1):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            out.append(raw.decode("utf-8", "replace"))
            report.add("non_utf8", f"{name}:{lineno}",
                       f"invalid UTF-8 byte(s) at column {err.start + 1}; replaced with U+FFFD")
    return "\n".join(out)


def _read_jsonl(data: bytes, name: str, report: LoadReport) -> list[_Record]:
    text = _decode(data, name, report)
    records: list[_Record] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        loc = f"{name}:{lineno}"
        try:
            records.append((loc, json.loads(line)))
        except json.JSONDecodeError as err:
            report.n_read += 1
            report.add("malformed_json", loc, f"not valid JSON ({err.msg} at column {err.colno})")
    return records


def _read_json(data: bytes, name: str, report: LoadReport) -> list[_Record]:
    text = _decode(data, name, report)
    if not text.strip():
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusFormatError(
            f"{name}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
            "a JSON corpus is an array of objects or strings (use .jsonl for one object per line)"
        ) from None
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


def _read_csv(data: bytes, name: str, report: LoadReport, delimiter: str) -> list[_Record]:
    text = _decode(data, name, report)
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as err:
        raise CorpusFormatError(f"{name}: cannot read the CSV header ({err})") from None
    header = [h.strip() for h in header]
    records: list[_Record] = []
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            report.n_read += 1
            report.add("malformed_row", f"{name}:{start}", f"unreadable CSV row ({err}); dropped")
            start = reader.line_num + 1
            continue
        loc = f"{name}:{start}"
        start = reader.line_num + 1
        if not row:
            continue
        if len(row) != len(header):
            report.add("malformed_row", loc, f"{len(row)} cells for {len(header)} columns; "
                       "missing cells read as empty, extra cells ignored")
        records.append((loc, {h: (row[j] if j < len(row) else "") for j, h in enumerate(header)}))
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
    """One record ``{"text": ...}`` per text file; other files are reported as skipped."""
    records: list[_Record] = []
    for rel, data in sorted(files):
        if PurePosixPath(rel).suffix.lower() not in TEXT_EXTENSIONS:
            report.add("skipped_file", rel, f"not a text file ({', '.join(TEXT_EXTENSIONS)})")
            continue
        records.append((rel, {"text": _decode(data, rel, report)}))
    return records


def _read_records(data: bytes, filename: str, report: LoadReport) -> list[_Record]:
    name = Path(filename).name
    ext = Path(filename).suffix.lower()
    report.format = ext.lstrip(".")
    if ext in (".jsonl", ".ndjson"):
        return _read_jsonl(data, name, report)
    if ext == ".json":
        return _read_json(data, name, report)
    if ext in (".csv", ".tsv"):
        return _read_csv(data, name, report, "\t" if ext == ".tsv" else ",")
    if ext in (".parquet", ".pq"):
        return _read_parquet(data, name)
    if ext in TEXT_EXTENSIONS:
        return [(name, {"text": _decode(data, name, report)})]
    if ext == ".zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                files = [(i.filename, zf.read(i)) for i in zf.infolist()
                         if not i.is_dir() and not PurePosixPath(i.filename).name.startswith(".")
                         and "__MACOSX" not in i.filename]
        except zipfile.BadZipFile as err:
            raise CorpusFormatError(f"{name}: not a readable zip file ({err})") from None
        return _read_text_files(files, name, report)
    raise CorpusFormatError(
        f"{name}: unknown corpus format '{ext or '(no extension)'}'; "
        f"supported: {', '.join(SUPPORTED_EXTENSIONS)} or a folder of text files"
    )


# ---------------------------------------------------------------------------- assembling


def _columns(records: list[_Record]) -> list[str]:
    seen: dict[str, None] = {}
    for _, value in records:
        if isinstance(value, dict):
            for k in value:
                seen.setdefault(str(k), None)
    return list(seen)


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in reversed(columns)}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _detect_text_field(records: list[_Record], columns: list[str], name: str) -> str:
    found = _pick(columns, TEXT_FIELD_NAMES)
    if found is not None:
        return found
    lengths: dict[str, list[int]] = {c: [] for c in columns}
    for _, value in records:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, str):
                    lengths[str(k)].append(len(v))
    means = {c: sum(v) / len(v) for c, v in lengths.items() if v}
    if not means:
        raise CorpusFormatError(f"{name}: no column holds text; available columns: {columns}")
    return max(columns, key=lambda c: (means.get(c, -1.0), -columns.index(c)))


def _assemble(
    records: list[_Record],
    report: LoadReport,
    name: str,
    text_field: str | None,
    id_field: str | None,
    max_words: int | None,
) -> Corpus:
    report.n_read += len(records)
    columns = _columns(records)
    has_dicts = bool(columns)
    if text_field is not None and text_field not in columns:
        raise CorpusFormatError(
            f"{name}: text field '{text_field}' not found; available columns: {columns or 'none (records are plain strings)'}"
        )
    if id_field is not None and id_field not in columns:
        raise CorpusFormatError(f"{name}: id field '{id_field}' not found; available columns: {columns}")
    if has_dicts and text_field is None:
        text_field = _detect_text_field(records, columns, name)
    if has_dicts and id_field is None:
        candidate = _pick(columns, ID_FIELD_NAMES)
        id_field = candidate if candidate != text_field else None
    report.text_field, report.id_field = text_field, id_field

    ids: list[str] = []
    texts: list[str] = []
    sources: list[str] = []
    seen_text: dict[str, str] = {}
    seen_id: set[str] = set()

    def unique(candidate: str, loc: str) -> str:
        if candidate not in seen_id:
            seen_id.add(candidate)
            return candidate
        n = 2
        while f"{candidate}~{n}" in seen_id:
            n += 1
        new = f"{candidate}~{n}"
        report.add("duplicate_id", loc, f"id '{candidate}' already used; renamed to '{new}'")
        seen_id.add(new)
        return new

    for loc, value in records:
        if isinstance(value, str):
            text, raw_id = value, None
        elif isinstance(value, dict):
            text = value.get(text_field)
            raw_id = value.get(id_field) if id_field else None
        else:
            report.add("not_a_record", loc, f"a JSON {type(value).__name__}, not an object or a string")
            continue
        if text is None:
            why = "null" if isinstance(value, dict) and text_field in value else "absent"
            report.add("missing_text", loc, f"text field '{text_field}' is {why}")
            continue
        if not isinstance(text, str):
            report.add("missing_text", loc, f"text field '{text_field}' holds a {type(text).__name__}, not text")
            continue
        text = text.strip()
        if not text:
            report.add("empty_text", loc, "the text is empty or only whitespace")
            continue
        if text in seen_text:
            report.add("duplicate_text", loc, f"same text as {seen_text[text]}; kept the first")
            continue
        seen_text[text] = loc
        if id_field and (raw_id is None or str(raw_id).strip() == ""):
            report.add("missing_id", loc, f"id field '{id_field}' is empty; content hash used")
            raw_id = None
        doc_id = unique(str(raw_id).strip() if raw_id is not None else content_id(text), loc)
        chunks = split_words(text, max_words)
        if len(chunks) > 1:
            report.add("chunked", loc, f"{len(text.split())} words split into "
                       f"{len(chunks)} chunks of at most {max_words} words")
            for k, chunk in enumerate(chunks):
                ids.append(unique(f"{doc_id}#{k}", loc))
                texts.append(chunk)
                sources.append(loc)
        else:
            ids.append(doc_id)
            texts.append(text)
            sources.append(loc)

    report.n_loaded = len(texts)
    if not texts:
        counts = report.counts
        if report.n_read == 0:
            why = "it holds no records" + (f" ({', '.join(f'{n} {k}' for k, n in counts.items())})" if counts else "")
        else:
            why = "every record was dropped: " + ", ".join(f"{n} {k}" for k, n in counts.items())
        raise EmptyCorpusError(f"{name}: read {report.n_read} records ({report.format or 'text'}) but no document remained; {why}")
    return Corpus(ids=tuple(ids), texts=tuple(texts), sources=tuple(sources), name=Path(name).stem or name)


def _check_max_words(max_words: int | None) -> None:
    if max_words is not None and (not isinstance(max_words, int) or max_words < 1):
        raise ValueError(f"max_words must be a positive integer or None, got {max_words!r}")


def load_corpus_bytes(
    data: bytes,
    filename: str,
    text_field: str | None = None,
    id_field: str | None = None,
    max_words: int | None = DEFAULT_MAX_WORDS,
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

    Returns
    -------
    (Corpus, LoadReport)

    Raises
    ------
    CorpusFormatError
        Unknown extension, unreadable container, or a named field that is absent.
    EmptyCorpusError
        Nothing usable remained.
    """
    _check_max_words(max_words)
    name = Path(filename).name or "upload"
    report = LoadReport(source=name, max_words=max_words)
    records = _read_records(bytes(data), name, report)
    corpus = _assemble(records, report, name, text_field, id_field, max_words)
    return corpus, report


def load_corpus(
    path: str | Path,
    text_field: str | None = None,
    id_field: str | None = None,
    max_words: int | None = DEFAULT_MAX_WORDS,
) -> tuple[Corpus, LoadReport]:
    """Load a corpus file (JSONL, JSON, CSV/TSV, Parquet, text, zip) or a folder of text files.

    A folder is read recursively; every ``.txt``/``.md``/``.markdown``/``.rst`` file is one
    document (sorted by relative path; its source is that path), other files are reported as
    ``skipped_file``. See :func:`load_corpus_bytes` for the parameters and errors.
    """
    _check_max_words(max_words)
    path = Path(path).expanduser()
    if not path.exists():
        raise CorpusFormatError(f"{path}: no such file or folder")
    if path.is_dir():
        report = LoadReport(source=path.name or str(path), max_words=max_words, format="folder")
        files = []
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path).as_posix()
            if p.is_file() and not any(part.startswith(".") for part in PurePosixPath(rel).parts):
                files.append((rel, p.read_bytes()))
        records = _read_text_files(files, report.source, report)
        corpus = _assemble(records, report, report.source, text_field, id_field, max_words)
        return corpus, report
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise CorpusFormatError(
            f"{path}: unknown corpus format '{path.suffix or '(no extension)'}'; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)} or a folder of text files"
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CorpusFormatError(f"{path}: cannot read ({err.strerror})") from None
    return load_corpus_bytes(data, path.name, text_field=text_field, id_field=id_field, max_words=max_words)
