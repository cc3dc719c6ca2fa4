"""What the Corpus map page shows, computed here so the page only places it.

Pure functions over a :class:`~core.corpus.mapping.CorpusMap` and its ``documents_frame``
(columns ``doc_id, text, source, cluster, x, y``).
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from core.corpus.mapping import MAP_FIELDS, MapSettings
from core.text import md_escape
from core.validate import refusal_of

ELBOW_KS = (2, 5, 10, 15, 20, 30, 40, 60, 80, 100, 150, 200)


def cluster_table(cmap) -> pd.DataFrame:
    """The cluster table: ``cmap.clusters`` plus ``neighbours``, each cluster's neighbour count."""
    return cmap.clusters.assign(neighbours=cmap.neighbours.sum(axis=1).astype(int))


def cluster_names(cmap, n_keywords: int = 2) -> dict[int, str]:
    """``{cluster: "kw1, kw2"}``: each cluster's top keywords, for the map's labels and hover."""
    return {int(c): ", ".join(str(k).split(", ")[:n_keywords])
            for c, k in zip(cmap.clusters["cluster"], cmap.clusters["keywords"])}


def cluster_keywords(cmap, cluster: int) -> str:
    return str(cmap.clusters.loc[cmap.clusters["cluster"] == cluster, "keywords"].iloc[0])


def cluster_table_key(cmap) -> str:
    """The cluster table's widget key, naming its map (corpus and settings): Streamlit keeps a table's row selection
    by key, so another map (another corpus, number of clusters) starts with no row selected instead of whichever
    cluster now sits at the selected row."""
    digest = hashlib.blake2b(f"{cmap.corpus.content_hash}|{cmap.settings!r}".encode(), digest_size=6).hexdigest()
    return f"cluster_table_{digest}"


def cluster_at_row(cmap, rows: Iterable[int]) -> int | None:
    """The cluster of the first selected row of the cluster table (``None`` when no row is selected, or the row
    is not in this map's table: a selection made on another map)."""
    rows = list(rows)
    return int(cmap.clusters["cluster"].iloc[rows[0]]) if rows and 0 <= rows[0] < len(cmap.clusters) else None


def row_of_cluster(cmap, cluster: int | None) -> int | None:
    """The table row showing ``cluster`` (``None`` when absent): restores a row selection from a link."""
    if cluster is None:
        return None
    hits = (cmap.clusters["cluster"] == int(cluster)).to_numpy().nonzero()[0]
    return int(hits[0]) if len(hits) else None


def linked_cluster(state: MutableMapping[Any, Any], cmap, rows: Iterable[int]) -> tuple[int | None, str | None]:
    """``(the cluster the map highlights, what a link's cluster could not restore)``, over the Corpus map page's
    session ``state`` (its ``cm_cluster_link``, a link's cluster, and ``_cm_had_rows``, whether a row was picked).

    A row picked in the cluster table (``rows``: the table's selection) wins and replaces the link's cluster; the
    pick cleared drops it too, so the link's cluster does not come back. Without a pick, the link's cluster is
    highlighted when this map has it, else dropped with a note that says so (``None``: nothing to say).
    """
    picked = cluster_at_row(cmap, rows)
    if picked is not None or state.get("_cm_had_rows"):
        state["cm_cluster_link"] = picked  # a row picked, or the pick just cleared, overrides the link
    state["_cm_had_rows"] = picked is not None
    link = state.get("cm_cluster_link")
    if picked is not None or link is None:
        return picked, None
    if row_of_cluster(cmap, link) is None:
        state.pop("cm_cluster_link")
        return None, (f"This link could not restore cluster {link}: this map has clusters 0-{cmap.k - 1}. The rest "
                      "of the view is shown.")
    return int(link), None


def cluster_doc_ids(frame: pd.DataFrame, cluster: int) -> pd.Series:
    return frame.loc[frame["cluster"] == cluster, "doc_id"]


