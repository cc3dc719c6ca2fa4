"""The learner table of the lab: every learner on one biased world, scored against the full truth.

:func:`run_learners` draws a world (:func:`core.debias.data.make_world`), applies a bias
mechanism, estimates propensities, adds a small randomized slice (a uniform ``rct_share`` of
pairs with their true ratings, CTAR's RCT analogue, for CausE and naive Bayes), trains each
learner and scores MSE/MAE against ``r(1)`` on every pair, AUC of ``r(1) >= 4`` and NDCG@10,
beside a non-personalised popularity baseline. With ``tags=True`` each learner is also trained on
CTAR's user-tag facts (:mod:`core.debias.tags`, same world, same rating exposure) and scored by
AUC on Test II ("identifiable"), Test III ("inidentifiable") and all test pairs, as CTAR's
released baselines are (each keeps the epoch with the best AUC on CTAR's validation split),
beside CTAR's non-personalised tag like-rate baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from core.debias.data import DebiasConfigError, WorldConfig, make_world
from core.debias.learners import LEARNERS, MFConfig, TrainingData, fit_learner
from core.debias.mechanisms import make_mechanism
from core.debias.metrics import calc_auc, calc_auc_on_pairs, popularity_scores, summarize_prediction
from core.debias.tags import TagTask, TagTaskConfig, make_tag_task, tag_like_rate
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
    tags: bool = True
    tag_task: TagTaskConfig = field(default_factory=TagTaskConfig)

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
    task = make_tag_task(ctx, o, config.tag_task, seed=config.seed) if config.tags else None
    return data, truth, task


def _tag_scores(pred, task: TagTask) -> dict[str, float]:
    rows = np.concatenate([t[0] for t in task.tests.values()])
    cols = np.concatenate([t[1] for t in task.tests.values()])
    labels = np.concatenate([t[2] for t in task.tests.values()])
    return {
        "auc_test_II": calc_auc_on_pairs(pred, *task.tests["Test II"]),
        "auc_test_III": calc_auc_on_pairs(pred, *task.tests["Test III"]),
        "auc_test_all": calc_auc_on_pairs(pred, rows, cols, labels),
        "auc_tags_truth": calc_auc(pred, task.liked),
    }


def run_learners(config: LearnerConfig, progress: Callable[[int, int, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Train each learner; one row per learner plus the baselines.

    Columns: learner, seconds, epochs, mse, mae, auc, ndcg@10 (ratings vs the full truth) and,
    with ``config.tags``, auc_test_II, auc_test_III, auc_test_all, auc_tags_truth (user-tag task).
    The ``Popularity`` row scores ratings by item observation counts; the tag columns of that
    row are CTAR's tag like-rate baseline.
    """
    data, truth, task = make_training_data(config)
    base = {"learner": "Popularity", "seconds": 0.0, "epochs": 0, **summarize_prediction(popularity_scores(data.observed), truth)}
    base["mse"] = base["mae"] = float("nan")  # counts are not ratings
    if task is not None:
        base.update(_tag_scores(tag_like_rate(task), task))
        tag_data = TrainingData(task.values, task.observed, task.propensity, task.rct_values, task.rct_observed,
                                task.validation)
    rows = [base]
    for i, name in enumerate(config.learners):
        if should_stop is not None and should_stop():
            break
        fit = fit_learner(name, data, config.mf)
        row = {"learner": name, "seconds": fit.seconds, "epochs": fit.epochs, **summarize_prediction(fit.prediction, truth)}
        if task is not None:
            tag_fit = fit_learner(name, tag_data, config.mf)
            row.update(_tag_scores(tag_fit.prediction, task))
            row["seconds"] += tag_fit.seconds
        rows.append(row)
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
