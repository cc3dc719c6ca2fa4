"""The learner table of the lab: every learner on one biased world, scored against the full truth.

:func:`run_learners` draws a world (:func:`core.debias.data.make_world`), applies a bias
mechanism, estimates propensities, adds a small randomized slice (a uniform ``rct_share`` of
pairs with their true ratings, CTAR's RCT analogue, for CausE and naive Bayes), trains each
learner and scores MSE/MAE against ``r(1)`` on every pair, AUC of ``r(1) >= 4`` and NDCG@10,
beside a non-personalised popularity baseline. The CTAR route (user-tag facts, Test I/II/III)
lives in :mod:`core.debias.ctar_bridge`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from core.debias.data import DebiasConfigError, WorldConfig, make_world
from core.debias.learners import LEARNERS, MFConfig, TrainingData, fit_learner
from core.debias.mechanisms import make_mechanism
from core.debias.metrics import popularity_scores, summarize_prediction
from core.debias.propensity import PROPENSITY_MODELS, logistic_propensity, naive_bayes_propensity, popularity_propensity


@dataclass(frozen=True)
class LearnerConfig:
    """One learner-table run: the world, the bias, the propensity model and the learners."""

    mechanism: str = "popularity"
    strength: float = 1.0
    learners: tuple[str, ...] = LEARNERS
    world: WorldConfig = field(default_factory=WorldConfig)
    rate: float = 0.1
    propensity: str = "oracle"
    rct_share: float = 0.01
    mf: MFConfig = field(default_factory=MFConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        make_mechanism(self.mechanism, self.strength, self.rate)
        bad = [x for x in self.learners if x not in LEARNERS]
        if bad or not self.learners:
            raise DebiasConfigError(f"learners must be a non-empty subset of {list(LEARNERS)}, got {list(self.learners)}")
        if self.propensity not in PROPENSITY_MODELS:
            raise DebiasConfigError(f"propensity must be one of {list(PROPENSITY_MODELS)}, got {self.propensity!r}")
        if not 0 < self.rct_share < 1:
            raise DebiasConfigError(f"rct_share must be in (0, 1), got {self.rct_share}")


def make_training_data(config: LearnerConfig):
    """The biased training data, the randomized slice and the truth ``r(1)`` for ``config``."""
    world = make_world(config.world, config.seed)
    mech = make_mechanism(config.mechanism, config.strength, config.rate)
    ctx = mech.prepare(world)
    p = mech.calc_propensity(ctx)
    o = ctx.rng.random(p.shape) < p
    recorded = mech.observe(ctx, o)
    truth = np.asarray(ctx.rating, float)
    rct = ctx.rng.random(p.shape) < config.rct_share
    if config.propensity == "oracle":
        phat = mech.calc_observable_propensity(ctx)
    elif config.propensity == "popularity":
        phat = popularity_propensity(o, 1e-6)
    elif config.propensity == "logistic":
        phat = logistic_propensity(o, clip=1e-6, seed=config.seed)
    else:
        phat = naive_bayes_propensity(o, recorded, truth[rct], clip=1e-6, levels=np.arange(1, 6))
    data = TrainingData(np.where(o, recorded, 0.0), o, phat, np.where(rct, truth, 0.0), rct)
    return data, truth


def run_learners(config: LearnerConfig, progress: Callable[[int, int, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Train each learner; one row per learner (+ ``Popularity`` baseline) with seconds, epochs, mse, mae, auc, ndcg@10."""
    data, truth = make_training_data(config)
    rows = [{"learner": "Popularity", "seconds": 0.0, "epochs": 0, **summarize_prediction(popularity_scores(data.observed), truth)}]
    rows[0]["mse"] = rows[0]["mae"] = float("nan")  # counts are not ratings
    for i, name in enumerate(config.learners):
        if should_stop is not None and should_stop():
            break
        fit = fit_learner(name, data, config.mf)
        rows.append({"learner": name, "seconds": fit.seconds, "epochs": fit.epochs, **summarize_prediction(fit.prediction, truth)})
        if progress is not None:
            progress(i + 1, len(config.learners), name)
    return pd.DataFrame(rows)


def explain_sweep(summary: pd.DataFrame, mechanism: str, strength: float, z: float = 3.0) -> list[str]:
    """Plain-language notes (for a stakeholder audience) on one (mechanism, strength) of a sweep summary.

    An estimator is called "on target" when its mean error is within ``z`` standard errors of
    zero (or below 0.5% of the true loss), otherwise "biased" with the direction and size.
    """
    s = summary[(summary.mechanism == mechanism) & (summary.strength == strength)]
    if s.empty:
        return ["Run a sweep to see how each estimator does here."]
    truth = float(s.truth.mean())
    notes = [f"The true average error of the model over every user-item pair is {truth:.3f}; "
             f"each estimator only sees the observed pairs and tries to recover it ({int(s.n_seeds.max())} repeats)."]
    on, off = [], []
    for row in s.itertuples():
        if abs(row.bias) <= max(z * row.se, 0.005 * truth):
            on.append(row.estimator)
        else:
            word = "over" if row.bias > 0 else "under"
            off.append(f"{row.estimator} {word}-states it by {abs(row.bias):.3f} ({100 * abs(row.bias) / truth:.0f}%)")
    if on:
        notes.append(f"On target (the error bars cover the truth): {', '.join(on)}.")
    if off:
        notes.append("Biased: " + "; ".join(off) + ". More data would not fix this: the gap is systematic, not noise.")
    widest = s.loc[s.sd.idxmax()]
    notes.append(f"{widest.estimator} varies most between repeats (± {widest.sd:.3f}): unbiased on average is not the same as reliable once.")
    return notes
