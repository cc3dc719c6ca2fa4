"""The reader layer that :mod:`core.corpus.load` (whole files) and :mod:`core.corpus.stream` (larger than memory)
share, so both treat a corpus alike:

* **bad bytes**: text that is not UTF-8 is decoded with U+FFFD in place of the bad bytes and reported, one
  ``non_utf8`` row per line, with its column (:func:`decode_utf8`; a file that starts with a UTF-16 or UTF-32
  byte order mark is decoded as such); the record is kept; so is a file whose
  *name* is not UTF-8, shown with U+FFFD and reported (:func:`displayable_name`);
* **the text field**: the one named, else the first column whose name is in :data:`TEXT_FIELD_NAMES`, else the
  string column with the longest mean length over the records seen (:func:`detect_text_field`); a named field
  that is absent, or no string column at all, is a :class:`CorpusFormatError` naming the columns there are;
* **the id field**: the first column in :data:`ID_FIELD_NAMES` (:func:`pick_column`), else none;
* **hidden members**: a dot-named file or folder, or ``__MACOSX``, is not read (:func:`is_hidden`);
* **unique ids**: a repeated id is renamed ``id~2``, ``id~3``, ... and reported as ``duplicate_id``
  (:class:`UniqueIds`).

A report is anything with ``add(kind, location, detail)`` (:class:`IssueSink`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any, Protocol

TEXT_FIELD_NAMES: tuple[str, ...] = (
    "text", "content", "body", "document", "doc", "passage", "abstract", "question",
    "prompt", "instruction", "sentence", "description", "summary", "title",
)
ID_FIELD_NAMES: tuple[str, ...] = ("id", "doc_id", "_id", "uuid", "docid", "document_id", "key")


class CorpusFormatError(ValueError):
    """The input cannot be read as a corpus at all (missing file, unknown format, absent field)."""


class IssueSink(Protocol):
    """Where a reader reports a problem with one record (``kind``, ``location`` such as ``file:line``, ``detail``)."""

    def add(self, kind: str, location: str, detail: str) -> None: ...


def decode_line(raw: bytes, location: str, report: IssueSink) -> str:
    """One line as text: invalid UTF-8 bytes become U+FFFD and the line gets a ``non_utf8`` row.

    >>> class Rows(list):
    ...     def add(self, *row): self.append(row)
    >>> rows = Rows()
    >>> decode_line(b"caf\\xe9", "f.jsonl:3", rows), rows
    ('caf\\ufffd', [('non_utf8', 'f.jsonl:3', 'invalid UTF-8 byte(s) at column 4; replaced with U+FFFD')])
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        report.add("non_utf8", location, f"invalid UTF-8 byte(s) at column {err.start + 1}; replaced with U+FFFD")
        return raw.decode("utf-8", "replace")


