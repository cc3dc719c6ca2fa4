"""The reward chart counts rounds as the page's Round metric does: the first round is 1, on whole-number ticks."""

from __future__ import annotations

import pandas as pd

from core.viz.bandit import make_reward_figure


def _rounds(n: int) -> pd.DataFrame:
    return pd.DataFrame({"round": range(n), "reward": [0.5] * n, "reward_cum": [0.5] * n})


def test_one_round_is_round_1_on_whole_ticks():
    """After one Step the metric read 'Round 1' above a chart whose only dot sat at round 0, on an axis from -1 to 1
    ticked every half round."""
    fig = make_reward_figure(_rounds(1))
    assert list(fig.data[0].x) == [1] and list(fig.data[1].x) == [1]
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.rangemode == "nonnegative"


def test_thirteen_rounds_end_at_round_13():
    fig = make_reward_figure(_rounds(13))
    assert max(fig.data[0].x) == 13 and fig.layout.xaxis.dtick is None  # plotly's own whole-number ticks


def test_one_rounds_closeness_sits_on_whole_calls_from_zero():
    """After one Step the main chart held one dot at 3 calls on an axis ticked in half calls around it (2.5, 3, 3.5)
    and a closeness axis reaching below 0, for counts that are whole and a measure that never is negative."""
    from core.viz.bandit import make_budget_figure

    one = pd.DataFrame({"calls_cum": [3], "coverage": [0.41]})
    fig = make_budget_figure({"run": one})
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.rangemode == "tozero"
    assert fig.layout.yaxis.rangemode == "nonnegative"
    many = pd.DataFrame({"calls_cum": range(0, 600, 30), "coverage": [0.4] * 20})
    assert make_budget_figure({"run": many}).layout.xaxis.dtick is None  # plotly's own ticks on a long run
