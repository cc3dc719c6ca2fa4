"""The extractor protocol: documents in, question-answer pairs with provenance out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class QAPair:
    """One extracted pair. ``doc_id`` is the provenance; run-level provenance (cluster, round,
    policy) is added by the run store."""

    question: str
    answer: str
    doc_id: str
    extractor: str

    def as_text(self) -> str:
        """The string that is embedded for rewards (EQUAL's chat format)."""
        return f"<|user|>\n{self.question}\n\n<|assistant|>\n{self.answer}"


@dataclass
class ExtractionResult:
    """Pairs from one batch of documents plus the accounting of what it cost.

    ``calls`` counts billable extraction calls (one per document not served from cache);
    ``errors`` holds (doc_id, message) for documents that failed after all retries.
    ``requests`` counts HTTP requests sent (retries and refine passes included; 0 for the
    rule-based extractor) and ``retries`` the requests that were repeats after a failure.
    ``cost`` includes what failed documents were billed (tokens the server actually counted).
    ``cancelled`` is true when the batch was stopped early (Pause, cancel): the documents it
    did not finish are in ``errors`` and were not charged beyond what the server billed.
    """

    pairs: list[QAPair] = field(default_factory=list)
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    cancelled: bool = False

    @property
    def failed_ids(self) -> set[str]:
        """The ids of the documents in :attr:`errors`: not done, so read again later."""
        return {str(d) for d, _ in self.errors}


@runtime_checkable
class Extractor(Protocol):
    """Reads documents, returns QA pairs. ``docs`` is a sequence of ``(doc_id, text)``."""

    name: str

    def extract(self, docs: Sequence[tuple[str, str]]) -> ExtractionResult: ...
