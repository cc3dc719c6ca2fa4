"""The EQUAL reward: optimal transport between the QA pairs of a pull and the reference set.

Source: EQUAL (Zhang et al., arXiv 2505.12250), Stage C. For the embeddings ``X`` of the QA
pairs of a pull, shape ``(n, d)``, and the embeddings ``Y`` of the reference set ``D_r``,
shape ``(m, d)``, both L2-normalised, with uniform weights ``a = 1/n``, ``b = 1/m`` and cost
``C_ij = ||x_i - y_j||_2 = sqrt(2 - 2 cos(x_i, y_j))`` (monotone in the paper's ``1 - cos``):

    W(X, Y) = min_{P in U(a, b)} <P, C>,      reward = 1 - W - offset

Higher is better; ``W`` lies in ``[0, 2]``. The authors' code solves the transport with IPOT
(beta 1, 500 outer x 10 inner iterations) and ``offset = 0.12``. Here ``method`` picks POT's
exact EMD (``ot.emd2``; default, used up to ``emd_max_n`` points per side), POT's Sinkhorn
(``ot.sinkhorn2``; used above ``emd_max_n`` or when asked) or IPOT (numpy, as in the paper).

Choices (EQUAL.md "Open points"):

* ``estimate="batch"`` (the code): each pull is rewarded by the OT of its own pairs; the arm's
  estimate is the mean of its pull rewards. ``"cumulative"`` (the paper's text): each pull is
  rewarded by the OT of *all* pairs extracted from that arm so far, and the arm's estimate is
  that latest value (see :meth:`core.equal.policies.BanditState.record`).
* A pull with no QA pairs gets ``empty_reward``: ``"worst"`` (default: the lowest reward
  observed so far in the run, ``-1 - offset`` before any -- calls that found nothing are the
  worst outcome) or a number. ``0.0`` is the paper's unplayed value; since real rewards are
  almost always negative, 0 makes a barren cluster look *better* than every productive one
  (measured on the built-in corpus: Random/EQUAL 3.30x with 0, 3.50x with "worst", all else equal).
* ``credit`` says what one pull is worth. ``"pull"`` (the paper): ``1 - W - offset``, one OT
  distance for the batch, whatever number of documents it took to find those pairs; a cluster
  that yields one close pair per ten documents outranks one whose every document yields fair
  pairs. The other two give credit per pair and per document read. The pull's optimal plan
  ``P`` (the same OT problem) hands each pair ``i`` the reference examples it is moved to; its
  credit is the cosine it has to them, ``v_i = n sum_j P_ij (1 - C_ij^2 / 2)``, clipped at 0 (a
  pair unrelated to ``D_r`` is worth nothing, never less; copies of one pair share its credit
  equally, so the order the documents were read in does not matter). ``"document"`` (default): a
  document is worth the mean credit of its pairs, 0 when it yields none, and the pull the mean over the
  documents it read: the closeness bought per extraction call. ``"pair"``: the pull is worth
  ``sum_i v_i / documents read``, so a document split into five pairs counts five times.
  ``"document"`` is the default because the number of pairs a document is cut into is the
  extractor's granularity, not the document's usefulness: on the built-in corpus the clusters
  with the most pairs per document (API references with many examples) are the least on-task
  (measured: Spearman -0.35 between pairs per document and on-task density, files-and-os,
  hashing encoder; per-document closeness +0.32, per-pull closeness +0.35). Under both, a
  document that yields nothing adds 0 and costs a call, so yield enters the arm's value, and
  an empty pull is worth 0 (``empty_reward`` and ``offset`` apply to ``"pull"`` only).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.equal.choices import Credit, OTMethod, RewardEstimate, values
from core.validate import RefusedError, Rule, check_choice, check_rule

OT_METHODS = values(OTMethod)
ESTIMATES = values(RewardEstimate)
CREDITS = values(Credit)



_TENSOR_BACKENDS = {"torch": "POT_BACKEND_DISABLE_PYTORCH", "jax": "POT_BACKEND_DISABLE_JAX",
                    "tensorflow": "POT_BACKEND_DISABLE_TENSORFLOW", "cupy": "POT_BACKEND_DISABLE_CUPY"}


def import_solver() -> Any:
    """POT (``ot``), imported once. Its first import takes 5-10 s on a busy CPU (scikit-learn, and PyTorch
    when POT finds it): a page calls this in a background thread when it opens, so a run's first pull does
    not wait for it. The rewards pass NumPy arrays only, so POT's tensor backends that are not loaded yet
    are not imported for it (``POT_BACKEND_DISABLE_*``): the NumPy backend computes the same numbers."""
    import sys

    if "ot" not in sys.modules:
        for module, flag in _TENSOR_BACKENDS.items():
            if module not in sys.modules:
                os.environ.setdefault(flag, "1")
    import ot

    return ot

class RewardConfigError(RefusedError):
    """A reward parameter is out of range; the message names it, and a range or choice refused carries its
    :class:`~core.validate.Refusal` (``refusal``), which a form words."""


def calc_cost_matrix(x: NDArray, y: NDArray) -> NDArray[np.float64]:
    """Euclidean distances between the L2-normalised rows of ``x`` ``(n, d)`` and ``y`` ``(m, d)``.

    Rows are normalised here (zero rows stay zero), so ``C_ij = sqrt(2 - 2 cos)``; shape ``(n, m)``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
    return np.sqrt(np.maximum(sq, 0.0))


