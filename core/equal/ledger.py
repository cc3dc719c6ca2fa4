"""The ledger of a run: what every pull cost and found, the pairs ``D_e`` so far, and reference coverage.

It only records; deciding (plans, policies) is :class:`~core.equal.run.BanditRun`'s. Frames
(``pulls_frame``, ``rounds_frame``, ``pairs_frame``) are read from here by the run's
properties of the same names, which the pages and :mod:`core.viz.bandit` use.

Reference coverage: ``mean_r max_{e in D_e} cos(r, e)`` over the reference examples ``r``
(0 before any pair), i.e. how well ``D_e`` so far covers ``D_r``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.equal.extract.base import ExtractionResult, QAPair

PULL_COLUMNS = ["round", "seq", "arm", "n_docs", "n_pairs", "reward", "calls", "cost", "docs_cum", "calls_cum",
                "cost_cum", "pairs_cum", "coverage", "n_failed"]
ROUND_COLUMNS = ["run", "policy", "round", "pulls", "reward", "reward_cum", "docs_cum", "calls_cum", "cost_cum",
                 "pairs_cum", "coverage", "share"]


class Ledger:
    """Running totals and ``D_e`` of one run.

    Parameters
    ----------
    reference : array, shape (m, d)
        Embeddings of ``D_r`` (unit rows), for coverage.
    """

    def __init__(self, reference: NDArray) -> None:
        self.reference = reference
        self.docs_done = 0
        self.calls = 0
        self.cost = 0.0
        self.pairs: list[QAPair] = []
        self.pair_meta: list[tuple[int, int]] = []  # (round, arm)
        self.emb: list[NDArray[np.float32]] = []
        self.arm_emb: dict[int, list[NDArray[np.float32]]] = {}
        self.arm_docs: dict[int, int] = {}  # documents extracted per arm
        self.arm_pair_docs: dict[int, list[str]] = {}  # per arm, the document of each of its pairs
        self.best_sim = np.full(len(reference), -1.0, dtype=np.float64)
        self.log: list[dict[str, Any]] = []

    def record(self, round_: int, seq: int, arm: int, n_done: int, result: ExtractionResult, emb: NDArray,
               reward: float, n_failed: int = 0) -> None:
        """Add one pull: ``n_done`` documents extracted (``n_failed`` more failed), its pairs and their embeddings."""
        self.docs_done += n_done
        self.arm_docs[arm] = self.arm_docs.get(arm, 0) + n_done
        self.calls += int(result.calls)
        self.cost += float(result.cost)
        if len(emb):
            self.pairs.extend(result.pairs)
            self.pair_meta.extend([(round_, arm)] * len(result.pairs))
            self.emb.append(emb)
            self.arm_emb.setdefault(arm, []).append(emb)
            self.arm_pair_docs.setdefault(arm, []).extend(str(p.doc_id) for p in result.pairs)
            sims = (emb.astype(np.float64) @ self.reference.T.astype(np.float64)).max(axis=0)
            np.maximum(self.best_sim, sims, out=self.best_sim)
        self.log.append({"round": round_, "seq": seq, "arm": int(arm), "n_docs": n_done,
                         "n_pairs": len(result.pairs), "reward": float(reward), "calls": int(result.calls),
                         "cost": float(result.cost), "docs_cum": self.docs_done, "calls_cum": self.calls,
                         "cost_cum": self.cost, "pairs_cum": len(self.pairs), "coverage": self.coverage,
                         "n_failed": int(n_failed)})

    @property
    def coverage(self) -> float:
        """Reference coverage ``mean_r max_e cos(r, e)`` (0 before any pair)."""
        return float(self.best_sim.mean()) if self.pairs else 0.0

    @property
    def de_embeddings(self) -> NDArray[np.float32]:
        """Embeddings of ``D_e``, shape ``(len(pairs), d)``."""
        return np.concatenate(self.emb) if self.emb else np.empty((0, self.reference.shape[1]), np.float32)

    def arm_embeddings(self, arm: int) -> list[NDArray[np.float32]]:
        return self.arm_emb.get(arm, [])

    def pulls_frame(self, name: str, policy: str) -> pd.DataFrame:
        """One row per pull: round, seq, arm, n_docs, n_pairs, reward, calls, cost, running totals, n_failed."""
        df = pd.DataFrame(self.log, columns=PULL_COLUMNS)
        df.insert(0, "policy", policy)
        df.insert(0, "run", name)
        return df

    def rounds_frame(self, name: str, policy: str, n_docs: int) -> pd.DataFrame:
        """One row per round (in-progress round included): reward mean, running totals, coverage, budget share."""
        df = self.pulls_frame(name, policy)
        if df.empty:
            return pd.DataFrame(columns=ROUND_COLUMNS)
        g = df.groupby("round", sort=True)
        out = g.agg(pulls=("seq", "size"), reward=("reward", "mean"), docs_cum=("docs_cum", "last"),
                    calls_cum=("calls_cum", "last"), cost_cum=("cost_cum", "last"), pairs_cum=("pairs_cum", "last"),
                    coverage=("coverage", "last")).reset_index()
        # a pull whose every document failed has no reward (NaN): it counts in neither the sum nor the number
        out["reward_cum"] = (g["reward"].sum().cumsum() / g["reward"].count().cumsum()).to_numpy()
        out["share"] = out["docs_cum"] / n_docs
        out.insert(0, "policy", policy)
        out.insert(0, "run", name)
        return out

    def pairs_frame(self, policy: str, last: int | None = None,
                    cluster_of: Callable[[list[int]], NDArray[np.int64]] | None = None) -> pd.DataFrame:
        """``D_e`` with provenance: round, cluster, doc_id, question, answer, extractor, policy.

        ``cluster`` is the map cluster of the pair's arm by ``cluster_of`` (``arms -> clusters``, e.g.
        :meth:`core.equal.space.ArmSpace.cluster_of`); without it, the arm.
        """
        pairs, meta = self.pairs, self.pair_meta
        if last is not None:
            pairs, meta = pairs[-last:], meta[-last:]
        arms = [m[1] for m in meta]
        clusters = arms if cluster_of is None else [int(c) for c in cluster_of(arms)]
        return pd.DataFrame({"round": [m[0] for m in meta], "cluster": clusters,
                             "doc_id": [p.doc_id for p in pairs], "question": [p.question for p in pairs],
                             "answer": [p.answer for p in pairs], "extractor": [p.extractor for p in pairs],
                             "policy": policy})


class FailureLog:
    """Documents whose extraction failed: attempts per document, those set aside, and the current failure streak.

    A failed document is not done: it stays in its arm's queue and is retried on the arm's next
    pull, until it has failed ``max_attempts`` times in this session; then it is set aside
    (taken, not done) until the run is resumed, so one bad document cannot stall its arm.

    >>> log = FailureLog(max_attempts=2)
    >>> log.record(ok=[1], failed=[7]), log.record(ok=[], failed=[7]), log.streak, sorted(log.set_aside)
    ([], [7], 1, [7])
    """

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = int(max_attempts)
        self.attempts: dict[int, int] = {}
        self.set_aside: set[int] = set()
        self.streak = 0  # consecutive failed documents (reset by any success)
        self.last_error = ""  # the newest failed document's error, as the extractor put it (no key in it)

    def record(self, ok: list[int], failed: list[int]) -> list[int]:
        """Count one pull's outcome; returns the documents to set aside now."""
        out = []
        for i in failed:
            self.attempts[i] = self.attempts.get(i, 0) + 1
            if self.attempts[i] >= self.max_attempts and i not in self.set_aside:
                self.set_aside.add(i)
                out.append(i)
        self.streak = 0 if ok else self.streak + len(failed)
        return out

    def forgive(self) -> list[int]:
        """Start afresh (a resume retries everything): the documents set aside so far, to put back."""
        back = sorted(self.set_aside)
        self.attempts, self.set_aside, self.streak, self.last_error = {}, set(), 0, ""
        return back
