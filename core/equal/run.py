"""The EQUAL loop as a run object: plan a round, extract, reward, update, commit.

Usage::

    run = BanditRun(RunConfig(policy="equal"), doc_ids, texts, labels, reference_emb,
                    extractor, embed, neighbours=cmap.neighbours, store=RunStore())
    while not run.is_done:
        result = run.step()              # one round: top-B arms x D documents

A round's plan (arms and their documents) is fixed before its first pull and committed; each
pull is committed with its reward and QA pairs in one transaction. Selection uses a
generator derived from ``(seed, round)`` and the within-cluster order from ``seed``, so with a
deterministic extractor (the rule extractor) a run is reproducible from its seed, and
:meth:`BanditRun.resume` -- which replays the committed pulls -- continues exactly where an
uninterrupted run would be.

Budget (``budget_kind``): ``"share"`` of the corpus' documents (paper: 5%), ``"calls"``
(billable extraction calls from :class:`ExtractionResult`), or ``"cost"`` (currency units).
For ``share``/``calls`` the last round is trimmed so the budget is not overrun. Stop rule:
``"budget"`` (budget reached or nothing left) or ``"plateau"`` (also stop after ``patience``
rounds whose mean reward did not beat the best round so far).

Exploration (EQUAL.md "Open points": unplayed-arm initialisation). OT rewards ``1 - W - 0.12``
are almost always negative (``W`` is 1.1-1.35 on real text), so with the paper's unplayed
estimate of 0 every new arm outranks every played one: the DS score first plays *all* ``k``
arms with ``D`` documents each (k=75, D=10: 750 calls, 6.6% of the built-in corpus) before
exploiting anything. The defaults change that, each with the paper's behaviour one option away:

* ``unplayed="prior"``: each cluster's documents are compared with ``D_r`` once, for free (no
  extraction: the corpus embeddings are already there); the reward is predicted from that
  similarity by a line fitted to the arms observed so far, and each arm's estimate is shrunk
  towards its prediction by ``prior_weight`` pseudo-pulls (see :mod:`core.equal.policies`).
  New arms are probed most promising first, and one unlucky pull does not bury a good cluster.
  Needs ``doc_emb``. ``"mean"``: an unplayed arm takes the running mean reward; ``"zero"``: the paper.
* ``first_pull_docs=3``: an arm's first pull reads 3 documents, later pulls ``D``; a probe of
  a poor cluster costs 3 calls instead of 10 (``None``: always ``D``, the paper).
* ``batch_arms=3`` arms per round: the paper's code plays 50 of k=1000 arms (5%); 3 is that share
  of the ~75 clusters of a 10k-document corpus, and fewer arms per round means every plan uses
  fresher rewards. More arms per round only parallelise extraction.
* ``OTReward(empty_reward="worst")``: a pull that finds no pairs is the worst pull so far.

Measured on the built-in corpus (benchmarks/bench_equal.py, 6 presets x 5 seeds, k=75): the
extraction calls needed to collect half of the on-task pairs, as Random/EQUAL, each step
added to the one before (B=5 until the last): the paper's settings 3.09x; ``unplayed="mean"``
with 3-document probes 3.30x; ``empty_reward="worst"`` 3.50x; ``unplayed="prior"`` (weight 4)
4.93x; 3 arms per round 5.13x (the defaults; the paper's settings at B=3: 3.18x). The
arm-level ceiling (an oracle that knows each cluster's on-task density) is 5.9x. The paper's
Avg-sim baseline (documents by similarity to ``D_r``, no extraction feedback) reaches 5.45x
on this benchmark, whose "on-task" test is itself a cosine similarity to ``D_r``.

Reference coverage, shown beside the reward: ``mean_r max_{e in D_e} cos(r, e)`` over the
reference examples ``r`` (0 before any pair), i.e. how well ``D_e`` so far covers ``D_r``.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.equal.arms import DOC_ORDERS, EXHAUST_RULES, ArmDocs
from core.equal.extract.base import ExtractionResult, Extractor, QAPair
from core.equal.policies import (POLICIES, UNPLAYED_PRIORS, BanditState, DocumentPolicy, PolicyConfigError,
                                 calc_arm_prior, calc_doc_similarity, make_policy)
from core.equal.reward import OTReward

BUDGET_KINDS = ("share", "calls", "cost")
STOP_RULES = ("budget", "plateau")
EmbedFn = Callable[[Sequence[str]], NDArray[np.float32]]


class RunConfigError(ValueError):
    """A run parameter is out of range; the message names it."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run (stored as JSON with it).

    Parameters
    ----------
    policy : str
        One of :data:`core.equal.policies.POLICIES`.
    policy_params : dict
        Keyword parameters of the policy (e.g. ``{"alpha": 0.001}``).
    batch_arms : int
        ``B``, arms played per round (paper code: 50 for k=1000).
    docs_per_pull : int
        ``D``, documents per pull (paper code: 10).
    budget_kind, budget : see module docstring.
    stop : {"budget", "plateau"}; patience : int
    reward : OTReward
    extractor : str
        Extractor kind (recorded for provenance; the extractor object is injected).
    seed : int
    share_neighbours : bool
        EQUAL's neighbour reward sharing.
    doc_order : {"random", "file"}; exhaust : {"partial", "strict"}
        See :mod:`core.equal.arms`.
    unplayed : {"prior", "mean", "zero"}
        How an arm's reward is estimated before (and, for "prior", while) it is observed: from
        its documents' similarity to ``D_r`` (default; the run needs ``doc_emb``), the running
        mean reward, or 0 (the paper). See "Exploration" in the module docstring.
    prior_weight : float
        Pseudo-pulls at the predicted reward with ``unplayed="prior"`` (default 4; 0: the
        prediction only orders the unplayed arms).
    first_pull_docs : int, optional
        Documents taken on an arm's first pull, at most ``D`` (default 3; ``None``: ``D``, the paper).
    """

    policy: str = "equal"
    policy_params: Mapping[str, Any] = field(default_factory=dict)
    batch_arms: int = 3
    docs_per_pull: int = 10
    budget_kind: str = "share"
    budget: float = 0.05
    stop: str = "budget"
    patience: int = 20
    reward: OTReward = field(default_factory=OTReward)
    extractor: str = "rules"
    seed: int = 0
    share_neighbours: bool = True
    doc_order: str = "random"
    exhaust: str = "partial"
    unplayed: str = "prior"
    prior_weight: float = 4.0
    first_pull_docs: int | None = 3

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise RunConfigError(f"RunConfig.policy must be one of {POLICIES}, got {self.policy!r}")
        make_policy(self.policy, **dict(self.policy_params))  # validates the parameters
        if self.batch_arms < 1:
            raise RunConfigError(f"RunConfig.batch_arms must be >= 1, got {self.batch_arms}")
        if self.docs_per_pull < 1:
            raise RunConfigError(f"RunConfig.docs_per_pull must be >= 1, got {self.docs_per_pull}")
        if self.budget_kind not in BUDGET_KINDS:
            raise RunConfigError(f"RunConfig.budget_kind must be one of {BUDGET_KINDS}, got {self.budget_kind!r}")
        if not (self.budget > 0) or (self.budget_kind == "share" and self.budget > 1):
            raise RunConfigError(f"RunConfig.budget must be > 0 (and <= 1 for a share), got {self.budget}")
        if self.stop not in STOP_RULES:
            raise RunConfigError(f"RunConfig.stop must be one of {STOP_RULES}, got {self.stop!r}")
        if self.patience < 1:
            raise RunConfigError(f"RunConfig.patience must be >= 1, got {self.patience}")
        if not isinstance(self.reward, OTReward):
            raise RunConfigError("RunConfig.reward must be an OTReward")
        if self.doc_order not in DOC_ORDERS:
            raise RunConfigError(f"RunConfig.doc_order must be one of {DOC_ORDERS}, got {self.doc_order!r}")
        if self.exhaust not in EXHAUST_RULES:
            raise RunConfigError(f"RunConfig.exhaust must be one of {EXHAUST_RULES}, got {self.exhaust!r}")
        if self.unplayed not in UNPLAYED_PRIORS:
            raise RunConfigError(f"RunConfig.unplayed must be one of {UNPLAYED_PRIORS}, got {self.unplayed!r}")
        if self.first_pull_docs is not None and not self.first_pull_docs >= 1:
            raise RunConfigError(f"RunConfig.first_pull_docs must be None or >= 1, got {self.first_pull_docs}")
        if not (math.isfinite(self.prior_weight) and self.prior_weight >= 0):
            raise RunConfigError(f"RunConfig.prior_weight must be >= 0, got {self.prior_weight}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["policy_params"] = dict(self.policy_params)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunConfig":
        d = dict(d)
        # runs stored before these settings existed explored as the paper does (unplayed 0, first
        # pull D, empty pull 0); resume them so
        d.setdefault("unplayed", "zero")
        d.setdefault("first_pull_docs", None)
        d["reward"] = OTReward(**{"empty_reward": 0.0, **d.get("reward", {})})
        if "policy_params" in d and "reward_range" in d["policy_params"]:
            d["policy_params"] = {**d["policy_params"], "reward_range": tuple(d["policy_params"]["reward_range"])}
        return cls(**d)


@dataclass
class RoundResult:
    """What one completed round did."""

    round: int
    arms: list[int]
    n_docs: int
    n_pairs: int
    rewards: list[float]
    calls: int
    cost: float
    done: bool


_BLAS = None


def single_thread_blas():
    """Context that limits BLAS to one thread.

    A round's matrix products are tiny (pairs x reference x d); a threaded BLAS on a busy
    2-core machine spends 10-50x longer synchronising than computing. Falls back to a no-op
    when ``threadpoolctl`` is missing.
    """
    global _BLAS
    try:
        if _BLAS is None:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        return _BLAS.limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - optional dependency
        from contextlib import nullcontext

        return nullcontext()


def corpus_fingerprint(doc_ids: Sequence[str], labels: NDArray) -> str:
    """Hash of document ids and cluster labels: a resumed run must see the same arms."""
    h = hashlib.blake2b(digest_size=12)
    h.update("\x1f".join(doc_ids).encode())
    h.update(np.asarray(labels, dtype=np.int64).tobytes())
    return h.hexdigest()


def cached_embedder(embed: EmbedFn) -> EmbedFn:
    """Wrap ``embed`` with an in-memory per-text cache (each distinct text is embedded once)."""
    memo: dict[str, NDArray[np.float32]] = {}

    def fn(texts: Sequence[str]) -> NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            for t, v in zip(missing, np.asarray(embed(missing), dtype=np.float32)):
                memo[t] = v
        if not texts:
            return np.empty((0, 0), dtype=np.float32)
        return np.stack([memo[t] for t in texts])

    return fn


def encoder_embedder(encoder) -> EmbedFn:
    """An :data:`EmbedFn` from an :class:`~core.corpus.encoders.Encoder`, through the on-disk text cache."""
    from core.corpus.embed import embed_texts

    return cached_embedder(lambda texts: embed_texts(texts, encoder))


class BanditRun:
    """One EQUAL (or baseline) run over a clustered corpus.

    Parameters
    ----------
    config : RunConfig
    doc_ids, texts : sequences of str, length n
    labels : array of int, shape (n,)
        Cluster (arm) of each document.
    reference : array, shape (m, d)
        Embeddings of ``D_r`` (unit rows).
    extractor : Extractor
    embed : callable
        ``texts -> (len, d)`` unit vectors, same space as ``reference`` (cache it:
        :func:`encoder_embedder`).
    neighbours : bool array, shape (k, k), optional
        Neighbour graph for reward sharing.
    doc_emb : array, shape (n, d), optional
        The documents' embeddings, same space as ``reference`` (the corpus map's). Needed by
        ``unplayed="prior"`` (the default) and by the ``avg-sim`` baseline; read once, at construction.
    store : RunStore, optional
        When given, everything is committed as it happens.
    run_id, name : str, optional
    """

    def __init__(self, config: RunConfig, doc_ids: Sequence[str], texts: Sequence[str], labels: Sequence[int] | NDArray,
                 reference: NDArray, extractor: Extractor, embed: EmbedFn, neighbours: NDArray | None = None,
                 store=None, run_id: str | None = None, name: str = "", k: int | None = None,
                 doc_emb: NDArray | None = None, _register: bool = True) -> None:
        if len(doc_ids) != len(texts) or len(doc_ids) != len(labels):
            raise RunConfigError(f"doc_ids ({len(doc_ids)}), texts ({len(texts)}) and labels ({len(labels)}) differ in length")
        reference = np.atleast_2d(np.asarray(reference, dtype=np.float32))
        if reference.size == 0:
            raise RunConfigError("reference: the reference set has no embeddings")
        self.config = config
        self.doc_ids = list(doc_ids)
        self.texts = texts
        self.labels = np.asarray(labels, dtype=np.int64)
        self.reference = reference
        self.extractor = extractor
        self.embed = embed
        self.arms = ArmDocs(self.labels, k=k if k is not None else (len(neighbours) if neighbours is not None else None),
                            docs_per_pull=config.docs_per_pull, order=config.doc_order, exhaust=config.exhaust, seed=config.seed)
        self.k = self.arms.k
        self.policy = make_policy(config.policy, **dict(config.policy_params))
        arm_prior, unplayed = self._init_similarity(doc_emb, config)
        self.state = BanditState(self.k, neighbours=neighbours, share_neighbours=config.share_neighbours,
                                 cumulative=config.reward.estimate == "cumulative", unplayed=unplayed,
                                 arm_prior=arm_prior, prior_weight=config.prior_weight)
        self.state.available = self.arms.available()
        self.store = store
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.name = name or f"{config.policy} seed {config.seed}"
        self.fingerprint = corpus_fingerprint(self.doc_ids, self.labels)
        self.round = 0
        self._plan: list[tuple[int, list[int]]] | None = None
        self._seq = 0
        self._round_rewards: list[float] = []
        self._best_round = -math.inf
        self._stale = 0
        self.worst: float | None = None
        self.docs_done = 0
        self.calls = 0
        self.cost = 0.0
        self._pairs: list[QAPair] = []
        self._pair_meta: list[tuple[int, int]] = []  # (round, arm)
        self._emb: list[NDArray[np.float32]] = []
        self._arm_emb: dict[int, list[NDArray[np.float32]]] = {}
        self._best_sim = np.full(len(reference), -1.0, dtype=np.float64)
        self._log: list[dict[str, Any]] = []
        self._stopped = False
        if store is not None and _register:
            store.create_run(self.run_id, config.to_dict(), self.fingerprint, len(self.doc_ids), self.name)

    def _init_similarity(self, doc_emb: NDArray | None, config: RunConfig) -> tuple[NDArray | None, str]:
        """The arm prior (and Avg-sim's document scores) from ``doc_emb``; the state's ``unplayed`` rule."""
        is_docs = isinstance(self.policy, DocumentPolicy)
        needs_sim = is_docs and self.policy.needs_similarity
        if doc_emb is None:
            if needs_sim or (config.unplayed == "prior" and not is_docs):
                why = f"the {config.policy} baseline" if needs_sim else "RunConfig.unplayed='prior'"
                raise RunConfigError(f"{why} ranks clusters by their documents' similarity to the reference set: "
                                     "pass doc_emb (the corpus embeddings), or choose unplayed='mean' or 'zero'")
            # a document baseline selects without arm estimates; "prior" then only labels the table
            return None, "mean" if config.unplayed == "prior" else config.unplayed
        doc_emb = np.asarray(doc_emb)
        if doc_emb.ndim != 2 or len(doc_emb) != len(self.doc_ids):
            raise RunConfigError(f"doc_emb must have one row per document ({len(self.doc_ids)}), got shape {doc_emb.shape}")
        try:
            top, avg = calc_doc_similarity(doc_emb, self.reference)
        except PolicyConfigError as exc:
            raise RunConfigError(str(exc)) from exc
        if needs_sim:
            self.policy.prepare(avg)
        return calc_arm_prior(top, self.labels, self.k), config.unplayed

    # ------------------------------------------------------------------ budget
    @property
    def budget_target(self) -> float:
        c = self.config
        return math.ceil(c.budget * len(self.doc_ids)) if c.budget_kind == "share" else c.budget

    @property
    def spent(self) -> float:
        """Budget spent in the units of ``budget_kind``."""
        kind = self.config.budget_kind
        return self.docs_done if kind == "share" else (self.calls if kind == "calls" else self.cost)

    @property
    def budget_fraction(self) -> float:
        return min(1.0, self.spent / self.budget_target)

    @property
    def is_done(self) -> bool:
        if self._plan is not None:
            return False
        return self._stopped or self.spent >= self.budget_target or self.arms.n_left == 0 or not self.state.available.any()

    # ------------------------------------------------------------------ planning
    def _rng(self, round_: int) -> np.random.Generator:
        return np.random.default_rng([int(self.config.seed), int(round_), 11])

    def _make_plan(self, round_: int) -> list[tuple[int, list[int]]]:
        """The pulls of a round: ``[(arm, [doc index, ...]), ...]``, trimmed to the budget left."""
        c = self.config
        rng = self._rng(round_)
        room = None
        if c.budget_kind in ("share", "calls"):
            room = int(max(0, math.ceil(self.budget_target - self.spent)))
        if isinstance(self.policy, DocumentPolicy):
            n = c.batch_arms * c.docs_per_pull
            docs = self.policy.select_docs(self.arms, n if room is None else min(n, room), rng)
            by_arm: dict[int, list[int]] = {}
            for i in docs:
                by_arm.setdefault(int(self.labels[i]), []).append(int(i))
            return list(by_arm.items())
        plan = []
        first = min(c.first_pull_docs or c.docs_per_pull, c.docs_per_pull)
        for arm in self.policy.select(self.state, c.batch_arms, rng):
            docs = self.arms.peek(int(arm), first if self.state.arm_to_pulls[arm] == 0 else None)
            if room is not None:
                docs = docs[:room]
                room -= len(docs)
            if len(docs):
                plan.append((int(arm), [int(i) for i in docs]))
        return plan

    # ------------------------------------------------------------------ playing
    def play_pull(self) -> RoundResult | None:
        """Play the next pull of the current round (planning the round first if needed).

        Returns the :class:`RoundResult` when this pull completes the round, else ``None``.
        Bounded work per call: one extraction of ``D`` documents, one OT.
        """
        with single_thread_blas():
            return self._play_pull()

    def _play_pull(self) -> RoundResult | None:
        if self.is_done:
            raise RuntimeError("play_pull: the run is done")
        if self._plan is None:
            self._plan = self._make_plan(self.round)
            self._seq = 0
            self._round_rewards = []
            if self.store is not None:
                self.store.save_plan(self.run_id, self.round, self._plan)
            if not self._plan:
                self._plan = None
                self._stopped = True
                return RoundResult(self.round, [], 0, 0, [], 0, 0.0, True)
        arm, docs = self._plan[self._seq]
        result = self.extractor.extract([(self.doc_ids[i], self.texts[i]) for i in docs])
        emb = self.embed([p.as_text() for p in result.pairs]) if result.pairs else np.empty((0, self.reference.shape[1]), np.float32)
        reward = self._calc_reward(arm, emb)
        self._apply(arm, docs, result, emb, reward)
        return self._after_pull()

    def step(self) -> RoundResult:
        """Play one whole round (the rest of it, if a round is in progress)."""
        with single_thread_blas():
            while True:
                out = self._play_pull()
                if out is not None:
                    return out

    def run_until_done(self, max_rounds: int | None = None) -> "BanditRun":
        """Step until the budget or stop rule ends the run (or ``max_rounds`` rounds)."""
        n = 0
        while not self.is_done and (max_rounds is None or n < max_rounds):
            self.step()
            n += 1
        if self.is_done:
            self.finish()
        return self

    def finish(self) -> None:
        """Mark the run finished in the store."""
        if self.store is not None:
            self.store.set_status(self.run_id, "finished")

    def _calc_reward(self, arm: int, emb: NDArray) -> float:
        rw = self.config.reward
        if rw.estimate == "cumulative":
            parts = self._arm_emb.get(arm, []) + ([emb] if len(emb) else [])
            x = np.concatenate(parts) if parts else emb
        else:
            x = emb
        return rw.calc(x, self.reference, worst=self.worst)

    def _apply(self, arm: int, docs: Sequence[int], result: ExtractionResult, emb: NDArray, reward: float,
               commit: bool = True) -> None:
        self.policy.update(self.state, arm, reward)
        self.arms.take(docs)
        self.state.available = self.arms.available()
        self.worst = reward if self.worst is None else min(self.worst, reward)
        self.docs_done += len(docs)
        self.calls += int(result.calls)
        self.cost += float(result.cost)
        if len(emb):
            self._pairs.extend(result.pairs)
            self._pair_meta.extend([(self.round, arm)] * len(result.pairs))
            self._emb.append(emb)
            self._arm_emb.setdefault(arm, []).append(emb)
            sims = (emb.astype(np.float64) @ self.reference.T.astype(np.float64)).max(axis=0)
            np.maximum(self._best_sim, sims, out=self._best_sim)
        if commit and self.store is not None:
            touched = [arm]
            if self.state.share_neighbours and self.state.neighbours is not None:
                touched += [int(j) for j in np.flatnonzero(self.state.neighbours[arm])]
            rows = [(j, int(self.state.arm_to_pulls[j]), float(self.state.arm_to_count[j]), float(self.state.arm_to_sum[j]))
                    for j in touched]
            self.store.commit_pull(self.run_id, self.round, self._seq, arm, [self.doc_ids[i] for i in docs], docs,
                                   reward, result, rows)
        self._round_rewards.append(reward)
        self._log.append({"round": self.round, "seq": self._seq, "arm": int(arm), "n_docs": len(docs),
                          "n_pairs": len(result.pairs), "reward": float(reward), "calls": int(result.calls),
                          "cost": float(result.cost), "docs_cum": self.docs_done, "calls_cum": self.calls,
                          "cost_cum": self.cost, "pairs_cum": len(self._pairs), "coverage": self.coverage})

    def _after_pull(self) -> RoundResult | None:
        self._seq += 1
        if self._seq < len(self._plan):
            return None
        plan = self._plan
        rows = self._log[-len(plan):]
        mean = float(np.mean(self._round_rewards)) if self._round_rewards else 0.0
        if mean > self._best_round + 1e-12:
            self._best_round, self._stale = mean, 0
        else:
            self._stale += 1
        if self.config.stop == "plateau" and self._stale >= self.config.patience:
            self._stopped = True
        result = RoundResult(self.round, [a for a, _ in plan], sum(r["n_docs"] for r in rows),
                             sum(r["n_pairs"] for r in rows), list(self._round_rewards),
                             sum(r["calls"] for r in rows), float(sum(r["cost"] for r in rows)), False)
        self._plan = None
        self.round += 1
        result.done = self.is_done
        return result

    # ------------------------------------------------------------------ resume
    @classmethod
    def resume(cls, store, run_id: str, doc_ids: Sequence[str], texts: Sequence[str], labels, reference: NDArray,
               extractor: Extractor, embed: EmbedFn, neighbours: NDArray | None = None,
               k: int | None = None, doc_emb: NDArray | None = None) -> "BanditRun":
        """Rebuild a stored run by replaying its committed pulls, ready to continue.

        Pass the same ``neighbours`` and ``doc_emb`` the run was made with: the plans are
        re-derived from them and checked against the stored ones.

        Raises :class:`~core.equal.store.RunStoreError` if the corpus or clustering differs
        from the stored run's, or a stored plan does not match what the policy selects.
        """
        from core.equal.store import RunStoreError

        stored = store.load_run(run_id)
        config = RunConfig.from_dict(stored.config)
        run = cls(config, doc_ids, texts, labels, reference, extractor, embed, neighbours=neighbours, store=store,
                  run_id=run_id, name=stored.name, k=k, doc_emb=doc_emb, _register=False)
        if run.fingerprint != stored.fingerprint:
            raise RunStoreError(f"run {run_id!r} was made on another corpus or clustering (fingerprint differs)")
        pairs_by_pull: dict[tuple[int, int], list[QAPair]] = {}
        for r in stored.pairs.itertuples(index=False):
            pairs_by_pull.setdefault((int(r.round), int(r.seq)), []).append(QAPair(r.question, r.answer, r.doc_id, r.extractor))
        pulls_by_round: dict[int, list] = {}
        for p in stored.pulls.itertuples(index=False):
            pulls_by_round.setdefault(int(p.round), []).append(p)
        for round_ in sorted(stored.plans):
            plan = [(int(a), [int(i) for i in d]) for a, d in stored.plans[round_]]
            fresh = run._make_plan(round_)
            if fresh != plan:
                raise RunStoreError(f"run {run_id!r}: round {round_} plan differs from what the policy selects now")
            if not plan:
                run._stopped = True
                break
            run.round, run._plan, run._seq, run._round_rewards = round_, plan, 0, []
            for p in pulls_by_round.get(round_, []):
                if int(p.seq) != run._seq or int(p.arm) != plan[run._seq][0]:
                    raise RunStoreError(f"run {run_id!r}: pull ({round_}, {p.seq}) does not follow its plan")
                pairs = pairs_by_pull.get((round_, int(p.seq)), [])
                result = ExtractionResult(pairs=pairs, calls=int(p.calls), cost=float(p.cost))
                emb = run.embed([q.as_text() for q in pairs]) if pairs else np.empty((0, run.reference.shape[1]), np.float32)
                run._apply(int(p.arm), plan[run._seq][1], result, emb, float(p.reward), commit=False)
                run._after_pull()
        if stored.status == "finished" and not run.is_done:
            store.set_status(run_id, "running")
        return run

    # ------------------------------------------------------------------ frames
    @property
    def coverage(self) -> float:
        """Reference coverage ``mean_r max_e cos(r, e)`` (0 before any pair)."""
        return float(self._best_sim.mean()) if self._pairs else 0.0

    @property
    def de_embeddings(self) -> NDArray[np.float32]:
        """Embeddings of ``D_e``, shape ``(len(pairs), d)``."""
        return np.concatenate(self._emb) if self._emb else np.empty((0, self.reference.shape[1]), np.float32)

    @property
    def pairs(self) -> list[QAPair]:
        return list(self._pairs)

    def pulls_frame(self) -> pd.DataFrame:
        """One row per pull: round, seq, arm, n_docs, n_pairs, reward, calls, cost and running totals."""
        cols = ["round", "seq", "arm", "n_docs", "n_pairs", "reward", "calls", "cost", "docs_cum", "calls_cum",
                "cost_cum", "pairs_cum", "coverage"]
        df = pd.DataFrame(self._log, columns=cols)
        df.insert(0, "policy", self.config.policy)
        df.insert(0, "run", self.name)
        return df

    def rounds_frame(self) -> pd.DataFrame:
        """One row per round (in-progress round included): reward mean, running totals, coverage, budget share."""
        df = self.pulls_frame()
        if df.empty:
            return pd.DataFrame(columns=["run", "policy", "round", "pulls", "reward", "reward_cum", "docs_cum", "calls_cum",
                                         "cost_cum", "pairs_cum", "coverage", "share"])
        g = df.groupby("round", sort=True)
        out = g.agg(pulls=("seq", "size"), reward=("reward", "mean"), docs_cum=("docs_cum", "last"),
                    calls_cum=("calls_cum", "last"), cost_cum=("cost_cum", "last"), pairs_cum=("pairs_cum", "last"),
                    coverage=("coverage", "last")).reset_index()
        out["reward_cum"] = (g["reward"].sum().cumsum() / g["reward"].size().cumsum()).to_numpy()
        out["share"] = out["docs_cum"] / len(self.doc_ids)
        out.insert(0, "policy", self.config.policy)
        out.insert(0, "run", self.name)
        return out

    def arms_frame(self) -> pd.DataFrame:
        """One row per arm: size, docs_left, pulls, count (with shared), mean, score, available."""
        s = self.state
        return pd.DataFrame({"arm": np.arange(self.k), "size": self.arms.sizes, "docs_left": self.arms.left,
                             "pulls": s.arm_to_pulls, "count": s.arm_to_count, "mean": s.arm_to_mean,
                             "score": self.policy.calc_scores(s), "available": s.available})

    def pairs_frame(self, last: int | None = None) -> pd.DataFrame:
        """``D_e`` with provenance: round, arm (cluster), doc_id, question, answer, extractor, policy."""
        pairs, meta = self._pairs, self._pair_meta
        if last is not None:
            pairs, meta = pairs[-last:], meta[-last:]
        return pd.DataFrame({"round": [m[0] for m in meta], "cluster": [m[1] for m in meta],
                             "doc_id": [p.doc_id for p in pairs], "question": [p.question for p in pairs],
                             "answer": [p.answer for p in pairs], "extractor": [p.extractor for p in pairs],
                             "policy": self.config.policy})

    def doc_pulls(self) -> NDArray[np.int64]:
        """Per document: 1 if extracted, else 0, shape ``(n,)`` (colours the map)."""
        return self.arms.taken.astype(np.int64)

    def calc_de_distance(self, max_points: int = 2000) -> float:
        """OT distance of ``D_e`` to ``D_r`` with the run's reward solver (a seeded subsample above ``max_points``)."""
        x = self.de_embeddings
        if len(x) == 0:
            return float("nan")
        if len(x) > max_points:
            x = x[np.random.default_rng(self.config.seed).choice(len(x), max_points, replace=False)]
        return self.config.reward.calc_distance(x, self.reference)


def with_policy(config: RunConfig, policy: str, **params) -> RunConfig:
    """``config`` with another policy (and its parameters)."""
    return replace(config, policy=policy, policy_params=params)


def config_json(config: RunConfig) -> str:
    return json.dumps(config.to_dict(), sort_keys=True)
