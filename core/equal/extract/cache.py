"""A persistent, thread-safe cache of LLM extractions, so no document is ever paid for twice.

Key: ``sha256(model \\x00 prompt_version \\x00 document text)`` -- the document's *content*,
not its id, so the same text under another id (a duplicate in the corpus, a re-loaded file)
is served from the cache. The endpoint URL is not part of the key: the same model behind
another server gives the same answers. The API key is never stored.

Storage: one SQLite file (default ``cache_dir("extractions") / "extractions.sqlite"``), WAL
journal, one connection shared under a lock (``check_same_thread=False``), so worker threads
of one extractor and several processes (the app and a CLI run) can use it together.
Failed extractions are not cached; an empty result ("this document holds no pairs") is.
:class:`CachedExtractor` gives an extractor without a cache of its own (the rule-based one) the same
file, keyed by its ``version``, so a command line run replays what an earlier one extracted.
A write the disk refuses raises :class:`~core.disk.DiskFullError` and is rolled back (no lock is
left held on the file for the other processes); the extractor logs it and keeps its results.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.disk import DiskFullError, naming_disk_full
from core.equal.extract.base import ExtractionResult, QAPair

__all__ = ["CachedExtraction", "CachedExtractor", "ExtractionCache", "content_key", "kept_on_disk"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS extractions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    pairs TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost REAL NOT NULL,
    created REAL NOT NULL
)
"""


def content_key(text: str, model: str, prompt_version: str) -> str:
    """Cache key of one document: sha256 over model, prompt version and the text (hex)."""
    h = hashlib.sha256()
    for part in (model, prompt_version, text):
        h.update(part.encode("utf-8", "replace") + b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class CachedExtraction:
    """What one paid extraction produced: ``(question, answer)`` pairs and what it cost then."""

    pairs: tuple[tuple[str, str], ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class ExtractionCache:
    """SQLite cache of extraction results keyed by :func:`content_key`.

    Parameters
    ----------
    path : str or Path, optional
        Database file; default ``core.settings.cache_dir("extractions") / "extractions.sqlite"``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            from core.settings import cache_dir

            path = cache_dir("extractions") / "extractions.sqlite"
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)
            self._conn.commit()

    def __repr__(self) -> str:
        return f"ExtractionCache(path={str(self.path)!r})"

    def get(self, key: str) -> CachedExtraction | None:
        """The cached extraction for ``key``, or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT pairs, prompt_tokens, completion_tokens, cost FROM extractions WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        pairs = tuple((str(q), str(a)) for q, a in json.loads(row[0]))
        return CachedExtraction(pairs, int(row[1]), int(row[2]), float(row[3]))

    def put(
        self,
        key: str,
        entry: CachedExtraction,
        model: str = "",
        prompt_version: str = "",
    ) -> None:
        """Store (or replace) the extraction for ``key``."""
        payload = json.dumps([[q, a] for q, a in entry.pairs], ensure_ascii=False)
        with self._lock, naming_disk_full("the extraction cache could not save an extraction", self.path):
            try:
                self._conn.execute(
                    "INSERT OR REPLACE INTO extractions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, model, prompt_version, payload, int(entry.prompt_tokens),
                     int(entry.completion_tokens), float(entry.cost), time.time()),
                )
                self._conn.commit()
            except sqlite3.Error:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM extractions WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM extractions").fetchone()[0])

    def clear(self) -> None:
        """Forget every cached extraction."""
        with self._lock:
            self._conn.execute("DELETE FROM extractions")
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CachedExtractor:
    """An extractor whose results are kept in an :class:`ExtractionCache`, so another process replays them.

    Keyed by :func:`content_key` over ``(inner.name, version, text)``: ``version`` names everything the result
    depends on besides the text (:attr:`RuleExtractor.version <core.equal.extract.rules.RuleExtractor.version>`:
    the rules' source and limits). A document served from the cache costs no call (``cached`` counts it);
    a failed one is not cached; a cache the disk refuses is skipped, the results are kept.

    >>> import tempfile
    >>> from core.equal.extract.rules import RuleExtractor
    >>> rules = RuleExtractor()
    >>> kept = CachedExtractor(rules, rules.version, ExtractionCache(tempfile.mkdtemp() + "/x.sqlite"))
    >>> doc = ("faq", "Q: What is 2+2?\\nA: 4.")
    >>> kept.is_cached(doc[1]), kept.extract([doc]).calls, kept.is_cached(doc[1]), kept.extract([doc]).cached
    (False, 1, True, 1)
    """

    def __init__(self, inner: Any, version: str, cache: ExtractionCache | None = None) -> None:
        self.inner, self.version, self.name = inner, str(version), str(inner.name)
        self.cache = cache if cache is not None else ExtractionCache()

    def __repr__(self) -> str:
        return f"CachedExtractor({self.inner!r}, cache={self.cache!r})"

    def _key(self, text: str) -> str:
        return content_key(text, self.name, self.version)

    def is_cached(self, text: str) -> bool:
        """Whether ``text``'s pairs are in the cache (extracting it again costs no call)."""
        return isinstance(text, str) and self._key(text) in self.cache

    def extract(self, docs: Sequence[tuple[str, str]]) -> ExtractionResult:
        """The pairs of ``docs`` (``[(doc_id, text)]``), in document order: from the cache where it has them,
        else from the inner extractor, whose successes are cached."""
        by_doc: dict[str, list[QAPair]] = {}
        todo = []
        result = ExtractionResult()
        for doc_id, text in docs:
            hit = self.cache.get(self._key(text)) if isinstance(text, str) else None
            if hit is None:
                todo.append((doc_id, text))
            else:
                result.cached += 1
                by_doc[str(doc_id)] = [QAPair(q, a, str(doc_id), self.name) for q, a in hit.pairs]
        if todo:
            fresh = self.inner.extract(todo)
            for pair in fresh.pairs:
                by_doc.setdefault(pair.doc_id, []).append(pair)
            self._keep(todo, fresh, by_doc)
            result.calls, result.errors = fresh.calls, list(fresh.errors)
        result.pairs = [p for doc_id, _ in docs for p in by_doc.pop(str(doc_id), [])]
        return result

    def _keep(self, todo: list, fresh: ExtractionResult, by_doc: dict[str, list[QAPair]]) -> None:
        failed = {str(d) for d, _ in fresh.errors}
        try:
            for doc_id, text in todo:
                if str(doc_id) not in failed and isinstance(text, str):
                    pairs = tuple((p.question, p.answer) for p in by_doc.get(str(doc_id), []))
                    self.cache.put(self._key(text), CachedExtraction(pairs), self.name, self.version)
        except DiskFullError:
            pass  # the results stand; the next run extracts these documents again


def kept_on_disk(extractor: Any) -> Any:
    """``extractor`` with its results kept between processes: an extractor with its own on-disk cache (an LLM's
    ``is_cached``) as it is, one with a ``version`` (the rule-based one) in a :class:`CachedExtractor`."""
    if callable(getattr(extractor, "is_cached", None)) or not getattr(extractor, "version", None):
        return extractor
    return CachedExtractor(extractor, extractor.version)
