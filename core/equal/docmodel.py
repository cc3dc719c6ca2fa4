"""What a document is worth, learned from the run's own pulls (issue #28: learning inside a cluster).

A cluster can hold answered documents and barren ones that look just as similar to ``D_r`` (a
table of contents, an index, questions without answers). Reading a cluster most-similar-first
reads the barren ones first and the arm looks poor. :class:`DocValueModel` learns, from every
document the run has read, which documents pay: a ridge regression of each read document's value
on features it has for free -- its cosine to the nearest ``D_r`` example and its embedding::

    v_i ~ a + b s_i + w . x_i,
    minimise  sum_i (v_i - a - b s_i - w . x_i)^2 + lam ||w||^2 + lam_line (a^2 + (b - 1)^2)

(``s_i``: cosine to the nearest reference example, ``x_i``: the document's unit embedding,
``v_i``: :func:`calc_doc_values`). Documents whose embeddings point the way of the barren ones read
so far score low, wherever they sit, so what one cluster taught reorders every other cluster. Until
``min_docs`` documents are read the score is ``s_i`` itself (most similar first), and the line
``(a, b)`` is shrunk towards that score (``a = 0, b = 1``) by ``lam_line``: when the first reads are
all barren and all very similar, the data alone would turn ``b`` negative and read the least similar
documents first, which is no better a guess.

Everything is a function of the documents read and their pairs, so a resumed run that replays its
pulls rebuilds the same model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def calc_doc_values(doc_ids: Sequence[str], pair_docs: Sequence[str], pair_emb: NDArray,
                    reference: NDArray) -> NDArray[np.float64]:
    """Per document read, the mean over its pairs of each pair's cosine to its nearest ``D_r`` example; 0 without pairs.

    ``pair_emb`` ``(p, d)`` and ``reference`` ``(m, d)`` are unit rows; returns shape ``(len(doc_ids),)``.

    >>> ref = np.array([[1.0, 0.0]])
    >>> calc_doc_values(["a", "b"], ["a", "a"], np.array([[1.0, 0.0], [0.0, 1.0]]), ref).tolist()
    [0.5, 0.0]
    """
    out = np.zeros(len(doc_ids))
    if len(pair_docs) == 0:
        return out
    best = (np.asarray(pair_emb, dtype=np.float64) @ np.asarray(reference, dtype=np.float64).T).max(axis=1)
    where = {d: i for i, d in enumerate(doc_ids)}
    total, count = np.zeros(len(doc_ids)), np.zeros(len(doc_ids))
    for d, v in zip(pair_docs, best):
        if d in where:
            total[where[d]] += v
            count[where[d]] += 1
    np.divide(total, count, out=out, where=count > 0)
    return np.maximum(out, 0.0)


class _OnlineRidge:
    """A ridge regression fitted online: ``gram`` and ``moment`` start as the penalty and the prior, each
    :meth:`observe` adds the read documents' features, :attr:`coef` solves once per change. Subclasses give
    :meth:`_features`."""

    gram: NDArray[np.float64]
    moment: NDArray[np.float64]
    n_obs: int
    _coef: NDArray[np.float64] | None

    def _features(self, idx: NDArray[np.int64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def observe(self, idx: Sequence[int] | NDArray, values: NDArray) -> None:
        """Add the read documents ``idx`` with their values ``(len(idx),)``."""
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx) == 0:
            return
        f = self._features(idx)
        self.gram += f.T @ f
        self.moment += f.T @ np.asarray(values, dtype=np.float64)
        self.n_obs += len(idx)
        self._coef = None

    @property
    def coef(self) -> NDArray[np.float64]:
        """The fitted coefficients (``gram^-1 moment``)."""
        if self._coef is None:
            self._coef = np.asarray(np.linalg.solve(self.gram, self.moment), dtype=np.float64)
        return self._coef


class DocValueModel(_OnlineRidge):
    """Online ridge regression of a document's value on ``[1, s_i, x_i]`` (see the module docstring).

    Parameters
    ----------
    doc_emb : array, shape (n, d)
        Unit document embeddings.
    similarity : array, shape (n,)
        Each document's cosine to its nearest reference example (the score before anything is learned).
    lam : float
        Ridge penalty on the embedding weights ``w``.
    lam_line : float
        Ridge penalty pulling ``(a, b)`` towards ``(0, 1)``.
    min_docs : int
        Documents read before the learned score replaces the similarity.

    >>> rng = np.random.default_rng(0)
    >>> emb = np.eye(4)[rng.integers(0, 4, 40)]            # four kinds of document
    >>> m = DocValueModel(emb, np.full(40, 0.5), lam=0.1, min_docs=5)
    >>> m.observe(np.arange(20), emb[:20, 0] * 0.8)        # only the first kind pays
    >>> s = m.score(np.arange(20, 40))
    >>> bool(s[emb[20:, 0] == 1].min() > s[emb[20:, 0] == 0].max())
    True
    """

    def __init__(self, doc_emb: NDArray, similarity: NDArray, lam: float = 1.0, min_docs: int = 10,
                 lam_line: float = 5.0) -> None:
        self.emb = np.asarray(doc_emb, dtype=np.float64)
        self.sim = np.asarray(similarity, dtype=np.float64)
        if self.emb.ndim != 2 or self.sim.shape != (len(self.emb),):
            raise ValueError(f"DocValueModel: doc_emb {self.emb.shape} and similarity {self.sim.shape} must match")
        if not (np.isfinite(lam) and lam > 0):
            raise ValueError(f"DocValueModel: lam must be > 0, got {lam!r}")
        d = self.emb.shape[1] + 2
        self.gram = np.diag(np.r_[lam_line, lam_line, np.full(d - 2, float(lam))])
        self.moment = np.zeros(d)
        self.moment[1] = lam_line  # the prior line: a = 0, b = 1
        self.n_obs, self.min_docs = 0, int(min_docs)
        self._coef: NDArray[np.float64] | None = None

    def _features(self, idx: NDArray[np.int64]) -> NDArray[np.float64]:
        """``[1, s_i, x_i]``, shape ``(len(idx), 2 + d)``."""
        return np.column_stack([np.ones(len(idx)), self.sim[idx], self.emb[idx]])

    def score(self, idx: Sequence[int] | NDArray) -> NDArray[np.float64]:
        """Predicted value of the documents ``idx``, shape ``(len(idx),)`` (their similarity before ``min_docs``)."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.n_obs < self.min_docs:
            return self.sim[idx]
        return self._features(idx) @ self.coef


