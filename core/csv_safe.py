"""CSV that a spreadsheet opens as data, never as formulas (CSV injection, OWASP).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` becomes a live link,
``=cmd|...`` worse). Every text cell of an exported CSV is therefore prefixed with ``'``
when it starts with one of those characters; numbers stay numbers (a negative number is a
number, not text; so is the string ``"-1"``). JSONL and Parquet exports are unchanged: they are data formats.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")  # "-1" is a number in any sheet, not a formula


def escape_cell(value: Any) -> Any:
    """``"'" + value`` for a string that a spreadsheet would read as a formula, else ``value``.

    >>> escape_cell("=HYPERLINK(\\"http://x\\")"), escape_cell("plain"), escape_cell(-3)
    ('\\'=HYPERLINK("http://x")', 'plain', -3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are escaped with :func:`escape_cell`."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(escape_cell)
    out.columns = [escape_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame, **kwargs: Any) -> str:
    """``frame.to_csv(**kwargs)`` after :func:`escape_formulas` (``index=False`` by default)."""
    kwargs.setdefault("index", False)
    return escape_formulas(frame).to_csv(**kwargs)
