"""Indexing a large corpus as a job a page polls and can cancel (the one job contract, :mod:`core.jobs`).

:func:`index_large_corpus` is one long call that reports :class:`~core.corpus.progress.Progress`
per stage; :class:`IndexJob` runs it in a :class:`~core.jobs.ThreadJob`, so the page's polling
panel shows done/total, rate and time left and its Cancel stops it at the next report. A
cancelled or failed build keeps nothing (the index is written into a temporary folder that is
renamed into place only at the end) and an earlier index is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.corpus.progress import Progress
from core.corpus.stream import LargeIndexConfig, index_large_corpus, sample_corpus
from core.jobs import ThreadJob


class IndexJob(ThreadJob):
    """Stream ``source`` into its large-map index in a background thread; ``result`` is the indexed path.

    ``source=None`` writes the sample corpus first (:func:`~core.corpus.stream.sample_corpus`, the
    built-in documents recombined) and indexes that. ``roots``: the folders a page may read
    (:func:`core.access.allowed_roots`), checked before any stat; ``config`` and ``encoder`` as in
    :func:`~core.corpus.stream.index_large_corpus`.
    """

    def __init__(self, source: Path | None, roots: tuple[Path, ...] | None,
                 config: LargeIndexConfig = LargeIndexConfig(), encoder=None) -> None:
        def work(report: Callable[[int, int, str], None]) -> Path:
            def relay(p: Progress) -> None:
                self.unit = p.unit  # documents while embedding, rows or points after
                report(p.done, p.total, p.stage)

            path = sample_corpus() if source is None else source
            index_large_corpus(path, config, encoder=encoder, report=relay, roots=roots)
            return path

        self.unit = "documents"
        self.corpus = "the sample corpus" if source is None else Path(source).name  # the page may show another
        super().__init__("Building the sample index" if source is None else f"Indexing {self.corpus}", work)

    def describe(self) -> str:
        """``"docs.jsonl: embed: 40,000/100,000 documents · 2,100/s · 29 s left — one-time"``: the corpus named, as
        the page goes on showing the job when another path is typed meanwhile."""
        return f"{self.corpus}: {self.progress().describe(self.unit)} — one-time (the index is kept on disk)"

    def cancel_note(self) -> str | None:
        """The warning a cancelled build shows (``None`` unless cancelled)."""
        if self.status != "cancelled":
            return None
        return (f"Cancelled indexing {self.corpus}: nothing was kept (an earlier index is untouched); starting again "
                "builds it from the beginning.")
