"""Saved selections ("tags"): a name for a set of documents of one corpus, kept across sessions.

A researcher selects documents on the map (a box, a lasso, a search), names the selection, and
comes back to it: tags show on the map, export together, and can start a bandit run (their
documents' question-answer pairs become the reference task; see
:func:`core.equal.reference.reference_from_documents`).

Tags belong to the corpus they were made on (its content hash): one JSON file per corpus under
``cache_dir("tags")``, written to a temporary name and renamed (:func:`core.disk.write_atomic`),
so a crash or a full disk never leaves half a file; every visitor of a shared server sees the
same tags (SECURITY.md: no per-user isolation). A save or a delete reads, changes and writes the file
under an exclusive lock (``<corpus_hash>.json.lock``, ``flock``), so two sessions (threads of one
server, or two servers) saving at once each keep their tag.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from core.disk import write_atomic
from core.settings import cache_dir

__all__ = ["MAX_NAME", "Tag", "TagError", "TagStore", "tag_membership", "tag_names", "tagged_ids"]

MAX_NAME = 60


class TagError(ValueError):
    """A tag that cannot be saved (no name, no documents, ids outside the corpus); the message says which."""


@dataclass(frozen=True)
class Tag:
    name: str
    doc_ids: tuple[str, ...]
    created: float


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
            return [Tag(str(t["name"]), tuple(map(str, t["doc_ids"])), float(t["created"])) for t in raw]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def get(self, name: str) -> Tag | None:
        return next((t for t in self.tags() if t.name == name), None)

    def save(self, name: str, doc_ids: Iterable[str], known: Iterable[str] | None = None,
             replace: bool = True) -> Tag:
        """Save (or, with ``replace``, replace) the tag ``name`` with ``doc_ids`` (deduplicated, in order); ``known``
        (the corpus's ids) refuses ids from elsewhere. Raises :class:`TagError` naming what is wrong, and a name
        already taken when not ``replace`` (the page: a second "dates" must not silently drop the first)."""
        name = " ".join(str(name).split())
        if not name:
            raise TagError("a tag needs a name")
        if len(name) > MAX_NAME:
            raise TagError(f"a tag's name has at most {MAX_NAME} characters, got {len(name)}")
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
                raise TagError(f"a tag named “{name}” already exists ({len(taken.doc_ids):,} documents): choose "
                               "another name, or delete that tag first")
            self._write([t for t in self.tags() if t.name != name] + [tag])
        return tag

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


def tagged_ids(tags: list[Tag], names: Iterable[str]) -> tuple[str, ...]:
    """The documents of the tags ``names`` (in tag order, each once): what the map stars.

    >>> tagged_ids([Tag("a", ("d1", "d2"), 0.0), Tag("b", ("d2", "d3"), 0.0)], ["b", "a"])
    ('d1', 'd2', 'd3')
    """
    wanted = set(names)
    return tuple(dict.fromkeys(d for t in tags if t.name in wanted for d in t.doc_ids))
