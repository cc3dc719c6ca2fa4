"""Failures shown to a browser: one line and an error id; the traceback stays in the server log.

A page catches what it did not expect and calls :func:`report_unexpected`: the traceback is
logged under a fresh six-hex-digit id and the user sees ``"Something went wrong (error id
abc123): <one line>"``, with absolute paths cut to their last part, so nothing about the
server's layout reaches the browser. Bad input (``ValueError``) has messages written for the
user and is shown by :func:`short_message` alone, as is a full disk (:class:`~core.disk.DiskFullError`:
not a bug; its message says what was not saved and to free space).
"""

from __future__ import annotations

import logging
import re
import secrets

from core.disk import DiskFullError

logger = logging.getLogger("equalctar.errors")

_ABS_PATH = re.compile(r"(?<![\w.])(?:/[^\s/'\"():,;]+)+/([^\s/'\"():,;]+)")


def short_message(exc: BaseException | str, limit: int = 300) -> str:
    """The first line of a message, at most ``limit`` characters, absolute paths shown as ``…/name``.

    >>> short_message("cannot open /srv/app/data/secret.db: locked\\nmore")
    'cannot open …/secret.db: locked'
    """
    line = (str(exc).strip().splitlines() or [""])[0]
    line = _ABS_PATH.sub(r"…/\1", line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def report_unexpected(exc: BaseException, where: str | None = None) -> tuple[str, str]:
    """Log ``exc`` with its traceback under a new error id; return ``(error_id, message for the browser)``."""
    error_id = secrets.token_hex(3)
    logger.error("error id %s%s", error_id, f" ({where})" if where else "",
                 exc_info=(type(exc), exc, exc.__traceback__))
    message = (f"Something went wrong (error id {error_id}): {type(exc).__name__}: {short_message(exc)}. "
               "The details are in the server log under that id.")
    return error_id, message


def describe_failure(exc: BaseException, what: str | None = None) -> tuple[str | None, str]:
    """``(error_id, message)`` for the browser: bad input (``ValueError``, written for the user) as
    ``"<what>: <message>"`` with no id; anything else through :func:`report_unexpected`."""
    if isinstance(exc, (ValueError, DiskFullError)):
        text = short_message(exc, 1000)
        return None, f"{what}: {text}" if what else text
    return report_unexpected(exc, what)


def describe_unhandled(exc: BaseException, where: str | None = None) -> str:
    """The line for an exception no page handled: a full disk says what was not saved (no error id: not a
    bug); anything else is a bug, reported by :func:`report_unexpected`."""
    if isinstance(exc, DiskFullError):
        return short_message(exc, 1000)
    return report_unexpected(exc, where)[1]
