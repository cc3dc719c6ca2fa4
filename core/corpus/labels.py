"""Labels for the map by zoom: phrases for each cluster, and coarse groups of clusters for the zoomed-out view.

A cluster's label is two phrases, not two tokens: candidates are the top 1- and 2-grams of the
cluster by class-based TF-IDF (BERTopic's c-TF-IDF, see :func:`core.corpus.cluster.cluster_keywords`),
reranked by the encoder: the candidates whose embedding lies nearest the cluster's centroid
(cosine) come first, as in BERTopic's ``KeyBERTInspired`` representation. Clusters are grouped
into about ``sqrt(k)`` coarse groups by Ward agglomeration of their centroids; a group is
labelled the same way, over all of its documents. :func:`map_labels` returns both levels with
their positions (the median of the members' map coordinates) and is cached per map.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.corpus.cluster import MAX_KEYWORD_CHARS

PHRASE_CANDIDATES = 12  # c-TF-IDF candidates per class that the encoder reranks
LABEL_PHRASES = 2  # phrases in one label
MAX_LABEL_CHARS = 40

# words of any technical corpus's boilerplate ("bool, default True", "array_like, optional"): no label
BOILERPLATE = frozenset("default optional true false bool none int str float returns return parameters param type "
                        "types value values np self object args kwargs obj instance example examples".split())

Encode = Callable[[list[str]], NDArray[np.float32]]


@dataclass(frozen=True)
class MapLabel:
    """One label on the map: ``level`` 0 names a coarse group (zoomed out), 1 a cluster (zoomed in);
    ``code`` is the group's or the cluster's number, ``size`` its documents, ``x, y`` in map coordinates;
    ``members``: a group's clusters (the map hides a group's label with them; empty for a cluster's label)."""

    level: int
    code: int
    text: str
    x: float
    y: float
    size: int
    members: tuple[int, ...] = ()


PHRASE_TEXT_CHARS = 1_000  # a document's first characters that its phrases are counted over


@dataclass(frozen=True)
class TermCounts:
    """1- and 2-gram counts ``(n_docs, n_terms)`` (sparse) of the documents and the ``terms`` they count."""

    counts: Any
    terms: NDArray[np.str_]


