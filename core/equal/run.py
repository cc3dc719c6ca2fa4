"""The EQUAL loop as a run object: plan a round, extract, reward, update, commit.

Usage::

    run = BanditRun(RunConfig(policy="equal"), ArmSpace.from_corpus_map(cmap), reference_emb,
                    extractor, embed, store=RunStore(), provenance=RunProvenance.build(space, ref, extractor))
    while not run.is_done:
        result = run.step()              # one round: top-B arms x D documents

The parts: :class:`RunConfig` (frozen, stored as JSON), :class:`~core.equal.space.ArmSpace`
(documents and arms, built from a corpus map), the run (plans, plays, steps),
:class:`~core.equal.ledger.Ledger` (frames and coverage), a
:class:`~core.equal.store.Recorder` (the SQLite :class:`~core.equal.store.RunStore`) and
:class:`~core.equal.provenance.RunProvenance` (what the run was made with, checked on resume).

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

* ``unplayed="eb"`` (default) and ``"prior"``: each cluster's documents are compared with ``D_r``
  once, for free (no extraction: the corpus embeddings are already there); the reward is
  predicted from that similarity by a line fitted to the arms observed so far, and each arm's
  estimate is shrunk towards its prediction: by ``prior_weight`` pseudo-pulls (``"prior"``) or
  by a weight the rewards' variances set (``"eb"``: noisy pulls lean on the prediction longer,
  arms that clearly differ from it leave it sooner; see :mod:`core.equal.policies`). New arms
  are probed most promising first, one unlucky pull does not bury a good cluster, and where
  similarity misleads (the decoy case of ``benchmarks/bench_equal.py``) ``"eb"`` stops trusting
  it. Needs ``doc_emb``. ``"mean"``: an unplayed arm takes the running mean reward; ``"zero"``: the paper.
* ``first_pull_docs=3``: an arm's first pull reads 3 documents, later pulls ``D``; a probe of
  a poor cluster costs 3 calls instead of 10 (``None``: always ``D``, the paper).
* ``batch_arms=3`` arms per round: the paper's code plays 50 of k=1000 arms (5%); 3 is that share
  of the ~75 clusters of a 10k-document corpus, and fewer arms per round means every plan uses
  fresher rewards. More arms per round only parallelise extraction.
* ``OTReward(empty_reward="worst")``: a pull that finds no pairs is the worst pull so far.
* ``OTReward(credit="document")``: a pull is worth the mean, over the documents it read, of
  each document's value (the mean transported cosine of its pairs to ``D_r``, 0 for a document
  without pairs), so yield enters the arm's value; ``credit="pull"`` is the paper's one OT
  distance per pull (see :mod:`core.equal.reward`; measured in benchmarks/README.md, "EQUAL on provenance labels").
* ``policy="learned"`` (default since issue #28, :class:`~core.equal.policies.LearnedDocs`): each round reads
  the ``B * D`` unread documents whose similarity to ``D_r`` times the value predicted for them is highest; the
  prediction is a ridge regression, on the document's embedding with a per-cluster intercept, of the value of every
  document the run has read (:class:`~core.equal.docmodel.LearnedValueModel`). The round's documents are grouped
  into one pull per cluster. The first round reads what Avg-sim reads; barren look-alikes of ``D_r`` (an index,
  unanswered questions, boilerplate) fall behind once a few come back empty. Chosen on the tuning half of
  ``benchmarks/bench_equal.py``; the cluster bandit with the paper's DS score is ``policy="equal"``, with every
  setting below.
* ``doc_order="learned"`` with ``doc_similarity="mean"`` (issue #28, for the cluster policies): the bandit
  chooses the cluster from the rewards, and within it the documents are read by the value a ridge regression on
  their embedding and their mean cosine to ``D_r`` predicts from every document the run has read
  (:mod:`core.equal.docmodel`), so barren look-alikes fall behind the answered documents of their
  cluster. ``"similar"``: most similar first, always (the default before #28); the paper: a random order
  (``"random"``). ``order_explore`` > 0 samples the order around the ranking from the seed (default 0: the run is
  deterministic, ``RunConfig.deterministic``).
* ``neighbour_weight=0.25``: a neighbouring cluster's pull counts a quarter of the arm's own. At
  the paper's 1 the decoy neighbours of an answered FAQ cluster pulled its estimate from 0.60
  after one pull (the best of any arm) to 0.34, so it was never played again (static tier).

Measured before issue #13, on the old cosine-labelled benchmark (6 presets x 5 seeds, k=75): the
extraction calls needed to collect half of the on-task pairs, as Random/EQUAL, each step
added to the one before (B=5 until the last): the paper's settings 3.09x; ``unplayed="mean"``
with 3-document probes 3.30x; ``empty_reward="worst"`` 3.50x; ``unplayed="prior"`` (weight 4)
4.93x; 3 arms per round 5.13x (the defaults; the paper's settings at B=3: 3.18x). The
arm-level ceiling (an oracle that knows each cluster's on-task density) is 5.9x. The paper's
Avg-sim baseline (documents by similarity to ``D_r``, no extraction feedback) reaches 5.45x
on this benchmark, whose "on-task" test is itself a cosine similarity to ``D_r``.

Failures (issue #15): a document whose extraction failed (``ExtractionResult.errors``) is
recorded as failed, not done: it spends no share budget, stays in its arm's queue and is
retried on its arm's next pull (after ``MAX_DOC_ATTEMPTS`` failures in one session it is set
aside until the run is resumed). A pull whose documents all failed does not update the
policy. After ``max_failures`` consecutive failed documents the run stops with status
``"stopped: endpoint failing"`` at once, mid-round too (the rest of the round is not sent to a failing endpoint;
it is played on resume); resuming it retries every failed document.

Reference coverage, shown beside the reward: see :mod:`core.equal.ledger`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.disk import DiskFullError
from core.equal.arms import ArmDocs
from core.equal.budget import make_budget, make_stop_rule
from core.equal.config import BUDGET_KINDS, STOP_RULES, RunConfig, RunConfigError
from core.equal.docmodel import DocValueModel, LearnedValueModel, calc_doc_values
from core.equal.extract.base import ExtractionResult, Extractor, QAPair
from core.equal.ledger import FailureLog, Ledger
from core.equal.policies import (
    BanditState,
    DocumentPolicy,
    LearnedDocs,
    PolicyConfigError,
    calc_arm_prior,
    calc_doc_similarity,
    make_policy,
)
from core.equal.provenance import RunProvenance, diff_provenance, extractor_prices
from core.equal.space import ArmSpace, ArmSpaceError
from core.equal.store import Recorder, RunStoreError, StoredRun, keeping_lease, make_owner

__all__ = ["BUDGET_KINDS", "STOP_RULES", "BanditRun", "EmbedFn", "RoundResult", "RunConfig", "RunConfigError",
           "cached_embedder", "check_cost_budget", "encoder_embedder", "single_thread_blas", "without_failed_pairs"]

MAX_DOC_ATTEMPTS = 3  # failures of one document in one session before it is set aside until a resume
EmbedFn = Callable[[Sequence[str]], NDArray[np.float32]]
Plan = list[tuple[int, list[int]]]


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


_BLAS: Any = None


def single_thread_blas() -> AbstractContextManager[Any]:
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
        return nullcontext()


def cached_embedder(embed: EmbedFn) -> EmbedFn:
    """Wrap ``embed`` with an in-memory per-text cache (each distinct text is embedded once).

    ``fn.cached(text)`` says whether a text is held (a job that forecasts its time counts those apart).

    >>> calls = []
    >>> fn = cached_embedder(lambda texts: calls.append(list(texts)) or np.ones((len(texts), 2), np.float32))
    >>> fn(["a", "b", "a"]).shape, fn(["b"]).shape, calls, fn.cached("a"), fn.cached("c")
    ((3, 2), (1, 2), [['a', 'b']], True, False)
    """
    memo: dict[str, NDArray[np.float32]] = {}

    def fn(texts: Sequence[str]) -> NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            for t, v in zip(missing, np.asarray(embed(missing), dtype=np.float32)):
                memo[t] = v
        if not texts:
            return np.empty((0, 0), dtype=np.float32)
        return np.stack([memo[t] for t in texts])

    fn.cached = memo.__contains__  # type: ignore[attr-defined]
    return fn


def encoder_embedder(encoder: Any) -> EmbedFn:
    """An :data:`EmbedFn` from an :class:`~core.corpus.encoders.Encoder`, through the on-disk text cache.

    The function carries ``encoder_name`` and ``dim``, so a run can refuse to mix it with a map
    embedded by another encoder (:meth:`ArmSpace.check_embedder`).
    """
    from core.corpus.embed import embed_texts

    fn = cached_embedder(lambda texts: embed_texts(texts, encoder))
    fn.encoder_name = str(encoder.name)  # type: ignore[attr-defined]
    fn.dim = int(encoder.dim)  # type: ignore[attr-defined]
    return fn


def check_cost_budget(config: RunConfig, extractor: Extractor) -> None:
    """Refuse a cost budget the extractor cannot spend: the free rule extractor, or an endpoint without prices."""
    if not make_budget(config.budget_kind, config.budget).needs_prices:
        return
    prices = extractor_prices(extractor)
    unknown = prices is not None and (None in prices or not any(prices))
    if getattr(extractor, "name", "") == "rules" or unknown:
        raise RunConfigError("a cost budget needs prices: set the prices per 1k input and output tokens "
                             "(--price-in/--price-out, EQUAL_LLM_PRICE_PER_1K_PROMPT/"
                             "EQUAL_LLM_PRICE_PER_1K_COMPLETION, or the page's price fields); without them every call "
                             "costs 0 and the budget would never stop the run. The rule extractor is free: use a "
                             "share or calls budget")


def _is_document_policy(policy: Any) -> bool:
    """Document baselines (random, all, avg-sim) choose documents, not arms (:class:`DocumentPolicy`)."""
    return isinstance(policy, DocumentPolicy)


def _similarity_prior(policy: Any, space: ArmSpace, reference: NDArray, config: RunConfig,
                      k: int) -> tuple[NDArray | None, str, NDArray | None, NDArray | None]:
    """The arm prior, the state's ``unplayed`` rule, Avg-sim's document scores and each document's cosine to its
    nearest ``D_r`` example (``doc_order="similar"`` reads by it), from ``space.doc_emb``."""
    is_docs = _is_document_policy(policy)
    needs_sim = is_docs and policy.needs_similarity
    if space.doc_emb is None:
        if config.doc_order in ("similar", "learned") and not is_docs:  # a document baseline picks its own
            raise RunConfigError(f"RunConfig.doc_order={config.doc_order!r} reads each cluster's documents by their "
                                 "similarity to the reference set: pass doc_emb (the corpus embeddings), or choose "
                                 "'random'")
        if needs_sim or (config.unplayed in ("prior", "eb") and not is_docs):
            why = f"the {config.policy} baseline" if needs_sim else f"RunConfig.unplayed={config.unplayed!r}"
            raise RunConfigError(f"{why} ranks clusters by their documents' similarity to the reference set: "
                                 "pass doc_emb (the corpus embeddings), or choose unplayed='mean' or 'zero'")
        # a document baseline selects without arm estimates; "prior" then only labels the table
        return None, "mean" if config.unplayed in ("prior", "eb") else config.unplayed, None, None
    doc_emb = np.asarray(space.doc_emb)
    if doc_emb.ndim != 2 or len(doc_emb) != len(space):
        raise RunConfigError(f"doc_emb must have one row per document ({len(space)}), got shape {doc_emb.shape}")
    try:
        top, avg = calc_doc_similarity(doc_emb, reference)
    except PolicyConfigError as exc:
        raise RunConfigError(str(exc)) from exc
    if config.doc_similarity == "mean":  # issue #28: the mean cosine (Avg-sim's) instead of the nearest example's
        top = avg
    return calc_arm_prior(top, space.labels, k), config.unplayed, avg if needs_sim else None, top


def plan_round(policy: Any, state: BanditState, arms: ArmDocs, labels: NDArray, config: RunConfig, room: int | None,
               rng: np.random.Generator) -> Plan:
    """The pulls of a round: ``[(arm, [doc index, ...]), ...]``, at most ``room`` documents (``None``: no limit).

    An arm policy picks ``B`` arms and each takes its next ``D`` documents (``first_pull_docs`` on
    its first pull); a document policy picks ``B * D`` documents, grouped by arm.
    """
    if _is_document_policy(policy):
        n = config.batch_arms * config.docs_per_pull
        docs = policy.select_docs(arms, n if room is None else min(n, room), rng)
        by_arm: dict[int, list[int]] = {}
        for i in docs:
            by_arm.setdefault(int(labels[i]), []).append(int(i))
        return list(by_arm.items())
    plan = []
    first = min(config.first_pull_docs or config.docs_per_pull, config.docs_per_pull)
    for arm in policy.select(state, config.batch_arms, rng):
        docs = arms.peek(int(arm), first if state.arm_to_pulls[arm] == 0 else None)
        if room is not None:
            docs = docs[:room]
            room -= len(docs)
        if len(docs):
            plan.append((int(arm), [int(i) for i in docs]))
    return plan


def without_failed_pairs(result: ExtractionResult) -> ExtractionResult:
    """``result`` without the pairs of documents it also reports failed: a failed document is not done and is read
    again, so pairs it returned now would be counted twice. A run's pull and
    :func:`core.equal.replay.extract_batch` (the baselines, the tuning lab) both read their results through this.

    >>> result = ExtractionResult(pairs=[QAPair("q?", "a.", "ok", "rules"), QAPair("q?", "a.", "bad", "rules")],
    ...                           errors=[("bad", "timed out")])
    >>> [p.doc_id for p in without_failed_pairs(result).pairs]
    ['ok']
    """
    bad = result.failed_ids
    if not bad or not any(p.doc_id in bad for p in result.pairs):
        return result
    return replace(result, pairs=[p for p in result.pairs if p.doc_id not in bad])


class PullInterrupted(RuntimeError):
    """A pull whose extraction was cancelled (Pause) mid-call: nothing was applied; it plays again next."""


# long: the run's round state (plan, sequence, round rewards, plateau counter, lease) is shared by planning,
# playing, resuming and ending; splitting the class further would pass that state between objects. The ledger
# (what was found), the arm space, the failure log, the recorder and the planning function are already apart.
class BanditRun:
    """One EQUAL (or baseline) run over an arm space: plans rounds, plays pulls, steps.

    What it found is in :attr:`ledger`; what it does is written through ``store`` (a
    :class:`~core.equal.store.Recorder`) as it happens. ``interrupted`` is true after a pull whose
    extraction :meth:`pause` cancelled (that pull was not applied).

    Why one class of ~300 lines: the round state (plan, sequence, round rewards, plateau counter,
    lease) is shared by planning, playing, resuming and ending; the ledger, the arm space, the
    failure log, the recorder and :func:`plan_round` are already apart.

    Parameters
    ----------
    config : RunConfig
    space : ArmSpace
        Documents, labels, neighbour graph and document embeddings (``ArmSpace.from_corpus_map``).
    reference : array, shape (m, d)
        Embeddings of ``D_r`` (unit rows), in the same space as ``space.doc_emb``.
    extractor : Extractor
    embed : callable
        ``texts -> (len, d)`` unit vectors, same space as ``reference`` (:func:`encoder_embedder`).
    store : Recorder, optional
        When given, everything is committed as it happens.
    run_id, name : str, optional
    provenance : RunProvenance, optional
        What the run is made with (stored; checked by :meth:`resume`).
    """

    interrupted: bool = False

    def __init__(self, config: RunConfig, space: ArmSpace, reference: NDArray, extractor: Extractor, embed: EmbedFn,
                 store: Recorder | None = None, run_id: str | None = None, name: str = "",
                 provenance: RunProvenance | None = None, _register: bool = True) -> None:
        reference = np.atleast_2d(np.asarray(reference, dtype=np.float32))
        if reference.size == 0:
            raise RunConfigError("reference: the reference set has no embeddings")
        try:
            space.check_embedder(embed)
        except ArmSpaceError as exc:
            raise RunConfigError(str(exc)) from None
        check_cost_budget(config, extractor)
        self.config, self.space, self.reference, self.extractor, self.embed = config, space, reference, extractor, embed
        self.provenance = provenance or RunProvenance.build(space, None, extractor)
        self.policy = make_policy(config.policy, **dict(config.policy_params))
        self.budget = make_budget(config.budget_kind, config.budget)  # what the budget counts (a strategy)
        self.stop_rule = make_stop_rule(config.stop, config.patience)
        k = space.k if space.k is not None else int(space.labels.max()) + 1
        arm_prior, unplayed, doc_scores, doc_top = _similarity_prior(self.policy, space, reference, config, k)
        order = "random" if config.doc_order in ("similar", "learned") and doc_top is None else config.doc_order
        # doc_order="learned" (issue #28): a cluster's documents by what the run's own reads predict they are worth
        self._doc_top = doc_top
        self.doc_model: DocValueModel | LearnedValueModel | None = (  # the baselines pick documents without it
            DocValueModel(np.asarray(space.doc_emb), doc_top)
            if order == "learned" and doc_top is not None and not _is_document_policy(self.policy) else None)
        if isinstance(self.policy, LearnedDocs) and doc_top is not None:  # the "learned" policy (issue #28)
            self.doc_model = LearnedValueModel(np.asarray(space.doc_emb), doc_top, space.labels)
            noise = (config.order_explore * float(np.std(doc_top))
                     * np.random.default_rng([int(config.seed), 19]).gumbel(size=len(doc_top))
                     if config.order_explore > 0 else None)
            self.policy.use_scorer(self.doc_model.score, noise)
        self.arms = ArmDocs(space.labels, k=k, docs_per_pull=config.docs_per_pull, order=order,
                            exhaust=config.exhaust, seed=config.seed, scores=doc_top,
                            explore=config.order_explore if order in ("similar", "learned") else 0.0,
                            scorer=self.doc_model.score if self.doc_model is not None else None)
        self.k = self.arms.k
        if doc_scores is not None:
            assert isinstance(self.policy, DocumentPolicy)
            self.policy.prepare(doc_scores)  # a document policy that ranks by similarity to D_r
        self.state = BanditState(self.k, neighbours=space.neighbours, share_neighbours=config.share_neighbours,
                                 cumulative=config.reward.estimate == "cumulative", unplayed=unplayed,
                                 neighbour_weight=config.neighbour_weight,
                                 arm_prior=arm_prior, prior_weight=config.prior_weight)
        self.state.available = self.arms.available()
        self.store, self.ledger = store, Ledger(reference)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.name = name or f"{config.policy} seed {config.seed}"
        self.owner = make_owner()  # this object's lease on the stored run
        self.fingerprint = space.fingerprint
        self.round, self._seq = 0, 0
        self._plan: Plan | None = None
        self._round_rewards: list[float] = []
        self._best_round, self._stale = -math.inf, 0
        self.worst: float | None = None
        self._stopped, self.stop_reason, self._claimed = False, "", False
        self._unsaved: dict[str, Any] | None = None  # a played pull a full disk kept from the store
        self.failures = FailureLog(MAX_DOC_ATTEMPTS)
        self.unknown_inputs: list[str] = []  # set by resume: inputs an old stored run did not record
        self._unstored = store is not None and _register  # written to the store by its first claim, not here
        if self._unstored and store is not None and store.has_run(self.run_id):
            raise RunStoreError(f"run {self.run_id!r} already exists in the store")

    _resumed_at: int | None = None  # set by resume: the pulls it replayed, recorded by the first claim that plays on
    #: Set by resume: why the stored run had stopped by itself (``"endpoint failing"``), kept (its status, its note)
    #: while it is reopened and cleared by the first claim that plays on; its failed documents are retried then.
    reopened_stop = ""
    _reopened_streak = 0  # the failure streak the reopened run had stopped on, for its note

    def claim(self) -> None:
        """Take this run's lease in the store, so that only this object commits to it (a no-op while held).

        A new run is written to the store here (status ``running``, leased to :attr:`owner`), not
        when it is built: a run built and never started (a Start pressed twice, a page run cut
        short) leaves no row that nobody controls. Raises
        :class:`~core.equal.store.RunBusyError` when another live session holds the lease.
        """
        if self.store is None or self._claimed:
            return
        if self._unstored:
            self.store.create_run(self.run_id, self.config.to_dict(), self.fingerprint, len(self.space), self.name,
                                  provenance=self.provenance.to_dict(), owner=self.owner)
            self._unstored = False
        else:
            self.store.claim(self.run_id, self.owner, next_pull=self._next_pull())
        if self._resumed_at is not None:  # this session plays on after forgiving the set-aside documents
            self.store.record_resume(self.run_id, self._resumed_at)
            self._resumed_at = None
        self._claimed, self.reopened_stop = True, ""

    # ------------------------------------------------------------------ budget
    @property
    def budget_target(self) -> float:
        return self.budget.target(len(self.space))

    @property
    def spent(self) -> float:
        """Budget spent in the units of ``budget_kind``."""
        return self.budget.spent(self.docs_done, self.calls, self.cost)

    @property
    def budget_fraction(self) -> float:
        return min(1.0, self.spent / self.budget_target)

    @property
    def is_done(self) -> bool:
        if self.stop_reason:  # at once, mid-round too: a failing endpoint is not sent the rest of the round
            return True
        if self._plan is not None:
            return False
        # an arm policy ends when no arm may be pulled (``exhaust="strict"`` retires an arm with fewer than D documents
        # left); a document policy picks documents, not arms, and reads until none is left
        no_arm = not _is_document_policy(self.policy) and not self.state.available.any()
        return (self._stopped or bool(self.stop_reason) or self.spent >= self.budget_target or self.arms.n_left == 0
                or no_arm)

    @property
    def status(self) -> str:
        """``"finished"``, ``"stopped: <reason>"`` or ``"running"`` (the page adds ``paused``); a reopened run that
        had stopped by itself says so until it plays on (:attr:`reopened_stop`)."""
        if self.stop_reason or self.reopened_stop:
            return f"stopped: {self.stop_reason or self.reopened_stop}"
        return "finished" if self.is_done else "running"

    @property
    def stop_note(self) -> str:
        """Why the run stopped by itself and what to do, in words, for a page to show beside its status (``""``
        unless the endpoint kept failing): the newest error, the extractor's own words, which never hold the key. A
        reopened run says it until it plays on (the store keeps no error text, so its note names none).
        """
        if self.stop_reason == "endpoint failing":
            last = f" (the last: {self.failures.last_error})" if self.failures.last_error else ""
            streak, then = self.failures.streak, "reopen this run under Stored runs and Resume"
        elif self.reopened_stop == "endpoint failing":
            last, streak, then = "", self._reopened_streak, "press Resume"
        else:
            return ""
        return (f"Stopped: the endpoint failed on {streak} documents in a row{last}. Check it (its address, model and "
                f"key under More settings), then {then}: the failed documents are tried again; the pairs extracted so "
                "far are kept.")

    # ------------------------------------------------------------------ planning
    def _rng(self, round_: int) -> np.random.Generator:
        return np.random.default_rng([int(self.config.seed), int(round_), 11])

    def _make_plan(self, round_: int) -> Plan:
        """The pulls of a round, trimmed to the budget left (see :func:`plan_round`)."""
        c = self.config
        room = self.budget.room(self.budget_target, self.spent)
        if c.arm_prior == "next" and self.state.arm_prior is not None and self._doc_top is not None:
            self.state.arm_prior = self._calc_next_prior()
        return plan_round(self.policy, self.state, self.arms, self.space.labels, c, room, self._rng(round_))

    def _calc_next_prior(self) -> NDArray[np.float64]:
        """``arm_prior="next"``: per arm, the mean score of the documents its next pull would read, shape ``(k,)``.

        The score is the cosine to the nearest ``D_r`` example, or with ``doc_order="learned"`` the learned value
        (:mod:`core.equal.docmodel`); an exhausted arm keeps its previous prior (it is never played).
        """
        assert self.state.arm_prior is not None and self._doc_top is not None
        prior = self.state.arm_prior.copy()
        first = min(self.config.first_pull_docs or self.config.docs_per_pull, self.config.docs_per_pull)
        top = self._doc_top
        score = self.doc_model.score if self.doc_model is not None else (lambda idx: top[idx])
        for arm in np.flatnonzero(self.state.available):
            docs = self.arms.peek(int(arm), first if self.state.arm_to_pulls[arm] == 0 else None)
            if len(docs):
                prior[arm] = float(np.mean(score(docs)))
        return prior

    # ------------------------------------------------------------------ playing
    def play_pull(self) -> RoundResult | None:
        """Play the next pull of the current round (planning the round first if needed).

        Returns the :class:`RoundResult` when this pull completes the round, else ``None``.
        Bounded work per call: one extraction of ``D`` documents, one OT. Raises
        :class:`~core.equal.store.RunBusyError` when another session is playing this stored run.
        """
        with single_thread_blas():
            return self._play_pull()

    def _play_pull(self) -> RoundResult | None:
        self._flush_unsaved()
        if self.is_done:
            raise RuntimeError("play_pull: the run is done")
        self.interrupted = False
        self.claim()
        if self._plan is None:
            plan = self._make_plan(self.round)  # seeded by the round: the same plan if saving it is retried
            if self.store is not None:
                self.store.save_plan(self.run_id, self.round, plan)
            self._plan, self._seq, self._round_rewards = plan, 0, []
            if not self._plan:
                self._plan, self._stopped = None, True
                self._record_end()
                return RoundResult(self.round, [], 0, 0, [], 0, 0.0, True)
        arm, docs = self._plan[self._seq]
        with keeping_lease(self.store if self._claimed else None, self.run_id, self.owner):  # a slow pull keeps it
            result = self.extractor.extract(self.space.documents(docs))
            if getattr(result, "cancelled", False):  # paused mid-call: nothing applied, the same pull replays
                self.interrupted = True
                return None
            result = without_failed_pairs(result)
            emb = (self.embed([p.as_text() for p in result.pairs]) if result.pairs
                   else np.empty((0, self.reference.shape[1]), np.float32))
            n_ok = len(self._split_failed(docs, result)[0])
            reward = self._calc_reward(arm, emb, [p.doc_id for p in result.pairs], n_ok) if n_ok else float("nan")
        self._apply(arm, docs, result, emb, reward)
        out = self._after_pull()
        if self.is_done:
            self._record_end()
        self._flush_unsaved()  # raises RunStoreFull, once the pull is applied, if the disk kept it from the store
        return out

    def step(self) -> RoundResult:
        """Play one whole round (the rest of it, if a round is in progress); a run ending here is recorded so."""
        with single_thread_blas():
            while True:
                out = self._play_pull()
                if out is not None:
                    return out
                if self.is_done:  # stopped mid-round (the endpoint kept failing): the round so far
                    return self._round_so_far()
                if self.interrupted:
                    raise PullInterrupted("the extraction was interrupted (paused); the pull replays on the next step")

    def run_until_done(self, max_rounds: int | None = None) -> BanditRun:
        """Step until the budget or stop rule ends the run (or ``max_rounds`` rounds)."""
        n = 0
        while not self.is_done and (max_rounds is None or n < max_rounds):
            self.step()
            n += 1
        if self.is_done:
            self.finish()
        return self

    def _next_pull(self) -> tuple[int, int]:
        """``(round, seq)`` of the next pull this run commits (a pull a full disk kept from the store first)."""
        if self._unsaved is not None:
            return int(self._unsaved["round_"]), int(self._unsaved["seq"])
        return (self.round, self._seq) if self._plan is not None else (self.round, 0)

    def finish(self) -> None:
        """Record the run's end in the store: ``finished``, or ``stopped: <reason>``."""
        self._record_end()

    def pause(self) -> None:
        """Record the run as ``paused`` and give up its lease (another session may then continue it).

        An extraction waiting in another thread is interrupted (``extractor.cancel()``, where the
        extractor has one): its pull is not applied and is played again on resume, so nothing is lost.
        """
        self._give_up("paused")

    def abandon(self) -> None:
        """Give the run up unfinished (a page's Reset): recorded ``interrupted``, its lease released, so it
        can be reopened and resumed later. An extraction waiting in another thread is interrupted."""
        self._give_up("interrupted")

    def _give_up(self, status: str) -> None:
        cancel = getattr(self.extractor, "cancel", None)
        if callable(cancel):
            cancel()
        if self.store is not None and not self.is_done and not self._unstored and not self.reopened_stop:
            self._flush_unsaved()  # (a reopened stopped run, never played on, keeps its stored status)
            self.store.release(self.run_id, self.owner, status)
            self._claimed = False

    def _record_end(self) -> None:
        if self.store is not None and self.is_done:
            self._flush_unsaved()
            self.store.release(self.run_id, self.owner, self.status)
            self._claimed = False

    def _calc_reward(self, arm: int, emb: NDArray, pair_docs: list[str], n_docs: int) -> float:
        """The reward of a pull of ``arm`` that read ``n_docs`` documents and found pairs ``emb`` of ``pair_docs``."""
        rw = self.config.reward
        if rw.estimate == "cumulative":
            parts = self.ledger.arm_embeddings(arm) + ([emb] if len(emb) else [])
            x = np.concatenate(parts) if parts else emb
            n_docs += self.ledger.arm_docs.get(arm, 0)
            pair_docs = self.ledger.arm_pair_docs.get(arm, []) + pair_docs
        else:
            x = emb
        return rw.calc_pull(x, self.reference, n_docs, pair_docs=pair_docs, worst=self.worst)

    def _split_failed(self, docs: Sequence[int], result: ExtractionResult) -> tuple[list[int], list[int]]:
        bad_ids = result.failed_ids
        ok = [i for i in docs if self.space.doc_ids[i] not in bad_ids]
        return ok, [i for i in docs if self.space.doc_ids[i] in bad_ids]

    def _apply(self, arm: int, docs: Sequence[int], result: ExtractionResult, emb: NDArray, reward: float,
               commit: bool = True) -> None:
        ok, failed = self._split_failed(docs, result)
        if ok:  # a pull whose every document failed says nothing about the arm
            self.policy.update(self.state, arm, reward)
            self.worst = reward if self.worst is None else min(self.worst, reward)
            self._round_rewards.append(reward)
            if self.doc_model is not None:
                ids = self.space.doc_ids
                self.doc_model.observe(ok, calc_doc_values([ids[i] for i in ok], [p.doc_id for p in result.pairs],
                                                           emb, self.reference))
        self.arms.take(ok + self.failures.record(ok, failed))
        if failed and result.errors:
            self.failures.last_error = str(result.errors[-1][1])
        self.state.available = self.arms.available()
        if self.failures.streak >= self.config.max_failures:
            self.stop_reason = "endpoint failing"
        if commit and self.store is not None:
            self._commit(arm, docs, result, reward if ok else float("nan"), failed)
        self.ledger.record(self.round, self._seq, arm, len(ok), result, emb, reward if ok else float("nan"),
                           len(failed))

    def _commit(self, arm: int, docs: Sequence[int], result: ExtractionResult, reward: float,
                failed: list[int]) -> None:
        assert self.store is not None
        touched = [arm]
        if self.state.share_neighbours and self.state.neighbours is not None:
            touched += [int(j) for j in np.flatnonzero(self.state.neighbours[arm])]
        rows = [(j, int(self.state.arm_to_pulls[j]), float(self.state.arm_to_count[j]), float(self.state.arm_to_sum[j]))
                for j in touched]
        ids = self.space.doc_ids
        call: dict[str, Any] = dict(run_id=self.run_id, round_=self.round, seq=self._seq, arm=arm,
                                    doc_ids=[ids[i] for i in docs], doc_idx=docs, reward=reward, result=result,
                                    arm_rows=rows, failed=[ids[i] for i in failed], owner=self.owner)
        try:
            self.store.commit_pull(**call)
        except DiskFullError:  # applied in memory all the same; play_pull raises once it is, and retries the commit
            self._unsaved = call

    def _flush_unsaved(self) -> None:
        """Commit the pull a full disk kept from the store (:class:`~core.equal.store.RunStoreFull` while it is full).

        The pull was played and applied in memory; it is committed, exactly as it would have been,
        before anything else reaches the store, so the stored run stays a prefix of the played one.
        """
        if self._unsaved is not None and self.store is not None:
            self.store.commit_pull(**self._unsaved)
            self._unsaved = None

    def _after_pull(self) -> RoundResult | None:
        assert self._plan is not None
        self._seq += 1
        if self._seq < len(self._plan):
            return None
        if self._round_rewards:  # a round whose every pull failed says nothing about a plateau
            mean = float(np.mean(self._round_rewards))
            if mean > self._best_round + 1e-12:
                self._best_round, self._stale = mean, 0
            else:
                self._stale += 1
            if self.stop_rule.stops(self._stale):
                self._stopped = True
        result = self._round_so_far()
        self._plan = None
        self.round += 1
        result.done = self.is_done
        return result

    def _round_so_far(self) -> RoundResult:
        """The current round's :class:`RoundResult` over the pulls played so far (all of them once it is complete)."""
        assert self._plan is not None
        plan = self._plan[:self._seq]
        rows = self.ledger.log[-len(plan):] if plan else []
        return RoundResult(self.round, [a for a, _ in plan], sum(r["n_docs"] for r in rows),
                           sum(r["n_pairs"] for r in rows), list(self._round_rewards),
                           sum(r["calls"] for r in rows), float(sum(r["cost"] for r in rows)), self.is_done)

    # ------------------------------------------------------------------ resume
    @classmethod
    def resume(cls, store: Recorder, run_id: str, space: ArmSpace, reference: NDArray, extractor: Extractor,
               embed: EmbedFn, provenance: RunProvenance | None = None,
               reference_label: Callable[[str], str] | None = None) -> BanditRun:
        """Rebuild a stored run by replaying its committed pulls, ready to continue (see :func:`resume_run`)."""
        return resume_run(cls, store, run_id, space, reference, extractor, embed, provenance, reference_label)

    # ------------------------------------------------------------------ frames (read from the ledger)
    doc_ids = property(lambda self: self.space.doc_ids)
    labels = property(lambda self: self.space.labels)
    docs_done = property(lambda self: self.ledger.docs_done)
    calls = property(lambda self: self.ledger.calls)
    cost = property(lambda self: self.ledger.cost)
    coverage = property(lambda self: self.ledger.coverage, doc="Reference coverage (see :mod:`core.equal.ledger`).")
    de_embeddings = property(lambda self: self.ledger.de_embeddings, doc="Embeddings of ``D_e``, ``(len(pairs), d)``.")
    pairs = property(lambda self: list(self.ledger.pairs))
    consecutive_failures = property(lambda self: self.failures.streak)
    set_aside = property(lambda self: self.failures.set_aside)

    def pulls_frame(self) -> pd.DataFrame:
        return self.ledger.pulls_frame(self.name, self.config.policy)

    def rounds_frame(self) -> pd.DataFrame:
        return self.ledger.rounds_frame(self.name, self.config.policy, len(self.space))

    def pairs_frame(self, last: int | None = None) -> pd.DataFrame:
        """``D_e`` with provenance (:meth:`Ledger.pairs_frame`); ``cluster`` is the corpus map's cluster."""
        return self.ledger.pairs_frame(self.config.policy, last, self.space.cluster_of)

    def arms_frame(self) -> pd.DataFrame:
        """One row per arm: size, docs_left, pulls, count (with shared), mean, score, available. The score is what
        the policy ranks arms by; the learned policy ranks documents, so an arm's is its best unread document's
        (:meth:`best_unread_scores`): what decides whether the next round reads from it."""
        s = self.state
        learned = isinstance(self.policy, LearnedDocs) and self.policy.scorer is not None
        return pd.DataFrame({"arm": np.arange(self.k), "size": self.arms.sizes, "docs_left": self.arms.left,
                             "pulls": s.arm_to_pulls, "count": s.arm_to_count, "mean": s.arm_to_mean,
                             "score": self.best_unread_scores() if learned else self.policy.calc_scores(s),
                             "available": s.available})

    def best_unread_scores(self) -> NDArray[np.float64]:
        """Per arm, the learned policy's highest score among its unread documents (``-inf``: none left), shape
        ``(k,)``; a round reads the ``B * D`` highest-scored unread documents of the whole corpus."""
        assert isinstance(self.policy, LearnedDocs) and self.policy.scorer is not None
        left = self.arms.untaken()
        key = np.asarray(self.policy.scorer(left), dtype=np.float64)
        if self.policy.noise is not None:
            key = key + self.policy.noise[left]
        best = np.full(self.k, -np.inf)
        np.maximum.at(best, np.asarray(self.arms.labels)[left], key)
        return best

    def doc_pulls(self) -> NDArray[np.int64]:
        """Per document: 1 if extracted, else 0, shape ``(n,)`` (colours the map)."""
        taken = self.arms.taken.copy()
        taken[sorted(self.failures.set_aside)] = False
        return taken.astype(np.int64)

    def calc_de_distance(self, max_points: int = 2000) -> float:
        """OT distance of ``D_e`` to ``D_r`` with the run's reward solver (a seeded subsample above ``max_points``)."""
        x = self.de_embeddings
        if len(x) == 0:
            return float("nan")
        if len(x) > max_points:
            x = x[np.random.default_rng(self.config.seed).choice(len(x), max_points, replace=False)]
        return self.config.reward.calc_distance(x, self.reference)


