"""Propensity models ``phat_ui ≈ P(o_ui = 1 | x)`` and clipping.

* :func:`oracle_propensity` the true ``p`` (known on semi-synthetic data);
* :func:`popularity_propensity` item observation frequency ``|O_i| / n_users`` (MAR in popularity);
* :func:`naive_bayes_propensity` ``P(o=1 | r=v) = P(r=v | o=1) P(o=1) / P(r=v)`` with ``P(r=v)`` from a
  small randomized (MCAR) slice (Schnabel et al. 2016; CTAR's RCTTag); it conditions on the
  outcome, so it can model MNAR selection;
* :func:`logistic_propensity` logistic regression of ``o`` on pair features (default: log item
  popularity, item and user observation rates), fitted on a seeded subsample.

All return ``(n, M)`` float64 clipped to ``[clip, 1]`` (``clip = 0`` keeps zeros, which the
estimators accept on unobserved pairs). Clipping trades bias for variance (DEBIAS.md: gamma ~0.05).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from core.debias.data import DebiasConfigError

PROPENSITY_MODELS = ("oracle", "popularity", "naive_bayes", "logistic")
#: each model in words (the page's choices)
PROPENSITY_LABELS = {
    "oracle": "true observation chance (oracle)",
    "popularity": "item popularity (observed share)",
    "naive_bayes": "naive Bayes on the rating, from the randomized slice",
    "logistic": "logistic regression on popularity and activity",
}


def clip_propensity(p, clip: float = 0.0) -> NDArray[np.float64]:
    """Clip to ``[clip, 1]``; ``clip`` must lie in [0, 1)."""
    if not 0 <= clip < 1:
        raise DebiasConfigError(f"clip must be in [0, 1), got {clip}")
    return np.clip(np.asarray(p, dtype=float), clip, 1.0)


def oracle_propensity(p, clip: float = 0.0) -> NDArray[np.float64]:
    return clip_propensity(p, clip)


def popularity_propensity(o, clip: float = 0.0) -> NDArray[np.float64]:
    """Item observation frequency, broadcast to every user: ``phat_ui = mean_u o_ui``."""
    o = np.asarray(o, dtype=float)
    return clip_propensity(np.broadcast_to(o.mean(axis=0, keepdims=True), o.shape), clip)


def naive_bayes_propensity(
    o, values, rct_values, clip: float = 0.0, levels=None, smoothing: float = 1.0, rct_weights=None
) -> NDArray[np.float64]:
    """``P(o=1 | r)`` by Bayes' rule; ``values`` are recorded outcomes (read where ``o``), ``rct_values`` the MCAR
    slice's.

    Parameters
    ----------
    o : (n, M) bool
    values : (n, M) recorded outcomes (discrete levels, e.g. ratings 1..5 or labels 0/1)
    rct_values : (k,) outcomes of a random sample of pairs
    levels : the outcome levels (default: the union of levels seen)
    smoothing : Laplace count added to every level
    rct_weights : (k,) positive, optional
        Inverse inclusion probabilities of the slice's pairs when the slice is random but not
        uniform over the ``(n, M)`` grid (CTAR's RCTTag samples movies, so a tag on many movies
        is more likely to be in it). ``P(r)`` is then the Horvitz-Thompson (Hajek) estimate over
        the grid; without it ``P(r)`` describes another population than ``P(o)`` and
        ``P(r | o)`` do, and the propensities are off by the ratio of the two.

    Unobserved pairs get the marginal ``P(o=1)`` (never read by the estimators).
    """
    o = np.asarray(o, dtype=bool)
    values = np.asarray(values)
    rct_values = np.asarray(rct_values).ravel()
    if rct_values.size == 0:
        raise DebiasConfigError("rct_values is empty: naive Bayes needs a randomized slice")
    if rct_weights is None:
        rct_w = np.ones(rct_values.size)
    else:
        rct_w = np.asarray(rct_weights, dtype=float).ravel()
        if rct_w.shape != rct_values.shape or not np.all(np.isfinite(rct_w)) or np.any(rct_w <= 0):
            raise DebiasConfigError(
                f"rct_weights must be {rct_values.size} finite values > 0 (one per rct_values entry)"
            )
    obs = np.rint(values[o]).astype(int)
    rct = np.rint(rct_values).astype(int)
    if levels is None:
        levels = np.union1d(np.unique(obs), np.unique(rct))
    levels = np.asarray(levels, dtype=int)
    p_o = o.mean()
    n_obs = np.array([(obs == v).sum() for v in levels], float) + smoothing
    n_rct = np.array([rct_w[rct == v].sum() for v in levels], float)
    n_rct = n_rct * (rct.size / rct_w.sum()) + smoothing  # effective counts: smoothing keeps its weight
    p_r_o = n_obs / n_obs.sum()
    p_r = n_rct / n_rct.sum()
    p_level = np.clip(p_r_o * p_o / p_r, 1e-12, 1.0)
    out = np.full(o.shape, p_o, dtype=float)
    out[o] = _lookup(obs, levels, p_level, p_o)
    return clip_propensity(out, clip)


def _lookup(obs, levels, p_level, default):
    idx = np.searchsorted(levels, obs)
    idx = np.clip(idx, 0, len(levels) - 1)
    return np.where(levels[idx] == obs, p_level[idx], default)


def pair_features(o, popularity=None) -> NDArray[np.float64]:
    """Default features ``(n, M, 3)``: log item popularity (or log item count), item and user observation rates."""
    o = np.asarray(o, dtype=float)
    n, m = o.shape
    item_rate = o.mean(axis=0)
    pop = np.log(np.asarray(popularity, float)) if popularity is not None else np.log(item_rate * n + 1)
    feats = np.stack(
        [
            np.broadcast_to(pop[None, :], (n, m)),
            np.broadcast_to(item_rate[None, :], (n, m)),
            np.broadcast_to(o.mean(axis=1)[:, None], (n, m)),
        ],
        axis=-1,
    )
    return feats


def logistic_propensity(
    o, features=None, clip: float = 0.0, max_rows: int = 200_000, seed: int = 0
) -> NDArray[np.float64]:
    """Logistic regression of ``o`` on ``features`` (n, M, F) (default :func:`pair_features`)."""
    from sklearn.linear_model import LogisticRegression

    o = np.asarray(o, dtype=bool)
    x = pair_features(o) if features is None else np.asarray(features, dtype=float)
    if x.shape[:2] != o.shape:
        raise DebiasConfigError(f"features must have shape (n, M, F) = {o.shape + ('F',)}, got {x.shape}")
    flat = x.reshape(-1, x.shape[-1])
    mu, sd = flat.mean(0), flat.std(0)
    sd[sd == 0] = 1
    flat = (flat - mu) / sd
    y = o.ravel()
    if y.all() or not y.any():
        return clip_propensity(np.full(o.shape, y.mean()), clip)
    rng = np.random.default_rng(seed)
    rows = rng.choice(y.size, size=min(max_rows, y.size), replace=False)
    model = LogisticRegression(max_iter=500).fit(flat[rows], y[rows])
    return clip_propensity(model.predict_proba(flat)[:, 1].reshape(o.shape), clip)
