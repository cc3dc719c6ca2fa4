"""Export ``D_e`` for instruction tuning, decontaminated against ``D_r``.

Shapes (one JSON object per line):

* ``"messages"``: ``{"messages": [{"role": "user", "content": Q}, {"role": "assistant", "content": A}],
  "provenance": {...}}``
* ``"alpaca"``: ``{"instruction": Q, "input": "", "output": A, "provenance": {...}}``

Provenance: ``doc_id``, ``cluster`` (the document's cluster on the corpus map, also when the
run's arms were renumbered to a tag's clusters), ``round``, ``policy``, ``extractor``. Nothing else about
the run is written (no settings, no endpoint, no key).

Decontamination (as the paper does before training): a pair is dropped when it shares a
word ``n``-gram (default ``n = 8``, lower-cased ``[a-z0-9]+`` tokens) with any reference
example's question or answer, or, for a reference example shorter than ``n`` tokens (a
one-line question of a plain-text set), when it contains that example's whole token sequence
(examples under ``n // 2`` tokens are too short to tell and are not matched).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

EXPORT_SHAPES = ("messages", "alpaca")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ExportResult:
    """The JSONL bytes, how many pairs were written, and how many decontamination removed."""

    data: bytes
    n_written: int
    n_removed: int


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """Word ``n``-grams of ``text`` (lower-cased alphanumeric tokens).

    Texts shorter than ``n`` give their whole token tuple, if it has at least ``max(1, n // 2)`` tokens.
    """
    toks = _TOKEN.findall(text.lower())
    if len(toks) < n:
        return {tuple(toks)} if len(toks) >= max(1, n // 2) else set()
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def find_contaminated(questions: Sequence[str], answers: Sequence[str], reference_texts: Iterable[str],
                      n: int = 8) -> list[bool]:
    """For each pair, whether its question and answer share a word ``n``-gram with any reference text, or hold
    the whole token sequence of a reference text shorter than ``n`` tokens (see :func:`ngrams`).

    >>> find_contaminated(["How do I reverse a list in place?"], ["Call lst.reverse()."],
    ...                   ["How do I reverse a list in place?", "Why use a deque rather than a list here?"])
    [True]
    """
    if n < 1:
        raise ValueError(f"find_contaminated: n must be >= 1, got {n}")
    ref: set[tuple[str, ...]] = set()
    for t in reference_texts:
        ref |= ngrams(t, n)
    lengths = {len(g) for g in ref}  # n, and the lengths of the short reference texts
    out = []
    for q, a in zip(questions, answers):
        toks = _TOKEN.findall((q + "\n" + a).lower())
        out.append(any(tuple(toks[i:i + k]) in ref for k in lengths for i in range(len(toks) - k + 1)))
    return out


def export_pairs(pairs: pd.DataFrame, reference_texts: Iterable[str], shape: str = "messages", n: int = 8,
                 decontaminate: bool = True) -> ExportResult:
    """Write ``pairs`` (columns question, answer, doc_id, cluster, round, policy[, extractor]) as JSONL.

    Raises ``ValueError`` for an unknown ``shape`` or missing columns.
    """
    if shape not in EXPORT_SHAPES:
        raise ValueError(f"export_pairs: shape must be one of {EXPORT_SHAPES}, got {shape!r}")
    need = {"question", "answer", "doc_id", "cluster", "round", "policy"}
    missing = need - set(pairs.columns)
    if missing:
        raise ValueError(f"export_pairs: pairs frame lacks columns {sorted(missing)}")
    drop = find_contaminated(list(pairs["question"]), list(pairs["answer"]), reference_texts, n) if decontaminate \
        else [False] * len(pairs)
    lines = []
    for row, bad in zip(pairs.itertuples(index=False), drop):
        if bad:
            continue
        prov = {"doc_id": row.doc_id, "cluster": int(row.cluster), "round": int(row.round), "policy": row.policy}
        if "extractor" in pairs.columns:
            prov["extractor"] = row.extractor
        if shape == "messages":
            obj = {"messages": [{"role": "user", "content": row.question},
                                {"role": "assistant", "content": row.answer}],
                   "provenance": prov}
        else:
            obj = {"instruction": row.question, "input": "", "output": row.answer, "provenance": prov}
        lines.append(json.dumps(obj, ensure_ascii=False))
    data = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    return ExportResult(data, len(lines), int(sum(drop)))
