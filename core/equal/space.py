"""The arm space of a run: which documents there are, which arm (cluster) each belongs to, and in which embedding space.

Built from a corpus map with :meth:`ArmSpace.from_corpus_map`, so the page, the CLI, replay
and the benchmarks no longer regroup ``ids, texts, labels, neighbours, k, embeddings`` by
hand. ``texts`` may be ``None`` (replay and benchmarks serve pre-extracted pairs by id and
never read a text).

The embedding space is named by :func:`core.corpus.encoders.space_id` (the one space id): the
reference set and the extracted pairs must be embedded in the same space as the documents,
or the reward and the similarity prior compare vectors of two different models -- silently,
when the dimensions happen to match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from core.corpus.encoders import EncoderSpec, space_id

if TYPE_CHECKING:
    from core.corpus.mapping import CorpusMap


class ArmSpaceError(ValueError):
    """The arm space's inputs do not fit together; the message names them."""


def canonical_encoder_name(name: str, dim: int | None = None) -> str:
    """``name`` with aliases resolved (:attr:`core.corpus.encoders.EncoderSpec.name`): ``"hashing"`` ->
    ``"hashing-128"`` (the encoder's own ``name``), or ``"hashing-<dim>"`` for embeddings of ``dim`` columns.

    >>> canonical_encoder_name("hashing")
    'hashing-128'
    >>> canonical_encoder_name("hashing", 64)
    'hashing-64'
    >>> canonical_encoder_name("all-MiniLM-L6-v2")
    'all-MiniLM-L6-v2'
    """
    return EncoderSpec.of(name, dim).name


