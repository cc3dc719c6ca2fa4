"""core.viz.bandit.make_comparison_figure: several runs overlaid, a colour each, and a clear refusal past its limit."""

from __future__ import annotations

import pandas as pd
import pytest

from core.equal.live import MAX_COMPARED
from core.viz.bandit import COMPARE_COLORS, make_comparison_figure


def _rounds(shift: float) -> pd.DataFrame:
    return pd.DataFrame({"calls_cum": [3, 6, 9], "coverage": [0.1 + shift, 0.2 + shift, 0.3 + shift],
                         "reward_cum": [0.5, 0.4, 0.3]})


def test_each_compared_run_is_one_colour_on_both_panels_and_one_legend_entry():
    runs = [(f"run {i}", _rounds(i / 10)) for i in range(MAX_COMPARED)]
    fig = make_comparison_figure(runs)
    assert len(fig.data) == 2 * MAX_COMPARED
    colours = [t.line.color for t in fig.data]
    assert len(set(colours)) == MAX_COMPARED and colours[0::2] == colours[1::2]  # closeness and reward alike
    assert [t.name for t in fig.data if t.showlegend is not False] == [name for name, _ in runs]
    assert list(fig.data[4].y) == list(runs[2][1]["coverage"])  # in the order given


def test_more_runs_than_colours_is_refused_naming_the_limit():
    assert MAX_COMPARED <= len(COMPARE_COLORS)  # the page's limit fits the figure's colours
    with pytest.raises(ValueError, match=f"at most {len(COMPARE_COLORS)} runs"):
        make_comparison_figure([(f"run {i}", _rounds(0)) for i in range(len(COMPARE_COLORS) + 1)])


def test_every_compared_run_is_drawn_as_a_line_however_few_its_rounds():
    """Seen in chromium: of four compared runs, the one with 19 rounds was drawn with dots on its line (plotly's
    default mode for a trace under 20 points) and the others, 33 rounds and more, without, as if it were another
    kind of curve."""
    short, long = _rounds(0), pd.DataFrame({"calls_cum": range(1, 31), "coverage": [0.5] * 30,
                                            "reward_cum": [0.4] * 30})
    fig = make_comparison_figure([("short", short), ("long", long)])
    assert {t.mode for t in fig.data} == {"lines"}
    one = make_comparison_figure([("one round", short.head(1)), ("long", long)])
    assert [t.mode for t in one.data] == ["markers", "markers", "lines", "lines"]  # a line of one point draws nothing
