"""Sweeps: every (mechanism, strength, seed) world, every loss estimator, against the known truth.

For each seed a world is drawn (:func:`core.debias.data.make_world`) and a fixed prediction
matrix is made from it; for each mechanism and strength the truth is prepared, exposure drawn,
recorded outcomes produced, propensities estimated and each estimator compared with the ideal
loss over all pairs. The result is a tidy table (one row per mechanism, strength, estimator,
seed) with ``estimate``, ``truth`` and ``error = estimate - truth``.

Choices (the spec is silent):

* the prediction is a "shrunk and noisy" model ``rhat = mean + shrink (r - mean) + N(0, noise^2)``
  of the *unbiased* world, so its error depends on the rating (that is what makes naive biased
  under outcome-dependent missingness), and it does not adapt to the mechanism;
* the imputed error ``ehat`` is ``"item_mean"`` (each item's mean observed error, the global
  observed mean where an item has none; the default), ``"observed_mean"`` (one constant, which
  makes EIB equal Naive), ``"oracle_noisy"`` (``e + N(0, 0.5^2)``: correct in expectation, for double
  robustness) or ``"zero"``;
* ``"oracle"`` propensities are :meth:`~core.debias.mechanisms.BiasMechanism.calc_observable_propensity`:
  the truth given everything observable (a hidden confounder stays hidden even to the oracle);
* cancellation is cooperative: ``should_stop()`` is polled between worlds; a stopped sweep
  returns the rows done so far (``df.attrs["cancelled"] = True``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.debias.data import DebiasConfigError, WorldConfig, make_world
from core.debias.estimators import ESTIMATORS, calc_error, estimate_all, ideal_loss
from core.debias.mechanisms import REGISTRY, make_mechanism
from core.debias.propensity import (
    PROPENSITY_MODELS,
    clip_propensity,
    logistic_propensity,
    naive_bayes_propensity,
    popularity_propensity,
)

IMPUTATIONS = ("item_mean", "observed_mean", "oracle_noisy", "zero")
#: each imputation in words (the page's choices)
IMPUTATION_LABELS = {
    "item_mean": "each item's mean observed error",
    "observed_mean": "one mean observed error (EIB = Naive)",
    "oracle_noisy": "true error plus noise (right on average)",
    "zero": "zero",
}
COLUMNS = ["mechanism", "strength", "estimator", "seed", "estimate", "truth", "error"]


MAX_SEEDS = 100_000  # each seed is a new world: 10^5 already takes days; the table stays small


def check_n_seeds(n: int) -> int:
    """``n`` if it is a usable number of seeds (1..:data:`MAX_SEEDS`), else a :class:`DebiasConfigError`
    (checked before the seeds are listed, so ``--seeds 1e9`` never builds a billion-entry tuple)."""
    if isinstance(n, bool) or int(n) != n or not 1 <= n <= MAX_SEEDS:
        raise DebiasConfigError(
            f"the number of seeds must be in 1..{MAX_SEEDS:,} (each seed draws a new world), got {n:,}"
        )
    return int(n)


@dataclass(frozen=True)
class SweepConfig:
    """What to sweep.

    Parameters
    ----------
    mechanisms : names from :data:`core.debias.mechanisms.MECHANISMS`
    strengths : per-mechanism grids; a mechanism not listed uses its default grid
    estimators : subset of :data:`core.debias.estimators.ESTIMATORS`
    seeds : the seeds (each one a new world)
    world : the world's size and constants
    rate : mean observation rate of every mechanism
    propensity : ``oracle`` | ``popularity`` | ``naive_bayes`` | ``logistic``
    clip : propensity floor gamma (0 keeps the true zeros of a positivity violation)
    imputation : see module docstring
    rct_share : share of users in the randomized slice (naive Bayes only)
    loss : ``squared`` | ``absolute``
    shrink, noise : the prediction model
    """

    mechanisms: tuple[str, ...] = ("selection",)
    strengths: dict[str, tuple[float, ...]] = field(default_factory=dict)
    estimators: tuple[str, ...] = ESTIMATORS
    seeds: tuple[int, ...] = tuple(range(20))
    world: WorldConfig = field(default_factory=WorldConfig)
    rate: float = 0.1
    propensity: str = "oracle"
    clip: float = 0.0
    imputation: str = "item_mean"
    rct_share: float = 0.05
    loss: str = "squared"
    shrink: float = 0.5
    noise: float = 0.5

    def __post_init__(self) -> None:
        bad = [m for m in self.mechanisms if m not in REGISTRY]
        if bad or not self.mechanisms:
            raise DebiasConfigError(
                f"mechanisms must be a non-empty subset of {sorted(REGISTRY)}, got {list(self.mechanisms)}"
            )
        bad = [e for e in self.estimators if e not in ESTIMATORS]
        if bad or not self.estimators:
            raise DebiasConfigError(
                f"estimators must be a non-empty subset of {list(ESTIMATORS)}, got {list(self.estimators)}"
            )
        if not self.seeds:
            raise DebiasConfigError("seeds must not be empty")
        check_n_seeds(len(self.seeds))
        if self.propensity not in PROPENSITY_MODELS:
            raise DebiasConfigError(f"propensity must be one of {list(PROPENSITY_MODELS)}, got {self.propensity!r}")
        if self.imputation not in IMPUTATIONS:
            raise DebiasConfigError(f"imputation must be one of {list(IMPUTATIONS)}, got {self.imputation!r}")
        if not 0 < self.rate <= 1:
            raise DebiasConfigError(f"rate must be in (0, 1], got {self.rate}")
        if not 0 <= self.clip < 1:
            raise DebiasConfigError(f"clip must be in [0, 1), got {self.clip}")
        if not 0 < self.rct_share < 1:
            raise DebiasConfigError(f"rct_share must be in (0, 1), got {self.rct_share}")
        for name, grid in self.strengths.items():
            if name not in REGISTRY:
                raise DebiasConfigError(f"strengths names an unknown mechanism {name!r}")
            for s in grid:
                make_mechanism(name, s, self.rate)  # validates the knob's range

    def grid(self, mechanism: str) -> tuple[float, ...]:
        return tuple(self.strengths.get(mechanism, REGISTRY[mechanism][1]))

    @property
    def n_worlds(self) -> int:
        return len(self.seeds) * sum(len(self.grid(m)) for m in self.mechanisms)


def make_prediction(rating, rng: np.random.Generator, shrink: float = 0.5, noise: float = 0.5) -> np.ndarray:
    """A fixed prediction matrix ``mean + shrink (r - mean) + N(0, noise^2)`` (float, same shape)."""
    r = np.asarray(rating, dtype=float)
    return r.mean() + shrink * (r - r.mean()) + rng.normal(0.0, noise, r.shape)


def _propensity(config: SweepConfig, p, o, recorded, ctx, rng) -> np.ndarray:
    if config.propensity == "oracle":
        return clip_propensity(p, config.clip)  # p: the observable truth (see module docstring)
    if config.propensity == "popularity":
        return popularity_propensity(o, max(config.clip, 1e-6))
    if config.propensity == "logistic":
        return logistic_propensity(o, clip=max(config.clip, 1e-6), seed=int(rng.integers(2**31)))
    n_users = np.shape(o)[0]
    rct_users = rng.choice(n_users, size=max(1, int(round(config.rct_share * n_users))), replace=False)
    return naive_bayes_propensity(
        o, recorded, np.asarray(ctx.rating)[rct_users], clip=max(config.clip, 1e-6), levels=np.arange(1, 6)
    )


def _imputation(config: SweepConfig, e_obs, e_true, o, rng) -> np.ndarray:
    if config.imputation == "zero":
        return np.zeros_like(e_true)
    if config.imputation == "oracle_noisy":
        return e_true + rng.normal(0.0, 0.5, e_true.shape)
    overall = e_obs[o].mean() if o.any() else 0.0
    if config.imputation == "observed_mean":
        return np.full(e_true.shape, overall)
    n_i = o.sum(axis=0)
    item = np.where(n_i > 0, np.where(o, e_obs, 0.0).sum(axis=0) / np.maximum(n_i, 1), overall)
    return np.broadcast_to(item[None, :], e_true.shape)


def run_world(config: SweepConfig, mechanism: str, strength: float, seed: int, world=None) -> list[dict]:
    """One world: rows (one per estimator) for ``mechanism`` at ``strength`` with ``seed``."""
    base = world if world is not None else make_world(config.world, seed)
    mech = make_mechanism(mechanism, strength, config.rate)
    sub = np.random.default_rng([seed, list(REGISTRY).index(mechanism), int(round(strength * 1e6))])
    base.rng = sub
    pred = make_prediction(base.rating, np.random.default_rng([seed, 7]), config.shrink, config.noise)
    ctx = mech.prepare(base)
    p = mech.calc_propensity(ctx)
    o = sub.random(p.shape) < p
    recorded = mech.observe(ctx, o)
    e_true = calc_error(pred, ctx.rating, config.loss)
    e_obs = calc_error(pred, recorded, config.loss)
    phat = _propensity(
        config, mech.calc_observable_propensity(ctx) if mech.name == "confounder" else p, o, recorded, ctx, sub
    )
    ehat = _imputation(config, e_obs, e_true, o, sub)
    truth = float(ideal_loss(e_true))
    est = estimate_all(e_obs, o, phat, ehat, config.estimators)
    return [
        dict(
            mechanism=mechanism,
            strength=float(strength),
            estimator=name,
            seed=int(seed),
            estimate=float(v),
            truth=truth,
            error=float(v) - truth,
        )
        for name, v in est.items()
    ]


def run_seed(config: SweepConfig, seed: int) -> list[dict]:
    """Every (mechanism, strength) world of one seed, in :func:`run_sweep`'s order (a unit of work for an engine)."""
    world = make_world(config.world, seed)
    rows: list[dict] = []
    for mechanism in config.mechanisms:
        for strength in config.grid(mechanism):
            rows.extend(run_world(config, mechanism, strength, seed, world=world))
    return rows


