"""Widget values that survive a render cut short, over any session-state mapping.

Streamlit keeps a widget's value under its key only while the widget is drawn; a rerun that
interrupts the first render before the widget is drawn (a path submitted while the page is
still loading) can leave the key empty, and the widget then comes back at its default (the
sidebar encoder reset to MiniLM in 2 of 6 fresh sessions). :func:`keep` copies the value to a
plain key that no widget owns, and :func:`restore` puts it back before the widget is drawn.
Pure functions over a ``MutableMapping``, so they are tested without a server.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, MutableMapping
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


def carry(state: MutableMapping[Any, Any], keep: Iterable[str], restore: Iterable[str]) -> None:
    """Once per run, before any widget: keep each present key of ``keep``, and put back a kept key of
    ``restore`` (the page about to draw) that the session lost: Streamlit drops a widget's value at the end
    of a run that did not draw it (a page left). Only the drawing page's keys are put back, in the run
    that draws them, so the browser is sent the value with the widget.

    >>> s = {"ctar_intervention": "do(Y = 5)"}
    >>> carry(s, ["ctar_intervention"], []); del s["ctar_intervention"]; carry(s, [], [])
    >>> "ctar_intervention" in s
    False
    >>> carry(s, [], ["ctar_intervention"]); s["ctar_intervention"]
    'do(Y = 5)'
    """
    for key in keep:
        if key in state:
            state[KEEP_PREFIX + key] = state[key]
    for key in restore:
        if key not in state and KEEP_PREFIX + key in state:
            state[key] = state[KEEP_PREFIX + key]


KEPT_WIDGETS = "_kept_widgets"  # {page: {key: True}}: the kept widgets each page declared as it drew them


def declare_kept(state: MutableMapping[Any, Any], page: str | None, key: str) -> str:
    """Record, as ``page`` draws the widget ``key``, that its value is kept when the page is left; returns ``key``.

    >>> s = {}
    >>> declare_kept(s, "bandit", "bd_speed"), kept_keys(s, "bandit"), kept_keys(s, "tour"), kept_keys(s)
    ('bd_speed', ('bd_speed',), (), ('bd_speed',))
    """
    state.setdefault(KEPT_WIDGETS, {}).setdefault(page, {})[key] = True
    return key


def kept_keys(state: MutableMapping[Any, Any], page: str | None = None) -> tuple[str, ...]:
    """The kept widgets' keys ``page`` declared (:func:`declare_kept`) when it was drawn; every page's when ``None``."""
    declared = state.get(KEPT_WIDGETS, {})
    pages = declared.values() if page is None else [declared.get(page, {})]
    return tuple(dict.fromkeys(key for keys in pages for key in keys))


def snapshot(state: MutableMapping[Any, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The present ``keys`` of ``state`` and their values (a view to restore later).

    >>> snapshot({"sb_seed": 1, "other": 2}, ["sb_seed", "sb_path"])
    {'sb_seed': 1}
    """
    return {key: state[key] for key in keys if key in state}


def without_field(per_corpus: dict[str, dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    """``{corpus: settings}`` with ``field`` dropped from every corpus's settings.

    >>> without_field({"c1": {"k": 3, "encoder_name": "x"}}, "encoder_name")
    {'c1': {'k': 3}}
    """
    return {corpus: {k: v for k, v in values.items() if k != field} for corpus, values in per_corpus.items()}


def kept(state: MutableMapping[Any, Any], key: str, default: Any = None) -> Any:
    """The widget's value, else its kept copy, else ``default``."""
    return state.get(key, state.get(KEEP_PREFIX + key, default))


def kept_notes(state: MutableMapping[Any, Any], key: str, owner: Hashable, said: Iterable[str]) -> tuple[str, ...]:
    """The notes a page shows: those kept under ``key`` while ``owner`` is the same (on the Corpus map, the corpus
    and the colouring), then those ``said`` in this run, all kept in turn; a new ``owner`` drops the old ones. A
    note said once (what a link could not restore) so stays through the reruns that follow (the map's own first).

    >>> s = {}
    >>> kept_notes(s, "_notes", ("c1", "cluster"), ["no cluster 9"])
    ('no cluster 9',)
    >>> kept_notes(s, "_notes", ("c1", "cluster"), []), kept_notes(s, "_notes", ("c1", "year"), [])
    (('no cluster 9',), ())
    """
    kept = state.get(key, (None, ()))
    notes = (kept[1] if kept[0] == owner else ()) + tuple(said)
    state[key] = (owner, notes)
    return notes
