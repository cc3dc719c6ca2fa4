"""Small planted-topic corpora and blobs shared by the corpus-map tests (seeded)."""

from __future__ import annotations

import numpy as np

from core.corpus.load import Corpus

TOPICS = [
    ["file", "path", "open", "read", "write", "directory", "folder", "bytes"],
    ["date", "time", "timezone", "calendar", "day", "month", "year", "clock"],
    ["array", "numpy", "shape", "dtype", "axis", "matrix", "vector", "broadcast"],
    ["socket", "network", "host", "port", "server", "client", "connect", "request"],
]


def topic_corpus(n: int = 200, seed: int = 0, topics: int = 4) -> tuple[Corpus, np.ndarray]:
    """``n`` documents of 12 words drawn from one of ``topics`` vocabularies; returns (corpus, true topic)."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % topics
    texts = tuple(" ".join(rng.choice(TOPICS[t], 12)) + f" note{i}" for i, t in enumerate(truth))
    return Corpus(ids=tuple(f"doc{i}" for i in range(n)), texts=texts,
                  sources=tuple(f"t.jsonl:{i + 1}" for i in range(n)), name="topics"), truth


def blobs(n: int = 400, k: int = 5, d: int = 32, spread: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around ``k`` random unit centres; returns (x (n, d) float32, labels (n,))."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, k, n)
    x = centres[labels] + spread * rng.normal(size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels


REPEATED_TEXTS = ["The cat sat on the mat and looked out at the rainy garden all afternoon",
                  "Stock markets fell sharply after the central bank raised its interest rates again",
                  "Photosynthesis converts light into chemical energy stored in the sugars of plants"]


def repeats(copies: int = 50) -> list[str]:
    """``copies`` variants of each text that differ only in spacing and case: distinct texts (a load keeps them
    all), one embedding each (the hashing encoder reads lower-cased words)."""
    out = []
    for i in range(copies):
        for text in REPEATED_TEXTS:
            words = text.split()
            gap = i % (len(words) - 1)
            spaced = " ".join(words[: gap + 1]) + " " * (2 + i // (len(words) - 1)) + " ".join(words[gap + 1:])
            out.append(spaced.upper() if i % 2 else spaced)
    return out
