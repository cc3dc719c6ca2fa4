"""The quality encoder's fast CPU variant against fp32 torch, in one process, on the built-in corpus.

One all-MiniLM-L6-v2 (the packaged model) is loaded once and run as each variant of
:mod:`core.corpus.variants` this CPU can run (bf16 autocast on AMX / AVX-512 BF16, int8 dynamic on VNNI)
and as fp32, on the same sample of built-in documents, with the same batching (longest first, 32 a
batch, and torch's thread count as the upgrade worker sets it: every core but one, ``--threads``). Timings
alternate fp32 and variant runs and keep each side's best, so a busy machine slows both alike; the
process's CPU time per text is printed beside the wall-clock figure (on an oversubscribed machine the
OpenMP threads of a multi-threaded run spin at barriers while descheduled, which dilutes a wall-clock
ratio; CPU seconds per text hold up better). Figures per variant: texts/s against fp32, mean and minimum cosine
of each text's two vectors, neighbour recall@10 within the sample (fp32 the reference).

The variant the product would adopt is the first (fastest first) that passes the check (cosine >= 0.99,
recall@10 >= 0.95). Goals: its texts/s >= 1.5x fp32 (2.5x the stretch), cosine >= 0.99, recall@10 >= 0.95.
Also printed, for the record: fp32 batched in corpus order (every batch padded to its longest text), the
baseline before length-sorted batching.

    .venv/bin/python benchmarks/bench_encoders.py [--n 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from core.corpus.builtin import load_builtin_corpus  # noqa: E402
from core.corpus.encoders import SentenceEncoder  # noqa: E402
from core.corpus.variants import FP32, MIN_COSINE, MIN_RECALL, VARIANTS, compare, cpu_features  # noqa: E402

GOAL, STRETCH, BATCH = 1.5, 2.5, 32


def best_rate(encode, texts: list[str], cpu: list[float] | None = None) -> tuple[np.ndarray, float]:
    """The vectors and texts/s of one timed call (after the caller's warm-up); appends CPU s/text to ``cpu``."""
    start, cpu_start = time.perf_counter(), time.process_time()
    out = encode(texts)
    if cpu is not None:
        cpu.append((time.process_time() - cpu_start) / len(texts))
    return out, len(texts) / (time.perf_counter() - start)


def corpus_order_rate(enc: SentenceEncoder, texts: list[str]) -> float:
    """fp32 texts/s batching in the given order (each batch padded to its longest text)."""
    start = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        enc.model.encode(texts[i:i + BATCH], batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)
    return len(texts) / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="documents in the sample (default 256)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating timed rounds per variant (default 3)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EQUALCTAR_UPGRADE_THREADS") or
                                                      max(1, (os.cpu_count() or 2) - 1)),
                    help="torch threads (default: the upgrade worker's, every core but one)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    corpus = load_builtin_corpus(limit=3000)
    rng = np.random.default_rng(0)
    texts = [corpus.texts[i] for i in rng.choice(len(corpus.texts), min(args.n, len(corpus.texts)), replace=False)]
    features = cpu_features()
    needed = sorted({flag for v in VARIANTS.values() for flag in v.needs})
    print(f"CPU features: {', '.join(sorted(features)) or 'none of ' + ', '.join(needed)}; "
          f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}, oneDNN "
          f"{'on' if torch.backends.mkldnn.is_available() else 'off'}), {torch.get_num_threads()} torch threads; "
          f"{len(texts)} built-in documents, mean {np.mean([len(t) for t in texts]):.0f} characters; "
          f"load average {os.getloadavg()[0]:.1f}")
    enc = SentenceEncoder(device="cpu", variant="fp32")
    enc.encode(texts[:BATCH], batch_size=BATCH)  # warm-up

    fp32_cpu: list[float] = []
    ref, fp32_rate = best_rate(lambda t: enc.encode(t, batch_size=BATCH), texts, fp32_cpu)
    unsorted = corpus_order_rate(enc, texts)
    print(f"fp32, length-sorted batches: {fp32_rate:.1f} texts/s; fp32 in corpus order: {unsorted:.1f} texts/s "
          f"(sorting x{fp32_rate / unsorted:.2f})")
    chosen = None
    for variant in (v for v in VARIANTS.values() if v is not FP32):
        if not variant.usable(features):
            print(f"{variant.name}: not run, this CPU has none of {', '.join(sorted(variant.needs))}")
            continue
        enc.run_as(variant)
        enc.encode(texts[:BATCH], batch_size=BATCH)  # warm-up (kernels, quantised weights)
        rounds = args.rounds if chosen is None else 1
        vec_rate, base_rate, vecs, vec_cpu = 0.0, fp32_rate, None, []
        for _ in range(rounds):
            enc.run_as(FP32)
            base_rate = max(base_rate, best_rate(lambda t: enc.encode(t, batch_size=BATCH), texts, fp32_cpu)[1])
            enc.run_as(variant)
            vecs, rate = best_rate(lambda t: enc.encode(t, batch_size=BATCH), texts, vec_cpu)
            vec_rate = max(vec_rate, rate)
        fp32_rate = base_rate
        verdict = compare(enc.space_base, variant, ref, vecs, vec_rate / base_rate, features)
        print(f"{variant.name} ({variant.label}, on {', '.join(verdict.features)}): {vec_rate:.1f} texts/s vs fp32 "
              f"{base_rate:.1f} (best of {rounds}): x{verdict.speedup:.2f} (CPU s/text {min(vec_cpu):.3f} vs "
              f"{min(fp32_cpu):.3f}: x{min(fp32_cpu) / min(vec_cpu):.2f}); cosine mean {verdict.cosine_mean:.5f}, "
              f"min {verdict.cosine_min:.5f}; recall@10 {verdict.recall_at_10:.3f}: "
              f"{'passes the check' if verdict.passed else 'fails the check'}")
        if chosen is None and verdict.passed:
            chosen = verdict
    enc.run_as(FP32)
    if chosen is None:
        print(f"no variant passed on this CPU: the product runs fp32 here; goal x{GOAL} FAIL")
        return 1
    ok = chosen.speedup >= GOAL and chosen.cosine_mean >= MIN_COSINE and chosen.recall_at_10 >= MIN_RECALL
    print(f"fast_variant={chosen.variant} threads={args.threads} features={','.join(chosen.features)} "
          f"speedup=x{chosen.speedup:.2f} "
          f"cosine={chosen.cosine_mean:.4f} recall@10={chosen.recall_at_10:.3f} goal=x{GOAL} (stretch x{STRETCH}) "
          f"cosine>={MIN_COSINE} recall>={MIN_RECALL} {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
