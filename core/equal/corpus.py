"""Corpus ingestion: files in, a clean :class:`Corpus` plus a :class:`LoadReport` out.

(Contract written first; the loaders are filled in by the corpus work.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Corpus:
    """Documents in a fixed order. ``ids[i]`` names ``texts[i]``; ``sources[i]`` says where it came from
    (file name and line, or module path for the built-in corpus)."""

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    sources: tuple[str, ...]
    name: str = "corpus"

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.texts) == len(self.sources)):
            raise ValueError("ids, texts and sources must have the same length")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def content_hash(self) -> str:
        """sha256 over ids and texts, the cache key of everything computed from this corpus."""
        h = hashlib.sha256()
        for i, t in zip(self.ids, self.texts):
            h.update(i.encode("utf-8", "replace") + b"\x00" + t.encode("utf-8", "replace") + b"\x01")
        return h.hexdigest()


@dataclass
class LoadReport:
    """What happened to every input record. ``issues`` rows: (kind, location, detail)."""

    source: str
    n_read: int = 0
    n_loaded: int = 0
    issues: list[tuple[str, str, str]] = field(default_factory=list)
