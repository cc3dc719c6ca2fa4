"""Saved selections ("tags"): a name for a set of documents of one corpus, kept across sessions.

A researcher selects documents on the map (a box, a lasso, a search), names the selection, and
comes back to it: tags show on the map, export together, and can start a bandit run (their
documents' question-answer pairs become the reference task; see
:func:`core.equal.reference.reference_from_documents`).

Tags belong to the corpus they were made on (its content hash): one JSON file per corpus under
``cache_dir("tags")``, written to a temporary name and renamed (:func:`core.disk.write_atomic`),
so a crash or a full disk never leaves half a file; every visitor of a shared server sees the
same tags (SECURITY.md: no per-user isolation). A save, a rename or a delete reads, changes and writes the
file under an exclusive lock (``<corpus_hash>.json.lock``, ``flock``), so two sessions (threads of one
server, or two servers) saving or renaming at once each keep their change.

A renamed tag keeps its documents, its place and the names it had (``former``): a session that still holds an
old name (the tags it stars, the Bandit page's reference task) finds the tag under its new one
(:func:`current_names`).
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd

from core.disk import write_atomic
from core.settings import cache_dir
from core.text import counted

__all__ = ["MAX_NAME", "Tag", "TagError", "TagStore", "clean_name", "current_names", "tag_membership", "tag_names",
           "tagged_ids"]

MAX_NAME = 60


class TagError(ValueError):
    """A tag that cannot be saved or renamed (no name, a name taken, no documents, ids outside the corpus); the
    message says which."""


@dataclass(frozen=True)
class Tag:
    """A saved selection: its ``name``, its documents and when it was made; ``former``: the names it had, oldest
    first (a rename appends the old one)."""

    name: str
    doc_ids: tuple[str, ...]
    created: float
    former: tuple[str, ...] = ()


def clean_name(name: object) -> str:
    """A tag's name as saved: whitespace runs as one space, ends trimmed; :class:`TagError` when it is empty or
    longer than :data:`MAX_NAME` characters.

    >>> clean_name("  date   parsing ")
    'date parsing'
    """
    name = " ".join(str(name).split())
    if not name:
        raise TagError("a tag needs a name")
    if len(name) > MAX_NAME:
        raise TagError(f"a tag's name has at most {MAX_NAME} characters, got {len(name)}")
    return name


class TagStore:
    """The tags of one corpus (``corpus_hash``), in ``<root>/<corpus_hash>.json``.

    >>> import tempfile
    >>> store = TagStore("c0ffee", root=tempfile.mkdtemp())
    >>> store.save("date parsing", ["d1", "d2"], known=["d1", "d2", "d3"]).doc_ids
    ('d1', 'd2')
    >>> [t.name for t in store.tags()], TagStore("c0ffee", root=store.root).get("date parsing").doc_ids
    (['date parsing'], ('d1', 'd2'))
    """

    def __init__(self, corpus_hash: str, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir("tags")
        self.path = self.root / f"{corpus_hash}.json"

    def tags(self) -> list[Tag]:
        """Every tag, oldest first; a damaged file reads as no tags (it is replaced on the next save)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [Tag(str(t["name"]), tuple(map(str, t["doc_ids"])), float(t["created"]),
                        tuple(map(str, t.get("former", ())))) for t in raw]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def get(self, name: str) -> Tag | None:
        return next((t for t in self.tags() if t.name == name), None)

    def save(self, name: str, doc_ids: Iterable[str], known: Iterable[str] | None = None,
             replace: bool = True) -> Tag:
        """Save (or, with ``replace``, replace) the tag ``name`` with ``doc_ids`` (deduplicated, in order); ``known``
        (the corpus's ids) refuses ids from elsewhere. Raises :class:`TagError` naming what is wrong, and a name
        already taken when not ``replace`` (the page: a second "dates" must not silently drop the first)."""
        name = clean_name(name)
        ids = tuple(dict.fromkeys(map(str, doc_ids)))
        if not ids:
            raise TagError("select documents on the map first: a tag with no documents is not saved")
        if known is not None:
            unknown = set(ids) - set(map(str, known))
            if unknown:
                raise TagError(f"{len(unknown)} of the {len(ids)} documents are not in this corpus")
        tag = Tag(name, ids, time.time())
        with self._locked():
            taken = self.get(name)
            if taken is not None and not replace:
                raise _taken(taken)
            self._write([t for t in self.tags() if t.name != name] + [tag])
        return tag

    def rename(self, name: str, new_name: str) -> Tag:
        """Rename the tag ``name`` to ``new_name`` (cleaned as :func:`clean_name`), keeping its documents, its place
        and its former names (``name`` appended). Under the tags' lock, so a save or a rename of another session at
        the same moment is kept. Raises :class:`TagError` (and changes nothing) when ``new_name`` is not allowed,
        is already the tag's name or another tag's, or when ``name`` is no longer there.

        >>> import tempfile
        >>> store = TagStore("c0ffee", root=tempfile.mkdtemp())
        >>> _ = store.save("dates", ["d1"])
        >>> tag = store.rename("dates", " date  parsing ")
        >>> tag.name, tag.doc_ids, tag.former, [t.name for t in store.tags()]
        ('date parsing', ('d1',), ('dates',), ['date parsing'])
        """
        new_name = clean_name(new_name)
        with self._locked():
            tags = self.tags()
            tag = next((t for t in tags if t.name == name), None)
            if tag is None:
                raise TagError(f"there is no tag named “{name}” any more (deleted or renamed in another session): "
                               "nothing was renamed")
            if new_name == name:
                raise TagError(f"the tag is already named “{name}”: type another name")
            taken = next((t for t in tags if t.name == new_name), None)
            if taken is not None:
                raise _taken(taken)
            renamed = replace(tag, name=new_name, former=(*tag.former, name))
            self._write([renamed if t is tag else t for t in tags])
        return renamed

    def delete(self, name: str) -> None:
        with self._locked():
            self._write([t for t in self.tags() if t.name != name])

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the tags' exclusive lock: a read-change-write inside it sees every other session's last write."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:  # its own open: threads exclude too
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write(self, tags: list[Tag]) -> None:
        text = json.dumps([asdict(t) for t in tags])
        write_atomic(self.path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), "the tags")


