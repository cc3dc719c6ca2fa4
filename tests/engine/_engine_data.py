"""A small seeded corpus with question-answer shapes, and extractors that crash, for the engine tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.corpus.load import Corpus
from core.equal.extract.rules import RuleExtractor

WORDS = ["file", "path", "date", "time", "array", "shape", "socket", "port", "cache", "key"]


def qa_corpus(n: int = 60, seed: int = 0) -> Corpus:
    """``n`` documents; two in three hold ``Q:``/``A:`` pairs (1-3 each) and a ``FACT`` line, the rest none."""
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS, 10))
        if i % 3 == 2:
            texts.append(f"Notes {i}: {words}.")
            continue
        qa = "\n\n".join(f"Q: What is {rng.choice(WORDS)} number {i}-{j}?\nA: It is {words} {j}."
                         for j in range(1 + i % 3))
        texts.append(f"Page {i}.\nFACT {rng.choice(WORDS)} holds {i}\n\n{qa}\n")
    return Corpus(ids=tuple(f"d{i:03d}" for i in range(n)), texts=tuple(texts),
                  sources=tuple(f"qa.jsonl:{i + 1}" for i in range(n)), name="qa")


class CrashOnce:
    """Extractor factory: the rules extractor, except that the worker process dies (``os._exit``)
    on the first batch holding ``doc_id`` (``"*"``: any batch) while ``marker`` does not exist (it is
    created first); with ``always`` on every such batch."""

    def __init__(self, doc_id: str, marker: str, always: bool = False) -> None:
        self.doc_id, self.marker, self.always = doc_id, marker, always

    def __call__(self) -> _Crashing:
        return _Crashing(self.doc_id, Path(self.marker), self.always)


class _Crashing(RuleExtractor):
    def __init__(self, doc_id: str, marker: Path, always: bool) -> None:
        super().__init__()
        self.doc_id, self.marker, self.always = doc_id, marker, always

    def extract(self, docs):
        if any(self.doc_id in ("*", d) for d, _ in docs) and (self.always or not self.marker.exists()):
            self.marker.write_text("crashed")
            os._exit(1)  # the worker dies mid-job, result unsent
        return super().extract(docs)


class ExposureThatStops:
    """A CTAR exposure policy: CTAR's own (``inner``), except that on the block whose first user is
    ``user`` it first writes ``marker`` (the Ray node id it runs on, when it runs on Ray) and then, while
    no ``marker + ".seen"`` exists, either kills its process (``crash``) or waits (up to ``pause``
    seconds, until the ``.seen`` file appears) so that a test can kill the node under it (``marker``
    holds :func:`ray_node_id`). Values are ``inner``'s: a block that completes is the normal one."""

    def __init__(self, inner, user: int, marker: str, crash: bool = False, pause: float = 0.0) -> None:
        self.inner, self.user, self.marker, self.crash, self.pause = inner, user, marker, crash, pause

    @property
    def name(self) -> str:
        return self.inner.name

    def calc_propensity(self, ctx):
        import time

        seen = Path(self.marker + ".seen")
        if int(ctx.users[0]) == self.user and not seen.exists():
            Path(self.marker).write_text(ray_node_id())
            if self.crash:
                seen.write_text("crashed")
                os._exit(1)  # the worker dies mid-block, nothing of the block written
            end = time.monotonic() + self.pause
            while not seen.exists() and time.monotonic() < end:
                time.sleep(0.1)
        return self.inner.calc_propensity(ctx)


def ray_node_id() -> str:
    """``"<Ray node id> <pid>"``: where this code runs ("" for the node outside Ray), for a test that kills it."""
    node = ""
    try:
        import ray

        node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except ImportError:
        pass
    return f"{node} {os.getpid()}"


class PauseOnce:
    """Extractor factory: the rules extractor, except that the batch holding ``doc_id`` first writes
    the Ray node id to ``marker`` and waits (up to ``pause`` s) while no ``marker + ".seen"`` exists, so a
    test can kill the node under it."""

    def __init__(self, doc_id: str, marker: str, pause: float = 60.0) -> None:
        self.doc_id, self.marker, self.pause = doc_id, marker, pause

    def __call__(self) -> _Pausing:
        return _Pausing(self.doc_id, Path(self.marker), self.pause)


class _Pausing(RuleExtractor):
    def __init__(self, doc_id: str, marker: Path, pause: float) -> None:
        super().__init__()
        self.doc_id, self.marker, self.pause = doc_id, marker, pause

    def extract(self, docs):
        import time

        seen = Path(f"{self.marker}.seen")
        if any(d == self.doc_id for d, _ in docs) and not seen.exists():
            self.marker.write_text(ray_node_id())
            end = time.monotonic() + self.pause
            while not seen.exists() and time.monotonic() < end:
                time.sleep(0.1)
        return super().extract(docs)


class BatchOf:
    """A stand-in for ``EncodeBatch`` (same constructor) that returns, for each row, the first row of its batch:
    which rows an actor was handed together."""

    def __init__(self, encoder_name: str, batch_size: int) -> None:
        self.batch_size = batch_size

    def __call__(self, batch):
        import numpy as np

        rows = np.asarray(batch["row"], dtype=np.int64)
        return {"row": rows, "batch_of": np.full(len(rows), rows[0], dtype=np.int64)}


def worker_state(hold: float = 1.0) -> tuple[int, bool]:
    """Run as a Ray task: ``(pid, whether the engine's task code was already imported)``, after holding the worker
    ``hold`` seconds (so that tasks sent together run on different workers)."""
    import sys
    import time

    already = "core.debias.sweep" in sys.modules
    time.sleep(hold)
    return os.getpid(), already
