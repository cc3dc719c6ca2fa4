"""Widget values that survive a render cut short, over any session-state mapping.

Streamlit keeps a widget's value under its key only while the widget is drawn; a rerun that
interrupts the first render before the widget is drawn (a path submitted while the page is
still loading) can leave the key empty, and the widget then comes back at its default (the
sidebar encoder reset to MiniLM in 2 of 6 fresh sessions). :func:`keep` copies the value to a
plain key that no widget owns, and :func:`restore` puts it back before the widget is drawn.
Pure functions over a ``MutableMapping``, so they are tested without a server.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

KEEP_PREFIX = "_keep_"


def keep(state: MutableMapping[Any, Any], key: str) -> None:
    """Copy ``state[key]`` (if present) to its kept copy."""
    if key in state:
        state[KEEP_PREFIX + key] = state[key]


def restore(state: MutableMapping[Any, Any], key: str, default: Any, allowed: Any = None) -> Any:
    """Before drawing the widget ``key``: if the session lost its value, put back the kept copy (else
    ``default``); a value not in ``allowed`` (when given) becomes ``default``. Returns the value."""
    if key not in state:
        state[key] = state.get(KEEP_PREFIX + key, default)
    if allowed is not None and state[key] not in allowed:
        state[key] = default
    return state[key]


def kept(state: MutableMapping[Any, Any], key: str, default: Any = None) -> Any:
    """The widget's value, else its kept copy, else ``default``."""
    return state.get(key, state.get(KEEP_PREFIX + key, default))
