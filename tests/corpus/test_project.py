from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from core.corpus.project import knn, umap_project
from tests.corpus._mapdata import blobs


def test_knn_is_exact_cosine_with_self_first():
    x, _ = blobs(120, k=3, seed=2)
    idx, dist = knn(x, 6)
    assert idx.shape == dist.shape == (120, 6)
    assert (idx[:, 0] == np.arange(120)).all() and (dist[:, 0] == 0).all()
    sims = x @ x.T
    brute = np.argsort(-sims, axis=1)[:, :6]
    assert np.mean([set(a) == set(b) for a, b in zip(idx, brute)]) > 0.98
    assert (dist >= 0).all() and np.allclose(dist[:, 1], 1 - sims[np.arange(120), idx[:, 1]], atol=1e-5)


def test_approximate_knn_above_the_exact_limit_keeps_recall():
    x, _ = blobs(12_000, k=40, d=64, spread=0.2, seed=4)  # clusters that overlap, as real embeddings do
    exact_idx, _ = knn(x, 15, exact=True)
    idx, dist = knn(x, 15)  # 12,000 > EXACT_MAX: the inverted-file index
    assert idx.shape == dist.shape == (12_000, 15) and (idx >= 0).all()
    assert (idx[:, 0] == np.arange(12_000)).all() and (dist[:, 0] == 0).all()
    recall = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(idx, exact_idx)])
    assert recall > 0.95, recall
    sims = np.einsum("ij,ij->i", x[np.arange(12_000)], x[idx[:, 5]])
    assert np.allclose(dist[:, 5], np.maximum(1 - sims, 0), atol=1e-5)


def test_umap_keeps_planted_clusters_apart():
    x, truth = blobs(300, k=4, spread=0.05, seed=9)
    xy = umap_project(x, n_neighbors=15, seed=42)
    assert xy.shape == (300, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    found = KMeans(4, n_init=4, random_state=0).fit_predict(xy)
    assert adjusted_rand_score(truth, found) > 0.9


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_umap_tiny_inputs_do_not_crash(n):
    x, _ = blobs(n, k=1, seed=0)
    xy = umap_project(x, n_neighbors=15)
    assert xy.shape == (n, 2) and np.isfinite(xy).all()


def test_umap_validates_parameters():
    x, _ = blobs(10)
    with pytest.raises(ValueError, match="min_dist"):
        umap_project(x, min_dist=2.0)


def test_umap_compilation_is_cached_on_disk_once_turned_on():
    """UMAP's numba functions are not ``cache=True``; turned on before first use, each later process loads them."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("from core.corpus.project import cache_umap_compilation as c; import umap.layouts as l; "
            "n = c(); print(n, type(l._nb_optimize_layout_euclidean_single_epoch._cache).__name__, c())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert int(out[0]) > 10 and out[1] != "NullCache" and out[2] == "0"


def test_the_layout_waits_for_umaps_preload_before_importing_it():
    """A first map built by a fast encoder reached ``import umap`` while the preload thread was still importing it:
    scikit-learn's circular imports then failed in both threads and the page showed the ImportError. The layout
    now joins the preload first (checked in a fresh interpreter, where umap is not imported yet)."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import threading, time
import numpy as np
import core.corpus.project as project
order = []
def slow_preload():
    time.sleep(1.0)
    import umap  # noqa: F401
    order.append("preload done")
project._preload = threading.Thread(target=slow_preload, daemon=True)
project._preload.start()
real = project.cache_umap_compilation
project.cache_umap_compilation = lambda: (order.append("layout imported umap"), real())
project.umap_project(np.random.default_rng(0).normal(size=(40, 8)).astype("float32"), n_epochs=20)
print(order)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "['preload done', 'layout imported umap']"
