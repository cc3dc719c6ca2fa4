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
