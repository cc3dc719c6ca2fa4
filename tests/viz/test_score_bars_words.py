"""The Bandit page's score bars: an untried UCB1 arm (+inf) is placed above the others and its hover says so."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.viz.bandit import make_score_bars_figure


def test_an_untried_arm_is_placed_on_top_and_its_hover_says_untried():
    arms = pd.DataFrame({"arm": [0, 1, 2], "pulls": [2, 0, 1], "mean": [0.5, 0.0, 0.4], "docs_left": [5, 6, 7],
                         "score": [0.9, np.inf, 0.7], "available": [True, True, True]})
    bar = make_score_bars_figure(arms).data[0]
    heights = np.asarray(bar.y) + bar.base
    assert heights[0] > 0.9 and np.isfinite(heights).all()  # sorted: the untried arm first, capped above 0.9
    scores = [row[3] for row in bar.customdata]
    assert scores == ["untried (read first)", "0.9000", "0.7000"]
    assert "Infinity" not in str(bar.hovertemplate) and "customdata[3]}" in bar.hovertemplate
