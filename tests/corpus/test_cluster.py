from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from core.corpus.cluster import (
    cluster_keywords,
    cluster_w2_distances,
    inertia_curve,
    kmeans,
    neighbour_graph,
    representatives,
    suggest_k,
)
from tests.corpus._mapdata import blobs


def test_kmeans_recovers_planted_clusters_and_reports_full_inertia():
    x, truth = blobs(400, k=5, seed=3)
    res = kmeans(x, 5, seed=42)
    assert res.labels.shape == (400,) and res.centroids.shape == (5, 32)
    assert adjusted_rand_score(truth, res.labels) > 0.9
    direct = ((x - res.centroids[res.labels]) ** 2).sum()
    assert res.inertia == pytest.approx(direct, rel=1e-4)
    assert res.sizes.sum() == 400 and (res.sizes == np.bincount(res.labels, minlength=5)).all()


def test_kmeans_is_seeded_and_validates_k():
    x, _ = blobs(100, k=3, seed=1)
    np.testing.assert_array_equal(kmeans(x, 3, seed=7).labels, kmeans(x, 3, seed=7).labels)
    with pytest.raises(ValueError, match="k=101"):
        kmeans(x, 101)


def test_elbow_finds_planted_k():
    x, _ = blobs(600, k=6, spread=0.03, seed=5)
    curve = inertia_curve(x, range(2, 16), seed=0)
    assert list(curve.columns) == ["k", "inertia"] and len(curve) == 14
    assert curve["inertia"].iloc[0] > curve["inertia"].iloc[-1]
    assert suggest_k(curve) in (5, 6, 7)


def test_suggest_k_on_synthetic_elbow():
    curve = pd.DataFrame({"k": [1, 2, 3, 4, 5, 6, 7, 8], "inertia": [100, 50, 20, 18, 16, 14, 12, 10]})
    assert suggest_k(curve) == 3


def test_w2_matches_direct_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 6)).astype(np.float32)
    labels = np.repeat([0, 1, 2], 30)
    x[labels == 1] *= 2.0
    x[labels == 2] += 1.5
    w2 = cluster_w2_distances(x, labels, 3)
    for i in range(3):
        for j in range(3):
            a, b = x[labels == i].astype(np.float64), x[labels == j].astype(np.float64)
            expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + ((a.std(0) - b.std(0)) ** 2).sum()
            assert w2[i, j] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert w2[0, 1] > 0 and w2[0, 2] > 0


def test_neighbour_graph_threshold_no_self_loops():
    d = np.array([[0.0, 0.1, 0.5], [0.1, 0.0, 0.19], [0.5, 0.19, 0.0]])
    g = neighbour_graph(d, 0.2)
    assert g.dtype == bool and not g.diagonal().any()
    assert g[0, 1] and g[1, 2] and not g[0, 2]


def test_keywords_and_representatives():
    texts = ["numpy array shape dtype", "array axis numpy matrix", "file path open read", "read write file folder"]
    labels = np.array([0, 0, 1, 1])
    words = cluster_keywords(texts, labels, top_n=3)
    assert set(words[0]) <= {"numpy", "array", "shape", "dtype", "axis", "matrix"} and "numpy" in words[0]
    assert "file" in words[1] and "the" not in words[1]
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.2, 0.8]], dtype=np.float32)
    reps = representatives(x, labels, np.array([[1, 0], [0, 1]], dtype=np.float32), n=1)
    assert reps == [[0], [2]]
