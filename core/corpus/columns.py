"""A corpus file's own columns (``year``, ``score``, ``label``, ``author``), carried with its documents.

A record file (CSV/TSV, JSONL, JSON, Parquet) often holds more than its text and id. Every other column that
holds single values is kept, one value per document, so the Corpus map can be coloured by it and list it:

* **numbers** (JSON numbers, or CSV cells that all read as plain decimal numbers, ``2001``, ``-3.5``, ``1e3``)
  are kept as numbers, as ``int`` when every one is whole (``2001.0``, as pandas writes a column with blanks, is
  2001); a blank cell, ``null`` or ``NaN`` is missing (``None``);
* **booleans** (a column of JSON ``true``/``false`` only) are kept as ``bool``;
* **anything else** (short strings, a mix of numbers and words, dates) is kept as text, each value cut to
  :data:`MAX_VALUE_CHARS` characters (a ``values_cut`` row counts the cut values).

A column is left out, each with a ``column_left_out`` row in the load report naming it and saying why, when it
holds lists or objects (nested values), bytes, or long text (values of more than :data:`LONG_TEXT_CHARS`
characters on average: a second text, not a value to colour by), when it has no name or no value at all, or
beyond the first :data:`MAX_COLUMNS` columns kept. A record without the column (JSONL records with other
keys, a short CSV row) has it missing: blank in a table, grey on the map. A long document split into chunks
gives every chunk its record's values (:meth:`Column.take`). A column named like one of the map's own
(:data:`RESERVED_NAMES`: ``source`` is the file and line there) is kept as ``"<name> (column)"`` with a
``column_renamed`` row.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.corpus.readers import IssueSink

if TYPE_CHECKING:
    import pandas as pd

MAX_COLUMNS = 32
MAX_VALUE_CHARS = 80
LONG_TEXT_CHARS = 80
MAX_NAME_CHARS = 60
#: names the map's documents already use (its frame, its tables, the Colour by choices)
RESERVED_NAMES: tuple[str, ...] = ("id", "doc_id", "text", "source", "cluster", "x", "y",
                                   "length (characters)")
#: the columns every map's ``documents_frame`` has (:class:`core.corpus.mapping.CorpusMap`); the file's own follow
FRAME_COLUMNS: tuple[str, ...] = ("doc_id", "text", "source", "cluster", "x", "y")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

Value = str | int | float | bool | None


@dataclass(frozen=True)
class Column:
    """One extra column: its ``name``, one value per document (``None``: missing) and whether it is ``numeric``.

    >>> Column("year", (2001, None), numeric=True).take([0, 0, 1]).values
    (2001, 2001, None)
    """

    name: str
    values: tuple[Value, ...]
    numeric: bool = False

    def to_series(self) -> pd.Series:
        """The values as a pandas column: whole numbers ``Int64`` (``<NA>`` missing), other numbers ``float64``
        (NaN missing), the rest ``object`` (``None`` missing).

        >>> Column("year", (2001, None), True).to_series().dtype, Column("s", (1.5, None), True).to_series().dtype
        (Int64Dtype(), dtype('float64'))
        """
        import pandas as pd

        if self.numeric:
            if all(v is None or isinstance(v, int) for v in self.values):
                try:
                    return pd.Series(pd.array(list(self.values), dtype="Int64"), name=self.name)
                except (OverflowError, TypeError, ValueError):  # beyond int64: as floats
                    pass
            return pd.Series([math.nan if v is None else float(v) for v in self.values], dtype="float64",
                             name=self.name)
        return pd.Series(list(self.values), dtype=object, name=self.name)

    def take(self, rows: Sequence[int]) -> Column:
        """The values of ``rows`` (a document's row repeated once per chunk), as a new column."""
        return Column(self.name, tuple(self.values[i] for i in rows), self.numeric)


def columns_digest(columns: Sequence[Column]) -> str:
    """sha256 over every column's name, kind and values (hex); ``""`` for none.

    >>> columns_digest([]), columns_digest([Column("a", (1,))]) != columns_digest([Column("a", (2,))])
    ('', True)
    """
    if not columns:
        return ""
    h = hashlib.sha256()
    for col in columns:
        h.update(json.dumps([col.name, col.numeric, list(col.values)], default=str).encode("utf-8", "replace"))
    return h.hexdigest()


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def _nested_kind(value: Any) -> str | None:
    """What makes ``value`` no single value (``None`` when it is one)."""
    if isinstance(value, (dict, list, tuple, set)):
        return "lists or objects (nested values)"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary values"
    return None


def _scalar(value: Any) -> Value:
    """A single value as a column keeps it: numbers, booleans and text as they are, dates as ISO text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _as_number(value: Value) -> int | float | None:
    """``value`` as a number when it is one (a JSON number or a plain decimal string), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else number


def _typed(name: str, raw: list[Value]) -> tuple[Column | None, str]:
    """The column of ``raw`` values (missing already ``None``) and a note ("" when none), or ``None`` and why."""
    present = [v for v in raw if v is not None]
    if not present:
        return None, "no value in any record"
    numbers = [_as_number(v) for v in present]
    if all(n is not None for n in numbers):
        kept: list[int | float | None] = [None if v is None else _as_number(v) for v in raw]
        if all(isinstance(n, int) or (math.isfinite(n) and float(n).is_integer() and abs(n) < 2**53)
               for n in numbers if n is not None):  # 2001.0 (a spreadsheet's, pandas' with blanks) is the year 2001
            kept = [None if v is None else int(v) for v in kept]
        return Column(name, tuple(kept), numeric=True), ""
    if all(isinstance(v, bool) for v in present):
        return Column(name, tuple(raw)), ""
    texts = [str(v).strip() for v in present]
    mean = sum(map(len, texts)) / len(texts)
    if mean > LONG_TEXT_CHARS:
        return None, (f"long text (values of {mean:,.0f} characters on average; a column is kept when they average "
                      f"at most {LONG_TEXT_CHARS})")
    cut = sum(len(t) > MAX_VALUE_CHARS for t in texts)
    values = tuple(None if v is None else _cut(str(v).strip(), MAX_VALUE_CHARS) for v in raw)
    note = f"{cut:,} value{'s' * (cut != 1)} longer than {MAX_VALUE_CHARS} characters cut" if cut else ""
    return Column(name, values), note


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _column_name(name: str, taken: set[str], where: str, report: IssueSink) -> str | None:
    """The name a column is kept under (cut, renamed off a reserved name), or ``None`` with a row saying why."""
    shown = _cut(" ".join(name.split()), MAX_NAME_CHARS)
    if not shown:
        report.add("column_left_out", where, "a column without a name; left out")
        return None
    if shown in RESERVED_NAMES:
        renamed = f"{shown} (column)"
        report.add("column_renamed", where, f"column '{shown}' kept as '{renamed}': the map already has a "
                   f"'{shown}' of its own")
        shown = renamed
    if shown in taken:
        report.add("column_left_out", where, f"column '{name}': its name is the same as another column's once cut "
                   f"to {MAX_NAME_CHARS} characters; left out")
        return None
    return shown


def _first_nested(records: Sequence[tuple[str, Any]], key: str) -> tuple[str, str] | None:
    for loc, value in records:
        kind = _nested_kind(value.get(key)) if isinstance(value, dict) else None
        if kind is not None:
            return loc, kind
    return None


def file_columns(records: Sequence[tuple[str, Any]], names: Sequence[str], where: str,
                 report: IssueSink) -> tuple[Column, ...]:
    """The extra ``names`` columns of the kept ``records`` (``(location, dict)``, one per kept record, in order):
    one value per record, bounded as the module docstring says; what is left out, cut or renamed gets a row at
    ``where`` (the file's name).

    >>> class Rows(list):
    ...     def add(self, *row): self.append(row)
    >>> rows = Rows()
    >>> recs = [("f:2", {"year": "2001", "tags": ["a"], "label": "spam"}), ("f:3", {"year": "", "label": "ham"})]
    >>> [(c.name, c.values, c.numeric) for c in file_columns(recs, ["year", "tags", "label"], "f", rows)]
    [('year', (2001, None), True), ('label', ('spam', 'ham'), False)]
    >>> rows
    [('column_left_out', 'f', "column 'tags' holds lists or objects (nested values) (first at f:2); left out")]
    """
    kept: list[Column] = []
    over: list[str] = []
    for key in names:
        nested = _first_nested(records, key)
        if nested is not None:
            report.add("column_left_out", where, f"column '{key}' holds {nested[1]} (first at {nested[0]}); left out")
            continue
        raw = [None if not isinstance(v, dict) or _missing(v.get(key)) else _scalar(v.get(key)) for _, v in records]
        column, note = _typed(key, raw)
        if column is None:
            report.add("column_left_out", where, f"column '{key}': {note}; left out")
            continue
        if len(kept) >= MAX_COLUMNS:
            over.append(key)
            continue
        name = _column_name(key, {c.name for c in kept}, where, report)
        if name is None:
            continue
        if note:
            report.add("values_cut", where, f"column '{key}': {note}")
        kept.append(Column(name, column.values, column.numeric))
    if over:
        report.add("column_left_out", where, f"{len(over):,} more column{'s' * (len(over) != 1)} left out (at most "
                   f"{MAX_COLUMNS} are kept): {_cut(', '.join(over), 200)}")
    return tuple(kept)


def file_columns_of(frame: pd.DataFrame) -> list[str]:
    """The corpus file's own columns of a map's ``documents_frame``: every column but :data:`FRAME_COLUMNS`.

    >>> import pandas as pd
    >>> file_columns_of(pd.DataFrame(columns=["doc_id", "text", "source", "cluster", "x", "y", "year", "label"]))
    ['year', 'label']
    """
    return [str(c) for c in frame.columns if c not in FRAME_COLUMNS]
