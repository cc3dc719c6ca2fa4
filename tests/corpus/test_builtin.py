"""Built-in corpus: real harvested text, size, determinism, cache, topics, evenly spread subsets."""

from __future__ import annotations

import inspect
import json
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from core.corpus.builtin import (
    builtin_cache_path,
    builtin_topic,
    harvest_builtin_corpus,
    load_builtin_corpus,
    spread_indices,
)
from core.corpus.load import Corpus


@dataclass
class Built:
    corpus: Corpus
    build_s: float
    reloaded: Corpus
    reload_s: float
    cache_exists: bool


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One cold build into a fresh home (cache written), then one reload from the cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EQUALCTAR_HOME", str(tmp_path_factory.mktemp("builtin-home")))
        t0 = time.perf_counter()
        corpus = load_builtin_corpus()
        build_s = time.perf_counter() - t0
        cache_exists = builtin_cache_path().exists()
        t0 = time.perf_counter()
        reloaded = load_builtin_corpus()
        reload_s = time.perf_counter() - t0
    return Built(corpus, build_s, reloaded, reload_s, cache_exists)


def test_size_order_and_invariants(built: Built) -> None:
    c = built.corpus
    assert len(c) >= 3000
    assert c.name == "builtin"
    assert list(c.ids) == sorted(c.ids)
    assert len(set(c.ids)) == len(c)
    assert len(set(c.texts)) == len(c)  # no exact duplicates
    assert all(t.strip() for t in c.texts)
    assert max(len(t.split()) for t in c.texts) <= 200


def test_texts_are_the_real_docstrings(built: Built) -> None:
    by_id = dict(zip(built.corpus.ids, built.corpus.texts))
    expected = inspect.cleandoc(json.dumps.__doc__)
    first = by_id.get("json.dumps") or by_id["json.dumps#0"]
    assert expected.startswith(first)
    assert any(i.startswith("pydoc_data.topics:") for i in by_id)
    src = dict(zip(built.corpus.ids, built.corpus.sources))
    assert src.get("json.dumps", src.get("json.dumps#0")) == "json"


def test_denylisted_and_private_modules_are_absent(built: Built) -> None:
    tops = {builtin_topic(s) for s in built.corpus.sources}
    assert not tops & {"antigravity", "this", "tkinter", "turtle", "idlelib", "lib2to3", "torch", "transformers"}
    assert not any(s.startswith("_") or "._" in s for s in built.corpus.sources)


def test_topics_cover_strings_dates_networking_arrays(built: Built) -> None:
    counts = Counter(builtin_topic(s) for s in built.corpus.sources)
    for topic in ("json", "datetime", "socket", "os", "re", "pydoc_data"):
        assert counts[topic] > 0, topic
    pytest.importorskip("numpy")
    assert counts["numpy"] >= 100
    assert len(counts) >= 50


def test_deterministic_rebuild(built: Built) -> None:
    assert harvest_builtin_corpus() == built.corpus


def test_cache_written_and_reload_is_fast_and_equal(built: Built) -> None:
    assert built.cache_exists
    assert built.reloaded == built.corpus
    assert built.reload_s < 1.0, f"cached reload took {built.reload_s:.2f}s"
    assert built.reload_s < built.build_s


def test_broken_cache_is_rebuilt(built: Built, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path))
    builtin_cache_path().write_bytes(b"not parquet")
    assert load_builtin_corpus() == built.corpus


def test_limit_gives_an_even_deterministic_spread(built: Built, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path))
    full = built.corpus
    limit = 400
    sub = load_builtin_corpus(limit=limit)
    assert len(sub) == limit and sub == load_builtin_corpus(limit=limit)
    assert set(sub.ids) <= set(full.ids) and list(sub.ids) == sorted(sub.ids)
    # every topic with at least two sampling steps of documents is represented
    step = len(full) / limit
    counts = Counter(builtin_topic(s) for s in full.sources)
    sub_topics = {builtin_topic(s) for s in sub.sources}
    assert {t for t, n in counts.items() if n >= 2 * step} <= sub_topics
    assert load_builtin_corpus(limit=10 * len(full)) == full
    with pytest.raises(ValueError, match="limit"):
        load_builtin_corpus(limit=0)


def test_spread_indices() -> None:
    idx = spread_indices(1000, 7)
    assert len(idx) == 7 and idx[0] == 0 and idx == sorted(set(idx))
    assert max(b - a for a, b in zip(idx, idx[1:])) <= 1000 // 7 + 1
    assert spread_indices(5, 10) == [0, 1, 2, 3, 4]


def test_builtin_topic() -> None:
    assert builtin_topic("xml.etree.ElementTree") == "xml"
    assert builtin_topic("pydoc_data.topics") == "pydoc_data"
    assert builtin_topic("numpy") == "numpy"
