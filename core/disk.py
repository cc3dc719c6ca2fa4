"""Writing when the disk may fill: a typed error naming what was not written, and atomic files.

Every write site of the app (the run store, the embedding caches, the background upgrade, the
large index, the exports) goes through :func:`naming_disk_full` or :func:`write_atomic`, so a
full disk (``ENOSPC``, a quota: ``EDQUOT``, SQLite's "database or disk is full", the same words
from pyarrow or faiss, numpy's short write) surfaces as one :class:`DiskFullError` whose message says what was not
saved, and names at most the last component of a path, never a server folder::

    >>> err = DiskFullError("the run store could not save round 7", "runs.sqlite")
    >>> str(err).split("; ")[0]
    'the run store could not save round 7: the disk is full (no space left on the device holding runs.sqlite)'

:func:`write_atomic` writes to a temporary name beside the target, fresh for each call (:func:`temp_path`),
and renames it into place, so an interrupted or failed write never leaves a half-written file under the final
name, two concurrent writers of one file never write into each other's file (the last rename wins, whole), and
the temporary file is removed on failure (a full disk gets its space back).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_FULL_WORDS = ("no space left", "disk is full", "disk quota exceeded")
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")  # numpy's tofile on a full disk (no errno)


class DiskFullError(OSError):
    """A write failed because the disk (or the user's quota) is full; ``what`` names what was not written."""

    def __init__(self, what: str, place: str = "") -> None:
        holding = f" holding {place}" if place else ""
        super().__init__(errno.ENOSPC, f"{what}: the disk is full (no space left on the device{holding}); "
                                       "free some space and try again")
        self.what, self.place = what, place

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self):  # pickled (a job thread, a worker) as what it was built from, not OSError's args
        return type(self), (self.what, self.place)


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an error it was raised from) says the disk or a quota is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError) or getattr(exc, "errno", None) in DISK_FULL_ERRNOS:
            return True
        text = str(exc).lower()
        if any(word in text for word in _FULL_WORDS) or (isinstance(exc, OSError) and _SHORT_WRITE.search(text)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def naming_disk_full(what: str, place: str | Path = "", error: type[DiskFullError] = DiskFullError) -> Iterator[None]:
    """Re-raise a full-disk failure inside the block as ``error(what, <last component of place>)``;
    any other exception passes unchanged."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        raise error(what, Path(place).name if place else "") from exc


def drop_frames(exc: BaseException | None) -> None:
    """Drop the tracebacks of ``exc`` and the errors it was raised from, so the frames they hold (a memory map
    of a deleted temporary file, an open writer) are freed now and the disk gets that space back."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__


def temp_path(path: Path) -> Path:
    """A fresh temporary name for ``path``, one per call: ``<stem>.<random>.<pid>.tmp<suffix>`` in the same folder.

    The random part keeps two writers of one file apart (the sessions of a Streamlit server are threads of one
    process); the pid, last before ``.tmp``, tells a cleaner whose file it is (a dead worker's may be removed).

    >>> a, b = temp_path(Path("cache/x.npy")), temp_path(Path("cache/x.npy"))
    >>> a != b and a.parent == b.parent == Path("cache") and a.name.endswith(f".{os.getpid()}.tmp.npy")
    True
    """
    return path.with_name(f"{path.stem}.{secrets.token_hex(8)}.{os.getpid()}.tmp{path.suffix}")


def write_atomic(path: str | Path, write: Callable[[Path], object], what: str, place: str | Path = "") -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it to ``path``.

    On any failure the temporary file is removed and ``path`` keeps its previous content (or stays
    absent); a full disk raises :class:`DiskFullError` naming ``what`` and ``place`` (default: ``path``)'s last
    component.
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        with naming_disk_full(what, place or path):
            write(tmp)
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
