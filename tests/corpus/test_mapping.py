from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import core.corpus.mapping as mapping
from core.corpus.encoders import HashingEncoder
from core.corpus.mapping import MapSettings, build_corpus_map, load_corpus_map, map_cache_path
from tests.corpus._mapdata import topic_corpus


class CountingEncoder(HashingEncoder):
    calls = 0

    def encode(self, texts, batch_size=64, progress=None):
        CountingEncoder.calls += 1
        return super().encode(texts, batch_size, progress)


@pytest.fixture(scope="module")
def built():
    corpus, truth = topic_corpus(240, seed=4)
    settings = MapSettings(encoder_name="hashing-128", k=4, seed=1)
    stages = []
    cmap = build_corpus_map(corpus, settings, encoder=HashingEncoder(128), progress=lambda s, f: stages.append((s, f)))
    return corpus, truth, settings, cmap, stages


def test_map_shapes_topics_and_progress(built):
    corpus, truth, settings, cmap, stages = built
    n = len(corpus)
    assert cmap.embeddings.shape == (n, 128) and cmap.labels.shape == (n,) and cmap.xy.shape == (n, 2)
    assert cmap.labels.dtype == np.int64 and cmap.centroids.shape == (4, 128)
    assert cmap.w2.shape == (4, 4) and cmap.neighbours.dtype == bool
    assert adjusted_rand_score(truth, cmap.labels) > 0.9
    assert list(cmap.clusters.columns) == ["cluster", "size", "keywords", "representatives"]
    assert cmap.clusters["size"].sum() == n
    for _, row in cmap.clusters.iterrows():
        members = {corpus.ids[i] for i in np.flatnonzero(cmap.labels == row["cluster"])}
        assert set(row["representatives"]) <= members and len(row["representatives"]) == 3
    assert [s for s, _ in stages if _ == 1.0][-4:] == ["embed", "cluster", "project", "keywords"]
    frame = cmap.documents_frame()
    assert list(frame.columns) == ["doc_id", "text", "source", "cluster", "x", "y"] and len(frame) == n


def test_search_ranks_topic_documents_first(built):
    corpus, truth, _, cmap, _ = built
    hits = cmap.search("numpy array shape dtype axis", HashingEncoder(128), top_n=10)
    assert list(hits.columns) == ["doc_id", "score", "cluster"] and len(hits) == 10
    assert hits["score"].is_monotonic_decreasing
    topic = {corpus.ids[i]: t for i, t in enumerate(truth)}
    assert all(topic[d] == 2 for d in hits["doc_id"])
    with pytest.raises(ValueError, match="empty"):
        cmap.search("  ", HashingEncoder(128))


def test_reopen_recomputes_nothing(built, monkeypatch):
    corpus, _, settings, cmap, _ = built
    assert (map_cache_path(corpus, settings) / "done").exists()

    def boom(*a, **k):
        raise AssertionError("recomputed on reopen")

    for name in ("embed_corpus", "kmeans", "umap_project", "cluster_keywords"):
        monkeypatch.setattr(mapping, name, boom)
    CountingEncoder.calls = 0
    again = build_corpus_map(corpus, settings, encoder=CountingEncoder(128))
    assert CountingEncoder.calls == 0
    np.testing.assert_array_equal(again.labels, cmap.labels)
    np.testing.assert_array_equal(again.xy, cmap.xy)
    assert again.clusters["representatives"].tolist() == cmap.clusters["representatives"].tolist()
    assert again.clusters["keywords"].tolist() == cmap.clusters["keywords"].tolist()


def test_cache_key_includes_settings(built):
    corpus, _, settings, _, _ = built
    assert load_corpus_map(corpus, dataclasses.replace(settings, k=5)) is None
    assert load_corpus_map(corpus, dataclasses.replace(settings, umap_min_dist=0.3)) is None


def test_settings_and_k_validation():
    with pytest.raises(ValueError, match="umap_min_dist"):
        MapSettings(umap_min_dist=1.5)
    with pytest.raises(ValueError, match="k must"):
        MapSettings(k=0)
    corpus, _ = topic_corpus(5)
    with pytest.raises(ValueError, match="k=6"):
        build_corpus_map(corpus, MapSettings(encoder_name="hashing-16", k=6), encoder=HashingEncoder(16))


def test_a_map_built_at_setup_is_read_by_a_fresh_home_and_the_page_asks_for_its_settings(tmp_path, monkeypatch):
    from core.corpus.mapping import default_map_settings, save_corpus_map, setup_maps_dir
    from pages.common import default_k

    assert all(default_map_settings("x", n).k == default_k(n) for n in (1, 3, 50, 3000, 11_357, 200_000))
    corpus, _ = topic_corpus(60, seed=4)
    settings = default_map_settings("hashing-32", len(corpus))
    monkeypatch.setenv("EQUALCTAR_MODELS", str(tmp_path / "venv" / "models"))
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "setup-home"))
    built = build_corpus_map(corpus, settings, encoder=HashingEncoder(32), use_cache=False)
    assert save_corpus_map(built, root=setup_maps_dir()).parent == tmp_path / "venv" / "maps"
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "fresh-home"))
    again = load_corpus_map(corpus, settings)
    assert again is not None and np.array_equal(again.xy, built.xy) and np.array_equal(again.labels, built.labels)
    assert load_corpus_map(corpus, dataclasses.replace(settings, seed=1)) is None  # other settings: built as before
