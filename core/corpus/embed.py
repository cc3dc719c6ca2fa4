"""Document embeddings with an on-disk cache, so a reopen recomputes nothing.

Corpus embeddings are cached as one ``.npy`` per (corpus content hash, encoder name,
max_tokens) under ``cache_dir("embeddings")`` and memory-mapped on load. Short texts (QA
pairs, reference sets, used by the bandit reward) are cached one vector per text, keyed by
``sha256(encoder name + max_tokens + text)``, in a sharded folder of ``.npy`` files.
All vectors are float32 with unit L2 norm, ``shape (n, d)``. Beside each corpus ``.npy`` a
``.json`` records which engine produced it (``{"engine": "local"}`` or ``"ray"`` with its
workers and time; see :mod:`core.engine`).

Every file is written under a temporary name and renamed into place (:func:`core.disk.write_atomic`),
so a full disk leaves the earlier cache files as they were and no half-written file under a cache
name; it raises :class:`~core.disk.DiskFullError` naming the cache, and the next call (space freed)
embeds and writes again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from core.corpus.encoders import Encoder
from core.corpus.load import Corpus
from core.disk import write_atomic
from core.settings import cache_dir

Progress = Callable[[int, int], None]


def _key(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode("utf-8", "replace") + b"\x00")
    return h.hexdigest()[:32]


def embedding_cache_path(content_hash: str, encoder_name: str, max_tokens: int) -> Path:
    """Cache file of the corpus with ``content_hash`` embedded by the encoder ``encoder_name``."""
    return cache_dir("embeddings") / f"{_key(content_hash, encoder_name, max_tokens)}.npy"


def corpus_embedding_path(corpus: Corpus, encoder: Encoder) -> Path:
    """Cache file of ``corpus`` embedded by ``encoder``."""
    return embedding_cache_path(corpus.content_hash, encoder.name, encoder.max_tokens)


def embedding_provenance(corpus: Corpus, encoder: Encoder) -> dict:
    """What produced the cached embeddings of ``corpus``: at least ``{"engine": ...}`` (``"local"`` when unrecorded)."""
    try:
        info = json.loads(corpus_embedding_path(corpus, encoder).with_suffix(".json").read_text())
    except (OSError, ValueError):
        info = {}
    return {"engine": "local", **(info if isinstance(info, dict) else {})}


def write_embedding_provenance(path: Path, info: dict) -> None:
    """Write the provenance ``.json`` beside the embedding file ``path`` (atomically)."""
    write_atomic(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(info, sort_keys=True)),
                 "the embedding cache could not record which engine made its vectors")


def _save_atomic(path: Path, arr: np.ndarray, what: str, place: str | Path = "") -> None:
    write_atomic(path, lambda tmp: np.save(tmp, arr), what, place)


def _check(vecs: np.ndarray, n: int, encoder: Encoder) -> NDArray[np.float32]:
    vecs = np.asarray(vecs, dtype=np.float32)
    if vecs.ndim != 2 or vecs.shape[0] != n:
        raise ValueError(f"encoder {encoder.name!r} returned shape {vecs.shape}, expected ({n}, d)")
    return vecs


def read_cached_embeddings(corpus: Corpus, encoder: Encoder, progress=None) -> NDArray[np.float32] | None:
    """The cached embeddings of ``corpus`` by ``encoder`` (memory-mapped, read-only), or None when there are none.

    A file of the wrong length or dtype counts as absent (it is rewritten by the next embedding). ``progress`` is
    told ``(n, n)`` on a hit, so a caller's bar completes.
    """
    n, path = len(corpus), corpus_embedding_path(corpus, encoder)
    if not path.exists():
        return None
    arr = np.load(path, mmap_mode="r")
    if arr.shape[0] != n or arr.dtype != np.float32:
        return None
    if progress is not None:
        progress(n, n)
    return arr


def embed_corpus(
    corpus: Corpus,
    encoder: Encoder,
    batch_size: int = 64,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> NDArray[np.float32]:
    """Embed every document of ``corpus``; ``shape (len(corpus), encoder.dim)`` float32, unit rows.

    Parameters
    ----------
    corpus : Corpus
    encoder : Encoder
    batch_size : int
        Texts per encoder call.
    progress : callable, optional
        ``progress(done, total)`` after each batch (also called once on a cache hit).
    use_cache : bool
        Read and write the on-disk cache (keyed by content hash + encoder name + max_tokens).
        A cached array is returned memory-mapped (read-only).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(corpus)
    path = corpus_embedding_path(corpus, encoder)
    cached = read_cached_embeddings(corpus, encoder, progress) if use_cache else None
    if cached is not None:
        return cached
    vecs = _check(encoder.encode(list(corpus.texts), batch_size=batch_size, progress=progress), n, encoder)
    if use_cache:
        _save_atomic(path, vecs, f"the embedding cache could not save the vectors of {n:,} documents "
                                 f"({Path(encoder.name).name})")
        write_embedding_provenance(path, {"engine": "local"})
    return vecs


def embed_texts(
    texts: Sequence[str],
    encoder: Encoder,
    batch_size: int = 64,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> NDArray[np.float32]:
    """Embed short texts with a per-text cache; ``shape (len(texts), encoder.dim)`` float32.

    Only texts missing from the cache are sent to the encoder (each distinct text once), so
    the bandit reward never re-encodes a QA pair or reference example it has seen.
    """
    texts = list(texts)
    dim = int(encoder.dim)
    out = np.empty((len(texts), dim), dtype=np.float32)
    root = cache_dir("text-embeddings")
    keys = [_key(encoder.name, encoder.max_tokens, t) for t in texts]
    missing: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        path = root / k[:2] / f"{k}.npy"
        if use_cache and path.exists():
            try:
                out[i] = np.load(path)
                continue
            except (OSError, ValueError):
                pass  # a broken cache file is recomputed
        missing.setdefault(k, []).append(i)
    if missing:
        first = [rows[0] for rows in missing.values()]
        vecs = _check(encoder.encode([texts[i] for i in first], batch_size=batch_size, progress=progress), len(first),
                      encoder)
        for (k, rows), v in zip(missing.items(), vecs):
            out[rows] = v
            if use_cache:
                folder = root / k[:2]
                folder.mkdir(exist_ok=True)
                _save_atomic(folder / f"{k}.npy", v, f"the text-embedding cache could not save the vectors of "
                                                     f"{len(missing):,} texts ({Path(encoder.name).name})", root)
    elif progress is not None:
        progress(len(texts), len(texts))
    return out
