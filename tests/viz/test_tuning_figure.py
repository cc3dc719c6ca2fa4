"""The tuning lab's chart: the baselines' dashed lines are named where the legend starts."""

from __future__ import annotations

import pandas as pd

from core.viz.tuning import make_tuning_figure


def _legend_order(fig) -> list[str]:
    """Legend entries top to bottom, as plotly orders them: by ``legendrank`` (default 1000), then trace order."""
    shown = [(t.legendrank if t.legendrank is not None else 1000, i, t.name)
             for i, t in enumerate(fig.data) if t.showlegend is not False]
    return [name for _, _, name in sorted(shown)]


def test_the_baselines_head_the_legend_above_a_dozen_cells():
    cells = [f"B={b} · D={d}" for b in (1, 2, 3, 5) for d in (1, 3, 5, 10)]
    rows = [dict(cell=c, kind="setting", calls=x, mean=0.3 + 0.01 * x, lo=0.3, hi=0.4, seeds=3)
            for c in cells for x in (0, 10, 20)]
    rows += [dict(cell=b, kind="baseline", calls=x, mean=0.2, lo=0.2, hi=0.2, seeds=3)
             for b in ("random", "avg-sim") for x in (0, 10, 20)]
    fig = make_tuning_figure(pd.DataFrame(rows), highlight=cells[0])
    order = _legend_order(fig)
    assert order[:2] == ["Random (baseline)", "Avg-sim (baseline)"], order[:4]  # in view without scrolling
    assert order[2:] == cells  # the cells keep their grid order after them


def _grid(seeds: int) -> pd.DataFrame:
    return pd.DataFrame([dict(cell=c, kind="setting", calls=x, mean=0.5, lo=0.5, hi=0.5, seeds=seeds)
                         for c in ("1 arm per round", "2 arms per round") for x in (0, 10)])


def test_a_grid_of_cells_played_once_promises_no_band_nor_a_mean_over_seeds():
    """Seen in chromium: the default grid (every cell deterministic, so each plays once and the table says 'one
    run') drew its legend under 'Setting cell (band: lowest to highest seed)', with no band in sight, and each
    curve's hover read '(mean over seeds)'."""
    once = make_tuning_figure(_grid(1))
    assert "band" not in once.layout.legend.title.text, once.layout.legend.title.text
    hovers = [t.hovertemplate for t in once.data if t.hovertemplate]
    assert hovers and all("one run" in h and "mean over" not in h for h in hovers), hovers
    seeded = make_tuning_figure(_grid(3))
    assert "band" in seeded.layout.legend.title.text
    assert all("mean over 3 seeds" in t.hovertemplate for t in seeded.data if t.hovertemplate)