def resume_run(cls: type[BanditRun], store: Recorder, run_id: str, space: ArmSpace, reference: NDArray,
               extractor: Extractor, embed: EmbedFn, provenance: RunProvenance | None = None,
               reference_label: Callable[[str], str] | None = None) -> BanditRun:
    """Rebuild a stored run by replaying its committed pulls, ready to continue.

    Pass the same arm space (map) the run was made with: the plans are re-derived from it and
    checked against the stored ones. With ``provenance``, the inputs are compared with the
    recorded ones first (a reference set named as ``reference_label`` says it: :func:`diff_provenance`). Documents
    whose extraction failed are retried. A run stored as stopped by itself (``stopped: endpoint failing``) keeps
    that status and its note (:attr:`BanditRun.reopened_stop`) until it plays on: reopening it to look at it, or
    pausing or giving it up, does not mark it ``paused``.

    Raises :class:`~core.equal.store.RunStoreError` naming every recorded input that differs,
    if the corpus or clustering differs, or a stored plan does not match what the policy selects.
    """
    stored = store.load_run(run_id)
    recorded = RunProvenance.from_dict(stored.provenance)
    given = provenance or RunProvenance.build(space, None, extractor)
    problems = diff_provenance(recorded, given, reference_label)
    if problems:
        raise RunStoreError(f"run {run_id!r} cannot be reopened with these inputs: " + "; ".join(problems)
                            + ". Reopen it with the recorded inputs (core.equal.reopen.reopen_recorded)")
    run = cls(RunConfig.from_dict(stored.config), space, reference, extractor, embed, store=store, run_id=run_id,
              name=stored.name, provenance=recorded if stored.provenance else given, _register=False)
    run.unknown_inputs = recorded.unknown
    if run.fingerprint != stored.fingerprint:
        raise RunStoreError(f"run {run_id!r} was made on another corpus or clustering (fingerprint differs)")
    _replay(run, stored)
    stop, streak = run.stop_reason, run.failures.streak
    _forgive(run)
    run._resumed_at = len(stored.pulls)
    if stop and stored.status.startswith("stopped") and not run.is_done:  # said until it plays on (claim)
        run.reopened_stop, run._reopened_streak = stop, streak
    return run