def selected_documents(frame: pd.DataFrame, ids: Iterable[str]) -> pd.DataFrame:
    """The rows of ``ids`` (in frame order): columns ``doc_id, cluster, source``, the corpus file's own columns
    (``year``, ``label``, ...; missing values blank), then ``text``.

    >>> f = pd.DataFrame({"doc_id": ["a", "b"], "text": ["x", "y"], "source": ["f:2", "f:3"], "cluster": [0, 1],
    ...                   "x": [0.0, 1.0], "y": [0.0, 1.0], "year": [2001, 1999]})
    >>> selected_documents(f, ["b"]).to_dict("records")
    [{'doc_id': 'b', 'cluster': 1, 'source': 'f:3', 'year': 1999, 'text': 'y'}]
    """
    from core.corpus.columns import file_columns_of

    return frame.loc[frame["doc_id"].isin(list(ids)), ["doc_id", "cluster", "source", *file_columns_of(frame), "text"]]


def document_text(frame: pd.DataFrame, doc_id: str) -> str:
    return str(frame.loc[frame["doc_id"] == doc_id, "text"].iloc[0])


#: how a page heads the document tables' columns (the frames keep their names, for code, links and downloads): a
#: selection's rows, and a search's or a document's nearest matches with their cosine
DOCUMENT_HEADINGS = {"doc_id": "document"}
MATCH_HEADINGS = {"doc_id": "document", "score": "similarity (cosine)"}