def displayable_name(name: str, report: IssueSink) -> str:
    """A file or folder name as the file system gave it, made fit to show and to store.

    A name whose bytes are not UTF-8 arrives holding lone surrogates (Python's ``surrogateescape``), which no
    UTF-8 writer accepts (pandas and Arrow, a page); they become U+FFFD and the name gets a ``non_utf8`` row that
    spells its bytes, so the file can still be found. Any other name is returned as it is.

    >>> class Rows(list):
    ...     def add(self, *row): self.append(row)
    >>> rows = Rows()
    >>> shown = displayable_name(os.fsdecode(b"caf\\xe9.txt"), rows)
    >>> shown == "caf\\ufffd.txt", displayable_name("ok.txt", rows), [row[:2] == ("non_utf8", shown) for row in rows]
    (True, 'ok.txt', [True])
    >>> print(rows[0][2])
    the name is not UTF-8 (caf\\xe9.txt); shown with U+FFFD
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # a surrogate that no file system byte produced
        raw = name.encode("utf-8", "replace")
    shown = raw.decode("utf-8", "replace")
    report.add("non_utf8", shown, f"the name is not UTF-8 ({raw.decode('utf-8', 'backslashreplace')}); shown with "
               "U+FFFD")
    return shown


#: byte order marks of the Unicode encodings a file may be saved in besides UTF-8 (Excel's "Unicode text" and
#: Notepad's "Unicode" are UTF-16 LE), UTF-32 before UTF-16: its little-endian mark starts with UTF-16's
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe", "utf-16-le"),
         (b"\xfe\xff", "utf-16-be"))


def decode_utf8(data: bytes, name: str, report: IssueSink) -> str:
    """A whole file as text (a leading BOM dropped): invalid bytes become U+FFFD, each affected line reported
    (:func:`decode_line`, location ``name:line``). A file that starts with a UTF-16 or UTF-32 byte order mark is
    decoded as such (read as UTF-8, every other byte was a NUL and its text was lost to U+FFFD and NULs).

    >>> class Rows(list):
    ...     def add(self, *row): self.append(row)
    >>> decode_utf8("text\\nhello".encode("utf-16"), "f.csv", Rows())
    'text\\nhello'
    >>> rows = Rows(); decode_utf8(b"\\xff\\xfeh\\x00\\x00", "g.txt", rows), rows
    ('h\\ufffd', [('non_utf8', 'g.txt', 'invalid UTF-16-LE at byte 5; replaced with U+FFFD')])
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as err:
                report.add("non_utf8", name, f"invalid {codec.upper()} at byte {err.start + len(bom) + 1}; "
                           "replaced with U+FFFD")
                return data[len(bom):].decode(codec, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return "\n".join(decode_line(raw, f"{name}:{lineno}", report) for lineno, raw in enumerate(data.split(b"\n"), 1))


def is_hidden(rel: str) -> bool:
    """Whether a member of a folder or zip (its relative path, ``/``-separated) is left unread: a dot-named file or
    folder on its way, or ``__MACOSX`` (the resource forks a Mac's zip adds beside every file).

    >>> is_hidden("notes/a.txt"), is_hidden(".git/notes.md"), is_hidden("__MACOSX/._a.txt"), is_hidden("._a.txt")
    (False, True, True, True)
    """
    parts = PurePosixPath(rel).parts
    return any(part.startswith(".") for part in parts) or "__MACOSX" in parts


def special_kind(mode: int) -> str | None:
    """What a path whose ``stat`` mode is ``mode`` is when it is neither a file nor a folder (a reader never opens
    it: opening a FIFO waits for a writer, a device may never end), else ``None``.

    >>> special_kind(stat.S_IFIFO), special_kind(stat.S_IFREG)
    ('a FIFO (named pipe)', None)
    """
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def pick_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The first of ``names`` among ``columns`` (case-insensitive; of two columns equal but for case, the first).

    >>> pick_column(["Body", "ID"], ID_FIELD_NAMES), pick_column(["x"], ID_FIELD_NAMES)
    ('ID', None)
    """
    lower = {c.lower(): c for c in reversed(columns)}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def record_columns(records: Iterable[tuple[str, Any]]) -> list[str]:
    """The columns of ``(location, value)`` records, in first-seen order (plain strings have none)."""
    seen: dict[str, None] = {}
    for _, value in records:
        if isinstance(value, dict):
            for k in value:
                seen.setdefault(str(k), None)
    return list(seen)


def detect_text_field(records: list[tuple[str, Any]], columns: list[str], name: str) -> str:
    """The text column of ``records`` when none is named: by name (:data:`TEXT_FIELD_NAMES`), else the string
    column with the longest mean length (ties: the first). Raises :class:`CorpusFormatError` when none holds text.

    >>> detect_text_field([("f:1", {"a": "xy", "b": "long text"})], ["a", "b"], "f")
    'b'
    """
    found = pick_column(columns, TEXT_FIELD_NAMES)
    if found is not None:
        return found
    lengths: dict[str, list[int]] = {c: [] for c in columns}
    for _, value in records:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, str):
                    lengths.setdefault(str(k), []).append(len(v))
    means = {c: sum(v) / len(v) for c, v in lengths.items() if v}
    if not means:
        raise CorpusFormatError(f"{name}: no column holds text; available columns: {columns}")
    return max(columns, key=lambda c: (means.get(c, -1.0), -columns.index(c)))


class UniqueIds:
    """Hands out document ids, renaming a repeat ``id~2``, ``id~3``, ... (a ``duplicate_id`` row in ``report``).

    Every id handed out is kept (a set), so a stream of millions holds them all: about 100 bytes an id.

    >>> class Rows(list):
    ...     def add(self, *row): self.append(row)
    >>> unique = UniqueIds(Rows())
    >>> [unique(i, f"f:{n}") for n, i in enumerate(["a", "a", "a~2", "b"], 1)]
    ['a', 'a~2', 'a~2~2', 'b']
    >>> unique.report[0]
    ('duplicate_id', 'f:2', "id 'a' already used; renamed to 'a~2'")
    """

    def __init__(self, report: IssueSink) -> None:
        self.report, self.seen = report, set[str]()

    def __call__(self, candidate: str, loc: str) -> str:
        if candidate not in self.seen:
            self.seen.add(candidate)
            return candidate
        n = 2
        while f"{candidate}~{n}" in self.seen:
            n += 1
        new = f"{candidate}~{n}"
        self.report.add("duplicate_id", loc, f"id '{candidate}' already used; renamed to '{new}'")
        self.seen.add(new)
        return new