def _forgive(run: BanditRun) -> None:
    """What a resume does before playing on: retry what failed (the documents set aside, the endpoint's stop)."""
    run.stop_reason = ""
    run.arms.release(run.failures.forgive())
    run.state.available = run.arms.available()


def _replay(run: BanditRun, stored: StoredRun) -> None:
    """Apply the committed pulls of ``stored`` to the fresh ``run``, checking each round's plan."""
    pairs_by_pull: dict[tuple[int, int], list[QAPair]] = {}
    for r in stored.pairs.itertuples(index=False):
        pair = QAPair(r.question, r.answer, r.doc_id, r.extractor)
        pairs_by_pull.setdefault((int(r.round), int(r.seq)), []).append(pair)
    pulls_by_round: dict[int, list] = {}
    for p in stored.pulls.itertuples(index=False):
        pulls_by_round.setdefault(int(p.round), []).append(p)
    width, played, resumes = run.reference.shape[1], 0, set(stored.resumes)
    for round_ in sorted(stored.plans):
        plan = [(int(a), [int(i) for i in d]) for a, d in stored.plans[round_]]
        if run._make_plan(round_) != plan:
            raise RunStoreError(f"run {run.run_id!r}: round {round_} plan differs from what the policy selects now")
        if not plan:
            run._stopped = True
            break
        run.round, run._plan, run._seq, run._round_rewards = round_, plan, 0, []
        for p in pulls_by_round.get(round_, []):
            if int(p.seq) != run._seq or int(p.arm) != plan[run._seq][0]:
                raise RunStoreError(f"run {run.run_id!r}: pull ({round_}, {p.seq}) does not follow its plan")
            pairs = pairs_by_pull.get((round_, int(p.seq)), [])
            result = ExtractionResult(pairs=pairs, calls=int(p.calls), cost=float(p.cost),
                                      errors=[(d, "failed") for d in p.failed])
            emb = run.embed([q.as_text() for q in pairs]) if pairs else np.empty((0, width), np.float32)
            reward = float("nan") if p.reward is None else float(p.reward)  # NULL: every document failed
            run._apply(int(p.arm), plan[run._seq][1], result, emb, reward, commit=False)
            run._after_pull()
            played += 1
            if played in resumes:  # a session resumed here and played on: it forgave what had failed before
                _forgive(run)
