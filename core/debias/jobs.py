"""What the Debiasing lab page runs and says, as core objects: the sweep and the learners as polled jobs,
their labels and bullets.

:class:`SweepJob` runs a :class:`~core.debias.sweep.SweepConfig` a few seeds at a time (a
:class:`core.jobs.Job`): the page polls it, the progress bar moves, and Cancel stops it between
chunks, keeping the seeds done so far (:meth:`SweepJob.table`). :class:`LearnersJob` trains a
:class:`~core.debias.lab.LearnerConfig`'s learners one per unit the same way.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace

import pandas as pd

from core.debias.lab import LearnerConfig, iter_learner_rows
from core.debias.mechanisms import MECHANISMS, default_grid, make_mechanism
from core.debias.sweep import SweepConfig, run_sweep
from core.jobs import Job, Tick

CHUNK_SEEDS = 4


class SweepJob(Job):
    """A sweep run ``chunk`` seeds at a time; ``frames`` holds each finished chunk's rows.

    ``result`` (when done) and :meth:`table` (at any time) are the rows of every seed finished:
    columns as :func:`~core.debias.sweep.run_sweep` returns them.
    """

    def __init__(self, config: SweepConfig, chunk: int = CHUNK_SEEDS) -> None:
        self.config, self.chunk = config, int(chunk)
        self.frames: list[pd.DataFrame] = []
        super().__init__("Debiasing sweep", self._chunks())

    @property
    def seeds_done(self) -> int:
        return sum(int(f["seed"].nunique()) for f in self.frames)

    def _chunks(self) -> Generator[Tick, None, pd.DataFrame]:
        seeds = self.config.seeds
        for start in range(0, len(seeds), self.chunk):
            self.frames.append(run_sweep(replace(self.config, seeds=seeds[start:start + self.chunk])))
            yield Tick(min(start + self.chunk, len(seeds)), len(seeds), "Seeds")
        return self.table()

    def table(self) -> pd.DataFrame:
        return pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame()

    def describe(self) -> str:
        """``"Seeds 4/20 × 5 strengths · …"``: what the progress bar says."""
        strengths = len(self.config.grid(self.config.mechanisms[0]))
        return self.progress().describe(f"seeds × {strengths} strengths")

    def cancel_note(self) -> str | None:
        """The warning a cancelled sweep shows (``None`` unless cancelled)."""
        if self.status != "cancelled":
            return None
        if not self.frames:
            return "Cancelled before the first seeds finished."
        return f"Cancelled: showing the {self.seeds_done} seeds finished of {len(self.config.seeds)}."


class LearnersJob(Job):
    """The learner table built one learner per unit; :meth:`table` holds the rows trained so far.

    The first unit draws the world and scores the baselines, each next one trains a learner
    (ratings, and the tag task when ``config.tags``); a cancel keeps the learners already trained.
    """

    def __init__(self, config: LearnerConfig) -> None:
        self.config = config
        self.rows: list[dict] = []
        super().__init__("Training learners", self._learners())

    def _learners(self) -> Generator[Tick, None, pd.DataFrame]:
        total = len(self.config.learners) + 1
        for row in iter_learner_rows(self.config):
            self.rows.append(row)
            yield Tick(len(self.rows), total, "Baselines" if len(self.rows) == 1 else f"{row['learner']} trained")
        return self.table()

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def cancel_note(self) -> str | None:
        """The warning a cancelled training shows (``None`` unless cancelled)."""
        if self.status != "cancelled":
            return None
        trained = max(0, len(self.rows) - 1)  # the first row is the baselines
        return f"Cancelled: showing the {trained} learners trained of {len(self.config.learners)}."

    def describe(self) -> str:
        """``"MF-IPS trained: 3/8 steps · …"``: the world and its baselines, then one step per learner."""
        return self.progress().describe("steps")


def mechanism_labels() -> dict[str, str]:
    """``{mechanism name: its label}`` for the bias picker."""
    return {name: make_mechanism(name, default_grid(name)[-1]).label for name in MECHANISMS}


def shown_strength(summary: pd.DataFrame, mechanism: str, swept: str, strength: float) -> float:
    """The strength the figures show: the chosen one when the sweep covers it, else the strongest swept."""
    if mechanism == swept and (summary["strength"] == strength).any():
        return strength
    return float(summary["strength"].max())


def as_bullets(notes) -> str:
    """Markdown bullets, one per note."""
    return "\n".join(f"- {n}" for n in notes)
