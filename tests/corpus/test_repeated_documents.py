"""A corpus of repeats (50 copies of three texts) once kept empty k-means clusters: the Corpus map said "12 clusters"
with three holding documents, and the bandit got arms of no document. k is now lowered to the distinct documents."""

from __future__ import annotations

import json

import numpy as np

from core.corpus.cluster import kmeans
from core.corpus.encoders import HashingEncoder
from core.corpus.load import Corpus
from core.corpus.mapping import MapSettings, build_corpus_map, load_corpus_map
from core.corpus.stream import LargeIndexConfig, index_large_corpus
from core.equal.space import ArmSpace
from tests.corpus._mapdata import repeats


def test_kmeans_keeps_no_empty_cluster_and_says_k_was_lowered():
    x = np.repeat(np.eye(3, 8, dtype=np.float32), 50, axis=0)
    km = kmeans(x, 12, seed=0)
    assert km.k == 3 and km.sizes.tolist() == [50, 50, 50] and sorted(set(km.labels.tolist())) == [0, 1, 2]
    assert km.centroids.shape == (3, 8) and km.inertia == 0.0
    assert km.k_note().startswith("k lowered to 3: only 3 distinct documents")
    assert kmeans(np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32), 12).k_note() == ""


def test_the_map_of_repeats_has_three_clusters_and_every_arm_documents(product_home):
    texts = repeats()
    corpus = Corpus(ids=tuple(f"d{i}" for i in range(len(texts))), texts=tuple(texts),
                    sources=tuple("x" for _ in texts), name="repeats")
    assert len(set(texts)) == 150
    settings = MapSettings(encoder_name="hashing-32", k=12, seed=0)
    cmap = build_corpus_map(corpus, settings, encoder=HashingEncoder(32))
    assert cmap.k == 3 and cmap.clusters["size"].tolist() == [50, 50, 50]
    assert cmap.w2.shape == (3, 3) and cmap.neighbours.shape == (3, 3) and int(cmap.labels.max()) == 2
    assert cmap.k_note.startswith("k lowered to 3: only 3 distinct documents")
    again = load_corpus_map(corpus, settings)  # the note is kept with the map
    assert again is not None and again.k == 3 and again.k_note == cmap.k_note
    space = ArmSpace.from_corpus_map(cmap)  # the bandit: an arm per cluster, none without a document
    assert space.k == 3 and np.bincount(np.asarray(space.labels), minlength=space.k).min() == 50


def test_a_large_index_of_repeats_drops_its_empty_clusters(tmp_path):
    path = tmp_path / "repeats.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in repeats()))
    lmap = index_large_corpus(path, LargeIndexConfig(encoder_name="hashing-32", k=12, layout_sample=100,
                                                     align_docs=0), encoder=HashingEncoder(32))
    assert lmap.meta["k"] == len(lmap.centroids) == len(lmap.clusters) <= 3
    assert (lmap.clusters["size"] > 0).all() and set(np.unique(lmap.labels)) == set(range(lmap.meta["k"]))
    assert lmap.meta["k_note"].startswith(f"k lowered to {lmap.meta['k']}: ")
