"""The Large corpus page's sample: the built-in documents recombined, written once into the cache, reused."""

from __future__ import annotations

import json

from core.access import is_under_roots
from core.corpus.stream import sample_corpus


def test_the_sample_corpus_is_written_once_under_the_cache_and_reused(product_home) -> None:
    path = sample_corpus(300, seed=1)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300 and all(json.loads(line)["text"].strip() for line in lines)
    assert is_under_roots(path)  # the page may open it: it lies in the cache, under the allowed folders
    stamp = path.stat().st_mtime_ns
    assert sample_corpus(300, seed=1) == path and path.stat().st_mtime_ns == stamp  # reused, not rewritten
