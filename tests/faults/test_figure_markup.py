"""A run's name in the Bandit page's charts shows as the characters it holds, never as plotly markup.

A run is named after its reference task (``learned · tag: <the tag's name> · seed 0``), and a tag's name is typed
by any visitor and seen by every other (tags are shared: SECURITY.md). Plotly reads ``<a href>``, ``<b>``, ``<i>``
and ``<span style>`` in legend entries as markup, so such a name drew a working link in the runs' legend.
"""

from __future__ import annotations

import pandas as pd
import pytest

from core.viz.bandit import make_budget_figure, make_comparison_figure

TAG = '<a href="https://evil.example/login">Verify your account</a> <b>now</b>'
NAME = f"learned · tag: {TAG} · seed 0"


@pytest.mark.browser
def test_a_run_named_with_markup_shows_its_characters_in_the_legends(page, tmp_path, output_dir) -> None:
    rounds = pd.DataFrame({"calls_cum": [10, 20, 30], "coverage": [0.1, 0.2, 0.3], "reward_cum": [0.1, 0.2, 0.2]})
    figures = {"budget": make_budget_figure({NAME: rounds}, baselines={"random": rounds}),
               "compare": make_comparison_figure([(NAME, rounds), ("ucb · numerical-arrays · seed 1", rounds)])}
    for what, fig in figures.items():
        fig.write_html(tmp_path / f"{what}.html", include_plotlyjs=True)
        page.goto((tmp_path / f"{what}.html").as_uri())
        legend = page.locator(".legendtext").first
        legend.wait_for()
        page.screenshot(path=str(output_dir / f"figure_markup_{what}.png"))
        assert page.locator(".main-svg a").count() == 0, f"{what}: the run's name drew a link"
        assert page.locator(".legendtext[style*='bold'], .legendtext b").count() == 0
        assert legend.text_content() == NAME, f"{what}: the legend does not show the name as written"
