"""Provenance labels of the built-in corpus: which documents are on-task for each preset reference set.

The built-in corpus is harvested docstrings whose ids carry their module (``json.dumps``,
``numpy.linalg.norm#2``), so whether a document is about a preset's task can be decided by
where it comes from, never by an embedding (the label the bandit's own reward cannot see).
:data:`PROVENANCE` lists, per preset in ``assets/reference``, the modules it is about; a pair
is on-task when the rule extractor (or any extractor) takes it from an on-task document.
Used by ``benchmarks/bench_equal.py`` and the tuning lab's on-task share (:mod:`core.equal.tune`).

>>> is_on_task("numpy.linalg.norm#1", PROVENANCE["numerical-arrays"])
True
>>> on_task_ids("statistics", ["random.choice", "json.dumps"])
{'random.choice'}
>>> on_task_ids("my own task", ["random.choice"]) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable

_PANDAS_TIME = tuple(
    f"pandas.{n}"
    for n in (
        "Timestamp",
        "Timedelta",
        "Period",
        "DatetimeIndex",
        "TimedeltaIndex",
        "PeriodIndex",
        "DatetimeTZDtype",
        "date_range",
        "bdate_range",
        "period_range",
        "timedelta_range",
        "to_datetime",
        "to_timedelta",
        "tseries",
        "offsets",
        "DateOffset",
    )
)
PROVENANCE: dict[str, tuple[str, ...]] = {
    "dates-and-time": (
        "datetime",
        "time",
        "calendar",
        "zoneinfo",
        "numpy.datetime_as_string",
        "numpy.datetime_data",
        "numpy.busday_count",
        "numpy.busday_offset",
        "numpy.is_busday",
        "numpy.busdaycalendar",
        *_PANDAS_TIME,
    ),
    "files-and-os": (
        "os",
        "posix",
        "pathlib",
        "shutil",
        "glob",
        "fnmatch",
        "tempfile",
        "io",
        "stat",
        "filecmp",
        "fileinput",
        "zipfile",
        "tarfile",
        "subprocess",
    ),
    "networking": (
        "socket",
        "ssl",
        "http",
        "urllib",
        "ftplib",
        "smtplib",
        "imaplib",
        "poplib",
        "nntplib",
        "telnetlib",
        "socketserver",
        "xmlrpc",
        "ipaddress",
        "selectors",
        "email",
        "asyncio.streams",
    ),
    "numerical-arrays": ("numpy", "scipy.linalg"),
    "statistics": ("statistics", "scipy.stats", "random", "numpy.random"),
    "text-processing": (
        "json",
        "csv",
        "re",
        "string",
        "textwrap",
        "difflib",
        "html",
        "pprint",
        "unicodedata",
        "codecs",
        "builtins.str",
        "shlex",
    ),
}


def is_on_task(doc_id: str, prefixes: tuple[str, ...]) -> bool:
    """Provenance test: the id's name (before ``#chunk``) is one of ``prefixes`` or lies under one."""
    name = doc_id.split("#", 1)[0]
    return any(name == p or name.startswith(p + ".") or name.startswith(p + "/") for p in prefixes)


def on_task_ids(preset: str, doc_ids: Iterable[str]) -> set[str] | None:
    """The ids among ``doc_ids`` that are on-task for ``preset``; ``None`` when ``preset`` has no provenance label."""
    prefixes = PROVENANCE.get(preset)
    if prefixes is None:
        return None
    return {d for d in doc_ids if is_on_task(d, prefixes)}
