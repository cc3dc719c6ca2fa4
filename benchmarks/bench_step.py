"""Bandit step overhead: selection + OT reward + bookkeeping per round, extraction excluded.

Pairs are pre-extracted (``core.equal.replay.PrecomputedExtractor``) with random unit
embeddings (d=384, like MiniLM; 1-3 pairs per document), D_r has 100 examples. A round plays
B=50 arms x D=10 documents (EQUAL's code: 500 documents per round). Measured for k=50 arms
(the goal: < 50 ms per round) and k=1,000 arms (printed). The baseline measured in the same
run is the OT solves alone (the irreducible part), so the ratio shows the bookkeeping overhead.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.equal.extract.base import QAPair  # noqa: E402
from core.equal.replay import PrecomputedExtractor, table_embedder  # noqa: E402
from core.equal.reward import OTReward  # noqa: E402
from core.equal.run import BanditRun, RunConfig, single_thread_blas  # noqa: E402

GOAL_MS = 50.0


def setup(k: int, docs_per_arm: int, d: int = 384, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = k * docs_per_arm
    labels = np.repeat(np.arange(k), docs_per_arm)
    ids = [f"doc{i}" for i in range(n)]
    centres = rng.normal(size=(k, d))
    pairs, table = {}, {}
    for i, doc in enumerate(ids):
        ps = [QAPair(f"q{i}.{j}", "a", doc, "pre") for j in range(rng.integers(1, 4))]
        pairs[doc] = ps
        for p in ps:
            v = centres[labels[i]] + rng.normal(size=d)
            table[p.as_text()] = (v / np.linalg.norm(v)).astype(np.float32)
    ref = rng.normal(size=(100, d)) + centres[0]
    ref = (ref / np.linalg.norm(ref, axis=1, keepdims=True)).astype(np.float32)
    return ids, labels, pairs, table, ref


def time_rounds(k: int, policy: str = "equal", rounds: int = 20) -> tuple[float, float]:
    ids, labels, pairs, table, ref = setup(k, docs_per_arm=max(20, (rounds + 2) * 10 * 50 // k + 10))
    config = RunConfig(policy=policy, batch_arms=50, docs_per_pull=10, budget=1.0)
    run = BanditRun(config, ids, [""] * len(ids), labels, ref, PrecomputedExtractor(pairs), table_embedder(table))
    run.step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(rounds):
        run.step()
    per_round = (time.perf_counter() - t0) / rounds
    # baseline: the 50 OT solves of a round alone
    rw = OTReward()
    batches = [run.de_embeddings[i * 15:(i + 1) * 15] for i in range(50)]
    with single_thread_blas():
        t0 = time.perf_counter()
        for _ in range(5):
            for b in batches:
                rw.calc(b, ref)
    ot_only = (time.perf_counter() - t0) / 5
    return per_round * 1000, ot_only * 1000


def main() -> int:
    ms50, ot50 = time_rounds(50)
    print(f"k=50 arms, B=50 x D=10: {ms50:.1f} ms/round (OT solves alone {ot50:.1f} ms; overhead x{ms50 / ot50:.2f})")
    for policy in ("ucb1", "thompson", "random"):
        ms, _ = time_rounds(50, policy, rounds=10)
        print(f"  {policy:>9}: {ms:.1f} ms/round")
    ms1k, ot1k = time_rounds(1000, rounds=10)
    print(f"k=1000 arms, B=50 x D=10: {ms1k:.1f} ms/round (OT solves alone {ot1k:.1f} ms; overhead x{ms1k / ot1k:.2f})")
    ok = ms50 < GOAL_MS
    print(f"step_ms_k50_B50_D10={ms50:.1f} goal=<{GOAL_MS:.0f} {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