def ipot(cost: NDArray, beta: float = 1.0, n_outer: int = 500, n_inner: int = 10) -> float:
    """Inexact proximal point OT (Xie et al. 2019, "A Fast Proximal Point Method for Computing
    Exact Wasserstein Distance"), as EQUAL's code uses it: uniform weights, ``beta`` the
    proximal step, ``n_outer`` x ``n_inner`` Sinkhorn-like iterations. Returns ``<T, C>``.
    """
    c = np.asarray(cost, dtype=np.float64)
    return float((ipot_plan(c, beta, n_outer, n_inner) * c).sum())


def ipot_plan(cost: NDArray, beta: float = 1.0, n_outer: int = 500, n_inner: int = 10,
              a: NDArray | None = None) -> NDArray[np.float64]:
    """The transport plan ``T`` ``(n, m)`` of :func:`ipot` (rows sum to ``a``, default ``1/n``; columns to
    ``1/m``)."""
    c = np.asarray(cost, dtype=np.float64)
    n, m = c.shape
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=np.float64)
    b = np.full(m, 1.0 / m)
    sigma = np.full(m, 1.0 / m)
    t = np.ones((n, m))
    g = np.exp(-c / beta)
    for _ in range(n_outer):
        q = g * t
        for _ in range(n_inner):
            delta = a / np.maximum(q @ sigma, 1e-300)
            sigma = b / np.maximum(q.T @ delta, 1e-300)
        t = delta[:, None] * q * sigma[None, :]
    return t


