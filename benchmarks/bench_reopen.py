"""First build vs cached reopen of a 10,000-document corpus map.

Uses the HashingEncoder (the real MiniLM would spend ~minutes embedding on 2 CPU cores; the
reopen path is identical for any encoder, and the first build is then *faster* than with the
real model, so the ratio here is conservative). Goal: reopen < 2 s and >= 50x faster than
the first build. Last line: ``bench_reopen=... PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["EQUALCTAR_HOME"] = tempfile.mkdtemp(prefix="bench-reopen-")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N = 10_000


def _corpus():
    from core.corpus.load import Corpus

    try:
        from core.corpus.builtin import load_builtin_corpus

        corpus = load_builtin_corpus(limit=N)
        if len(corpus) >= N:
            print(f"corpus: {len(corpus)} built-in documents")
            return corpus
    except Exception as exc:
        print(f"built-in unavailable ({exc})")
    import numpy as np

    rng = np.random.default_rng(0)
    words = "open read file path date time array shape socket host value return list string format".split()
    texts = tuple(" ".join(rng.choice(words, 60)) + f" {i}" for i in range(N))
    print(f"corpus: {N} generated documents")
    return Corpus(tuple(f"d{i}" for i in range(N)), texts, tuple("gen" for _ in texts))


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " ")).parse_args()  # --help, then exit
    import numpy as np

    from core.corpus.encoders import HashingEncoder
    from core.corpus.mapping import MapSettings, build_corpus_map, load_corpus_map
    from core.corpus.project import umap_project

    umap_project(np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32))  # numba JIT outside the timing
    corpus = _corpus()
    settings = MapSettings(encoder_name="hashing-384", k=70, seed=42)
    print("encoder: HashingEncoder(384) (the real model would only make the first build slower)")
    t = time.perf_counter()
    build_corpus_map(corpus, settings, encoder=HashingEncoder(384))
    first = time.perf_counter() - t
    t = time.perf_counter()
    cmap = load_corpus_map(corpus, settings)
    frame = cmap.documents_frame()  # what the page needs
    reopen = time.perf_counter() - t
    assert cmap is not None and len(frame) == len(corpus)
    speed = first / reopen
    print(f"first build {first:.2f} s, cached reopen {reopen:.3f} s, speed-up {speed:.0f}x")
    verdict = "PASS" if reopen < 2.0 and speed >= 50 else "FAIL"
    print(f"bench_reopen=reopen:{reopen:.3f}s,speedup:{speed:.0f}x goal=<2s,>=50x {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
