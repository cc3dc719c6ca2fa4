"""CTAR's user-tag task on the lab's world: facts, a randomized slice, Test I/II/III, and the truth.

CTAR (Lyu et al. 2022; ``docs/CTAR.md``) asks whether user u likes tag t, learned from facts
``(u, t, islike)`` written while tagging movies. This module reproduces that protocol on a
:class:`~core.debias.data.BiasContext` (which keeps the liked tags ``L_u`` and movie tags ``T_m``
in ``extras``), so learners are scored exactly as CTAR's baselines are:

* voluntary tagging ``O^T``: ``p_um ∝ sigmoid(Y_um - 0.005 * 1000 * j / M)`` (CTAR's MNAR
  self-selection in the normalised-rank form), rescaled per user to mean ``tag_rate`` and clipped;
* on a tagged movie with no liked tag the row is "-1": every tag of the movie is a negative fact;
  else one liked tag is always written and each further one with probability ``remember``;
  the forgotten ones form Test I;
* the randomized slice (RCTTag): ``rct_users`` random users x ``rct_movies`` random movies, all
  liked tags written, the movie's other tags known negatives (MCAR);
* Test II "identifiable": pairs (u, t) with t on a movie u rated; Test III "inidentifiable": t on
  no movie u rated; both exclude training facts and Test I, labels ``1[t in L_u]``, and are drawn with a
  positive share of at most ``test_positive_share`` (CTAR's 1500/5000 and 1200/4000 quotas) by
  sampling without replacement from what exists, so they can never loop;
* propensities for the facts: label-based naive Bayes ``P(o=1 | y)`` with ``P(y)`` from the slice,
  each slice fact weighted by ``1 / P(t on one of the user's slice movies)`` (:func:`rct_inclusion`):
  the slice samples (user, movie), so raw it over-represents tags on many movies (like-rate 0.12
  against 0.05 over the user x tag grid at CTAR's size, which made ``P(o=1 | like)`` 0.27 against
  a true 0.65);
* validation: a ``validation_share`` of each test part, per label, becomes :attr:`TagTask.validation`
  (CTAR's ``validation_percentage``, default 0.3); CTAR's baselines keep the epoch with the best
  AUC on it. The held-out training facts cannot do that job: they share the facts' MNAR pattern
  and their loss fell while the truth AUC fell.

Choices: facts are aggregated per (u, t) (a tag written on any movie is a positive; a negative
only where never written). When the full CTAR sampler is used, build the same
:class:`TagTask` from its tables instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from core.debias.data import BiasContext, DebiasConfigError
from core.debias.propensity import naive_bayes_propensity


@dataclass(frozen=True)
class TagTaskConfig:
    """Constants of the tagging protocol (CTAR's, scaled to the lab's smaller worlds)."""

    tag_rate: float = 0.03
    remember: float = 0.6
    rct_users: int = 60
    rct_movies: int = 10
    n_test2: int = 3000
    n_test3: int = 3000
    test_positive_share: float = 0.3
    validation_share: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.tag_rate <= 1:
            raise DebiasConfigError(f"tag_rate must be in (0, 1], got {self.tag_rate}")
        if not 0 <= self.remember <= 1:
            raise DebiasConfigError(f"remember must be in [0, 1], got {self.remember}")
        for name in ("rct_users", "rct_movies", "n_test2", "n_test3"):
            if int(getattr(self, name)) < 1:
                raise DebiasConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.test_positive_share < 1:
            raise DebiasConfigError(f"test_positive_share must be in (0, 1), got {self.test_positive_share}")
        if not 0 < self.validation_share < 1:
            raise DebiasConfigError(f"validation_share must be in (0, 1), got {self.validation_share}")


@dataclass
class TagTask:
    """User x tag training facts and evaluation sets.

    Attributes
    ----------
    values, observed : (U, T) facts (1 like, 0 dislike) and where a fact exists
    propensity : (U, T) naive-Bayes ``P(o=1 | y)``
    rct_values, rct_observed : (U, T) the randomized slice's facts
    liked : (U, T) bool, the truth ``1[t in L_u]``
    tests : name -> (rows, cols, labels) for "Test I", "Test II", "Test III"
    validation : (rows, cols, labels), CTAR's ``validation.csv``: a ``validation_share`` of each
        test part, drawn per label, disjoint from ``tests``; None when it holds one label only
    """

    values: NDArray[np.float64]
    observed: NDArray[np.bool_]
    propensity: NDArray[np.float64]
    rct_values: NDArray[np.float64]
    rct_observed: NDArray[np.bool_]
    liked: NDArray[np.bool_]
    tests: dict[str, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]] = field(default_factory=dict)
    validation: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]] | None = None


def _write(rng, liked_rows, tags_rows, remember):
    """For k tagged (u, m) pairs: (written (k, T), negatives (k, T), forgotten (k, T))."""
    s = liked_rows & tags_rows
    key = rng.random(s.shape)
    first = np.zeros_like(s)
    has = s.any(axis=1)
    first[np.flatnonzero(has), np.argmax(np.where(s, key + 1.0, 0.0), axis=1)[has]] = True
    written = s & (first | (rng.random(s.shape) < remember))
    negatives = tags_rows & ~has[:, None]
    return written, negatives, s & ~written


def _sample_test(rng, pool: NDArray[np.bool_], liked, n: int, share: float):
    rows, cols = np.nonzero(pool)
    labels = liked[rows, cols]
    pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
    n_pos = min(len(pos), int(round(n * share)))
    n_neg = min(len(neg), n - n_pos)
    pick = np.concatenate([rng.choice(pos, n_pos, replace=False), rng.choice(neg, n_neg, replace=False)])
    return rows[pick], cols[pick], labels[pick].astype(np.int64)


def rct_inclusion(tag_movies, n_movies: int, k: int) -> NDArray[np.float64]:
    """``P(t on one of k distinct random movies of M)`` = ``1 - C(M - n_t, k) / C(M, k)`` per tag.

    This is the chance that the randomized slice knows ``(u, t)`` for one of its users: the slice
    is uniform over (user, movie), not over (user, tag), so tags on many movies are over-represented
    in it by this factor (tags on no movie get 0).
    """
    n_t = np.asarray(tag_movies, dtype=float)
    if k < 1 or k > n_movies or np.any(n_t < 0) or np.any(n_t > n_movies):
        raise DebiasConfigError(
            f"need 1 <= k <= n_movies and 0 <= tag_movies <= n_movies, got k={k}, n_movies={n_movies}"
        )
    i = np.arange(k, dtype=float)
    # log C(M - n, k) / C(M, k) = sum_i log((M - n - i) / (M - i)); a zero factor means the tag is always hit
    ratio = (n_movies - n_t[:, None] - i[None, :]) / (n_movies - i[None, :])
    miss = np.where((ratio <= 0).any(axis=1), 0.0, np.exp(np.log(np.clip(ratio, 1e-300, None)).sum(axis=1)))
    return 1.0 - miss


def _split_validation(rng, part, share: float):
    """Split one test part into (validation, test), ``round(share * count)`` of each label to validation."""
    rows, cols, labels = part
    to_val = np.zeros(len(labels), bool)
    for v in (0, 1):
        idx = np.flatnonzero(labels == v)
        to_val[rng.choice(idx, int(round(share * len(idx))), replace=False)] = True
    return (rows[to_val], cols[to_val], labels[to_val]), (rows[~to_val], cols[~to_val], labels[~to_val])


_Part = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]  # (rows, cols, labels)


def _voluntary_facts(ctx: BiasContext, liked: NDArray[np.bool_], item_tags: NDArray[np.bool_], config: TagTaskConfig,
                     rng: np.random.Generator) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """MNAR tagging (rises with the rating, falls with the rank): written (+), negative (-) and forgotten facts."""
    m_n = ctx.rating.shape[1]
    j = np.asarray(ctx.pop_rank, float)
    logit = np.asarray(ctx.rating, float) - 5.0 * j[None, :] / m_n
    w = 1.0 / (1.0 + np.exp(-logit))
    p_tag = np.clip(w * (config.tag_rate / w.mean(axis=1, keepdims=True)), 0, 1)
    uu, mm = np.nonzero(rng.random(p_tag.shape) < p_tag)
    written, negatives, forgotten = _write(rng, liked[uu], item_tags[mm], config.remember)
    pos = np.zeros(liked.shape, bool)
    neg = np.zeros(liked.shape, bool)
    forg = np.zeros(liked.shape, bool)
    for mask, out in ((written, pos), (negatives, neg), (forgotten, forg)):
        r, t = np.nonzero(mask)
        out[uu[r], t] = True
    return pos, neg & ~pos, forg


def _rct_facts(shape: tuple[int, int], liked: NDArray[np.bool_], item_tags: NDArray[np.bool_], config: TagTaskConfig,
               rng: np.random.Generator) -> tuple[NDArray[np.bool_], NDArray[np.float64], int]:
    """The random slice: ``rct_users`` users each tag ``rct_movies`` distinct random movies fully.

    Returns the observed mask, the values (1 where liked) and the movies per user.
    """
    u_n, m_n = shape
    ru = rng.choice(u_n, size=min(config.rct_users, u_n), replace=False)
    rm = np.argsort(rng.random((len(ru), m_n)), axis=1)[:, : min(config.rct_movies, m_n)]  # distinct movies per user
    r_users = np.repeat(ru, rm.shape[1])
    r_items = rm.ravel()
    s = liked[r_users] & item_tags[r_items]
    rct_obs = np.zeros(liked.shape, bool)
    rct_val = np.zeros(liked.shape, float)
    r, t = np.nonzero(item_tags[r_items])
    rct_obs[r_users[r], t] = True
    r, t = np.nonzero(s)
    rct_val[r_users[r], t] = 1.0
    return rct_obs, rct_val, rm.shape[1]


def _tag_tests(rng: np.random.Generator, rated: NDArray[np.bool_], item_tags: NDArray[np.bool_],
               liked: NDArray[np.bool_], known: NDArray[np.bool_], forg: NDArray[np.bool_],
               config: TagTaskConfig) -> tuple[dict[str, _Part], _Part | None]:
    """Test I (forgotten liked tags), II (tags of rated movies), III (of unrated ones), disjoint; and validation."""
    tests = {}
    r, t = np.nonzero(forg & ~known)
    tests["Test I"] = (r, t, np.ones(len(r), np.int64))
    rated_tags = (np.asarray(rated, np.int32) @ item_tags.astype(np.int32)) > 0
    known = known | forg  # Test I pairs stay out of Test II/III (CTAR skips them too), so the parts are disjoint
    tests["Test II"] = _sample_test(rng, rated_tags & ~known, liked, config.n_test2, config.test_positive_share)
    tests["Test III"] = _sample_test(rng, ~rated_tags & ~known, liked, config.n_test3, config.test_positive_share)
    parts = {name: _split_validation(rng, part, config.validation_share) for name, part in tests.items()}
    rows, cols, labels = (np.concatenate([val[k] for val, _ in parts.values()]) for k in range(3))
    # a tiny world: AUC needs both labels, so learners fall back to held-out facts
    validation = (rows, cols, labels) if len(np.unique(labels)) >= 2 else None
    return {name: test for name, (_, test) in parts.items()}, validation


def make_tag_task(
    ctx: BiasContext, rated: NDArray[np.bool_], config: TagTaskConfig = TagTaskConfig(), seed: int = 0
) -> TagTask:
    """CTAR's user-tag protocol on ``ctx`` with the rating observation mask ``rated`` (U, M)."""
    liked = ctx.extras.get("liked")
    item_tags = ctx.extras.get("item_tags")
    if liked is None or item_tags is None:
        raise DebiasConfigError("ctx.extras needs 'liked' (U, T) and 'item_tags' (M, T): build it with make_world")
    rng = np.random.default_rng([seed, 99])
    pos, neg, forg = _voluntary_facts(ctx, liked, item_tags, config, rng)
    observed = pos | neg
    rct_obs, rct_val, rct_movies = _rct_facts(ctx.rating.shape, liked, item_tags, config, rng)
    values = pos.astype(float)
    incl = rct_inclusion(item_tags.sum(axis=0), ctx.rating.shape[1], rct_movies)
    phat = naive_bayes_propensity(
        observed,
        values,
        rct_val[rct_obs],
        levels=np.array([0, 1]),
        clip=1e-6,
        rct_weights=1.0 / np.broadcast_to(incl, liked.shape)[rct_obs],
    )
    tests, validation = _tag_tests(rng, rated, item_tags, liked, observed | rct_obs, forg, config)
    return TagTask(
        values=values,
        observed=observed,
        propensity=phat,
        rct_values=rct_val,
        rct_observed=rct_obs,
        liked=liked,
        tests=tests,
        validation=validation,
    )


def tag_like_rate(task: TagTask) -> NDArray[np.float64]:
    """CTAR's non-personalised baseline: each tag's like-rate among its facts (broadcast to users)."""
    n = task.observed.sum(axis=0)
    rate = np.where(n > 0, (task.values * task.observed).sum(axis=0) / np.maximum(n, 1), 0.0)
    return np.broadcast_to(rate[None, :], task.values.shape).astype(float)
