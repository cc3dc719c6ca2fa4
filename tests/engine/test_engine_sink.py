"""The pair sink and the local engine: each batch committed once, a rerun resumes, nothing lost or doubled."""

from __future__ import annotations

import pytest

from core.engine import check_engine
from core.engine.local import ExtractorSpec, extract_all_local, plan_batches
from core.engine.sink import BatchOutcome, PairSink
from core.equal.extract.base import ExtractionResult, QAPair
from core.equal.extract.rules import RuleExtractor
from tests.engine._engine_data import qa_corpus


def _docs(n=30):
    c = qa_corpus(n)
    return list(zip(c.ids, c.texts))


def _result(doc_ids, errors=()):
    pairs = [QAPair(f"q{j} of {d}?", f"a{j}", d, "test") for d in doc_ids if d not in errors for j in range(2)]
    return ExtractionResult(pairs=pairs, calls=len(doc_ids), prompt_tokens=10 * len(doc_ids), cost=0.5,
                            errors=[(d, "HTTP 500") for d in errors])


def test_a_batch_delivered_twice_is_committed_once(tmp_path):
    sink = PairSink(tmp_path / "s.sqlite")
    outcome = BatchOutcome(["a", "b"], _result(["a", "b"]), job="j1")
    assert sink.commit(outcome) is True
    first = sink.totals()
    assert sink.commit(outcome) is False  # a retried task that delivered again
    assert sink.totals() == first
    assert (first.pairs, first.docs_done, first.calls, first.prompt_tokens, first.cost) == (4, 2, 2, 20, 0.5)
    frame = sink.pairs_frame()
    assert list(frame.pair_index) == [0, 1, 0, 1] and frame.duplicated(["doc_id", "pair_index"]).sum() == 0


def test_failed_document_is_not_done_and_a_later_success_replaces_it(tmp_path):
    sink = PairSink(tmp_path / "s.sqlite")
    sink.commit(BatchOutcome(["a", "b"], _result(["a", "b"], errors=("b",)), job="j1"))
    assert sink.done_ids() == {"a"}
    assert list(sink.failures_frame().doc_id) == ["b"]
    sink.commit(BatchOutcome(["b"], _result(["b"]), job="j2"))
    assert sink.done_ids() == {"a", "b"} and sink.failures_frame().empty
    # a failure arriving after a success never undoes it
    sink.commit(BatchOutcome(["a"], _result(["a"], errors=("a",)), job="j3"))
    assert "a" in sink.done_ids()
    assert sink.totals().pairs == 4


def test_plan_batches_skips_done_and_keeps_order():
    docs = [(f"d{i}", "t") for i in range(7)]
    batches = plan_batches(docs, {"d1", "d4"}, 2)
    assert [[d for d, _ in b] for b in batches] == [["d0", "d2"], ["d3", "d5"], ["d6"]]
    with pytest.raises(ValueError, match="batch_docs"):
        plan_batches(docs, set(), 0)
    assert check_engine(" Ray ") == "ray"
    with pytest.raises(ValueError, match="engine must be one of"):
        check_engine("spark")


class _FailsAtBatch:
    """Extractor factory whose extractor raises on its ``n``-th batch (an interrupted job)."""

    def __init__(self, n):
        self.n = n

    def __call__(self):
        outer = self

        class _E(RuleExtractor):
            seen = 0

            def extract(self, docs):
                _E.seen += 1
                if _E.seen == outer.n:
                    raise KeyboardInterrupt("stopped by the user")
                return super().extract(docs)

        return _E()


def test_local_extract_all_interrupted_then_resumed_equals_one_run(tmp_path):
    docs = _docs(30)
    whole = PairSink(tmp_path / "whole.sqlite")
    report = extract_all_local(docs, ExtractorSpec("rules"), whole, batch_docs=4)
    assert report.totals.docs_done == 30 and report.batches_run == 8 and report.totals.pairs > 20
    parts = PairSink(tmp_path / "parts.sqlite")
    with pytest.raises(KeyboardInterrupt):
        extract_all_local(docs, _FailsAtBatch(3), parts, batch_docs=4)
    assert parts.totals().docs_done == 8  # the two batches before the interruption were committed
    again = extract_all_local(docs, ExtractorSpec("rules"), parts, batch_docs=4)
    assert again.docs_skipped == 8
    assert parts.pairs_frame().equals(whole.pairs_frame())
    assert parts.totals().calls == 30


def test_an_unreachable_ray_address_fails_fast_with_what_to_do():
    import socket

    from core.engine.ray_engine import _check_reachable

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(RuntimeError, match=r"Could not reach the Ray cluster at .*--engine local"):
        _check_reachable(f"127.0.0.1:{port}", timeout=2.0)
    with pytest.raises(RuntimeError, match="is not host:port"):
        _check_reachable("ray://:abc")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        _check_reachable(f"ray://127.0.0.1:{server.getsockname()[1]}")  # listening: no error