def _taken(tag: Tag) -> TagError:
    size = counted(len(tag.doc_ids), "document")
    return TagError(f"a tag named “{tag.name}” already exists ({size}): choose another name, or delete that tag first")


def tag_membership(frame: pd.DataFrame, tags: list[Tag]) -> pd.DataFrame:
    """The tagged documents of ``frame`` (``doc_id``, ``text``) with a ``tags`` column ("a; b"), for the export.

    >>> f = pd.DataFrame({"doc_id": ["d1", "d2"], "text": ["x", "y"]})
    >>> tag_membership(f, [Tag("a", ("d1",), 0.0), Tag("b", ("d1", "d2"), 0.0)])[["doc_id", "tags"]].values.tolist()
    [['d1', 'a; b'], ['d2', 'b']]
    """
    names: dict[str, list[str]] = {}
    for tag in tags:
        for doc_id in tag.doc_ids:
            names.setdefault(doc_id, []).append(tag.name)
    out = frame.loc[frame["doc_id"].isin(names), ["doc_id", "text"]].copy()
    out["tags"] = out["doc_id"].map(lambda d: "; ".join(names[d]))
    return out.reset_index(drop=True)


def tag_names(tags: list[Tag], among: Iterable[str] | None = None) -> list[str]:
    """The tags' names, oldest first; with ``among``, only those of them that still exist.

    >>> tag_names([Tag("a", ("d1",), 0.0), Tag("b", ("d2",), 0.0)], among=["b", "gone"])
    ['b']
    """
    names = [t.name for t in tags]
    return names if among is None else [n for n in names if n in set(among)]


def current_names(tags: list[Tag], names: Iterable[str]) -> list[str]:
    """The tags' names now for ``names`` a session holds (each once, in the order given): a name still a tag's
    stays, a renamed tag's former name becomes its name now, a deleted tag's is dropped.

    >>> current_names([Tag("b", ("d1",), 0.0, former=("a",)), Tag("c", ("d2",), 0.0)], ["a", "c", "gone", "b"])
    ['b', 'c']
    """
    now = {t.name: t.name for t in tags}
    was = {old: t.name for t in tags for old in t.former}  # a later tag's former name wins: the newest rename
    return list(dict.fromkeys(now.get(n) or was[n] for n in names if n in now or n in was))


def tagged_ids(tags: list[Tag], names: Iterable[str]) -> tuple[str, ...]:
    """The documents of the tags ``names`` (in tag order, each once): what the map stars.

    >>> tagged_ids([Tag("a", ("d1", "d2"), 0.0), Tag("b", ("d2", "d3"), 0.0)], ["b", "a"])
    ('d1', 'd2', 'd3')
    """
    wanted = set(names)
    return tuple(dict.fromkeys(d for t in tags if t.name in wanted for d in t.doc_ids))
