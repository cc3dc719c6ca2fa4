"""A small, fully deterministic bandit run for the store/resume tests (also run as a script).

``python tests/equal/crash_run.py STORE RUN_ID DELAY [live]`` starts a run committed to ``STORE`` and
sleeps ``DELAY`` seconds per pull, so the test can SIGKILL it mid-run; with ``live`` it is played
the way the Bandit page plays it (a :class:`~core.equal.live.LiveLoop` started, then ticked), as a
server killed while a page plays. The same
:func:`make_setup` builds the identical corpus, labels, reference and extractor in the test.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from core.corpus.encoders import HashingEncoder  # noqa: E402
from core.equal.extract import make_extractor  # noqa: E402
from core.equal.run import BanditRun, RunConfig, cached_embedder  # noqa: E402
from core.equal.space import ArmSpace  # noqa: E402

TOPICS = [
    ("json", ["parse", "serialize", "decode", "encode", "string", "file", "object", "dict"]),
    ("date", ["format", "parse", "timezone", "timestamp", "week", "month", "calendar", "leap"]),
    ("socket", ["connect", "bind", "listen", "timeout", "address", "port", "send", "receive"]),
    ("array", ["reshape", "mean", "sum", "sort", "stack", "matrix", "axis", "broadcast"]),
]


class BanditWorld(NamedTuple):
    """The test corpus and what a run needs besides its store, by name (still unpacks as the old 7-tuple)."""

    ids: list[str]
    texts: list[str]
    labels: np.ndarray
    reference: np.ndarray
    extractor: Any
    embed: Callable
    config: RunConfig

    def space(self) -> ArmSpace:
        """The corpus as an arm space, its documents embedded by :attr:`embed`."""
        return make_space(self.ids, self.texts, self.labels, doc_emb=self.embed(self.texts))


def make_setup(n_per_topic: int = 30, n_noise: int = 30) -> BanditWorld:
    """The :class:`BanditWorld` of a 5-cluster corpus.

    Topic documents carry ``Q:``/``A:`` pairs (the rule extractor reads them); cluster 4 holds
    prose without pairs. The reference set asks about JSON, so cluster 0 is the best arm.
    The documents' embeddings (``doc_emb``, for ``unplayed="prior"``) are ``embed(texts)``.
    """
    rng = np.random.default_rng(123)
    ids, texts, labels = [], [], []
    for t, (topic, words) in enumerate(TOPICS):
        for i in range(n_per_topic):
            w = rng.choice(words, size=3, replace=False)
            texts.append(f"Notes on {topic} number {i}.\nQ: How do I {w[0]} a {topic} {w[1]}?\n"
                         f"A: Use the {topic} {w[2]} helper and {w[0]} the {topic} {w[1]} carefully.\n")
            ids.append(f"{topic}.doc{i}")
            labels.append(t)
    for i in range(n_noise):
        texts.append(f"Plain prose paragraph {i} about nothing in particular without questions.")
        ids.append(f"noise.doc{i}")
        labels.append(len(TOPICS))
    enc = HashingEncoder(64)
    ref_texts = [f"<|user|>\nHow do I {w} a json {v}?\n\n<|assistant|>\nUse the json {v} helper."
                 for w, v in [("parse", "string"), ("serialize", "dict"), ("decode", "file"), ("encode", "object")]]
    reference = enc.encode(ref_texts)
    config = RunConfig(policy="equal", batch_arms=2, docs_per_pull=3, budget=0.5, seed=7)
    return BanditWorld(ids, texts, np.asarray(labels), reference, make_extractor("rules"), cached_embedder(enc.encode),
                       config)


def make_space(ids, texts, labels, embed=None, doc_emb=None) -> ArmSpace:
    """The test corpus as an arm space; ``embed`` (or ``doc_emb``) gives the document embeddings."""
    if doc_emb is None and embed is not None:
        doc_emb = embed(texts)
    return ArmSpace(ids, texts, labels, doc_emb=doc_emb)


class SlowExtractor:
    """Delays each extraction so a test can kill the process mid-run."""

    def __init__(self, inner, delay: float) -> None:
        self.inner, self.delay, self.name = inner, delay, inner.name

    def extract(self, docs):
        time.sleep(self.delay)
        return self.inner.extract(docs)


def main(argv: list[str]) -> int:
    from core.equal.store import RunStore

    store_path, run_id, delay = argv[0], argv[1], float(argv[2])
    ids, texts, labels, ref, ext, embed, config = make_setup()
    store = RunStore(store_path)
    run = BanditRun(config, make_space(ids, texts, labels, embed), ref, SlowExtractor(ext, delay), embed,
                    store=store, run_id=run_id)
    if argv[3:] == ["live"]:
        from core.equal.live import LiveLoop

        loop = LiveLoop(store)
        loop.start(run)
        while loop.playing:
            loop.tick(max_rounds=1, max_seconds=0.3)
    else:
        run.run_until_done()
    print("finished", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
