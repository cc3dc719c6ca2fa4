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
from array import array
from collections.abc import Callable, Iterable, Sequence
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


def _factorize(raw: Sequence[Value]) -> tuple[list[int], list[Value], list[int]]:
    """``raw`` as one code per value (``-1``: missing), its distinct values (``True`` and ``1`` apart) and their
    counts.

    >>> _factorize(["a", None, "a", True, 1])
    ([0, -1, 0, 1, 2], ['a', True, 1], [2, 1, 1])
    """
    where: dict[tuple[type, Value], int] = {}
    codes = [-1 if v is None else where.setdefault((type(v), v), len(where)) for v in raw]
    counts = [0] * len(where)
    for c in codes:
        if c >= 0:
            counts[c] += 1
    return codes, [v for _, v in where], counts


def _typed_distinct(distinct: Sequence[Value], counts: Sequence[int]) -> tuple[list[Value] | None, bool, str]:
    """The rules of the module docstring on a column's ``distinct`` present values (``counts`` times each): each one
    as the column keeps it, whether the column is numeric, and a note (``""`` when none); ``None`` and why when the
    column is left out."""
    if not distinct:
        return None, False, "no value in any record"
    numbers = [_as_number(v) for v in distinct]
    if all(n is not None for n in numbers):
        if all(isinstance(n, int) or (math.isfinite(n) and float(n).is_integer() and abs(n) < 2**53)
               for n in numbers if n is not None):  # 2001.0 (a spreadsheet's, pandas' with blanks) is the year 2001
            return [None if n is None else int(n) for n in numbers], True, ""
        return list(numbers), True, ""
    if all(isinstance(v, bool) for v in distinct):
        return list(distinct), False, ""
    texts = [str(v).strip() for v in distinct]
    mean = sum(len(t) * c for t, c in zip(texts, counts, strict=True)) / max(sum(counts), 1)
    if mean > LONG_TEXT_CHARS:
        return None, False, (f"long text (values of {mean:,.0f} characters on average; a column is kept when they "
                             f"average at most {LONG_TEXT_CHARS})")
    cut = sum(c for t, c in zip(texts, counts, strict=True) if len(t) > MAX_VALUE_CHARS)
    note = f"{cut:,} value{'s' * (cut != 1)} longer than {MAX_VALUE_CHARS} characters cut" if cut else ""
    return [_cut(t, MAX_VALUE_CHARS) for t in texts], False, note


def _typed(name: str, raw: list[Value]) -> tuple[Column | None, str]:
    """The column of ``raw`` values (missing already ``None``) and a note ("" when none), or ``None`` and why."""
    codes, distinct, counts = _factorize(raw)
    typed, numeric, note = _typed_distinct(distinct, counts)
    if typed is None:
        return None, note
    return Column(name, tuple(None if c < 0 else typed[c] for c in codes), numeric), note


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


@dataclass(frozen=True)
class _Kept:
    """A column kept: its name, one code per record (``-1``: missing) into ``values``, and whether it is numeric."""

    name: str
    codes: Sequence[int]
    values: list[Value]
    numeric: bool


#: a column as read: its key, where it first held a nested value (``None``: never), and a call giving its codes,
#: distinct values and counts (:func:`_factorize`; not made for a column left out as nested)
_Candidate = tuple[str, tuple[str, str] | None, Callable[[], tuple[Any, list[Value], list[int]]]]


def _kept_columns(candidates: Iterable[_Candidate], where: str, report: IssueSink) -> list[_Kept]:
    """The columns kept of ``candidates`` (in order), bounded as the module docstring says; what is left out, cut or
    renamed gets a row at ``where``. The one set of rules of :func:`file_columns` and :class:`ColumnCollector`."""
    kept: list[_Kept] = []
    over: list[str] = []
    for key, nested, factorized in candidates:
        if nested is not None:
            report.add("column_left_out", where, f"column '{key}' holds {nested[1]} (first at {nested[0]}); left out")
            continue
        codes, distinct, counts = factorized()
        typed, numeric, note = _typed_distinct(distinct, counts)
        if typed is None:
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
        kept.append(_Kept(name, codes, typed, numeric))
    if over:
        report.add("column_left_out", where, f"{len(over):,} more column{'s' * (len(over) != 1)} left out (at most "
                   f"{MAX_COLUMNS} are kept): {_cut(', '.join(over), 200)}")
    return kept


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
    def factorized(key: str) -> tuple[Sequence[int], list[Value], list[int]]:
        return _factorize([None if not isinstance(v, dict) or _missing(v.get(key)) else _scalar(v.get(key))
                           for _, v in records])

    candidates = ((key, _first_nested(records, key), lambda key=key: factorized(key)) for key in names)
    return tuple(Column(c.name, tuple(None if i < 0 else c.values[i] for i in c.codes), c.numeric)
                 for c in _kept_columns(candidates, where, report))


_PLAIN = frozenset({str, int, float, bool})  # values kept as they are (:func:`_scalar`), never nested


