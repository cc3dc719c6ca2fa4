"""A persistent, thread-safe cache of LLM extractions, so no document is ever paid for twice.

Key: ``sha256(model \\x00 prompt_version \\x00 document text)`` -- the document's *content*,
not its id, so the same text under another id (a duplicate in the corpus, a re-loaded file)
is served from the cache. The endpoint URL is not part of the key: the same model behind
another server gives the same answers. The API key is never stored.

Storage: one SQLite file (default ``cache_dir("extractions") / "extractions.sqlite"``), WAL
journal, one connection shared under a lock (``check_same_thread=False``), so worker threads
of one extractor and several processes (the app and a CLI run) can use it together.
Failed extractions are not cached; an empty result ("this document holds no pairs") is.
A write the disk refuses raises :class:`~core.disk.DiskFullError` and is rolled back (no lock is
left held on the file for the other processes); the extractor logs it and keeps its results.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.disk import naming_disk_full

__all__ = ["CachedExtraction", "ExtractionCache", "content_key"]

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
