"""BanditRun: budgets, reproducibility from the seed, frames, every policy end to end."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.extract.base import ExtractionResult, QAPair  # noqa: E402
from core.equal.policies import POLICIES  # noqa: E402
from core.equal.reward import OTReward  # noqa: E402
from core.equal.run import BanditRun, RunConfig, RunConfigError  # noqa: E402
from core.equal.space import ArmSpace  # noqa: E402


def _run(bandit_world, **changes):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    return BanditRun(replace(config, **changes), make_space(ids, texts, labels, doc_emb=embed(texts)), ref, ext, embed)


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_runs_to_budget_without_repeating_documents(bandit_world, policy):
    run = _run(bandit_world, policy=policy, budget=0.4).run_until_done()
    n = len(bandit_world.ids)
    assert run.is_done and run.docs_done == int(np.ceil(0.4 * n))
    pulls = run.pulls_frame()
    assert pulls["n_docs"].sum() == run.docs_done
    assert run.arms.taken.sum() == run.docs_done  # every extracted document taken exactly once
    frames = run.rounds_frame()
    assert frames["docs_cum"].is_monotonic_increasing and frames["coverage"].is_monotonic_increasing
    assert len(run.pairs_frame()) == len(run.pairs) == frames["pairs_cum"].iloc[-1]


def test_same_seed_same_run_other_seed_differs(bandit_world):
    # with order exploration the seed samples the order inside a cluster, so it means something
    for order in ("similar", "learned"):
        a = _run(bandit_world, seed=3, doc_order=order, order_explore=0.5).run_until_done().pulls_frame()
        b = _run(bandit_world, seed=3, doc_order=order, order_explore=0.5).run_until_done().pulls_frame()
        assert a.equals(b)
        c = _run(bandit_world, seed=4, doc_order=order, order_explore=0.5).run_until_done().pulls_frame()
        assert not RunConfig(doc_order=order, order_explore=0.5).deterministic
        assert not a[["arm", "reward"]].equals(c[["arm", "reward"]])
    shuffled = [_run(bandit_world, seed=sd, doc_order="random").run_until_done().pulls_frame() for sd in (3, 4)]
    assert not shuffled[0][["arm", "reward"]].equals(shuffled[1][["arm", "reward"]])


def test_a_deterministic_configuration_ignores_the_seed(bandit_world):
    # the defaults read the best-scored documents first without exploration: the property says so, the runs agree
    assert RunConfig().deterministic
    runs = [_run(bandit_world, seed=sd).run_until_done().pulls_frame() for sd in (3, 4)]
    assert runs[0][["arm", "reward", "n_docs"]].equals(runs[1][["arm", "reward", "n_docs"]])


def test_equal_finds_the_on_task_cluster(bandit_world):
    # cluster 0 matches the reference (JSON questions); it should be pulled most and mostly extracted
    run = _run(bandit_world, share_neighbours=False, budget=0.4).run_until_done()
    arms = run.arms_frame()
    assert arms.loc[arms["pulls"].idxmax(), "arm"] == 0
    assert arms.loc[0, "docs_left"] < arms.loc[0, "size"] / 2
    rnd = _run(bandit_world, policy="random", budget=0.4).run_until_done()
    assert run.coverage > rnd.coverage
    assert run.calc_de_distance() < rnd.calc_de_distance()


def test_budget_in_calls_and_cost():
    ids, texts, labels, ref, _, embed, config = make_setup()

    class Priced:
        name = "priced"

        def extract(self, docs):
            pairs = [QAPair(f"q {d}", "a", d, "priced") for d, _ in docs]
            return ExtractionResult(pairs=pairs, calls=len(docs), cost=0.5 * len(docs))

    docs = embed(texts)
    calls = BanditRun(
        replace(config, budget_kind="calls", budget=17),
        make_space(ids, texts, labels, doc_emb=docs),
        ref,
        Priced(),
        embed,
    ).run_until_done()
    assert calls.calls == 17  # the last round is trimmed
    cost = BanditRun(
        replace(config, budget_kind="cost", budget=10.0),
        make_space(ids, texts, labels, doc_emb=docs),
        ref,
        Priced(),
        embed,
    ).run_until_done()
    assert 10.0 <= cost.cost < 10.0 + 0.5 * config.batch_arms * config.docs_per_pull


def test_empty_pulls_and_worst_reward(bandit_world):
    w = bandit_world
    ids, texts, labels, ref, embed, config = w.ids, w.texts, w.labels, w.reference, w.embed, w.config

    class Nothing:
        name = "nothing"

        def extract(self, docs):
            return ExtractionResult(calls=len(docs))

    run = BanditRun(
        replace(config, reward=OTReward(empty_reward=-0.25, credit="pull")),  # empty_reward is the per-pull rule
        make_space(ids, texts, labels, doc_emb=embed(texts)),
        ref,
        Nothing(),
        embed,
    )
    run.run_until_done()
    assert (run.pulls_frame()["reward"] == -0.25).all() and run.coverage == 0.0


def test_cumulative_estimate_and_plateau_stop(bandit_world):
    run = _run(bandit_world, reward=OTReward(estimate="cumulative"), budget=1.0, stop="plateau",
               patience=3).run_until_done()
    assert run.docs_done < len(bandit_world.ids)  # stopped early
    cum = _run(bandit_world, reward=OTReward(estimate="cumulative"), unplayed="mean").run_until_done()
    m = cum.arms_frame()
    last = cum.state.arm_to_last
    played = m["pulls"] > 0
    np.testing.assert_allclose(m.loc[played, "mean"], last[played.to_numpy()])
    # with the prior, the latest cumulative value is shrunk towards the prediction by prior_weight pseudo-pulls
    cum = _run(bandit_world, reward=OTReward(estimate="cumulative"), unplayed="prior",
               prior_weight=2.0).run_until_done()
    s, seen = cum.state, cum.state.arm_to_count > 0
    pred = s.calc_prior_prediction()
    np.testing.assert_allclose(
        s.arm_to_mean[seen], (2 * pred[seen] + s.arm_to_count[seen] * s.arm_to_last[seen]) / (2 + s.arm_to_count[seen])
    )


def test_play_pull_is_bounded_and_round_completes(bandit_world):
    run = _run(bandit_world)
    assert run.play_pull() is None  # B=2: first pull of a round
    res = run.play_pull()
    assert res is not None and res.round == 0 and len(res.arms) == 2 and res.n_docs == 6


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"policy": "best"}, "policy"),
        ({"batch_arms": 0}, "batch_arms"),
        ({"docs_per_pull": 0}, "docs_per_pull"),
        ({"budget": 1.5}, "budget"),
        ({"budget_kind": "tokens"}, "budget_kind"),
        ({"stop": "never"}, "stop"),
        ({"doc_order": "alpha"}, "doc_order"),
        ({"exhaust": "never"}, "exhaust"),
    ],
)
def test_bad_config_names_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RunConfig(**kwargs)


def test_config_round_trips_json():
    c = RunConfig(
        policy="exp3",
        policy_params={"gamma": 0.2, "reward_range": (-1.0, 1.0)},
        reward=OTReward(method="ipot", empty_reward="worst"),
    )
    assert RunConfig.from_dict(c.to_dict()) == c
    older = {k: v for k, v in c.to_dict().items() if k not in ("unplayed", "first_pull_docs")}
    legacy = RunConfig.from_dict(older)  # stored before the exploration settings: resumed as it ran
    assert legacy.unplayed == "zero" and legacy.first_pull_docs is None
    assert c.reward.credit == "document" and c.to_dict()["reward"]["credit"] == "document"  # recorded with the run
    no_credit = {**c.to_dict(), "reward": {k: v for k, v in c.to_dict()["reward"].items() if k != "credit"}}
    assert RunConfig.from_dict(no_credit).reward.credit == "pull"  # stored before credit existed: rewarded per pull


# the rewards of ``_run(bandit_world, seed=3, budget=0.5)`` as the code computed them before per-document credit existed
# (commit 69ac104); ``credit="pull"`` must give them again, bit for bit
_PAPER_CREDIT_ARMS = [0, 3, 0, 1, 0, 2, 0, 3, 0, 1, 0, 3, 0, 3, 0, 3, 0, 3, 0, 3, 3, 1, 3, 1, 3]
_PAPER_CREDIT_REWARDS = [
    0.03011067608, -0.205931211679, 0.057715186763, -0.220401950196, 0.085799091172, -0.239025710488,
    0.053241304627, -0.171246144877, 0.057176292659, -0.306397347043, 0.056784543963, -0.22387657287,
    0.039849533335, -0.17738943502, 0.125695566775, -0.230931666959, 0.117512599427, -0.216313258298,
    0.092992954566, -0.167295199064, -0.212102252778, -0.212484826095, -0.236725669118, -0.269327569087,
    -0.190060928231]


def test_pull_credit_reproduces_the_earlier_run_exactly(bandit_world):
    pulls = _run(bandit_world, seed=3, budget=0.5, reward=OTReward(credit="pull"), doc_order="random",
                 doc_similarity="max", neighbour_weight=1.0).run_until_done().pulls_frame()
    assert list(pulls["arm"]) == _PAPER_CREDIT_ARMS
    assert np.allclose(pulls["reward"], _PAPER_CREDIT_REWARDS, rtol=0, atol=1e-11)


class _YieldExtractor:
    """``sparse.i``: one pair close to ``D_r`` every tenth document; ``rich.i``: two fair pairs; ``barren.i``: none."""

    name = "yield-test"

    def extract(self, docs):
        pairs = []
        for doc_id, _ in docs:
            kind, i = doc_id.split(".")
            if kind == "sparse" and int(i) % 10 == 0:
                pairs.append(QAPair(f"close {i}", "a", doc_id, self.name))
            elif kind == "rich":
                pairs += [QAPair(f"fair {i} {j}", "a", doc_id, self.name) for j in range(2)]
        return ExtractionResult(pairs=pairs, calls=len(docs))


def _yield_embed(texts):
    """``close`` pairs lie on ``e0`` (the reference direction), ``fair`` pairs at cosine 0.5 to it."""
    out = np.zeros((len(texts), 4), np.float32)
    for row, t in zip(out, texts):
        row[:2] = (1.0, 0.0) if "close" in t else (0.5, np.sqrt(0.75))
    return out


@pytest.mark.parametrize("credit", ["document", "pair", "pull"])
def test_a_cluster_that_yields_nothing_is_valued_below_one_that_yields(credit):
    ids = [f"{kind}.{i}" for kind in ("sparse", "rich", "barren") for i in range(40)]
    labels = np.repeat([0, 1, 2], 40)
    ref = np.tile(np.array([[1.0, 0.0, 0.0, 0.0]], np.float32), (5, 1))
    reward = OTReward(credit=credit, empty_reward=0.0)
    config = RunConfig(policy="equal", batch_arms=1, docs_per_pull=10, first_pull_docs=None, budget=1.0,
                       unplayed="zero", share_neighbours=False, reward=reward, doc_order="file")
    run = BanditRun(config, ArmSpace(ids, [""] * len(ids), labels), ref, _YieldExtractor(), _yield_embed)
    arms = run.run_until_done().arms_frame().set_index("arm")  # every arm read to the end: four pulls each
    assert (arms["pulls"] == 4).all()
    if credit in ("document", "pair"):  # per document read: 0.5 on each beats 1 on one in ten; an empty pull is 0
        assert arms.loc[1, "mean"] > 4 * arms.loc[0, "mean"] > 0.0 == arms.loc[2, "mean"]
    else:  # the paper's per-pull OT: the one close pair outranks twenty fair ones
        assert arms.loc[0, "mean"] > arms.loc[1, "mean"] + 0.5


def test_mismatched_inputs_rejected(bandit_world):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    with pytest.raises(ValueError, match="differ in length"):
        BanditRun(config, make_space(ids[:-1], texts, labels), ref, ext, embed)


def test_cli_run_resume_and_export(tmp_path, capsys):
    import json

    from core.equal.__main__ import main
    from core.equal.store import RunStore

    db = str(tmp_path / "cli.sqlite")
    base = ["--limit", "200", "--k", "8", "--encoder", "hashing", "--reference", "statistics", "--store", db]
    assert main(["run", *base, "--budget", "0.2", "--batch-arms", "2"]) == 0
    run_id = RunStore(db).list_runs().loc[0, "run_id"]
    assert f"run {run_id}" in capsys.readouterr().out
    # a resumed run re-derives its plans from the same map and similarity prior, and must agree with the store
    assert main(["run", *base, "--resume", run_id]) == 0 and f"run {run_id}" in capsys.readouterr().out
    assert main(["run", *base, "--policy", "avg-sim", "--budget", "0.1", "--quiet"]) == 0
    assert main(["run", *base, "--prior-weight", "-1"]) == 2
    assert "--prior-weight must be at least 0" in capsys.readouterr().err  # the option, in words
    out = tmp_path / "d_e.jsonl"
    assert (
        main(["export", run_id, "--reference", "statistics", "--store", db, "--shape", "alpaca", "--out", str(out)])
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and {"instruction", "input", "output", "provenance"} <= set(rows[0])
    assert main(["run", *base[:-4], "--reference", "no-such-set", "--store", db]) == 2  # bad input: exit 2


def test_first_pull_docs_honoured_and_paper_setting_reads_d(bandit_world):
    run = _run(bandit_world, first_pull_docs=2, docs_per_pull=5, budget=1.0).run_until_done()
    pulls = run.pulls_frame()
    first = ~pulls.duplicated("arm")
    full = pulls["n_docs"] == 5
    last_of_arm = ~pulls.duplicated("arm", keep="last")
    assert (pulls.loc[first, "n_docs"] <= 2).all()
    assert (full | last_of_arm | first).all()  # later pulls read D (an arm's last pull may be short)
    paper = _run(bandit_world, first_pull_docs=None, docs_per_pull=5, budget=0.5).run_until_done().pulls_frame()
    assert (paper.loc[~paper.duplicated("arm"), "n_docs"] == 5).all()
    capped = _run(bandit_world, first_pull_docs=50, docs_per_pull=4, budget=0.3).run_until_done().pulls_frame()
    assert capped["n_docs"].max() == 4  # never more than D


def test_unplayed_and_first_pull_docs_validated(bandit_world):
    with pytest.raises(RunConfigError, match="unplayed"):
        RunConfig(unplayed="inf")
    with pytest.raises(RunConfigError, match="first_pull_docs"):
        RunConfig(first_pull_docs=0)
    run = _run(bandit_world, unplayed="zero")
    assert run.state.unplayed == "zero" and RunConfig().unplayed == "eb"
    with pytest.raises(RunConfigError, match="prior_weight"):
        RunConfig(prior_weight=-1.0)


def test_similar_order_reads_the_documents_closest_to_the_reference_first(bandit_world):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    emb = embed(texts)
    run = _run(bandit_world, doc_order="similar", doc_similarity="max", budget=0.3).run_until_done()
    top = (emb @ ref.T).max(axis=1)
    labels, played = np.asarray(labels), 0
    for arm in np.unique(labels):
        mine = labels == arm
        read, left = top[mine & run.arms.taken], top[mine & ~run.arms.taken]
        if len(read) and len(left):  # every document read from a cluster is as similar as every one left in it
            played += 1
            assert read.min() >= left.max() - 1e-6
    assert played >= 1
    with pytest.raises(RunConfigError, match="doc_order='learned'"):
        BanditRun(replace(config, unplayed="mean"), make_space(ids, texts, labels), ref, ext,
                  embed)


def test_prior_needs_document_embeddings_and_checks_them(bandit_world):
    ids, texts, labels, ref, ext, embed, config = bandit_world
    with pytest.raises(RunConfigError, match="doc_emb"):
        BanditRun(config, make_space(ids, texts, labels), ref, ext, embed)  # the default unplayed="eb"
    with pytest.raises(RunConfigError, match="doc_emb"):
        BanditRun(replace(config, policy="avg-sim"), make_space(ids, texts, labels), ref, ext, embed)
    with pytest.raises(RunConfigError, match="one row per document"):
        BanditRun(config, make_space(ids, texts, labels, doc_emb=embed(texts)[:-1]), ref, ext, embed)
    with pytest.raises(RunConfigError, match="dimension"):
        BanditRun(config, make_space(ids, texts, labels, doc_emb=embed(texts)[:, :10]), ref, ext, embed)
    for policy in ("random", "all"):  # document baselines select without arm estimates
        assert (
            BanditRun(replace(config, policy=policy), make_space(ids, texts, labels), ref, ext, embed)
            .run_until_done()
            .is_done
        )
    assert (
        BanditRun(replace(config, unplayed="mean", doc_order="random"), make_space(ids, texts, labels), ref, ext, embed)
        .run_until_done()
        .is_done
    )


def test_prior_probes_the_cluster_that_looks_like_the_task_first(bandit_world):
    run = _run(bandit_world)
    run.step()
    assert run.pulls_frame()["arm"].iloc[0] == 0  # the JSON cluster, for a JSON reference set
    prior = run.state.arm_prior
    assert prior.argmax() == 0 and prior[4] < prior[0]


def test_barren_cluster_is_not_mistaken_for_a_good_one(bandit_world):
    # cluster 4 yields no pairs here; "worst" (the default) drops it after one probe, while the
    # paper's empty reward 0 beats the real (mostly negative) rewards and keeps pulling it
    ids, texts, labels, ref, ext, embed, config = bandit_world

    class Barren:
        name = "barren"

        def extract(self, docs):
            out = ext.extract(docs)
            return ExtractionResult(pairs=[p for p in out.pairs if not p.doc_id.startswith("noise.")], calls=out.calls)

    def pulls_of_4(reward):
        run = BanditRun(
            replace(config, unplayed="mean", doc_order="random", budget=0.4, reward=reward),
            make_space(ids, texts, labels),
            ref,
            Barren(),
            embed,
        )
        return int((run.run_until_done().pulls_frame()["arm"] == 4).sum())

    # 60 documents at B=2: the barren arm gets 2 of 20 pulls with "worst", and as many as the best arm with 0;
    # per-document credit (the default) values an empty pull at 0, the least any pull is worth
    assert pulls_of_4(OTReward(credit="pull")) <= 2 and pulls_of_4(OTReward(credit="pull", empty_reward=0.0)) >= 8
    assert pulls_of_4(OTReward()) <= 2


def test_the_learned_policys_arm_scores_say_where_the_next_round_reads(bandit_world):
    """Under the learned policy (the default) the arms' bars showed each arm's mean reward so far, about the same
    for every cluster, while the policy ranks documents: the bars said nothing of what it does next. An arm's score
    is now its best unread document's, and the next round reads from the best-scored arm."""
    run = _run(bandit_world, policy="learned", budget=0.6)
    assert run.config.policy == "learned"
    for _ in range(2):
        run.step()
        arms = run.arms_frame()
        left = run.arms.untaken()
        key = run.policy.scorer(left)  # no exploration: the defaults
        for arm in arms["arm"]:
            mine = key[run.arms.labels[left] == arm]
            assert arms.loc[arm, "score"] == (mine.max() if len(mine) else -np.inf)
        best = int(arms["score"].idxmax())
        before = len(run.pulls_frame())
        run.step()
        assert best in set(run.pulls_frame()["arm"].iloc[before:])
