"""Map labels by zoom (core.corpus.labels): phrases reranked by the encoder, coarse groups, cached per map."""

from __future__ import annotations

import numpy as np

from core.corpus import labels as L
from core.corpus.encoders import HashingEncoder
from core.corpus.mapping import MapSettings, build_corpus_map
from tests.corpus._mapdata import topic_corpus


def test_the_encoder_reranks_the_candidates_towards_the_centroid():
    texts = ["open socket server port", "open socket client port", "parse date string format", "parse date time"]
    classes = np.array([0, 0, 1, 1])
    words = ["client port", "open socket", "port", "socket", "date", "date string", "parse date", "string"]

    def encode(phrases):  # one axis per phrase: a centroid on an axis names its phrase nearest
        return np.array([[1.0 if w == p else 0.0 for w in words] for p in phrases], dtype=np.float32)

    centroids = encode(["client port", "date string"])
    reranked = L.class_phrases(texts, classes, centroids, encode)
    plain = L.class_phrases(texts, classes, centroids, None)
    assert reranked[0].startswith("client port") and reranked[1].startswith("date string")
    assert reranked != plain  # without the encoder, c-TF-IDF's own order
    assert all(len(label) <= L.MAX_LABEL_CHARS for label in reranked + plain)


def test_labels_have_two_levels_phrases_and_sit_inside_their_clusters():
    corpus, topic = topic_corpus(240, seed=3)
    cmap = build_corpus_map(corpus, MapSettings(encoder_name="hashing-64", k=9, seed=0), encoder=HashingEncoder(64))
    calls = []

    def encode(phrases):
        calls.append(len(phrases))
        return HashingEncoder(64).encode(phrases)

    labels = L.map_labels(cmap, encode)
    fine = [lab for lab in labels if lab.level == 1]
    coarse = [lab for lab in labels if lab.level == 0]
    assert {lab.code for lab in fine} == set(np.unique(cmap.labels).tolist())  # one per non-empty cluster
    assert 2 <= len(coarse) <= 4  # about sqrt(9) groups
    assert sum(lab.size for lab in coarse) == sum(lab.size for lab in fine) == len(corpus)
    assert all("," in lab.text or " " in lab.text for lab in fine)  # two phrases, not one token
    for lab in fine:  # on a member of the cluster
        xy = cmap.xy[cmap.labels == lab.code]
        assert np.any((xy[:, 0] == np.float32(lab.x)) & (xy[:, 1] == np.float32(lab.y)))
    assert L.label_names(labels) == {lab.code: lab.text for lab in fine}
    # a group's label names its clusters (the map's legend hides it with them): together, every cluster once
    assert sorted(c for lab in coarse for c in lab.members) == sorted({lab.code for lab in fine})
    assert all(sum(lab.size for lab in fine if lab.code in g.members) == g.size for g in coarse)
    assert all(lab.members == () for lab in fine)
    n_calls = len(calls)
    assert L.map_labels(cmap, encode) is labels and len(calls) == n_calls  # cached per map: not computed again


def test_coarse_groups_and_degenerate_inputs():
    assert L.coarse_groups(np.zeros((1, 4), dtype=np.float32)).tolist() == [0]
    assert L.coarse_groups(np.eye(4, dtype=np.float32), 4).tolist() == [0, 1, 2, 3]
    assert L.phrase_candidates(["the a of", "and or"], np.array([0, 1]), 2) == [[], []]  # stop words only


def test_a_coarse_group_of_a_large_index_never_names_one_word_twice():
    xy = np.array([[0, 0], [0.1, 0], [5, 5], [5.1, 5], [9, 0], [9.1, 0], [0, 9], [0.1, 9]], dtype=np.float32)
    clusters = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    centroids = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]], dtype=np.float32)  # groups {0, 1}, {2, 3}
    keywords = ["apple, banana", "apple, fruit", "car, engine", "wheel, car"]
    coarse = sorted((lab.text, lab.members) for lab in L.keyword_labels(xy, clusters, keywords, centroids)
                    if lab.level == 0)
    assert coarse == [("apple, banana", (0, 1)), ("car, wheel", (2, 3))]


def test_two_clusters_of_the_same_words_get_two_labels_the_larger_keeps_its_own():
    """Two clusters of one kind of document (the built-in corpus's clusters 2 and 30, both "n_samples n_features,
    sparse matrix") read as one cluster on the map, where only the label names a cluster."""
    texts = (["sparse matrix rows columns csr format"] * 5 + ["parse date string time zone"] * 2)
    classes = np.array([0, 0, 0, 1, 1, 2, 2])
    names = L.class_phrases(texts, classes, np.eye(3, dtype=np.float32), None)
    assert len(set(names)) == 3, names
    alone = L.class_phrases(texts[:3], classes[:3], np.eye(1, dtype=np.float32), None)
    assert names[0] == alone[0]  # the larger cluster keeps the label it has alone