class ColumnCollector:
    """A stream's columns gathered record by record in little memory (:mod:`core.corpus.stream`): per column its
    distinct values and one ``int32`` code per record (``-1``: missing), per record the rows (chunks) it became.
    :meth:`frame` keeps them by the rules of :func:`file_columns`, one row per chunk.

    >>> class Rows(list):
    ...     def add(self, *row): self.append(row)
    >>> cc = ColumnCollector(exclude={"text"})
    >>> cc.add("f:2", {"text": "a", "year": "2001", "label": "spam"}, rows=2)
    >>> cc.add("f:3", {"text": "b", "year": ""}, rows=1)
    >>> f = cc.frame("f", Rows())
    >>> f["year"].tolist(), f["label"].tolist(), str(f["year"].dtype), str(f["label"].dtype)
    ([2001, 2001, <NA>], ['spam', 'spam', nan], 'Int64', 'category')
    """

    def __init__(self, exclude: Iterable[str] = ()) -> None:
        #: the keys that are not columns (the text and the id field); a reader sets them once it has chosen
        self.exclude: set[str] = set(exclude)
        self._codes: dict[str, array[int]] = {}
        self._distinct: dict[str, dict[tuple[type, Value], int]] = {}
        self._nested: dict[str, tuple[str, str]] = {}
        self._rows = array("i")

    def add(self, where: str, record: Any, rows: int = 1) -> None:
        """One kept record (a dict; anything else has no columns) at ``where``, which became ``rows`` rows."""
        n = len(self._rows)
        self._rows.append(int(rows))
        if not isinstance(record, dict):
            return
        for key, value in record.items():
            key = str(key)
            if key in self.exclude or key in self._nested:
                continue
            codes = self._codes.get(key)
            if codes is None:
                codes = self._codes[key] = array("i")
                self._distinct[key] = {}
            if len(codes) < n:
                codes.extend([-1] * (n - len(codes)))
            distinct = self._distinct[key]
            kind = type(value)
            if kind in _PLAIN:  # the common case, spelled out: a million records pass here
                if (kind is str and not value.strip()) or (kind is float and value != value):
                    codes.append(-1)
                else:
                    codes.append(distinct.setdefault((kind, value), len(distinct)))
                continue
            nested = _nested_kind(value)
            if nested is not None:
                self._nested[key] = (where, nested)
            elif _missing(value):
                codes.append(-1)
            else:
                v = _scalar(value)
                codes.append(distinct.setdefault((type(v), v), len(distinct)))

    def declare(self, keys: Iterable[str]) -> None:
        """The columns of a file whose fields are known up front (a Parquet schema), in its order."""
        for key in map(str, keys):
            if key not in self.exclude and key not in self._codes:
                self._codes[key], self._distinct[key] = array("i"), {}

    def see(self, key: str, where: str, value: Any) -> None:
        """One value of ``key`` at ``where`` shown apart from the records (a Parquet column of lists, of which the
        stream reads only the first): a nested one leaves the column out, saying where, as :meth:`add` does."""
        kind = _nested_kind(value)
        if kind is not None and key not in self._nested and key not in self.exclude:
            self.declare([key])
            self._nested[key] = (where, kind)

    def _factorized(self, key: str) -> tuple[Any, list[Value], list[int]]:
        import numpy as np

        codes = np.frombuffer(self._codes[key], dtype=np.int32) if len(self._codes[key]) else np.zeros(0, np.int32)
        codes = np.concatenate([codes, np.full(len(self._rows) - len(codes), -1, dtype=np.int32)])
        counts: list[int] = np.bincount(codes[codes >= 0], minlength=len(self._distinct[key])).tolist()
        values: list[Value] = [v for _, v in self._distinct[key]]
        return codes, values, counts

    def frame(self, where: str, report: IssueSink) -> pd.DataFrame:
        """The columns kept (:func:`file_columns`' rules and rows at ``where``), one row per chunk: whole numbers
        ``Int64``, other numbers ``float64``, booleans ``boolean``, text ``category`` (no Python object a row)."""
        import numpy as np
        import pandas as pd

        candidates = ((key, self._nested.get(key), lambda key=key: self._factorized(key)) for key in self._codes)
        origin = np.repeat(np.arange(len(self._rows)), np.frombuffer(self._rows, dtype=np.int32)
                           if len(self._rows) else np.zeros(0, np.int32))
        out = {c.name: _compact(np.asarray(c.codes, dtype=np.int32)[origin], c.values, c.numeric)
               for c in _kept_columns(candidates, where, report)}
        return pd.DataFrame(out, index=pd.RangeIndex(len(origin)))


def _compact(codes: Any, values: list[Value], numeric: bool) -> Any:
    """One column's ``codes`` (``-1``: missing) into ``values``, a lean pandas array (:meth:`ColumnCollector.frame`)."""
    import numpy as np
    import pandas as pd

    missing = codes < 0
    safe = np.where(missing, 0, codes)
    if numeric and all(isinstance(v, int) for v in values):
        try:
            return pd.arrays.IntegerArray(np.asarray(values, dtype=np.int64)[safe], missing)
        except OverflowError:  # beyond int64: as floats
            pass
    if numeric:
        return np.where(missing, np.nan, np.asarray(values, dtype=np.float64)[safe])
    if values and all(isinstance(v, bool) for v in values):
        return pd.arrays.BooleanArray(np.asarray(values, dtype=bool)[safe], missing)
    index, uniques = pd.factorize(pd.Index([str(v) for v in values], dtype=object))  # cut values may coincide
    return pd.Categorical.from_codes(np.where(missing, -1, np.asarray(index)[safe]), categories=uniques)


def file_columns_of(frame: pd.DataFrame) -> list[str]:
    """The corpus file's own columns of a map's ``documents_frame``: every column but :data:`FRAME_COLUMNS`.

    >>> import pandas as pd
    >>> file_columns_of(pd.DataFrame(columns=["doc_id", "text", "source", "cluster", "x", "y", "year", "label"]))
    ['year', 'label']
    """
    return [str(c) for c in frame.columns if c not in FRAME_COLUMNS]
