"""A pull whose documents failed (the endpoint timed out) spends no budget and says nothing about its arm: the
running mean reward, the plateau rule and the stored-runs listing must treat it so; and the paper's strict
exhaustion retires arms, not the documents a document policy reads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.equal.extract.base import ExtractionResult
from core.equal.policies import DOC_POLICIES
from core.equal.reward import OTReward
from core.equal.run import BanditRun
from core.equal.store import RunStore


class FailingCalls:
    """The rule extractor, except that the extraction calls numbered in ``bad`` (1-based) fail for every document."""

    name = "rules"

    def __init__(self, inner, bad) -> None:
        self.inner, self.bad, self.n = inner, set(bad), 0

    def extract(self, docs):
        self.n += 1
        if self.n in self.bad:
            return ExtractionResult(calls=len(docs), errors=[(d, "timeout") for d, _ in docs])
        return self.inner.extract(docs)


def _run(world, extractor, store=None, **changes):
    config = replace(world.config, **{"policy": "equal", "batch_arms": 1, "docs_per_pull": 3, "seed": 0, **changes})
    return BanditRun(config, world.space(), world.reference, extractor, world.embed, store=store, run_id="r")


def test_the_mean_reward_so_far_leaves_out_a_pull_that_failed(bandit_world):
    run = _run(bandit_world, FailingCalls(bandit_world.extractor, {2}), budget=0.3).run_until_done()
    pulls, rounds = run.pulls_frame(), run.rounds_frame()
    assert pulls["reward"].isna().sum() == 1
    assert rounds["reward_cum"].iloc[-1] == pytest.approx(pulls["reward"].mean())  # pandas' mean skips the NaN


def test_a_round_whose_pulls_all_failed_does_not_count_towards_a_plateau(bandit_world):
    # per-pull credit with an offset gives rewards below 0: a failed round scored 0 would be the best round so far
    plateau = dict(budget=0.6, stop="plateau", patience=3, reward=OTReward(credit="pull", offset=0.5))
    clean = _run(bandit_world, FailingCalls(bandit_world.extractor, ()), **plateau).run_until_done()
    failed = _run(bandit_world, FailingCalls(bandit_world.extractor, {2}), **plateau).run_until_done()
    assert (clean.rounds_frame()["reward"].dropna() < 0).all()
    assert failed.docs_done == clean.docs_done  # the failed round delayed the plateau, it did not bring it forward
    assert len(failed.rounds_frame()) == len(clean.rounds_frame()) + 1


def test_the_stored_runs_list_counts_a_retried_document_once(bandit_world, tmp_path):
    store = RunStore(tmp_path / "r.sqlite")
    run = _run(bandit_world, FailingCalls(bandit_world.extractor, {1}), store=store, budget=0.2).run_until_done()
    row = store.list_runs().iloc[0]
    assert run.pulls_frame()["n_failed"].sum() == 3
    assert int(row["docs"]) == run.docs_done


@pytest.mark.parametrize("policy", DOC_POLICIES)
def test_strict_exhaustion_does_not_stop_a_document_policy(bandit_world, policy):
    # clusters smaller than D: under "strict" every arm is retired at once, but a document policy picks documents
    n = len(bandit_world.ids)
    run = _run(bandit_world, bandit_world.extractor, policy=policy, docs_per_pull=n, exhaust="strict", budget=0.5)
    run.run_until_done()
    assert run.docs_done == run.budget_target > 0


class PairsAndError:
    """An extractor that returns a document's pairs and also reports it failed (the first call only)."""

    name = "rules"

    def __init__(self, inner) -> None:
        self.inner, self.n = inner, 0

    def extract(self, docs):
        self.n += 1
        out = self.inner.extract(docs)
        if self.n == 1 and out.pairs:
            return replace(out, errors=[(out.pairs[0].doc_id, "refine pass failed")])
        return out


def test_a_document_reported_failed_adds_no_pairs_and_is_read_again_once(bandit_world):
    run = _run(bandit_world, PairsAndError(bandit_world.extractor), budget=0.3).run_until_done()
    clean = _run(bandit_world, bandit_world.extractor, budget=0.3).run_until_done()
    per_doc = run.pairs_frame()["doc_id"].value_counts()
    clean_per_doc = clean.pairs_frame()["doc_id"].value_counts()
    assert run.pulls_frame()["n_failed"].sum() == 1
    assert (per_doc <= clean_per_doc.reindex(per_doc.index).fillna(0)).all()  # no document's pairs counted twice


class AlwaysFails:
    """The rule extractor, except that one document always fails."""

    name = "rules"

    def __init__(self, inner, doc_id) -> None:
        self.inner, self.doc_id = inner, doc_id

    def extract(self, docs):
        good = [(d, t) for d, t in docs if d != self.doc_id]
        out = self.inner.extract(good) if good else ExtractionResult()
        bad = [(d, "HTTP 500") for d, _ in docs if d == self.doc_id]
        return replace(out, calls=len(docs), errors=bad)


def test_a_run_resumed_twice_around_a_failing_document_reopens(bandit_world, tmp_path):
    # each session retries the documents set aside before it; the replay must forgive at the same points, or the
    # failures of every session add up, the document is set aside earlier and the stored plans no longer match
    w = bandit_world
    ext = AlwaysFails(w.extractor, w.ids[0])
    store = RunStore(tmp_path / "r.sqlite")
    run = _run(w, ext, store=store, policy="all", docs_per_pull=1, budget=1.0, max_failures=50)
    run.step()
    run.pause()
    viewed = BanditRun.resume(store, "r", w.space(), w.reference, ext, w.embed)  # opened, not played: no mark
    assert store.load_run("r").resumes == () and viewed.docs_done == run.docs_done
    for _ in range(2):
        run = BanditRun.resume(store, "r", w.space(), w.reference, ext, w.embed)
        for _ in range(4):
            run.step()
        run.pause()
    assert store.load_run("r").resumes == (1, 5)
    again = BanditRun.resume(store, "r", w.space(), w.reference, ext, w.embed)
    assert again.docs_done == run.docs_done and again.round == run.round
    again.run_until_done()
    assert again.docs_done == len(w.ids) - 1  # every document but the one that always fails
