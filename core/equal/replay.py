"""Offline replay: run any policy over QA pairs extracted beforehand (EQUAL's code's mode).

Extraction is replaced by a lookup (:class:`PrecomputedExtractor`) and embedding by a table
or a cached function, so a whole run takes well under a second for thousands of documents
and parameters can be tuned visually at speed. The run object is the ordinary
:class:`~core.equal.run.BanditRun`, so a replay returns exactly the frames of a live run
(``rounds_frame``, ``pulls_frame``, ``arms_frame``, ``pairs_frame``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from core.equal.extract.base import ExtractionResult, Extractor, QAPair
from core.equal.run import BanditRun, EmbedFn, RunConfig, cached_embedder, without_failed_pairs
from core.equal.space import ArmSpace


class PrecomputedExtractor:
    """Serves pre-extracted pairs by ``doc_id``; one call per document, cost 0 (or ``cost_per_call``)."""

    name = "precomputed"

    def __init__(self, pairs_by_doc: Mapping[str, Sequence[QAPair]], cost_per_call: float = 0.0) -> None:
        self.pairs_by_doc = pairs_by_doc
        self.cost_per_call = float(cost_per_call)

    def extract(self, docs: Sequence[tuple[str, str]]) -> ExtractionResult:
        pairs = [p for doc_id, _ in docs for p in self.pairs_by_doc.get(doc_id, ())]
        return ExtractionResult(pairs=pairs, calls=len(docs), cost=self.cost_per_call * len(docs))


class ExtractionFailedError(RuntimeError):
    """Documents the extractor could not read (a failing endpoint); the message names how many and the first."""


def extract_batch(extractor: Extractor,
                  docs: Sequence[tuple[str, str]]) -> tuple[dict[str, list[QAPair]], list[str]]:
    """Extract ``docs`` (``[(doc_id, text)]``): ``({doc_id: pairs}, failed ids)``.

    Every document that did not fail gets its list, empty when it yields nothing; a failed one is left out, so no
    cache records it as barren and the next job retries it (the baselines, the tuning lab and :func:`extract_all`).
    """
    result = without_failed_pairs(extractor.extract(list(docs)))
    bad = result.failed_ids
    found: dict[str, list[QAPair]] = {d: [] for d, _ in docs if d not in bad}
    for p in result.pairs:
        if p.doc_id in found:  # a pair naming no document of the batch is left out
            found[p.doc_id].append(p)
    return found, sorted(bad)


def failed_message(failed: Sequence[str], then: str) -> str:
    """What a job that could not extract ``failed`` says, ``then`` what becomes of the rest.

    >>> failed_message(["os.path#2", "re"], "nothing was replayed")
    "2 documents could not be extracted (first: 'os.path#2'); nothing was replayed"
    """
    n = len(failed)
    return f"{n:,} document{'s' if n != 1 else ''} could not be extracted (first: {failed[0]!r}); {then}"


def extract_all(doc_ids: Sequence[str], texts: Sequence[str], extractor: Extractor, batch_size: int = 256,
                progress: Callable[[int, int], None] | None = None) -> dict[str, list[QAPair]]:
    """Extract every document once: ``{doc_id: [QAPair, ...]}`` (documents without pairs map to ``[]``).

    Raises :class:`ExtractionFailedError` when a document fails: a replay over it would count it barren."""
    out: dict[str, list[QAPair]] = {}
    failed: list[str] = []
    for start in range(0, len(doc_ids), batch_size):
        found, bad = extract_batch(extractor, list(zip(doc_ids[start:start + batch_size],
                                                       texts[start:start + batch_size])))
        out.update(found)
        failed += bad
        if progress is not None:
            progress(min(start + batch_size, len(doc_ids)), len(doc_ids))
    if failed:
        raise ExtractionFailedError(failed_message(failed, "nothing was replayed"))
    return out


def table_embedder(table: Mapping[str, NDArray]) -> EmbedFn:
    """An :data:`EmbedFn` reading precomputed vectors by pair text (``QAPair.as_text()``)."""

    def fn(texts: Sequence[str]) -> NDArray[np.float32]:
        try:
            return np.stack([np.asarray(table[t], dtype=np.float32) for t in texts])
        except KeyError as exc:
            raise KeyError(f"replay: no precomputed embedding for pair text {str(exc)[:80]}") from None

    return fn


def embed_pairs(pairs_by_doc: Mapping[str, Sequence[QAPair]], embed: EmbedFn) -> dict[str, NDArray[np.float32]]:
    """Embed every distinct pair text once: ``{pair text: vector}``."""
    texts = list(dict.fromkeys(p.as_text() for ps in pairs_by_doc.values() for p in ps))
    vecs = embed(texts) if texts else np.empty((0, 0), np.float32)
    return dict(zip(texts, vecs))


def replay(config: RunConfig, space: ArmSpace, pairs_by_doc: Mapping[str, Sequence[QAPair]],
           embeddings: Mapping[str, NDArray] | EmbedFn, reference: NDArray, max_rounds: int | None = None) -> BanditRun:
    """Run ``config`` over pre-extracted pairs without a store; returns the finished :class:`BanditRun`.

    ``space`` needs no texts (``ArmSpace.from_corpus_map(cmap, with_texts=False)``);
    ``embeddings`` is a ``{pair text: vector}`` table (see :func:`embed_pairs`) or an embed
    function. ``space.doc_emb`` is needed by ``unplayed="prior"`` and ``avg-sim``.
    """
    return replay_run(config, space, pairs_by_doc, embeddings, reference).run_until_done(max_rounds=max_rounds)


def replay_run(config: RunConfig, space: ArmSpace, pairs_by_doc: Mapping[str, Sequence[QAPair]],
               embeddings: Mapping[str, NDArray] | EmbedFn, reference: NDArray) -> BanditRun:
    """The run :func:`replay` plays, not played yet: a job steps it round by round (same arguments)."""
    embed = table_embedder(embeddings) if isinstance(embeddings, Mapping) else cached_embedder(embeddings)
    return BanditRun(config, space, reference, PrecomputedExtractor(pairs_by_doc), embed,
                     name=f"{config.policy} (replay, seed {config.seed})")


def replay_baselines(config: RunConfig, space: ArmSpace, extractor: Extractor, embed: EmbedFn, reference: NDArray,
                     policies: Sequence[str] | None = None) -> dict:
    """Baseline curves for ``config``'s budget: extract everything once, then replay.

    ``policies`` defaults to Random and All, plus Avg-sim when ``space.doc_emb`` is known.
    Returns ``{policy: rounds_frame}``. Meant for the offline rule extractor (cheap to run on
    everything); with a paid extractor it would cost what "All" costs.
    """
    from dataclasses import replace

    if space.texts is None:
        raise ValueError("replay_baselines extracts every document: the arm space needs the texts")
    if policies is None:
        policies = ("random", "all") + (("avg-sim",) if space.doc_emb is not None else ())
    pairs = extract_all(space.doc_ids, space.texts, extractor)
    table = embed_pairs(pairs, cached_embedder(embed))
    bare = replace(space, texts=None)
    return {p: replay(replace(config, policy=p, policy_params={}), bare, pairs, table, reference).rounds_frame()
            for p in policies}
