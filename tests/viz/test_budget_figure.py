"""core.viz.bandit.make_budget_figure: a run of one round still shows (a dot), a longer one is a line."""

from __future__ import annotations

import pandas as pd

from core.viz.bandit import make_budget_figure


def _rounds(n: int) -> pd.DataFrame:
    return pd.DataFrame({"calls_cum": [30.0 * (i + 1) for i in range(n)],
                         "coverage": [0.5 + 0.01 * i for i in range(n)]})


def test_a_one_round_run_is_drawn_as_a_dot_and_a_longer_one_as_a_line():
    one = make_budget_figure({"learned": _rounds(1)})
    many = make_budget_figure({"learned": _rounds(5)}, baselines={"random": _rounds(5)})
    assert one.data[0].mode == "markers" and list(one.data[0].y) == [0.5]  # a lone line point draws nothing
    assert [t.mode for t in many.data] == ["lines", "lines"]
