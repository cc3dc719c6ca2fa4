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


class DocValueModel:
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

    def _features(self, idx: NDArray) -> NDArray[np.float64]:
        idx = np.asarray(idx, dtype=np.int64)
        return np.column_stack([np.ones(len(idx)), self.sim[idx], self.emb[idx]])

    def observe(self, idx: Sequence[int] | NDArray, values: NDArray) -> None:
        """Add the read documents ``idx`` with their values ``(len(idx),)``."""
        if len(idx) == 0:
            return
        f = self._features(np.asarray(idx))
        self.gram += f.T @ f
        self.moment += f.T @ np.asarray(values, dtype=np.float64)
        self.n_obs += len(idx)
        self._coef = None

    @property
    def coef(self) -> NDArray[np.float64]:
        if self._coef is None:
            self._coef = np.linalg.solve(self.gram, self.moment)
        return self._coef

    def score(self, idx: Sequence[int] | NDArray) -> NDArray[np.float64]:
        """Predicted value of the documents ``idx``, shape ``(len(idx),)`` (their similarity before ``min_docs``)."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.n_obs < self.min_docs:
            return self.sim[idx]
        return self._features(idx) @ self.coef