def run_sweep(
    config: SweepConfig,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Run the whole sweep; returns the tidy table (:data:`COLUMNS`).

    ``progress(done, total)`` is called after each world; ``should_stop()`` is polled before
    each world and ends the sweep early (``df.attrs["cancelled"]``).
    """
    rows: list[dict] = []
    total, done, cancelled = config.n_worlds, 0, False
    for seed in config.seeds:
        world = None
        for mechanism in config.mechanisms:
            for strength in config.grid(mechanism):
                if should_stop is not None and should_stop():
                    cancelled = True
                    break
                if world is None:
                    world = make_world(config.world, seed)
                rows.extend(run_world(config, mechanism, strength, seed, world=world))
                done += 1
                if progress is not None:
                    progress(done, total)
            if cancelled:
                break
        if cancelled:
            break
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["cancelled"] = cancelled
    return df


#: The summary's columns in words, for a page's table (its ``n_seeds``, ``sd``, ``rmse`` headers were field names).
SUMMARY_WORDS = {"mechanism": "bias mechanism", "strength": "strength", "estimator": "estimator",
                 "estimate": "estimate", "truth": "true loss", "bias": "mean error (estimate − truth)",
                 "sd": "spread of the error (sd)", "se": "standard error of the mean error",
                 "rmse": "root mean squared error", "n_seeds": "seeds", "n_estimates": "seeds with an estimate"}


def summary_in_words(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarize_sweep`'s frame with its columns in words (:data:`SUMMARY_WORDS`), rounded to 4 places.

    >>> list(summary_in_words(pd.DataFrame(columns=["estimator", "n_seeds"])).columns)
    ['estimator', 'seeds']
    """
    return summary.round(4).rename(columns=SUMMARY_WORDS)


def summarize_sweep(df: pd.DataFrame) -> pd.DataFrame:
    """Per (mechanism, strength, estimator): mean estimate/truth, bias = mean error, spread (sd), standard error,
    RMSE.

    A seed whose estimate is undefined (NaN: Naive and SNIPS with no observed pair) is a missing value, never a
    0: estimate, bias, sd, se and RMSE are over the ``n_estimates`` seeds with an estimate (NaN when there is
    none); ``n_seeds`` counts every seed and ``truth`` is over every seed (the estimand is always defined).
    """
    if df.empty:
        return pd.DataFrame(columns=["mechanism", "strength", "estimator", "estimate", "truth", "bias", "sd", "se",
                                     "rmse", "n_seeds", "n_estimates"])
    g = df.groupby(["mechanism", "strength", "estimator"], sort=False)
    out = g.agg(
        estimate=("estimate", "mean"),
        truth=("truth", "mean"),
        bias=("error", "mean"),
        sd=("error", lambda x: _sd(x.dropna())),
        rmse=("error", lambda x: float(np.sqrt(np.mean(np.square(x.dropna())))) if x.notna().any() else np.nan),
        n_seeds=("seed", "nunique"),
        n_estimates=("error", "count"),
    ).reset_index()
    out["se"] = out["sd"] / np.sqrt(out["n_estimates"].clip(lower=1))
    return out


def _sd(x: pd.Series) -> float:
    """Sample sd of the defined errors: 0 for one, NaN for none."""
    return float(np.std(x, ddof=1)) if len(x) > 1 else 0.0 if len(x) == 1 else np.nan