def search_table(hits: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Search hits (``doc_id, score, cluster``) with each document's text."""
    return hits.merge(frame[["doc_id", "text"]], on="doc_id")


def elbow_ks(n_docs: int) -> list[int]:
    """The k values of the inertia curve that a corpus of ``n_docs`` documents allows."""
    return [k for k in ELBOW_KS if k <= n_docs]


def apply_overrides(base, overrides: dict, n_docs: int):
    """``base`` (a ``MapSettings``) with the page's overrides that name one of its fields; k within ``1..n_docs``."""
    valid = {k: v for k, v in dict(overrides).items() if hasattr(base, k)}
    if "k" in valid:
        valid["k"] = max(1, min(int(valid["k"]), int(n_docs)))
    return replace(base, **valid)


@dataclass(frozen=True)
class MapBox:
    """One box of the Map settings form as the page draws it, from its declaration (a
    :class:`~core.corpus.mapping.MapField`): its ``label``, ``help`` for this corpus, the ``value`` it starts at, its
    ``step``, a choice's ``options`` (the current value first), and a slider's ends ``lo``/``hi`` (``None`` for a
    number box, which sets no bounds of its own: a browser's bound turned it red and Rebuild then kept the old
    settings, unsaid; :func:`settings_from_form` refuses a value out of range in words instead)."""

    label: str
    help: str
    value: Any
    step: Any = None
    options: tuple[Any, ...] = ()
    lo: Any = None
    hi: Any = None


def map_form(settings: MapSettings, n_docs: int, encoders: Iterable[str] = ()) -> dict[str, MapBox]:
    """The Map settings form's boxes (:data:`~core.corpus.mapping.MAP_FIELDS`, in order) at ``settings``, for a
    corpus of ``n_docs`` documents; the encoder's options are the current one, then ``encoders``, each once.

    >>> form = map_form(MapSettings(encoder_name="hashing", k=8), 40, ["static-minilm", "hashing"])
    >>> form["encoder_name"].options, form["k"].label, form["k"].value, "(40)" in form["k"].help
    (('hashing', 'static-minilm'), 'Number of clusters', 8, True)
    >>> form["umap_min_dist"].lo, form["umap_min_dist"].hi, form["k"].lo  # a slider's ends; a number box: none
    (0.0, 1.0, None)
    """
    out: dict[str, MapBox] = {}
    for name, spec in MAP_FIELDS.items():
        value, about = getattr(settings, name), spec.help_for(n_docs)
        if spec.kind is str:
            out[name] = MapBox(spec.label, about, value, options=tuple(dict.fromkeys([value, *encoders])))
        else:
            kind = spec.kind  # a box's value, step and a slider's ends of one type (Streamlit refuses a mix)
            ends = (kind(spec.lo), kind(spec.hi)) if spec.slider else (None, None)  # a number box: no bounds
            out[name] = MapBox(spec.label, about, kind(value), kind(spec.step), lo=ends[0], hi=ends[1])
    return out


@dataclass(frozen=True)
class MapFormOutcome:
    """What Rebuild made of the Map settings form: the new ``settings``, or (``settings`` ``None``) ``refused``, why
    not in the form's words; ``refused`` is ``""`` when the settings apply."""

    settings: MapSettings | None
    refused: str = ""


def settings_from_form(base: MapSettings, values: Mapping[str, Any], n_docs: int) -> MapFormOutcome:
    """The form's ``values`` (by :class:`~core.corpus.mapping.MapSettings` field; other names are ignored) as
    ``base``'s new settings, each checked by its declaration (:data:`~core.corpus.mapping.MAP_FIELDS`; the clusters
    at most ``n_docs``); else every value refused, named by its box's label with its rule in words, and nothing
    applied (not even a good value beside a refused one). A refusal's fields are read, never its message.

    >>> base = MapSettings(encoder_name="hashing", k=8)
    >>> settings_from_form(base, {"k": 0, "umap_neighbors": 1}, n_docs=40).refused
    '"Number of clusters" must be from 1 to 40, got 0; "UMAP neighbours" must be at least 2, got 1'
    >>> settings_from_form(base, {"k": 12, "umap_min_dist": 0.5}, n_docs=40).settings.k
    12
    """
    said = []
    for name, value in values.items():
        if name in MAP_FIELDS:
            try:
                MAP_FIELDS[name].check(value, n_docs)
            except ValueError as exc:
                said.append(_in_form_words(exc))
    if said:
        return MapFormOutcome(None, "; ".join(said))
    own = {f.name for f in fields(base)}
    try:  # MapSettings checks the fields the form does not show too
        return MapFormOutcome(replace(base, **{name: v for name, v in values.items() if name in own}))
    except ValueError as exc:
        return MapFormOutcome(None, _in_form_words(exc))


def _in_form_words(exc: ValueError) -> str:
    """A refusal of :class:`~core.corpus.mapping.MapSettings` with its box's label and its rule in words (the
    message itself when it carries no refusal)."""
    refusal = refusal_of(exc)
    if refusal is None:
        return str(exc)
    spec = MAP_FIELDS.get(refusal.field)
    got = refusal.got
    said = str(got) if isinstance(got, numbers.Integral) else f"{got:g}" if isinstance(got, numbers.Real) else repr(got)
    return f'"{spec.label if spec else refusal.field}" must be {refusal.rule.in_words()}, got {said}'


def stand_in_caption(drawn_by: str, target: str) -> str:
    """What the Corpus map says (Markdown, names escaped) while a map drawn by the fast tier ``drawn_by`` (the
    static tier, or the hashing encoder) stands in for the map of ``target``, which embeds in the background.

    >>> print(stand_in_caption("hashing", "minilm"))  # doctest: +NORMALIZE_WHITESPACE
    Map made by the **hashing encoder**, hashing, so it opens in seconds; **minilm** is embedding the corpus in
    the background.
    >>> stand_in_caption("static-minilm", "x").startswith("Map made by the **static tier (model2vec")
    True
    """
    tier = "static tier (model2vec distilled from MiniLM)" if drawn_by.startswith("static") else "hashing encoder"
    return (f"Map made by the **{tier}**, {md_escape(drawn_by)}, so it opens in seconds; **{md_escape(target)}** is "
            "embedding the corpus in the background.")


def label_of(choices: dict[str, str], value: str, default: str) -> str:
    """The label in ``{label: value}`` whose value is ``value`` (``default`` when none)."""
    return next((label for label, v in choices.items() if v == value), default)


class MapMemo:
    """The process's in-memory corpus maps: at most ``max_entries``, oldest dropped first.

    Keys are ``(corpus frame hash, MapSettings)`` (the content hash for a corpus without columns);
    :meth:`forget_encoder` drops the maps of an encoder whose model folder was rewritten (a warm-up saved
    over it). Shared by every session of the server: :meth:`obtain` builds a missing map once, however many
    sessions ask for it at once.

    >>> memo, calls = MapMemo(max_entries=2), []
    >>> memo.obtain("a", lambda: calls.append(1) or "map a"), memo.obtain("a", lambda: "again")
    ('map a', 'map a')
    >>> len(calls)
    1
    """

    def __init__(self, max_entries: int = 4) -> None:
        import threading

        self.max_entries = int(max_entries)
        self._maps: dict = {}
        self._guard = threading.Lock()
        self._building: dict = {}  # key -> the lock its one builder holds

    def obtain(self, key, build: Callable[[], Any], on_wait: Callable[[], object] | None = None):
        """The map under ``key``; else ``build()`` it, in one thread only: a session that asks while
        another builds it waits for that build (``on_wait()`` is called first, to say so) and shares it."""
        import threading

        if key in self._maps:
            return self._maps[key]
        with self._guard:
            lock = self._building.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            if on_wait is not None:
                on_wait()
            lock.acquire()
        try:
            if key not in self._maps:
                self[key] = build()
            return self._maps[key]
        finally:
            lock.release()
            with self._guard:
                self._building.pop(key, None)

    def __contains__(self, key) -> bool:
        return key in self._maps

    def __getitem__(self, key):
        return self._maps[key]

    def __setitem__(self, key, cmap) -> None:
        self._maps.pop(key, None)
        while len(self._maps) >= self.max_entries:
            self._maps.pop(next(iter(self._maps)))
        self._maps[key] = cmap

    def __len__(self) -> int:
        return len(self._maps)

    def pop(self, key, *default):
        return self._maps.pop(key, *default)

    def forget_encoder(self, name: str) -> None:
        for key in [k for k in self._maps if k[1].encoder_name == name]:
            del self._maps[key]


def upload_types() -> list[str]:
    """File types the sidebar's uploader accepts (the loader's extensions, without the dot)."""
    from core.corpus.load import SUPPORTED_EXTENSIONS

    return [e.lstrip(".") for e in SUPPORTED_EXTENSIONS]


def large_selection_table(lmap, rows, limit: int = 200) -> pd.DataFrame:
    """The first ``limit`` of the selected ``rows`` of a large map: ``doc_id``, ``cluster``, the corpus file's own
    columns (:attr:`~core.corpus.stream.LargeMap.columns`) and text read from disk."""
    rows = np.asarray(rows, dtype=np.int64)[:limit]
    own = lmap.columns.iloc[rows].reset_index(drop=True)
    table = pd.DataFrame({"doc_id": np.asarray(lmap.ids)[rows], "cluster": np.asarray(lmap.labels)[rows]})
    return pd.concat([table, own, pd.DataFrame({"text": lmap.texts(rows)})], axis=1)


def index_columns_note(meta: dict) -> str:
    """What a large index (``meta``) built before it kept its file's own columns says under the Colour by choice
    (``""`` for a newer one, with or without columns).

    >>> index_columns_note({"columns": ["year"]}), index_columns_note({})[:40]
    ('', 'This index was built before it kept the ')
    """
    if "columns" in meta:
        return ""
    return ("This index was built before it kept the file's own columns (numbers, short text): if the file has "
            "some, index it again to colour the map by them.")


def index_notes(meta: dict) -> tuple[str, pd.DataFrame] | None:
    """What streaming a corpus into a large index (``meta``, :class:`~core.corpus.stream.LargeMap`) skipped or kept
    with a problem: a summary and the notes it kept (``where, note``: the first 20, each with its file and line);
    ``None`` when there are none.

    >>> summary, notes = index_notes({"read": 3, "skipped": 1, "issues": [["f.jsonl:2", "malformed JSON"]]})
    >>> summary, notes.to_dict("records")
    ('1 of 3 records skipped; 1 note', [{'where': 'f.jsonl:2', 'note': 'malformed JSON'}])
    """
    issues = [tuple(row) for row in meta.get("issues") or []]
    skipped = int(meta.get("skipped") or 0)
    if not issues and not skipped:
        return None
    counted = f"{skipped:,} of {int(meta.get('read') or 0):,} records skipped" if skipped else "no record skipped"
    shown = f"the first {len(issues)} notes" if len(issues) >= 20 else f"{len(issues)} note" + "s" * (len(issues) != 1)
    return f"{counted}; {shown}", pd.DataFrame(issues, columns=["where", "note"])


def index_chunking(meta: dict) -> str:
    """How a large index (``meta``) cut its records into the rows the map draws, and how that compares with the
    Corpus map, which loads the same file with the same cut but drops exact duplicates (a stream keeps them: finding
    them would need every text's hash in memory).

    >>> print(index_chunking({"n": 707, "documents": 300, "config": {"max_words": 200, "max_tokens": 254}}))
    ... # doctest: +NORMALIZE_WHITESPACE
    707 rows from 300 documents: a document over 200 words or 254 word pieces is cut into chunks, as the
    Corpus map cuts it; exact duplicates are kept (the Corpus map drops them).
    >>> index_chunking({"n": 486, "documents": 300, "config": {"max_words": 200}}).endswith("to match them).")
    True
    """
    config = meta.get("config") or {}
    rows = f"{int(meta.get('n') or 0):,} rows from {int(meta.get('documents') or 0):,} documents"
    words, pieces = config.get("max_words"), config.get("max_tokens")
    if words is None:
        return f"{rows}: no document is cut (chunking off); exact duplicates are kept (the Corpus map drops them)."
    if "max_tokens" not in config:
        return (f"{rows}: a document over {words} words is cut into chunks (the Corpus map's chunks can be shorter: "
                "this index was built before chunks were cut by word pieces too: index it again to match them).")
    limit = f"{words} words" + (f" or {pieces} word pieces" if pieces is not None else "")
    return (f"{rows}: a document over {limit} is cut into chunks, as the Corpus map cuts it; exact duplicates are "
            "kept (the Corpus map drops them).")


def index_seconds(meta: dict) -> float:
    """The seconds building a large index (``meta``) took: its stages' timings summed, ``umap_sample`` left out
    (the UMAP of the layout's sample, timed inside ``layout``).

    >>> index_seconds({"timings": {"embed": 10.0, "cluster": 2.0, "umap_sample": 30.0, "layout": 40.0}})
    52.0
    """
    return float(sum(v for k, v in meta.get("timings", {}).items() if k != "umap_sample"))


def large_search_table(lmap, hits: pd.DataFrame) -> pd.DataFrame:
    """Search hits of a large map with each hit's text read from disk."""
    return hits.assign(text=lmap.texts(hits["row"].to_numpy()))


def ids_as_lines(ids: Iterable[str]) -> bytes:
    """Selected ids, one per line, for download."""
    return "\n".join(map(str, ids)).encode()


def describe_tiers(figures: dict[str, str], labels: dict[str, str]) -> str:
    """One caption line of each encoder tier's measured figures, tiers named by their sidebar label."""
    return " · ".join(f"**{labels.get(t, t)}**: {line}" for t, line in figures.items())


def choice_labels(choices: dict[str, str]) -> dict[str, str]:
    """``{value: short label}`` for a ``{long label: value}`` choice dict (the label up to its first " (")."""
    return {v: k.split(" (")[0] for k, v in choices.items()}
