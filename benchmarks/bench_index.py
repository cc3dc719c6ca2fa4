"""Indexing speed: (1) pipeline embedding vs raw SentenceTransformer.encode, (2) faiss k-means as the
product runs it vs scikit-learn KMeans, (3) UMAP with faiss precomputed kNN vs plain UMAP.

Ratios are against baselines measured in the same process. Goals: (1) overhead <= 1.10,
(2) >= 10x faster with inertia (full data) within 2%, (3) >= 4x faster. Last line:
``bench_index=... PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def _texts(n: int) -> list[str]:
    try:
        from core.corpus.builtin import load_builtin_corpus

        corpus = load_builtin_corpus(limit=n)
        print(f"corpus: {len(corpus)} built-in documents")
        return list(corpus.texts)
    except Exception as exc:  # builtin missing: synthetic but realistic-length texts
        print(f"corpus: built-in unavailable ({exc}); generated texts")
        rng = np.random.default_rng(0)
        words = "open read file path date time array shape socket host value return list string format".split()
        return [" ".join(rng.choice(words, 120)) for _ in range(n)]


def bench_embedding(n: int = 2000) -> float:
    from core.corpus.embed import embed_corpus
    from core.corpus.encoders import SentenceEncoder
    from core.corpus.load import Corpus

    texts = _texts(n)
    enc = SentenceEncoder()
    corpus = Corpus(tuple(str(i) for i in range(len(texts))), tuple(texts), tuple("b" for _ in texts))
    enc.model.encode(texts[:64], batch_size=64)  # warm-up
    raw_times, ours_times = [], []
    for _ in range(2):  # alternate to share any drift fairly
        t = time.perf_counter()
        enc.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        raw_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        embed_corpus(corpus, enc, batch_size=64, use_cache=False)
        ours_times.append(time.perf_counter() - t)
    raw, ours = min(raw_times), min(ours_times)
    ratio = ours / raw
    print(
        f"[1] embedding {len(texts)} docs: raw encode {raw:.2f} s ({len(texts) / raw:.0f} docs/s), "
        f"pipeline {ours:.2f} s ({len(texts) / ours:.0f} docs/s), overhead ratio {ratio:.3f} (goal <= 1.10)"
    )
    return ratio


def bench_kmeans(n: int = 100_000, d: int = 384, k: int = 100, niter: int = 20) -> tuple[float, float]:
    from sklearn.cluster import KMeans

    from core.corpus.cluster import kmeans

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(k, d)).astype(np.float32)
    x = centres[rng.integers(0, k, n)] + 2.0 * rng.normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t = time.perf_counter()
    ours = kmeans(x, k, seed=42, niter=niter)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    sk = KMeans(n_clusters=k, n_init=1, max_iter=niter, tol=0.0, random_state=42, algorithm="lloyd").fit(x)
    t_sk = time.perf_counter() - t
    sk_inertia = float(((x - sk.cluster_centers_[sk.labels_]) ** 2).sum(dtype=np.float64))
    speed = t_sk / t_ours
    gap = ours.inertia / sk_inertia - 1.0
    print(
        f"[2] k-means {n}x{d}, k={k}, {niter} iterations: faiss (256 pts/centroid sample) {t_ours:.2f} s, "
        f"scikit-learn {t_sk:.2f} s, speed-up {speed:.1f}x (goal >= 10); inertia faiss {ours.inertia:.1f} "
        f"vs sklearn {sk_inertia:.1f} ({100 * gap:+.2f}%, goal within 2%)"
    )
    return speed, gap


def bench_umap(n: int = 20_000, d: int = 384) -> float:
    import warnings

    import umap

    from core.corpus.project import umap_project

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(50, d))
    x = (centres[rng.integers(0, 50, n)] + 1.5 * rng.normal(size=(n, d))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    umap_project(x[:500])  # JIT warm-up for both paths
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        umap.UMAP(n_neighbors=15, metric="cosine", random_state=0).fit_transform(x[:500])
        t = time.perf_counter()
        umap_project(x, n_neighbors=15, min_dist=0.1, seed=42)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", random_state=42).fit_transform(x)
        t_plain = time.perf_counter() - t
    speed = t_plain / t_ours
    print(
        f"[3] UMAP {n} points: faiss kNN {t_ours:.1f} s, plain UMAP {t_plain:.1f} s, speed-up {speed:.2f}x (goal >= 4)"
    )
    return speed


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " ")).parse_args()  # --help, then exit
    ratio = bench_embedding()
    speed, gap = bench_kmeans()
    uspeed = bench_umap()
    ok = [ratio <= 1.10, speed >= 10 and abs(gap) <= 0.02, uspeed >= 4]
    print(f"goals met: embedding {ok[0]}, kmeans {ok[1]}, umap {ok[2]}")
    verdict = "PASS" if all(ok) else "FAIL"
    print(
        f"bench_index=embed_overhead:{ratio:.3f},kmeans_speedup:{speed:.1f}x@{100 * gap:+.2f}%,"
        f"umap_speedup:{uspeed:.2f}x "
        f"goal=<=1.10,>=10x@2%,>=4x {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
