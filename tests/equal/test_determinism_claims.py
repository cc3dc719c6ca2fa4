"""``RunConfig.deterministic`` is what the Bandit page tells the user and what the tuning lab trusts to play a cell
once for every seed: where it says True, every seed must give the same run."""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_space  # noqa: E402

from core.equal.arms import DOC_ORDERS  # noqa: E402
from core.equal.policies import POLICIES, UNPLAYED_PRIORS  # noqa: E402
from core.equal.run import BanditRun, RunConfig  # noqa: E402


def _arms_by_seed(world, config, seeds=(0, 1, 2, 3)):
    ids, texts, labels, ref, ext, embed, _ = world
    space = make_space(ids, texts, labels, doc_emb=embed(texts))
    return [tuple(BanditRun(replace(config, seed=s), space, ref, ext, embed).run_until_done().pulls_frame()["arm"])
            for s in seeds]


def _claimed() -> list[tuple[str, str, str]]:
    """Every (policy, unplayed, doc_order) that ``RunConfig.deterministic`` calls deterministic."""
    return [c for c in itertools.product(POLICIES, UNPLAYED_PRIORS, DOC_ORDERS)
            if RunConfig(policy=c[0], unplayed=c[1], doc_order=c[2]).deterministic]


def test_the_claim_covers_the_defaults_and_the_baselines():
    claimed = {c[0] for c in _claimed()}
    assert RunConfig().deterministic and {"avg-sim", "all", "learned", "equal"} <= claimed
    assert not claimed & {"ucb1", "random", "thompson", "epsilon-greedy", "exp3"}


@pytest.mark.parametrize("policy,unplayed,order", _claimed())
def test_a_configuration_called_deterministic_gives_one_run_for_every_seed(bandit_world, policy, unplayed, order):
    config = replace(bandit_world.config, policy=policy, unplayed=unplayed, doc_order=order, batch_arms=1,
                     docs_per_pull=3, budget=0.3, share_neighbours=False)
    runs = _arms_by_seed(bandit_world, config)
    assert all(r == runs[0] for r in runs[1:]), f"{policy}/{unplayed}/{order} is called deterministic"


@pytest.mark.parametrize("policy,unplayed", [("ucb1", "eb"), ("equal", "zero"), ("equal", "mean")])
def test_unplayed_arms_that_tie_make_the_seed_matter_and_the_config_says_so(bandit_world, policy, unplayed):
    config = replace(bandit_world.config, policy=policy, unplayed=unplayed, doc_order="similar", batch_arms=1,
                     docs_per_pull=3, budget=0.3, share_neighbours=False)
    assert not config.deterministic
    runs = _arms_by_seed(bandit_world, config)
    assert len(set(runs)) > 1  # the seed breaks the tie between unplayed arms
