"""Built-in corpus: real harvested text, size, determinism, cache, topics, evenly spread subsets."""

from __future__ import annotations

import inspect
import json
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
    harvests_on_reload: int
    reloaded: Corpus
    cache_exists: bool


@pytest.fixture(autouse=True)
def _no_setup_copy(tmp_path, monkeypatch):
    """No set-up copy of the corpus (make setup's) unless a test writes one: these tests harvest."""
    monkeypatch.setenv("EQUALCTAR_MODELS", str(tmp_path / "no-setup" / "models"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One cold build into a fresh home (cache written), then one reload from the cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EQUALCTAR_HOME", str(tmp_path_factory.mktemp("builtin-home")))
        mp.setenv("EQUALCTAR_MODELS", str(tmp_path_factory.mktemp("no-setup") / "models"))  # no set-up copy: harvest
        corpus = load_builtin_corpus()
        cache_exists = builtin_cache_path().exists()
        import core.corpus.builtin as builtin_mod

        harvests: list[int] = []  # the reload must come from the cache: a second harvest is the failure
        real = builtin_mod.harvest_builtin_corpus
        mp.setattr(builtin_mod, "harvest_builtin_corpus", lambda *a, **kw: harvests.append(1) or real(*a, **kw))
        reloaded = load_builtin_corpus()
    return Built(corpus, len(harvests), reloaded, cache_exists)


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


def test_cache_written_and_reload_reads_it_and_is_equal(built: Built) -> None:
    assert built.cache_exists
    assert built.reloaded == built.corpus
    assert built.harvests_on_reload == 0  # served from the cache, nothing harvested again


def test_broken_cache_is_rebuilt(built: Built, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path))
    builtin_cache_path().write_bytes(b"not parquet")
    assert load_builtin_corpus() == built.corpus


def test_a_fresh_home_reads_the_copy_made_at_setup_and_harvests_nothing(built: Built, tmp_path, monkeypatch) -> None:
    import core.corpus.builtin as builtin_mod

    monkeypatch.setenv("EQUALCTAR_MODELS", str(tmp_path / "venv" / "models"))
    builtin_mod.write_builtin_cache(built.corpus, builtin_mod.setup_builtin_path())  # what `prepare --setup` writes
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "fresh-home"))
    monkeypatch.setattr(builtin_mod, "harvest_builtin_corpus", lambda *a, **kw: pytest.fail("harvested again"))
    assert load_builtin_corpus() == built.corpus
    spread = built.corpus.subset(spread_indices(len(built.corpus), 300), name="builtin[300]")
    assert load_builtin_corpus(limit=300) == spread
    builtin_mod.setup_builtin_path().write_bytes(b"broken")  # a broken set-up copy is not trusted
    monkeypatch.setattr(builtin_mod, "harvest_builtin_corpus", lambda *a, **kw: built.corpus)
    assert load_builtin_corpus() == built.corpus and builtin_cache_path().exists()


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


def test_prepare_without_setup_harvests_into_this_homes_cache(tmp_path, monkeypatch, capsys):
    import core.corpus.builtin as builtin
    import core.corpus.project as project
    from core.corpus.__main__ import main

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(builtin, "setup_builtin_path", lambda max_words=200: tmp_path / "no-setup" / "b.parquet")
    monkeypatch.setattr(project, "umap_project", lambda *a, **k: None)  # compiling UMAP is not what this checks
    assert main(["prepare"]) == 0
    cached = builtin.builtin_cache_path()
    assert cached.is_file() and f"built-in corpus ready in {cached}" in capsys.readouterr().out
    assert len(builtin.load_builtin_corpus()) > 1000
