"""Bandit step overhead: selection + OT reward + bookkeeping per round, extraction excluded.

Pairs are pre-extracted (``core.equal.replay.PrecomputedExtractor``) with random unit
embeddings (d=384, like MiniLM; 1-3 pairs per document), D_r has 100 examples. A round plays
B=50 arms x D=10 documents (EQUAL's code: 500 documents per round). Measured for k=50 arms
(the goal: < 50 ms per round) and k=1,000 arms (printed). The baseline measured in the same
run is the OT solves alone (the irreducible part), so the ratio shows the bookkeeping overhead.

The Bandit page's live panel ticks every 0.5 s: up to ``TICK_S`` (0.3 s) of pulls, then it
redraws. So >= 2 updates/s with 1,000 arms needs the redraw (frames, the five figures and their
JSON, what ``st.plotly_chart`` sends) under 0.2 s; measured on the k=1,000 run with a 20,000-document
map. The browser's own drawing is not included.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.equal.extract.base import QAPair  # noqa: E402
from core.equal.replay import PrecomputedExtractor, table_embedder  # noqa: E402
from core.equal.reward import OTReward  # noqa: E402
from core.equal.run import BanditRun, RunConfig, single_thread_blas  # noqa: E402
from core.equal.space import ArmSpace  # noqa: E402

GOAL_MS = 50.0
TICK_S = 0.3  # pages/bandit.py: seconds of pulls per live tick


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
    docs = centres[labels] + rng.normal(size=(n, d))  # for the default unplayed="prior"
    return ids, labels, pairs, table, ref, (docs / np.linalg.norm(docs, axis=1, keepdims=True)).astype(np.float32)


def time_rounds(k: int, policy: str = "equal", rounds: int = 20, keep: list | None = None) -> tuple[float, float]:
    ids, labels, pairs, table, ref, docs = setup(k, docs_per_arm=max(20, (rounds + 2) * 10 * 50 // k + 10))
    config = RunConfig(policy=policy, batch_arms=50, docs_per_pull=10, budget=1.0)
    run = BanditRun(
        config, ArmSpace(ids, None, labels, doc_emb=docs), ref, PrecomputedExtractor(pairs), table_embedder(table)
    )
    run.step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(rounds):
        run.step()
    per_round = (time.perf_counter() - t0) / rounds
    if keep is not None:
        keep.append(run)
    # baseline: the 50 OT solves of a round alone
    rw = OTReward()
    batches = [run.de_embeddings[i * 15 : (i + 1) * 15] for i in range(50)]
    with single_thread_blas():
        t0 = time.perf_counter()
        for _ in range(5):
            for b in batches:
                rw.calc(b, ref)
    ot_only = (time.perf_counter() - t0) / 5
    return per_round * 1000, ot_only * 1000


def time_panel(run: BanditRun, repeats: int = 5) -> float:
    """Milliseconds to build what one live-panel tick draws (as ``pages/bandit.py`` does)."""
    import json

    from core.viz.bandit import make_budget_figure, make_pulls_map_figure, make_reward_figure, make_score_bars_figure

    xy = np.random.default_rng(1).normal(size=(len(run.doc_ids), 2))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        arms = run.arms_frame()
        top = arms.sort_values("score", ascending=False).head(30)
        rounds = run.rounds_frame()
        figs = [
            make_score_bars_figure(arms),
            make_reward_figure(rounds),
            make_budget_figure({run.name: rounds}),
            make_pulls_map_figure(xy, run.doc_pulls(), run.labels, run.doc_ids),
        ]
        payload = [json.dumps(f.to_plotly_json(), cls=__import__("plotly").utils.PlotlyJSONEncoder) for f in figs]
        tables = [top.to_json(), run.pairs_frame(last=8).to_json()]
        times.append(time.perf_counter() - t0)
        assert payload and tables
    return 1000 * min(times)


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " ")).parse_args()  # --help, then exit
    ms50, ot50 = time_rounds(50)
    print(f"k=50 arms, B=50 x D=10: {ms50:.1f} ms/round (OT solves alone {ot50:.1f} ms; overhead x{ms50 / ot50:.2f})")
    for policy in ("ucb1", "thompson", "random"):
        ms, _ = time_rounds(50, policy, rounds=10)
        print(f"  {policy:>9}: {ms:.1f} ms/round")
    kept: list = []
    ms1k, ot1k = time_rounds(1000, rounds=10, keep=kept)
    print(f"k=1000 arms, B=50 x D=10: {ms1k:.1f} ms/round (OT solves alone {ot1k:.1f} ms; overhead x{ms1k / ot1k:.2f})")
    panel = time_panel(kept[0])
    tick = 1000 * TICK_S + panel
    print(
        f"live panel redraw, 1,000 arms, {len(kept[0].doc_ids):,}-document map: {panel:.0f} ms; a tick = "
        f"{1000 * TICK_S:.0f} ms of pulls + redraw = {tick:.0f} ms -> {min(2.0, 1000 / tick):.1f} updates/s at "
        "run_every=0.5 s"
    )
    ok = ms50 < GOAL_MS and tick <= 500
    print(
        f"step_ms_k50_B50_D10={ms50:.1f} panel_ms_k1000={panel:.0f} goal=<{GOAL_MS:.0f},tick<=500 "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