def arms_fingerprint(doc_ids: Sequence[str], labels: NDArray) -> str:
    """Hash of document ids and cluster labels: a resumed run must see the same arms.

    Not a corpus-content hash (that is :attr:`core.corpus.load.Corpus.content_hash`): it
    covers the clustering, which the content hash does not, and it is what old runs stored.
    """
    h = hashlib.blake2b(digest_size=12)
    h.update("\x1f".join(doc_ids).encode())
    h.update(np.asarray(labels, dtype=np.int64).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class ArmSpace:
    """Documents grouped into arms.

    Parameters
    ----------
    doc_ids : sequence of str, length n
    texts : sequence of str, length n, or None
        The documents' texts (``None``: the extractor does not read them, e.g. replay).
    labels : array of int, shape (n,)
        Arm of each document.
    neighbours : bool array, shape (k, k), optional
        Neighbour graph for reward sharing.
    k : int, optional
        Number of arms (default ``len(neighbours)``, else ``labels.max() + 1``).
    doc_emb : array, shape (n, d), optional
        The documents' embeddings (for ``unplayed="prior"`` and the avg-sim baseline).
    encoder : str
        Name of the encoder that made ``doc_emb`` ("" when unknown).
    clusters : array of int, shape (k,), optional
        The corpus map's cluster of each arm, when the arms are some of the map's clusters renumbered
        (:meth:`restricted_to`); ``None``: arm ``i`` is map cluster ``i``.
    """

    doc_ids: Sequence[str]
    texts: Sequence[str] | None
    labels: NDArray[np.int64]
    neighbours: NDArray[np.bool_] | None = None
    k: int | None = None
    doc_emb: NDArray[np.float32] | None = field(default=None, repr=False)
    encoder: str = ""
    clusters: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "doc_ids", list(self.doc_ids))
        object.__setattr__(self, "labels", np.asarray(self.labels, dtype=np.int64))
        if self.clusters is not None:
            object.__setattr__(self, "clusters", np.asarray(self.clusters, dtype=np.int64))
        n = len(self.doc_ids)
        if (self.texts is not None and len(self.texts) != n) or len(self.labels) != n:
            n_texts = "no" if self.texts is None else len(self.texts)
            raise ArmSpaceError(f"doc_ids ({n}), texts ({n_texts}) and labels ({len(self.labels)}) differ in length")
        if self.k is None and self.neighbours is not None:
            object.__setattr__(self, "k", len(self.neighbours))

    @classmethod
    def from_corpus_map(cls, cmap: CorpusMap, with_texts: bool = True) -> ArmSpace:
        """The arm space of a built map: its documents, cluster labels, neighbour graph and embeddings."""
        return cls(cmap.corpus.ids, cmap.corpus.texts if with_texts else None, cmap.labels,
                   neighbours=cmap.neighbours, k=len(cmap.clusters), doc_emb=cmap.embeddings,
                   encoder=canonical_encoder_name(cmap.settings.encoder_name, int(cmap.embeddings.shape[1])))

    def __len__(self) -> int:
        return len(self.doc_ids)

    @property
    def space_id(self) -> str:
        """:func:`core.corpus.encoders.space_id` of the encoder that made ``doc_emb`` ("" when the encoder or the
        embeddings are unknown)."""
        if not self.encoder or self.doc_emb is None:
            return ""
        return space_id(self.encoder)

    @property
    def fingerprint(self) -> str:
        return arms_fingerprint(self.doc_ids, self.labels)

    def cluster_of(self, arms: Sequence[int] | NDArray) -> NDArray[np.int64]:
        """The corpus map's cluster of each of ``arms`` (the arms themselves unless :attr:`clusters` renumbers
        them).

        >>> ArmSpace(["a", "b"], None, np.array([0, 1]), clusters=np.array([2, 5])).cluster_of([1, 0, 1]).tolist()
        [5, 2, 5]
        """
        arms = np.asarray(arms, dtype=np.int64)
        return arms if self.clusters is None else self.clusters[arms]

    def documents(self, indices: Sequence[int]) -> list[tuple[str, str]]:
        """``[(doc_id, text), ...]`` for the extractor (text "" when the space holds no texts)."""
        if self.texts is None:
            return [(self.doc_ids[i], "") for i in indices]
        return [(self.doc_ids[i], self.texts[i]) for i in indices]

    def restricted_to(self, doc_ids: Iterable[str]) -> tuple[ArmSpace, NDArray[np.int64]]:
        """The arm space of only the clusters that hold at least one of ``doc_ids`` (a tag's documents), every
        document of those clusters kept; and, shape ``(k',)``, the map cluster of each of its arms.

        Arms are renumbered ``0..k'-1`` in the order of their map clusters (kept as its :attr:`clusters`, so
        an export names the map's clusters); the neighbour graph and the embeddings keep the rows of the kept
        clusters and documents, so a run over it compares the same vectors. Raises :class:`ArmSpaceError`
        when ``doc_ids`` is empty or names a document not in the space (the first few are named).

        >>> space = ArmSpace(["a", "b", "c", "d"], None, np.array([0, 2, 1, 2]), k=3)
        >>> arms, clusters = space.restricted_to(["b"])
        >>> arms.doc_ids, arms.labels.tolist(), arms.k, clusters.tolist(), arms.clusters.tolist()
        (['b', 'd'], [0, 0], 1, [2], [2])
        """
        wanted = list(dict.fromkeys(doc_ids))
        if not wanted:
            raise ArmSpaceError("no documents to restrict the arms to (the tag is empty)")
        position = {d: i for i, d in enumerate(self.doc_ids)}
        missing = [d for d in wanted if d not in position]
        if missing:
            raise ArmSpaceError(f"{len(missing)} of the {len(wanted)} tagged documents are not in this map "
                                f"(e.g. {', '.join(map(repr, missing[:3]))}): was the tag saved on another corpus?")
        clusters = np.unique(self.labels[[position[d] for d in wanted]])
        keep = np.flatnonzero(np.isin(self.labels, clusters)).tolist()
        renumber = np.full(int(self.labels.max()) + 1, -1, dtype=np.int64)
        renumber[clusters] = np.arange(len(clusters))
        texts = None if self.texts is None else [self.texts[i] for i in keep]
        neighbours = None if self.neighbours is None else self.neighbours[np.ix_(clusters, clusters)]
        doc_emb = None if self.doc_emb is None else self.doc_emb[keep]
        map_clusters = self.cluster_of(clusters)  # a space restricted twice still names the map's clusters
        arms = ArmSpace([self.doc_ids[i] for i in keep], texts, renumber[self.labels[keep]], neighbours=neighbours,
                        k=len(clusters), doc_emb=doc_emb, encoder=self.encoder, clusters=map_clusters)
        return arms, map_clusters

    def check_embedder(self, embed: object) -> None:
        """Refuse an embed function whose encoder differs from the one that made ``doc_emb``.

        Only functions made by :func:`core.equal.run.encoder_embedder` carry their encoder; others
        (test tables, replay lookups) are accepted as they are.
        """
        other = getattr(embed, "encoder_name", "")
        if not other or not self.encoder:
            return
        dim = int(getattr(embed, "dim", 0) or 0)
        mine = self.encoder
        if canonical_encoder_name(other, dim or None) != mine:
            raise ArmSpaceError(f"the reference set and the pairs would be embedded with encoder {other!r}, but the "
                                f"map's document embeddings come from {mine!r}: rewards and priors would compare two "
                                f"different spaces. Choose the map's encoder ({mine!r}) or rebuild the map with "
                                f"{other!r}")
