"""Offline replay gives the same frames as a live run, without extracting."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.replay import (  # noqa: E402
    ExtractionFailedError,
    PrecomputedExtractor,
    embed_pairs,
    extract_all,
    replay,
)
from core.equal.run import BanditRun  # noqa: E402


@pytest.mark.parametrize("policy", ["equal", "thompson", "random", "all", "avg-sim"])
def test_replay_matches_live_run(policy):
    ids, texts, labels, ref, ext, embed, config = make_setup()
    config = replace(config, policy=policy)
    live = BanditRun(config, make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed).run_until_done()
    pairs = extract_all(ids, texts, ext, batch_size=17)
    assert sum(map(len, pairs.values())) == len(ext.extract(list(zip(ids, texts))).pairs)
    table = embed_pairs(pairs, embed)
    rep = replay(config, make_space(ids, None, labels, doc_emb=embed(texts)), pairs, table, ref)
    cols = ["round", "seq", "arm", "n_docs", "n_pairs", "reward", "docs_cum", "pairs_cum", "coverage"]
    assert rep.pulls_frame()[cols].equals(live.pulls_frame()[cols])
    assert rep.arms_frame().equals(live.arms_frame())


def test_precomputed_extractor_counts_calls_and_missing_embedding_is_clear():
    ids, texts, labels, ref, ext, embed, config = make_setup()
    pairs = extract_all(ids, texts, ext)
    res = PrecomputedExtractor(pairs, cost_per_call=0.01).extract([(ids[0], ""), ("unknown", "")])
    assert res.calls == 2 and res.cost == pytest.approx(0.02) and len(res.pairs) == len(pairs[ids[0]])
    with pytest.raises(KeyError, match="no precomputed embedding"):
        replay(config, make_space(ids, None, labels, doc_emb=embed(texts)), pairs, {}, ref)


def test_extract_all_refuses_a_failed_document_instead_of_calling_it_barren():
    ids, texts, labels, ref, ext, embed, config = make_setup()

    class Failing:
        name = ext.name

        def extract(self, docs):
            result = ext.extract([(d, t) for d, t in docs if d != ids[3]])
            result.errors += [(d, "endpoint failing") for d, _ in docs if d == ids[3]]
            return result

    with pytest.raises(ExtractionFailedError, match=f"1 document could not be extracted \\(first: '{ids[3]}'\\)"):
        extract_all(ids, texts, Failing(), batch_size=5)


def test_a_batch_leaves_out_a_failed_document_and_the_pairs_it_returned_as_a_run_does():
    """``extract_batch`` and a run's pull drop the pairs of a document reported failed the same way (one function)."""
    from core.equal.extract.base import ExtractionResult, QAPair
    from core.equal.replay import extract_batch
    from core.equal.run import without_failed_pairs

    def pair(doc_id):
        return QAPair(f"what is {doc_id}?", "it is.", doc_id, "fake")

    class HalfFailed:  # d2's refine pass failed after its pairs came back; a stray pair names no document asked for
        name = "fake"

        def extract(self, docs):
            return ExtractionResult(pairs=[pair("d1"), pair("d2"), pair("stray")], calls=2,
                                    errors=[("d2", "refine pass failed")])

    found, failed = extract_batch(HalfFailed(), [("d1", "x"), ("d2", "y")])
    assert found == {"d1": [pair("d1")]} and failed == ["d2"]
    assert [p.doc_id for p in without_failed_pairs(HalfFailed().extract([])).pairs] == ["d1", "stray"]
