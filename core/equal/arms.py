"""Arms = clusters; each arm is a queue of its not-yet-extracted documents.

Document order inside a cluster is ``"random"`` (a seeded permutation per cluster; default,
fairer than file order because corpora are often sorted by source), ``"file"`` (corpus
order, as EQUAL's code does) or ``"similar"`` (most similar to the reference set first, by
``scores``: each document's cosine to its nearest ``D_r`` example; ties in the seeded random
order). With ``"similar"`` the bandit still chooses *where* to read (which cluster) from the
rewards; the similarity only chooses which of a cluster's documents are read first.

``explore`` (issue #28) samples the ``"similar"`` order instead of fixing it: each document's key is
its score in units of the scores' standard deviation plus ``explore`` times a seeded Gumbel draw,
so the order is a Plackett-Luce sample around the ranking (0: the ranking itself; large: random
order). The seed then chooses which of the similar documents are read first, so two seeds read
two different sequences and a decoy that merely looks most similar is not always read first.

``scorer`` (``order="learned"``, issue #28) replaces the fixed scores by a callable that scores
the documents of a cluster when the cluster is peeked (see :mod:`core.equal.docmodel`): what the
run has learned from its own pulls reorders what is left of every cluster.

Exhaustion (``exhaust``):

* ``"partial"`` (default): an arm with fewer than ``D`` documents left still plays; its last
  pull takes what is left, and the arm is exhausted at 0. Every document stays reachable,
  which matters for small clusters in small corpora (a 3,000-document corpus with 40
  clusters would otherwise strand up to 9 documents per cluster).
* ``"strict"`` (EQUAL's code): an arm with fewer than ``D`` documents left is exhausted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from core.equal.choices import DocOrder, Exhaust, values

DOC_ORDERS = values(DocOrder)
EXHAUST_RULES = values(Exhaust)


class ArmDocs:
    """Per-arm document queues over a corpus of ``n`` documents labelled into ``k`` clusters.

    Parameters
    ----------
    labels : array of int, shape (n,)
        Cluster of each document (``0 <= label < k``).
    k : int, optional
        Number of arms (default ``labels.max() + 1``).
    docs_per_pull : int
        ``D``, documents taken per pull.
    order : {"random", "file", "similar", "learned"}
    exhaust : {"partial", "strict"}
    seed : int
        Seeds the random order and the exploration draws.
    scores : array of float, shape (n,), optional
        Needed by ``order="similar"`` and ``"learned"``: higher is read first (``"learned"``: until ``scorer``
        says otherwise; they also set the scale of ``explore``).
    explore : float
        Gumbel noise added to the keys of ``"similar"``/``"learned"``, in standard deviations of ``scores``.
    scorer : callable, optional
        ``order="learned"``: ``indices (m,) -> scores (m,)``, asked each time a cluster is peeked.

    >>> a = ArmDocs([0, 0, 0, 0], docs_per_pull=2, order="similar", scores=np.array([0.1, 0.4, 0.3, 0.2]))
    >>> a.peek(0).tolist()
    [1, 2]
    >>> b = [ArmDocs([0] * 6, order="similar", scores=np.arange(6.0), explore=2.0, seed=s).peek(0, 6).tolist()
    ...      for s in (0, 1)]
    >>> b[0] != b[1], sorted(b[0]) == sorted(b[1]) == list(range(6))
    (True, True)
    """

    def __init__(self, labels: Sequence[int] | NDArray, k: int | None = None, docs_per_pull: int = 10,
                 order: str = "random", exhaust: str = "partial", seed: int = 0,
                 scores: NDArray | None = None, explore: float = 0.0,
                 scorer: Callable[[NDArray[np.int64]], NDArray] | None = None) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError("ArmDocs: labels must be a non-empty 1-D array")
        if labels.min() < 0:
            raise ValueError("ArmDocs: labels must be >= 0")
        if order not in DOC_ORDERS:
            raise ValueError(f"ArmDocs: order must be one of {DOC_ORDERS}, got {order!r}")
        if exhaust not in EXHAUST_RULES:
            raise ValueError(f"ArmDocs: exhaust must be one of {EXHAUST_RULES}, got {exhaust!r}")
        if docs_per_pull < 1:
            raise ValueError(f"ArmDocs: docs_per_pull must be >= 1, got {docs_per_pull}")
        if order in ("similar", "learned") and (scores is None or np.shape(scores) != labels.shape):
            raise ValueError(f"ArmDocs: order {order!r} needs one score per document (the cosine to D_r)")
        if not (np.isfinite(explore) and explore >= 0):
            raise ValueError(f"ArmDocs: explore must be >= 0, got {explore!r}")
        self.k = int(k if k is not None else labels.max() + 1)
        if labels.max() >= self.k:
            raise ValueError(f"ArmDocs: a label {labels.max()} >= k={self.k}")
        self.labels = labels
        self.docs_per_pull = int(docs_per_pull)
        self.exhaust = exhaust
        self.order, self.scorer = order, scorer
        rng = np.random.default_rng([int(seed), 7])
        self.noise = np.zeros(len(labels))
        if scores is not None and order in ("similar", "learned"):
            spread = float(np.std(scores)) or 1.0
            if explore > 0:  # its own stream: explore=0 leaves the seeded tie order of earlier runs untouched
                self.noise = explore * spread * np.random.default_rng([int(seed), 17]).gumbel(size=len(labels))
        self.queues: list[NDArray[np.int64]] = []
        for j in range(self.k):
            idx = np.flatnonzero(labels == j)
            if order != "file":
                idx = rng.permutation(idx)
            if order in ("similar", "learned"):
                key = np.asarray(scores, dtype=np.float64)[idx] + self.noise[idx]
                idx = idx[np.argsort(-key, kind="stable")]
            self.queues.append(idx.astype(np.int64))
        self.sizes = np.array([len(q) for q in self.queues], dtype=np.int64)
        self.taken = np.zeros(len(labels), dtype=bool)
        self.left = self.sizes.copy()
        self._head = np.zeros(self.k, dtype=np.int64)

    @property
    def n_docs(self) -> int:
        return len(self.labels)

    @property
    def n_left(self) -> int:
        return int(self.left.sum())

    def available(self) -> NDArray[np.bool_]:
        """Arms that can still be played, shape ``(k,)``."""
        need = self.docs_per_pull if self.exhaust == "strict" else 1
        return self.left >= need

    def peek(self, arm: int, n: int | None = None) -> NDArray[np.int64]:
        """The next ``n`` (default ``D``) untaken documents of ``arm``, in queue order, without taking them."""
        n = self.docs_per_pull if n is None else n
        q = self.queues[arm]
        h = int(self._head[arm])
        while h < len(q) and self.taken[q[h]]:
            h += 1
        self._head[arm] = h
        rest = q[h:]
        if self.scorer is not None:  # learned order: score what is left of the cluster now
            rest = rest[~self.taken[rest]]
            key = np.asarray(self.scorer(rest), dtype=np.float64) + self.noise[rest]
            return rest[np.argsort(-key, kind="stable")[:n]]
        if len(rest) > 4 * n:  # fast path: look at a window only
            window = rest[: 4 * n]
            got = window[~self.taken[window]][:n]
            if len(got) == n:
                return got
        return rest[~self.taken[rest]][:n]

    def untaken(self) -> NDArray[np.int64]:
        """All untaken document indices in corpus order."""
        return np.flatnonzero(~self.taken)

    def take(self, docs: Sequence[int] | NDArray) -> None:
        """Mark documents as extracted (idempotent)."""
        docs = np.asarray(docs, dtype=np.int64)
        docs = docs[~self.taken[docs]]
        if len(docs) == 0:
            return
        self.taken[docs] = True
        np.subtract.at(self.left, self.labels[docs], 1)

    def release(self, docs: Sequence[int] | NDArray) -> None:
        """Put taken documents back into their queues (a resumed run retries documents that failed)."""
        docs = np.asarray(docs, dtype=np.int64)
        docs = docs[self.taken[docs]]
        if len(docs) == 0:
            return
        self.taken[docs] = False
        np.add.at(self.left, self.labels[docs], 1)
        self._head[np.unique(self.labels[docs])] = 0
