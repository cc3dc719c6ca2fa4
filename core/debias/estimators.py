"""Estimators of the ideal loss of a fixed prediction matrix from partially observed pairs.

Target (``docs/DEBIAS.md``): ``L = (1/|D|) sum_D e_ui`` with ``e_ui = loss(rhat_ui, r_ui(1))``
over **all** pairs D. Notation: ``o`` observation indicator, ``phat`` (estimated) propensity,
``e`` error (only read where ``o = 1``), ``ehat`` imputed error.

========  =====================================================  ==========================
Naive     ``sum o e / sum o``                                    biased ∝ Cov(p, e)
EIB       ``(1/|D|) sum [o e + (1 - o) ehat]``                   Steck 2010
IPS       ``(1/|D|) sum o e / phat``                             Schnabel et al. 2016
SNIPS     ``sum o e / phat / sum o / phat``                      Swaminathan & Joachims 2015
DR        ``(1/|D|) sum [ehat + o (e - ehat) / phat]``           Wang et al. 2019
========  =====================================================  ==========================

All functions are vectorised: the pairs run along ``axis`` (default: every axis, giving a
scalar); pass ``axis=-1`` with arrays of shape ``(n_seeds, n_pairs)`` to get one estimate per
seed in a single call. A pair with ``o = 0`` never contributes ``e / phat``, so ``phat = 0`` there
is harmless (it is what a positivity violation looks like); ``o = 1`` with ``phat = 0`` raises.
Naive and SNIPS divide by the observed count (weight): with nothing observed they are undefined and
return NaN (a missing value), never 0.

>>> float(estimate_naive([2.0, 2.0], [0, 0]))
nan
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.debias.data import DebiasConfigError

ESTIMATORS = ("Naive", "EIB", "IPS", "SNIPS", "DR")


def _weights(o: NDArray, phat: NDArray) -> NDArray[np.float64]:
    """``o / phat`` with 0 where ``o = 0``; refuses an observed pair with zero propensity."""
    o = np.asarray(o, dtype=float)
    phat = np.asarray(phat, dtype=float)
    bad = (o > 0) & (phat <= 0)
    if bad.any():
        raise DebiasConfigError(f"phat must be > 0 on observed pairs; {int(bad.sum())} observed pairs have phat <= 0")
    return np.divide(o, phat, out=np.zeros(np.broadcast(o, phat).shape), where=o > 0)


def _ratio(num: ArrayLike, den: ArrayLike) -> NDArray[np.float64]:
    """``num / den``, NaN where ``den = 0`` (no observed pair: the self-normalised mean is undefined, not 0)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)
    return out[()]  # a 0-d result as a scalar, as the other estimators give


def _masked(e: ArrayLike, o: ArrayLike) -> NDArray[np.float64]:
    return np.where(np.asarray(o, dtype=bool), np.asarray(e, dtype=float), 0.0)


def estimate_naive(e, o, phat=None, ehat=None, axis=None) -> NDArray[np.float64]:
    o = np.asarray(o, dtype=float)
    return _ratio(_masked(e, o).sum(axis=axis), o.sum(axis=axis))


def estimate_eib(e, o, phat=None, ehat=None, axis=None) -> NDArray[np.float64]:
    if ehat is None:
        raise DebiasConfigError("EIB needs ehat (the imputed errors)")
    o = np.asarray(o, dtype=bool)
    return np.mean(np.where(o, np.asarray(e, float), np.asarray(ehat, float)), axis=axis)


def estimate_ips(e, o, phat, ehat=None, axis=None) -> NDArray[np.float64]:
    return np.mean(_weights(o, phat) * _masked(e, o), axis=axis)


def estimate_snips(e, o, phat, ehat=None, axis=None) -> NDArray[np.float64]:
    w = _weights(o, phat)
    return _ratio((w * _masked(e, o)).sum(axis=axis), w.sum(axis=axis))


def estimate_dr(e, o, phat, ehat, axis=None) -> NDArray[np.float64]:
    if ehat is None:
        raise DebiasConfigError("DR needs ehat (the imputed errors)")
    ehat = np.asarray(ehat, dtype=float)
    delta = _masked(e, o) - np.where(np.asarray(o, bool), ehat, 0.0)
    return np.mean(ehat + _weights(o, phat) * delta, axis=axis)


ESTIMATOR_FUNCS: dict[str, Callable[..., NDArray[np.float64]]] = {
    "Naive": estimate_naive,
    "EIB": estimate_eib,
    "IPS": estimate_ips,
    "SNIPS": estimate_snips,
    "DR": estimate_dr,
}


def estimate_loss(name: str, e, o, phat=None, ehat=None, axis=None) -> NDArray[np.float64]:
    """Estimate the ideal loss with the named estimator (one of :data:`ESTIMATORS`)."""
    if name not in ESTIMATOR_FUNCS:
        raise DebiasConfigError(f"estimator must be one of {list(ESTIMATORS)}, got {name!r}")
    if name in ("IPS", "SNIPS", "DR") and phat is None:
        raise DebiasConfigError(f"{name} needs phat (propensities)")
    return ESTIMATOR_FUNCS[name](e, o, phat, ehat, axis=axis)


def estimate_all(e, o, phat, ehat, estimators=ESTIMATORS, axis=None) -> dict[str, NDArray[np.float64]]:
    """Every named estimator on the same data: ``{name: estimate}``."""
    return {name: estimate_loss(name, e, o, phat, ehat, axis=axis) for name in estimators}


def ideal_loss(e_true, axis=None) -> NDArray[np.float64]:
    """The estimand: the mean true error over all pairs."""
    return np.mean(np.asarray(e_true, dtype=float), axis=axis)


def calc_error(rhat, r, kind: str = "squared") -> NDArray[np.float64]:
    """Per-pair error ``(rhat - r)^2`` (``squared``) or ``|rhat - r|`` (``absolute``)."""
    d = np.asarray(rhat, float) - np.asarray(r, float)
    if kind == "squared":
        return d * d
    if kind == "absolute":
        return np.abs(d)
    raise DebiasConfigError(f"loss kind must be 'squared' or 'absolute', got {kind!r}")