class LearnedValueModel(_OnlineRidge):
    """What a document is worth: its similarity to ``D_r`` times the value the run's own reads predict for it.

    The ``"learned"`` policy (issue #28) reads, each round, the documents this model scores highest::

        score_i = (s_i - min_j s_j) * clip(v_hat_i, floor, 1)
        v_hat_i = c + w . x_i + u_{a(i)}
        minimise  sum_read (v_i - v_hat_i)^2 + lam0 (c - prior)^2 + lam ||w||^2 + lam_arm sum_a u_a^2

    ``s_i``: the document's similarity to ``D_r`` (what Avg-sim ranks by), ``x_i``: its unit embedding, ``a(i)``:
    its cluster, ``v_i``: the value of a read document (:func:`calc_doc_values`: the mean cosine of its pairs to
    their nearest ``D_r`` example, 0 when it yields none). ``u_a`` is a per-cluster intercept shrunk towards 0 (a
    random effect): a cluster whose reads come back barren is marked down as a whole, beyond what the embedding
    direction says. Before anything is read ``v_hat`` is the constant ``prior``, so the first round reads exactly
    what Avg-sim reads; documents that look like the barren ones read so far (an index, questions without
    answers) then fall behind, wherever they sit. Chosen on the tuning half of ``benchmarks/bench_equal.py``
    (``lam`` 1, ``lam_arm`` 10, ``prior`` 0.7; see benchmarks/README.md).

    Parameters
    ----------
    doc_emb : array, shape (n, d)
        Unit document embeddings.
    similarity : array, shape (n,)
        Each document's similarity to ``D_r``.
    labels : array of int, shape (n,)
        Each document's cluster (arm).
    lam, lam_arm, lam0 : float
        Ridge penalties on ``w``, on the cluster intercepts and on ``c - prior``.
    prior : float
        The value expected of a document before any is read.
    floor : float
        The least predicted value a document keeps (a barren-looking one is read late, not never).

    >>> rng = np.random.default_rng(0)
    >>> emb = np.eye(4)[rng.integers(0, 4, 40)]            # four kinds of document
    >>> sim = np.r_[0.0, np.full(39, 0.5)]                  # all but the first equally similar to D_r
    >>> m = LearnedValueModel(emb, sim, np.zeros(40, int), lam=0.1)
    >>> m.score([20, 21]).tolist() == m.score([22, 23]).tolist()  # nothing read: by similarity alone
    True
    >>> m.observe(np.arange(20), emb[:20, 0] * 0.8)        # only the first kind pays
    >>> s = m.score(np.arange(20, 40))
    >>> bool(s[emb[20:, 0] == 1].min() > s[emb[20:, 0] == 0].max())
    True
    """

    def __init__(self, doc_emb: NDArray, similarity: NDArray, labels: NDArray, lam: float = 1.0,
                 lam_arm: float = 10.0, lam0: float = 5.0, prior: float = 0.7, floor: float = 0.05) -> None:
        self.emb = np.asarray(doc_emb, dtype=np.float64)
        self.sim = np.asarray(similarity, dtype=np.float64)
        self.labels = np.asarray(labels, dtype=np.int64)
        if self.emb.ndim != 2 or self.sim.shape != (len(self.emb),) or self.labels.shape != self.sim.shape:
            raise ValueError(f"LearnedValueModel: doc_emb {self.emb.shape}, similarity {self.sim.shape} and labels "
                             f"{self.labels.shape} must have one row per document")
        for name, value in (("lam", lam), ("lam_arm", lam_arm), ("lam0", lam0)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"LearnedValueModel: {name} must be > 0, got {value!r}")
        self.d, self.k = self.emb.shape[1], int(self.labels.max()) + 1 if len(self.labels) else 0
        self.base = float(self.sim.min()) if len(self.sim) else 0.0
        self.floor = float(floor)
        self.gram = np.diag(np.r_[lam0, np.full(self.d, float(lam)), np.full(self.k, float(lam_arm))])
        self.moment = np.zeros(1 + self.d + self.k)
        self.moment[0] = lam0 * prior
        self.n_obs = 0
        self._coef: NDArray[np.float64] | None = None
        self._projected: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None  # (coef, emb @ w) per fit

    def _features(self, idx: NDArray[np.int64]) -> NDArray[np.float64]:
        """``[1, x_i, one-hot(a(i))]``, shape ``(len(idx), 1 + d + k)`` (only for the few documents of a pull)."""
        arms = np.zeros((len(idx), self.k))
        arms[np.arange(len(idx)), self.labels[idx]] = 1.0
        return np.column_stack([np.ones(len(idx)), self.emb[idx], arms])

    def predict(self, idx: Sequence[int] | NDArray) -> NDArray[np.float64]:
        """``v_hat`` of the documents ``idx``, shape ``(len(idx),)`` (no one-hot matrix: fine for every document).

        The embedding term is computed for every document once per fit and indexed: a round asks for every unread
        document, and copying their rows first (``emb[idx]``, 35 MB at 11k documents) took 70 % of a small round.
        """
        idx = np.asarray(idx, dtype=np.int64)
        coef = self.coef
        if self._projected is None or self._projected[0] is not coef:  # a new fit since the last projection
            self._projected = (coef, self.emb @ coef[1:1 + self.d])
        return coef[0] + self._projected[1][idx] + coef[1 + self.d:][self.labels[idx]]

    def score(self, idx: Sequence[int] | NDArray) -> NDArray[np.float64]:
        """``score_i`` of the documents ``idx``, shape ``(len(idx),)``: higher is read first."""
        idx = np.asarray(idx, dtype=np.int64)
        return (self.sim[idx] - self.base) * np.clip(self.predict(idx), self.floor, 1.0)
