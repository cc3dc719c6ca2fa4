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
file, keyed by its ``version``, so a command line run, the Tuning lab and the Bandit page's baselines
replay what an earlier process extracted. Both extractors read and write through a :class:`KeyedCache`
(their keys, and reads and writes that never fail a batch). A write the disk refuses raises
:class:`~core.disk.DiskFullError` and is rolled back (no lock is left held on the file for the other
processes); the extractor logs it and keeps its results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.disk import naming_disk_full
from core.equal.extract.base import ExtractionResult, QAPair

__all__ = ["CachedExtraction", "CachedExtractor", "ExtractionCache", "KeyedCache", "content_key", "kept_on_disk"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

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
        self.put_many([(key, entry)], model, prompt_version)

    def put_many(self, entries: Sequence[tuple[str, CachedExtraction]], model: str = "",
                 prompt_version: str = "") -> None:
        """Store (or replace) ``[(key, extraction)]`` in one transaction: all of them or, refused, none."""
        now = time.time()
        rows = [(key, model, prompt_version, json.dumps([[q, a] for q, a in entry.pairs], ensure_ascii=False),
                 int(entry.prompt_tokens), int(entry.completion_tokens), float(entry.cost), now)
                for key, entry in entries]
        with self._lock, naming_disk_full("the extraction cache could not save an extraction", self.path):
            try:
                self._conn.executemany("INSERT OR REPLACE INTO extractions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
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


@dataclass(frozen=True)
class KeyedCache:
    """One extractor's entries in an :class:`ExtractionCache`: its keys (:func:`content_key` over ``model``,
    ``version`` and the text) and reads and writes that never fail a batch: a cache that cannot be read is a
    miss (it costs a call, never the batch), one that cannot be written (a full disk) is logged and the results
    are kept. ``cache=None``: caching is off (every read misses, writes are dropped).

    Both extractors that keep their results on disk read and write through one of these: the endpoint extractor
    (:class:`~core.equal.extract.openai_compat.OpenAIChatExtractor`, each answer as it lands) and
    :class:`CachedExtractor` (the rule-based one, a batch at a time).

    >>> import tempfile
    >>> kept = KeyedCache(ExtractionCache(tempfile.mkdtemp() + "/x.sqlite"), "rules", "v1")
    >>> kept.put([(kept.key("Q: 2+2?\\nA: 4."), CachedExtraction((("2+2?", "4."),)))])
    >>> kept.has("Q: 2+2?\\nA: 4."), KeyedCache(kept.cache, "rules", "v2").has("Q: 2+2?\\nA: 4.")
    (True, False)
    """

    cache: ExtractionCache | None
    model: str
    version: str

    def key(self, text: str) -> str:
        return content_key(text, self.model, self.version)

    def get(self, key: str) -> CachedExtraction | None:
        """The extraction kept under ``key``, or ``None`` (not kept, or the cache cannot be read)."""
        return self._read(lambda cache: cache.get(key), None)

    def has(self, text: str) -> bool:
        """Whether ``text``'s extraction is kept (extracting it again costs no call; not read, so a page can ask
        this of every document at each rerun: ~0.1 s for the 11,357 built-in ones)."""
        return self._read(lambda cache: self.key(text) in cache, False)

    def _read(self, read: Callable[[ExtractionCache], _T], missing: _T) -> _T:
        if self.cache is None:
            return missing
        try:
            return read(self.cache)
        except Exception as exc:
            logger.warning("extraction cache unreadable (%s); treating as a miss", type(exc).__name__)
            return missing

    def put(self, entries: Sequence[tuple[str, CachedExtraction]]) -> None:
        """Keep ``[(key, extraction)]`` (one transaction); a cache that cannot be written is logged, nothing raised."""
        if self.cache is None or not entries:
            return
        try:
            self.cache.put_many(entries, self.model, self.version)
        except Exception as exc:
            logger.warning("could not write the extraction cache (%s); results kept", type(exc).__name__)


class CachedExtractor:
    """An extractor whose results are kept in an :class:`ExtractionCache`, so another process replays them.

    Keyed by :func:`content_key` over ``(inner.name, version, text)`` (a :class:`KeyedCache`): ``version`` names
    everything the result depends on besides the text
    (:attr:`RuleExtractor.version <core.equal.extract.rules.RuleExtractor.version>`: the rules' source and limits).
    A document served from the cache costs no call (``cached`` counts it); a failed one is not cached; a batch's
    results are kept in one transaction, and a cache the disk refuses is skipped, the results are kept.

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
        self.kept = KeyedCache(self.cache, self.name, self.version)

    def __repr__(self) -> str:
        return f"CachedExtractor({self.inner!r}, cache={self.cache!r})"

    def is_cached(self, text: str) -> bool:
        """Whether ``text``'s pairs are in the cache (extracting it again costs no call)."""
        return isinstance(text, str) and self.kept.has(text)

    def extract(self, docs: Sequence[tuple[str, str]]) -> ExtractionResult:
        """The pairs of ``docs`` (``[(doc_id, text)]``), in document order: from the cache where it has them,
        else from the inner extractor, whose successes are cached."""
        by_doc: dict[str, list[QAPair]] = {}
        todo = []
        result = ExtractionResult()
        for doc_id, text in docs:
            hit = self.kept.get(self.kept.key(text)) if isinstance(text, str) else None
            if hit is None:
                todo.append((doc_id, text))
            else:
                result.cached += 1
                by_doc[str(doc_id)] = [QAPair(q, a, str(doc_id), self.name) for q, a in hit.pairs]
        if todo:
            fresh = self.inner.extract(todo)
            for pair in fresh.pairs:
                by_doc.setdefault(pair.doc_id, []).append(pair)
            failed = fresh.failed_ids
            done = [(doc_id, text) for doc_id, text in todo if str(doc_id) not in failed and isinstance(text, str)]
            self.kept.put([(self.kept.key(text), _as_entry(by_doc.get(str(doc_id), []))) for doc_id, text in done])
            result.calls, result.errors = fresh.calls, list(fresh.errors)
        result.pairs = [p for doc_id, _ in docs for p in by_doc.pop(str(doc_id), [])]
        return result


def _as_entry(pairs: Sequence[QAPair]) -> CachedExtraction:
    return CachedExtraction(tuple((p.question, p.answer) for p in pairs))


def kept_on_disk(extractor: Any) -> Any:
    """``extractor`` with its results kept between processes: an extractor with its own on-disk cache (an LLM's
    ``is_cached``) as it is, one with a ``version`` (the rule-based one) in a :class:`CachedExtractor`."""
    if callable(getattr(extractor, "is_cached", None)) or not getattr(extractor, "version", None):
        return extractor
    return CachedExtractor(extractor, extractor.version)