@dataclass(frozen=True)
class OTReward:
    """OT reward configuration and calculator.

    Parameters
    ----------
    method : {"emd", "sinkhorn", "ipot"}
        Transport solver. ``"emd"`` switches to Sinkhorn above ``emd_max_n`` points per side.
    offset : float
        ``reward = 1 - W - offset`` (paper code: 0.12). Unplayed arms have estimate 0, so the
        offset is the exploration threshold: arms with ``W > 1 - offset`` look worse than new ones.
    estimate : {"batch", "cumulative"}
        Per-pull OT (code) or OT of the arm's cumulative pairs (paper text).
    empty_reward : float or "worst"
        Reward of a pull that yields no QA pairs (``credit="pull"``).
    credit : {"document", "pair", "pull"}
        Credit per document read (default), per pair and document read, or one OT per pull (the
        paper); see the module docstring.
    reg : float
        Entropic regularisation of Sinkhorn (cost units; costs lie in [0, 2]).
    emd_max_n : int
        Largest side solved exactly by ``method="emd"``.
    ipot_beta, ipot_outer, ipot_inner
        IPOT parameters (paper: 1, 500, 10).
    """

    method: str = "emd"
    offset: float = 0.12
    estimate: str = "batch"
    empty_reward: float | str = "worst"
    credit: str = "document"
    reg: float = 0.05
    emd_max_n: int = 2000
    ipot_beta: float = 1.0
    ipot_outer: int = 500
    ipot_inner: int = 10

    def __post_init__(self) -> None:
        of: dict[str, Any] = {"owner": "OTReward", "error": RewardConfigError}
        check_choice("method", self.method, OT_METHODS, **of)
        check_choice("estimate", self.estimate, ESTIMATES, **of)
        check_choice("credit", self.credit, CREDITS, **of)
        worst = isinstance(self.empty_reward, str)  # a word, or a number
        check_rule("empty_reward", self.empty_reward,
                   Rule(words=("worst",), kind="a number or 'worst'") if worst else Rule(kind="finite"), **of)
        check_rule("offset", self.offset, Rule(kind="finite"), **of)
        check_rule("reg", self.reg, Rule(lo=0, lo_open=True), **of)
        check_rule("emd_max_n", self.emd_max_n, Rule(lo=1), **of)
        if self.ipot_beta <= 0 or self.ipot_outer < 1 or self.ipot_inner < 1:
            raise RewardConfigError("OTReward.ipot_beta must be > 0 and ipot_outer/ipot_inner >= 1")

    def _transport_problem(self, x: NDArray, y: NDArray, caller: str, a: NDArray | None = None,
                           ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], str]:
        """The cost ``C`` ``(n, m)`` between the rows of ``x`` and ``y``, the weights ``a`` ``(n,)`` (default
        uniform) and the uniform ``b`` ``(m,)``, and the solver: :attr:`method`, except ``"emd"`` above
        ``emd_max_n`` points per side, which is ``"sinkhorn"``. Both sets must be non-empty (``caller`` names the
        method in the error)."""
        x = np.atleast_2d(np.asarray(x))
        y = np.atleast_2d(np.asarray(y))
        if len(x) == 0 or len(y) == 0:
            raise ValueError(f"{caller}: both point sets must be non-empty")
        cost = calc_cost_matrix(x, y)
        n, m = cost.shape
        solver = "sinkhorn" if self.method == "emd" and max(n, m) > self.emd_max_n else self.method
        weights = np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=np.float64)
        return cost, weights, np.full(m, 1.0 / m), solver

    def calc_distance(self, x: NDArray, y: NDArray) -> float:
        """OT distance ``W`` between the rows of ``x`` ``(n, d)`` and ``y`` ``(m, d)``, uniform weights.

        Solved for the distance itself (``ot.emd2``, ``ot.sinkhorn2``): ``<P, C>`` of :meth:`calc_plan` can
        differ from it in the last bits, and the runs' rewards were computed this way.
        """
        cost, a, b, solver = self._transport_problem(x, y, "calc_distance")
        if solver == "ipot":
            return ipot(cost, self.ipot_beta, self.ipot_outer, self.ipot_inner)
        ot = import_solver()

        if solver == "emd":
            return float(ot.emd2(a, b, cost))
        return float(ot.sinkhorn2(a, b, cost, self.reg, numItermax=2000))

    def calc_plan(self, x: NDArray, y: NDArray,
                  a: NDArray | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The optimal plan ``P`` and the cost ``C`` between ``x`` ``(n, d)`` and ``y`` ``(m, d)``, both ``(n, m)``.

        ``a`` ``(n,)``: the mass of each row of ``x`` (summing to 1; default ``1/n`` each). The solver is the one
        :meth:`calc_distance` uses, so with uniform ``a``, ``<P, C>`` is that distance (up to rounding).
        """
        cost, a, b, solver = self._transport_problem(x, y, "calc_plan", a)
        if solver == "ipot":
            return ipot_plan(cost, self.ipot_beta, self.ipot_outer, self.ipot_inner, a), cost
        ot = import_solver()

        if solver == "emd":
            return np.asarray(ot.emd(a, b, cost), dtype=np.float64), cost
        return np.asarray(ot.sinkhorn(a, b, cost, self.reg, numItermax=2000), dtype=np.float64), cost

    def calc_pair_credit(self, x: NDArray, y: NDArray) -> NDArray[np.float64]:
        """Per pair (row of ``x``), the cosine it has to the reference examples the plan moves it to, clipped at 0.

        ``v_i = max(0, n sum_j P_ij (1 - C_ij^2 / 2))``, shape ``(n,)``; 0 rows for an empty ``x``. Equal rows
        (one pair text read from two documents) are interchangeable in the transport problem, and an exact
        solver gives them unequal shares by their order: they are solved as one point, in a canonical order,
        with their summed mass ``c_k / n``, and its ``c_k`` copies share its credit equally (for Sinkhorn this
        is the same plan; for EMD one of its optimal plans), so the credit does not depend on the row order.
        """
        x = np.atleast_2d(np.asarray(x))
        if x.size == 0:
            return np.zeros(0)
        n = len(x)
        rows, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
        if len(rows) == n:  # no equal rows: the problem as given
            plan, cost = self.calc_plan(x, y)
            return np.maximum(0.0, n * (plan * (1.0 - cost**2 / 2.0)).sum(axis=1))
        plan, cost = self.calc_plan(rows, y, a=counts / n)
        per_copy = n * (plan * (1.0 - cost**2 / 2.0)).sum(axis=1) / counts
        return np.maximum(0.0, per_copy[inverse.reshape(-1)])

    def calc_pull(self, x: NDArray, y: NDArray, n_docs: int, pair_docs: Sequence[object] | None = None,
                  worst: float | None = None) -> float:
        """The reward of a pull that read ``n_docs`` documents and found the pairs ``x``, by :attr:`credit`.

        ``pair_docs`` names the document of each row of ``x`` (``credit="document"``; ``None``: one
        document per pair). ``"pull"``: :meth:`calc`; ``"pair"``: ``sum(v) / n_docs``;
        ``"document"``: ``sum over documents of mean(v of its pairs) / n_docs``.
        """
        if self.credit == "pull":
            return self.calc(x, y, worst=worst)
        if n_docs < 1:
            raise ValueError(f"calc_pull: a pull reads at least one document, got n_docs={n_docs}")
        credit = self.calc_pair_credit(x, y)
        if self.credit == "pair" or pair_docs is None:
            return float(credit.sum() / n_docs)
        if len(pair_docs) != len(credit):
            raise ValueError(f"calc_pull: {len(pair_docs)} document names for {len(credit)} pairs")
        _, doc, count = np.unique(np.asarray(pair_docs, dtype=object).astype(str), return_inverse=True,
                                  return_counts=True)
        return float((np.bincount(doc, weights=credit) / count).sum() / n_docs)

    def calc(self, x: NDArray, y: NDArray, worst: float | None = None) -> float:
        """``1 - W(x, y) - offset``; for an empty ``x`` the configured empty reward.

        ``worst`` is the lowest reward observed so far (used by ``empty_reward="worst"``).
        """
        x = np.asarray(x)
        if x.size == 0:
            return self.calc_empty(worst)
        return 1.0 - self.calc_distance(x, y) - self.offset

    def calc_empty(self, worst: float | None = None) -> float:
        """The reward of a pull without QA pairs."""
        if self.empty_reward == "worst":
            return float(worst) if worst is not None else -1.0 - self.offset
        return float(self.empty_reward)