def count_terms(texts: Sequence[str]) -> TermCounts:
    """Each document's 1- and 2-grams (English stop words dropped first, so "parse a date" counts
    "parse date"), over its first :data:`PHRASE_TEXT_CHARS` characters; counted once per map and summed
    per class by :func:`phrase_candidates`."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    vec = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | BOILERPLATE), ngram_range=(1, 2), dtype=np.float64,
                          token_pattern=rf"(?u)\b[a-zA-Z][a-zA-Z0-9_]{{1,{MAX_KEYWORD_CHARS - 1}}}\b")
    try:
        counts = vec.fit_transform([str(t)[:PHRASE_TEXT_CHARS] for t in texts])
    except ValueError:  # no words at all (only stop words, numbers or symbols)
        return TermCounts(None, np.array([], dtype=str))
    return TermCounts(counts, vec.get_feature_names_out())


def phrase_candidates(texts: Sequence[str] | TermCounts, classes: NDArray[np.int64], n_classes: int,
                      top_n: int = PHRASE_CANDIDATES) -> list[list[str]]:
    """The top 2-grams then the top 1-grams of each class ``0..n_classes-1`` by c-TF-IDF (``top_n`` in all, half
    each at most while both have enough): a 2-gram's count is always lower than its words', so ranked together
    the tokens would crowd out every phrase. ``texts``: the documents, or their :func:`count_terms`.

    With ``tf_{t,c}`` the term's count in class ``c`` over the class's length, ``A`` the mean class
    length and ``f_t`` the term's count over all classes: ``w_{t,c} = tf_{t,c} * log(1 + A / f_t)``
    (Grootendorst 2022, BERTopic).

    >>> phrase_candidates(["parse a date string", "parse the date", "open a socket", "socket server"],
    ...                   np.array([0, 0, 1, 1]), 2, top_n=2)
    [['parse date', 'date'], ['open socket', 'socket']]
    """
    from scipy import sparse

    terms = texts if isinstance(texts, TermCounts) else count_terms(texts)
    classes = np.asarray(classes, dtype=np.int64)
    if terms.counts is None:
        return [[] for _ in range(n_classes)]
    if terms.counts.shape[0] != len(classes):
        raise ValueError(f"texts ({terms.counts.shape[0]}) and classes ({len(classes)}) differ in length")
    member = sparse.csr_matrix((np.ones(len(classes)), (classes, np.arange(len(classes)))),
                               shape=(n_classes, len(classes)))
    counts = (member @ terms.counts).tocsr()
    words = terms.terms
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    tf = counts.multiply(1.0 / np.where(lengths == 0, 1.0, lengths)[:, None]).tocsr()
    f_t = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(1.0 + lengths.mean() / np.where(f_t == 0, 1.0, f_t))
    scores = tf.multiply(idf[None, :]).tocsr()
    out = []
    for c in range(n_classes):
        row = scores.getrow(c)
        order = np.lexsort((row.indices, -row.data))[:40 * top_n]  # ties: the vocabulary's order, reproducible
        ranked = [str(words[row.indices[j]]) for j in order]
        pairs = [w for w in ranked if " " in w and len(set(w.split())) == 2]  # not "index index"
        singles = [w for w in ranked if " " not in w]
        n_pairs = min(len(pairs), max(top_n // 2, top_n - len(singles)))
        out.append(pairs[:n_pairs] + singles[:top_n - n_pairs])
    return out


def choose_phrases(candidates: Sequence[str], similarity: Sequence[float] | NDArray | None = None,
                   n: int = LABEL_PHRASES) -> list[str]:
    """Up to ``n`` phrases, by ``similarity`` to the class (best first; ``None``: the candidates' order),
    skipping a phrase that shares a word with one already chosen (no "date, parse date").

    >>> choose_phrases(["date", "parse date", "time zone", "zone"], [0.5, 0.9, 0.7, 0.6])
    ['parse date', 'time zone']
    """
    order = range(len(candidates)) if similarity is None else np.argsort(-np.asarray(similarity), kind="stable")
    chosen: list[str] = []
    used: set[str] = set()
    for i in order:
        words = set(candidates[int(i)].split())
        if words & used:
            continue
        chosen.append(candidates[int(i)])
        used |= words
        if len(chosen) == n:
            break
    return chosen


def _unit(a: NDArray) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def class_phrases(texts: Sequence[str] | TermCounts, classes: NDArray[np.int64], centroids: NDArray[np.float32],
                  encode: Encode | None = None) -> list[str]:
    """One label per class ``0..len(centroids)-1``: :func:`phrase_candidates` reranked by the cosine of each
    candidate's embedding (``encode``, the map's encoder) to the class centroid, then :func:`choose_phrases`.
    Without ``encode`` the c-TF-IDF order is kept. An empty class is labelled ""."""
    n_classes = len(centroids)
    candidates = phrase_candidates(texts, classes, n_classes)
    sims: list[NDArray | None] = [None] * n_classes
    flat = sorted({p for ps in candidates for p in ps})
    if encode is not None and flat:
        vectors = _unit(encode(flat))
        if vectors.shape[1] == np.asarray(centroids).shape[1]:  # the same embedding space as the map
            where = {p: i for i, p in enumerate(flat)}
            units = _unit(centroids)
            sims = [vectors[[where[p] for p in ps]] @ units[c] if ps else None for c, ps in enumerate(candidates)]
    chosen = [choose_phrases(ps, sims[c]) for c, ps in enumerate(candidates)]
    taken: set[str] = set()  # two clusters of one label read as one on the map: the larger keeps it
    for c in np.argsort(-np.bincount(np.asarray(classes, dtype=np.int64), minlength=n_classes), kind="stable"):
        chosen[c] = distinct_phrases(chosen[c], candidates[c], sims[c], taken)
        taken.add(", ".join(chosen[c]))
    return [_cap(", ".join(phrases)) for phrases in chosen]


def distinct_phrases(chosen: list[str], candidates: Sequence[str], similarity: Sequence[float] | NDArray | None,
                     taken: set[str]) -> list[str]:
    """``chosen`` (:func:`choose_phrases` of ``candidates``), or, when another class's label is already that
    (``taken``), the choice made without its last phrase, else without the one before: the first label no class has
    yet (``chosen`` when none is).

    >>> distinct_phrases(["sparse matrix", "n_samples"], ["sparse matrix", "n_samples", "csr"], None,
    ...                  {"sparse matrix, n_samples"})
    ['sparse matrix', 'csr']
    """
    if not chosen or ", ".join(chosen) not in taken:
        return chosen
    for drop in reversed(chosen):
        keep = [i for i, p in enumerate(candidates) if p != drop]
        again = choose_phrases([candidates[i] for i in keep],
                               None if similarity is None else np.asarray(similarity)[keep])
        if again and ", ".join(again) not in taken:
            return again
    return chosen


def _cap(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def coarse_groups(centroids: NDArray[np.float32], n_groups: int | None = None) -> NDArray[np.int64]:
    """The coarse group ``(k,)`` of each cluster: Ward agglomeration of the unit centroids into ``n_groups``
    (default ``round(sqrt(k))``, at least 1), numbered by first appearance.

    >>> coarse_groups(np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]], dtype=np.float32), 2).tolist()
    [0, 0, 1, 1]
    """
    k = len(centroids)
    n_groups = max(1, round(math.sqrt(k))) if n_groups is None else int(n_groups)
    if k <= 1 or n_groups <= 1:
        return np.zeros(k, dtype=np.int64)
    if n_groups >= k:
        return np.arange(k, dtype=np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage

    raw = fcluster(linkage(_unit(centroids), method="ward"), t=n_groups, criterion="maxclust")
    _, first = np.unique(raw, return_index=True)
    renumber = {int(raw[i]): g for g, i in enumerate(sorted(first))}
    return np.array([renumber[int(r)] for r in raw], dtype=np.int64)


def place_labels(xy: NDArray[np.float32], classes: NDArray[np.int64], names: Sequence[str],
                 level: int, groups: NDArray[np.int64] | None = None) -> list[MapLabel]:
    """A label per non-empty class at the member nearest the median of its members' ``xy`` (inside the cluster,
    unlike the mean of a curved cluster; on data even for a group of distant clusters), largest class first.
    ``groups``: each cluster's coarse group (:func:`coarse_groups`), when the classes are groups: a group's label
    names its clusters (``members``).

    >>> xy = np.array([[0, 0], [1, 0], [5, 5]], dtype=np.float32)
    >>> [(m.code, m.size, m.members) for m in place_labels(xy, np.array([0, 0, 1]), ["a", "b"], 0, np.array([0, 1, 0]))]
    [(0, 2, (0, 2)), (1, 1, (1,))]
    """
    classes = np.asarray(classes, dtype=np.int64)
    out = []
    for c, name in enumerate(names):
        members = xy[classes == c]
        if not len(members) or not name:
            continue
        median = np.median(members, axis=0)
        mx, my = members[int(np.argmin(((members - median) ** 2).sum(axis=1)))]  # on a member: never in a gap
        clusters = () if groups is None else tuple(int(k) for k in np.flatnonzero(groups == c))
        out.append(MapLabel(level, c, name, float(mx), float(my), int(len(members)), clusters))
    return sorted(out, key=lambda m: (-m.size, m.code))


def labels_for(texts: Sequence[str], clusters: NDArray[np.int64], embeddings: NDArray[np.float32],
               centroids: NDArray[np.float32], xy: NDArray[np.float32],
               encode: Encode | None = None) -> list[MapLabel]:
    """Both levels of labels of a clustered map: coarse groups (level 0) and clusters (level 1)."""
    clusters = np.asarray(clusters, dtype=np.int64)
    terms = count_terms(texts)
    fine = place_labels(xy, clusters, class_phrases(terms, clusters, centroids, encode), level=1)
    groups = coarse_groups(centroids)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups <= 1:
        return fine
    doc_groups = groups[clusters]
    emb = np.asarray(embeddings, dtype=np.float32)
    group_centroids = np.stack([emb[doc_groups == g].mean(axis=0) if np.any(doc_groups == g)
                                else np.zeros(emb.shape[1], dtype=np.float32) for g in range(n_groups)])
    coarse = place_labels(xy, doc_groups, class_phrases(terms, doc_groups, group_centroids, encode), level=0,
                          groups=groups)
    return coarse + fine


_CACHE: OrderedDict[str, list[MapLabel]] = OrderedDict()
_LOCK = threading.Lock()
CACHE_ENTRIES = 8


def map_labels(cmap, encode: Encode | None = None) -> list[MapLabel]:
    """:func:`labels_for` of a :class:`~core.corpus.mapping.CorpusMap`, computed once per corpus and map settings
    (a process-wide cache of :data:`CACHE_ENTRIES` maps; ~1 s for 11,000 documents)."""
    key = f"{cmap.corpus.content_hash}|{cmap.settings!r}|{encode is not None}"
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    labels = labels_for(cmap.corpus.texts, cmap.labels, cmap.embeddings, cmap.centroids, cmap.xy, encode)
    with _LOCK:
        _CACHE[key] = labels
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return labels


def label_names(labels: Sequence[MapLabel]) -> dict[int, str]:
    """``{cluster: phrase}`` of the cluster-level labels (the legend names clusters by them)."""
    return {lab.code: lab.text for lab in labels if lab.level == 1}


def keyword_labels(xy: NDArray[np.float32], clusters: NDArray[np.int64], keywords: Sequence[str],
                   centroids: NDArray[np.float32]) -> list[MapLabel]:
    """Labels by zoom of a map whose clusters are already named (a large index's ``keywords``, comma-separated,
    best first): a cluster by its first two keywords, a coarse group (:func:`coarse_groups`) by the first
    keyword of each of its two largest clusters, two different words (:func:`_two_distinct`). No text is read
    again, so a million points take a second."""
    clusters = np.asarray(clusters, dtype=np.int64)
    names = [", ".join(str(kw).split(", ")[:2]) for kw in keywords]
    fine = place_labels(xy, clusters, names, level=1)
    groups = coarse_groups(centroids)
    if len(groups) == 0 or groups.max() == 0:
        return fine
    sizes = np.bincount(clusters, minlength=len(names))
    group_names = []
    for g in range(int(groups.max()) + 1):
        members = np.flatnonzero(groups == g)
        by_size = [str(keywords[c]).split(", ") for c in members[np.argsort(-sizes[members], kind="stable")]]
        group_names.append(_cap(", ".join(_two_distinct(by_size))))
    return place_labels(xy, groups[clusters], group_names, level=0, groups=groups) + fine


def _two_distinct(keywords: list[list[str]]) -> list[str]:
    """A coarse group's two words from its clusters' keywords (largest cluster first): the first keyword of each
    cluster, then their other keywords, a word said once.

    >>> _two_distinct([["apple", "banana"], ["apple", "fruit"]]), _two_distinct([["car", "engine"], ["wheel"]])
    (['apple', 'banana'], ['car', 'wheel'])
    """
    firsts = [words[0] for words in keywords if words]
    rest = [word for words in keywords for word in words[1:]]
    return [word for word in dict.fromkeys(firsts + rest) if word][:2]
