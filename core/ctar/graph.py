"""CTAR's causal graph: the node-level graph for display, and the per-pair template in pgmpy.

Two views of the same mechanism (Lyu et al. 2022; ``docs/CTAR.md``):

* :func:`causal_graph` — every node of the generator (real inputs, synthetic draws, latents,
  observed files, missingness indicators) with its equation and the current parameters, laid
  out for display; :meth:`Intervention.cut_edges <core.ctar.sampler.Intervention.cut_edges>`
  names the edges a do() removes.
* :func:`build_pair_template` — a ``pgmpy`` ``DiscreteBayesianNetwork`` over one (user, movie)
  pair: ``Pop`` (popularity decile) -> ``Q`` (quality quintile), ``Pop -> N`` (liked-tag matches
  0..K), ``Q, N -> Y`` (rating 1..5), ``Pop -> OY`` (rating observed, MAR), ``Pop, Y -> OT``
  (voluntary tag, MNAR). CPDs come from the sampler: the realised quality and match counts of a
  :class:`~core.ctar.sampler.CTARSample`, the analytic ``P(Y | q, n)`` of the rating equation
  averaged over the movies of each quality bin, and the sampler's mean propensities.
  pgmpy cannot express what is crossed or set-valued (``L_u`` shared by all of u's pairs, the
  tag sets, per-user normalisation), so the template treats pairs as exchangeable and assumes
  ``Q ⊥ N | Pop``; it is exact for ``P(Y | do(N))`` (averaging over bins is averaging over movies).

Exact interventional tables come from the mutilated model (``DiscreteBayesianNetwork.do`` and a
replaced CPD, then variable elimination) — never ``simulate(do=...)``, whose rejection
sampling is slow at scale. :func:`cross_check` compares a small pgmpy sample with the numpy
sampler's pair-level aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.ctar.config import CTARConfig
from core.ctar.equations import rating_probs_by_match
from core.ctar.mechanisms import PairContext
from core.ctar.sampler import CTARSample, Intervention, popularity_decile

NODE_KINDS = ("real", "synthetic", "latent", "observed")


@dataclass(frozen=True)
class NodeSpec:
    """A node of the display graph: id, label, kind (real/synthetic/latent/observed), equation, position."""

    id: str
    label: str
    kind: str
    equation: str
    params: tuple[str, ...]
    x: float
    y: float


@dataclass
class CausalGraph:
    """Nodes and directed edges of CTAR's generator; ``cut`` are the edges removed by a do()."""

    nodes: list[NodeSpec]
    edges: list[tuple[str, str]]
    cut: list[tuple[str, str]] = field(default_factory=list)
    config: CTARConfig | None = None

    def node(self, node_id: str) -> NodeSpec:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node {node_id!r}; nodes are {[n.id for n in self.nodes]}")

    def details(self, node_id: str) -> dict[str, Any]:
        """Equation, kind and current parameter values of ``node_id``."""
        n = self.node(node_id)
        params = {p: getattr(self.config, p) for p in n.params} if self.config is not None else {}
        return {
            "node": n.id,
            "label": n.label,
            "kind": n.kind,
            "equation": n.equation,
            "parameters": params,
            "parents": [a for a, b in self.edges if b == n.id],
            "children": [b for a, b in self.edges if a == n.id],
        }


_NODES = (
    NodeSpec("c", "Tag counts c(m,t)", "real", "c(m,t): times tag t was applied to movie m (input file)", (), 0.2, 3),
    NodeSpec(
        "Pop", "Popularity Pop_m", "real", "Pop_m = Σ_t c(m,t); keep the top M, column j = rank", ("n_movies",), 1, 4
    ),
    NodeSpec("b", "Base rating b_m", "real", "b_m = the movie's real mean rating (1..5)", (), 2, 5),
    NodeSpec("pi", "Tag popularity π_t", "real", "π_t ∝ Σ_{m kept} c(m,t)", (), 1, 2),
    NodeSpec("T", "Movie tags T_m", "real", "T_m = top-K tags of m by count, padded from π", ("tags_per_movie",), 2, 3),
    NodeSpec(
        "L",
        "Liked tags L_u",
        "synthetic",
        "k_u ~ UniformInt{liked_min..liked_max}; L_u = k_u tags ~ π without replacement (Gumbel-top-k)",
        ("liked_min", "liked_max"),
        2,
        1,
    ),
    NodeSpec("S", "Reasons S_um", "latent", "S_um = T_m ∩ L_u", (), 3, 2.2),
    NodeSpec("N", "Matches N_um", "latent", "N_um = |S_um|", (), 4.2, 1.6),
    NodeSpec("Q", "Quality q_m", "synthetic", "q_m = b_m + N(0, quality_sigma²)", ("quality_sigma",), 3.5, 5.6),
    NodeSpec(
        "Y",
        "Latent rating Y_um",
        "latent",
        "Y_um = clip(round(q_m − rating_offset + tag_effect·N_um + N(0, noise_sigma²)), 1, 5)",
        ("rating_offset", "tag_effect", "noise_sigma"),
        5,
        4,
    ),
    NodeSpec(
        "OY",
        "Rating observed O^Y",
        "synthetic",
        "O^Y ~ Bernoulli(p_j); exact: p_j = 2·rating_rate·σ(rating_slope·(M/2 − j)); normalised: σ(c − "
        "rating_slope·1000·j/M), mean = rating_rate (MAR)",
        ("mode", "rating_rate", "rating_slope"),
        5,
        6,
    ),
    NodeSpec("Ystar", "rating.csv", "observed", "Y* = Y_um where O^Y = 1", (), 6.5, 5.5),
    NodeSpec(
        "OT",
        "Tag written O^T (ObsTag)",
        "synthetic",
        "O^T ~ Bernoulli(p_uj), p_uj ∝ σ(obstag_rating_slope·(M/1000)·Y − obstag_rank_slope·j), per-user mean = "
        "obstag_rate (MNAR)",
        ("mode", "obstag_rate", "obstag_rating_slope", "obstag_rank_slope"),
        6,
        3,
    ),
    NodeSpec(
        "F",
        "Forget coin",
        "synthetic",
        "each liked tag after the first is forgotten with prob. forget_prob (→ Test I)",
        ("forget_prob",),
        6,
        1,
    ),
    NodeSpec(
        "W",
        "obstag.csv",
        "observed",
        "if O^T: write −1 when S_um = ∅, else the first liked tag and each further one unless forgotten",
        (),
        7.5,
        2.5,
    ),
    NodeSpec(
        "R",
        "RCT slice R_um",
        "synthetic",
        "rct_users random users × rct_movies random movies (MCAR)",
        ("rct_users", "rct_movies"),
        5,
        0,
    ),
    NodeSpec("Wrct", "rcttag.csv", "observed", "if R_um: write every tag of S_um (−1 when empty)", (), 7.5, 0.5),
)
_EDGES = (
    ("c", "Pop"),
    ("c", "pi"),
    ("c", "T"),
    ("pi", "T"),
    ("pi", "L"),
    ("Pop", "b"),
    ("b", "Q"),
    ("T", "S"),
    ("L", "S"),
    ("S", "N"),
    ("Q", "Y"),
    ("N", "Y"),
    ("Pop", "OY"),
    ("OY", "Ystar"),
    ("Y", "Ystar"),
    ("Y", "OT"),
    ("Pop", "OT"),
    ("OT", "W"),
    ("S", "W"),
    ("F", "W"),
    ("R", "Wrct"),
    ("S", "Wrct"),
)


def causal_graph(config: CTARConfig | None = None, intervention: Intervention | None = None) -> CausalGraph:
    """The node-level causal graph of CTAR's generator with the intervention's edges marked cut.

    ``Pop -> b`` stands for the association of popularity and base rating in the real inputs
    (popularity is a confounder of ratings and of both observation mechanisms).
    """
    cut = intervention.cut_edges() if intervention is not None else []
    return CausalGraph(list(_NODES), list(_EDGES), [e for e in cut if e in _EDGES], config or CTARConfig())


# ----------------------------------------------------------------------------- pgmpy template


@dataclass
class PairTemplate:
    """The per-pair ``DiscreteBayesianNetwork`` and what it was built from.

    Attributes
    ----------
    model : pgmpy.models.DiscreteBayesianNetwork over Pop, Q, N, Y, OY, OT
    q_edges : (n_q + 1,) float64, quality bin edges (quantiles of the realised q_m)
    p_y_given_qn : (n_q, K+1, 5) float64, the Y CPD as an array
    q_bin_of_movie : (M,) int64, quality bin of each movie; quality : (M,) float64, the realised q_m
    config : CTARConfig
    p_ot_do_rating : (10, 5) float64 or None, ``P(O^T = 1 | Pop, do(Y = y))`` for y = 1..5: the tagging
        policy re-evaluated with every rating set to y (:func:`_obstag_under_do_rating`)
    """

    model: Any
    q_edges: NDArray[np.float64]
    p_y_given_qn: NDArray[np.float64]
    q_bin_of_movie: NDArray[np.int64]
    quality: NDArray[np.float64]
    config: CTARConfig
    p_ot_do_rating: NDArray[np.float64] | None = None


def _normalise(
    a: NDArray[np.float64], axis: int = 0, fallback: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    s = a.sum(axis=axis, keepdims=True)
    out = np.divide(a, s, out=np.zeros_like(a, dtype=float), where=s > 0)
    if fallback is not None:
        empty = np.broadcast_to(s == 0, a.shape)
        out = np.where(empty, np.broadcast_to(fallback, a.shape), out)
    return out


def _import_pgmpy() -> None:
    """Import pgmpy once with its own deprecation notices (StructureScore) silenced."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import pgmpy.inference  # noqa: F401
        import pgmpy.models  # noqa: F401


class _PairTables(NamedTuple):
    """The per-pair CPD tables, as probabilities (columns: the parents' states in row-major order)."""

    p_pop: NDArray[np.float64]  # (10,) movies per popularity decile
    p_q_pop: NDArray[np.float64]  # (n_q, 10)
    p_n_pop: NDArray[np.float64]  # (K+1, 10)
    p_y_qn: NDArray[np.float64]  # (n_q, K+1, 5)
    p_oy: NDArray[np.float64]  # (10,)
    p_ot: NDArray[np.float64]  # (10, 5)


def _quality_bins(q: NDArray[np.float64], n_q: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Quantile edges of the movie qualities (open at both ends) and each movie's bin ``0..n_q-1``."""
    edges = np.quantile(q, np.linspace(0, 1, n_q + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    return edges, np.clip(np.searchsorted(edges, q, side="right") - 1, 0, n_q - 1)


def _rating_tables(sample: CTARSample, q: NDArray[np.float64], qbin: NDArray[np.int64], n_q: int,
                   effect: float) -> tuple[NDArray[np.float64], ...]:
    """``P(Pop)``, ``P(Q | Pop)``, ``P(N | Pop)`` from the movies and counts; ``P(Y | Q, N)`` from the equation."""
    cfg, k = sample.config, sample.config.tags_per_movie
    decile = popularity_decile(sample.n_movies)
    movies_per = np.bincount(decile, minlength=10).astype(float)
    p_q_pop = _normalise(
        np.array([np.bincount(qbin[decile == d], minlength=n_q) for d in range(10)], float).T,
        0,
        np.full((n_q, 1), 1 / n_q),
    )
    n_by_decile = np.array([sample.counts.n_match_by_movie[decile == d].sum(axis=0) for d in range(10)], float).T
    p_n_pop = _normalise(n_by_decile, 0, np.eye(k + 1)[:, :1])  # (K+1, 10)
    probs = rating_probs_by_match(
        q, k, offset=cfg.rating_offset, tag_effect=effect, noise_sigma=cfg.noise_sigma
    )  # (M, K+1, 5)
    p_y_qn = np.stack(
        [probs[qbin == b].mean(axis=0) if (qbin == b).any() else np.full((k + 1, 5), 0.2) for b in range(n_q)]
    )  # (n_q, K+1, 5)
    return movies_per / movies_per.sum(), p_q_pop, p_n_pop, p_y_qn


def _observation_tables(sample: CTARSample) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``P(O^Y = 1 | Pop)`` and ``P(O^T = 1 | Pop, Y)`` from the propensities summed while sampling."""
    cfg, counts = sample.config, sample.counts
    decile = popularity_decile(sample.n_movies)
    movies_per = np.bincount(decile, minlength=10).astype(float)
    p_oy = np.array(
        [counts.p_rating_by_movie[decile == d].sum() / max(movies_per[d] * cfg.n_users, 1) for d in range(10)]
    )
    overall = counts.p_obstag_by_decile_rating.sum() / max(counts.pairs_by_decile_rating.sum(), 1)
    p_ot = np.where(
        counts.pairs_by_decile_rating > 0,
        counts.p_obstag_by_decile_rating / np.maximum(counts.pairs_by_decile_rating, 1),
        overall,
    )  # (10, 5)
    return np.clip(p_oy, 0, 1), np.clip(p_ot, 0, 1)


def _obstag_under_do_rating(sample: CTARSample) -> NDArray[np.float64]:
    """``P(O^T = 1 | Pop decile, do(Y = y))``, shape (10, 5): the sample's tagging policy with every rating y.

    CTAR's ObsTag rescales each user's propensities over *all* of that user's ratings (mean
    ``obstag_rate``), so a do(Y) moves the normaliser too; the observational ``P(O^T | Pop, Y)`` keeps
    the natural ratings' normaliser and is wrong under do(Y) (0.014 against the rate 0.007, normalised
    mode). Five pseudo-users, one per rating level, each rated y everywhere, give the mutilated policy
    exactly (it reads the ratings and the ranks; ``n_match`` is set to 0).
    """
    m = sample.n_movies
    ctx = PairContext(users=np.arange(5, dtype=np.int64),
                      rating=np.repeat(np.arange(1, 6, dtype=np.int8)[:, None], m, axis=1),
                      quality=np.asarray(sample.quality, dtype=np.float64), pop_rank=np.arange(m, dtype=np.int64),
                      popularity=np.asarray(sample.catalogue.popularity, dtype=np.float64),
                      n_match=np.zeros((5, m), dtype=np.int8), rng=np.random.default_rng(0))
    p = np.asarray(sample.obstag_policy.calc_propensity(ctx), dtype=np.float64)  # (5, M)
    decile = popularity_decile(m)
    sums = np.stack([p[:, decile == d].sum(axis=1) for d in range(10)])  # (10, 5)
    movies = np.bincount(decile, minlength=10).astype(float)[:, None]
    return np.clip(np.where(movies > 0, sums / np.maximum(movies, 1), p.mean(axis=1)[None, :]), 0, 1)


def _pair_network(t: _PairTables, n_q: int, k: int) -> Any:
    """The pgmpy ``DiscreteBayesianNetwork`` Pop -> Q, N, OY, OT; Q, N -> Y -> OT with ``t`` as its CPDs."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    model = DiscreteBayesianNetwork(
        [("Pop", "Q"), ("Pop", "N"), ("Q", "Y"), ("N", "Y"), ("Pop", "OY"), ("Pop", "OT"), ("Y", "OT")]
    )
    pop, q_states, n_states, y_states = list(range(10)), list(range(n_q)), list(range(k + 1)), [1, 2, 3, 4, 5]
    # TabularCPD columns: evidence states in row-major order of the evidence list
    y_values = t.p_y_qn.transpose(2, 0, 1).reshape(5, n_q * (k + 1))
    ot_values = np.stack([1 - t.p_ot.ravel(), t.p_ot.ravel()])  # evidence [Pop, Y]
    model.add_cpds(
        TabularCPD("Pop", 10, t.p_pop[:, None], state_names={"Pop": pop}),
        TabularCPD("Q", n_q, t.p_q_pop, ["Pop"], [10], state_names={"Q": q_states, "Pop": pop}),
        TabularCPD("N", k + 1, t.p_n_pop, ["Pop"], [10], state_names={"N": n_states, "Pop": pop}),
        TabularCPD("Y", 5, y_values, ["Q", "N"], [n_q, k + 1],
                   state_names={"Y": y_states, "Q": q_states, "N": n_states}),
        TabularCPD("OY", 2, np.stack([1 - t.p_oy, t.p_oy]), ["Pop"], [10], state_names={"OY": [0, 1], "Pop": pop}),
        TabularCPD("OT", 2, ot_values, ["Pop", "Y"], [10, 5], state_names={"OT": [0, 1], "Pop": pop, "Y": y_states}),
    )
    model.check_model()
    return model


def build_pair_template(sample: CTARSample, n_q: int = 5, tag_effect: float | None = None) -> PairTemplate:
    """Build the per-pair ``DiscreteBayesianNetwork`` with CPDs from ``sample``'s mechanism.

    ``tag_effect`` overrides the rating equation's effect (for ``do(tag effect = value)``).
    """
    _import_pgmpy()
    cfg = sample.config
    m = sample.n_movies
    q = sample.quality if sample.intervention.quality is None else np.full(m, float(sample.intervention.quality))
    edges, qbin = _quality_bins(q, n_q)
    effect = cfg.tag_effect if tag_effect is None else tag_effect
    p_pop, p_q_pop, p_n_pop, p_y_qn = _rating_tables(sample, q, qbin, n_q, effect)
    p_oy, p_ot = _observation_tables(sample)
    tables = _PairTables(p_pop, p_q_pop, p_n_pop, p_y_qn, p_oy, p_ot)
    model = _pair_network(tables, n_q, cfg.tags_per_movie)
    return PairTemplate(model, edges, p_y_qn, qbin, q, cfg, _obstag_under_do_rating(sample))


def backdoor_sets(template: PairTemplate, treatment: str = "N", outcome: str = "Y") -> list[list[str]]:
    """All backdoor adjustment sets for ``treatment -> outcome`` (pgmpy ``CausalInference``), smallest first."""
    import warnings

    from pgmpy.inference import CausalInference

    with warnings.catch_warnings():  # pgmpy 1.1 deprecates it for pgmpy.identification (same answer)
        warnings.simplefilter("ignore", FutureWarning)
        sets = CausalInference(template.model).get_all_backdoor_adjustment_sets(treatment, outcome)
    return sorted((sorted(s) for s in sets), key=lambda s: (len(s), s))


def _query(
    model: Any, variables: list[str], do: dict[str, Any] | None = None, evidence: dict[str, Any] | None = None
) -> pd.Series:
    """``P(variables[0] | do(do), evidence)`` by variable elimination in the mutilated model.

    ``DiscreteBayesianNetwork.do`` cuts the incoming edges of each do() node and its CPD is set
    to a point mass (pgmpy's ``CausalInference.query`` instead adjusts for the parents, which
    divides by zero where a parent configuration has probability 0, e.g. N = 8).
    """
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination

    for node, state in (do or {}).items():
        states = model.states[node]
        point = np.array([[1.0 if s == state else 0.0] for s in states])
        model = _replace_cpd(model.do([node]), node, TabularCPD(node, len(states), point, state_names={node: states}))
    factor = VariableElimination(model).query(variables, evidence=evidence or None, show_progress=False)
    states = factor.state_names[variables[0]]
    return pd.Series(np.asarray(factor.values, dtype=float), index=pd.Index(states, name=variables[0]))


def _replace_cpd(model: Any, node: str, cpd: Any) -> Any:
    mutilated = model.copy()
    mutilated.remove_cpds(mutilated.get_cpds(node))
    mutilated.add_cpds(cpd)
    return mutilated


def intervention_target(intervention: Intervention) -> str:
    """The quantity an intervention's table shows: ``"Y | O^Y=1"``, ``"Y | O^T=1"``, ``"O^T"`` or ``"Y"``."""
    if intervention.rating is not None:
        return "P(O^T=1)"
    if intervention.exposure is not None:
        return "Y | O^Y=1"
    if intervention.obstag is not None:
        return "Y | O^T=1"
    return "Y"


def calc_interventional_table(template: PairTemplate, intervention: Intervention) -> pd.Series:
    """Exact distribution of :func:`intervention_target` in the mutilated per-pair model (pgmpy).

    ``n_match``/``rating`` cut the node (``model.do``) and fix it; ``tag_effect`` and ``quality``
    rebuild the Y CPD (``do(Q = q)`` sets every movie's quality, so ``Q -> Y`` carries the constant);
    ``exposure``/``obstag`` = "uniform" replace the
    CPD of OY/OT by a constant (other policies are not representable per pair and raise); under
    ``rating`` the O^T CPD is the tagging policy with every rating set, per-user normaliser included.
    """
    from pgmpy.factors.discrete import TabularCPD

    cfg = template.config
    model = template.model
    if intervention.tag_effect is not None or intervention.quality is not None:
        k = cfg.tags_per_movie
        effect = cfg.tag_effect if intervention.tag_effect is None else float(intervention.tag_effect)
        p = _rebuild_y(template, effect, intervention.quality)
        model = _replace_cpd(
            model,
            "Y",
            TabularCPD(
                "Y",
                5,
                p.transpose(2, 0, 1).reshape(5, -1),
                ["Q", "N"],
                [p.shape[0], k + 1],
                state_names={"Y": [1, 2, 3, 4, 5], "Q": list(range(p.shape[0])), "N": list(range(k + 1))},
            ),
        )
    model = _cut_observations(model, template, intervention)
    do: dict[str, Any] = {}
    if intervention.n_match is not None:
        intervention.check_config(cfg)  # N has states 0..K: a larger do(N) is refused, as the sampler refuses it
        do["N"] = int(intervention.n_match)
    target = intervention_target(intervention)
    if intervention.rating is not None:
        s = _query(model, ["OT"], do={**do, "Y": int(intervention.rating)})
        return pd.Series([float(s.loc[1])], index=pd.Index([1], name="O^T"), name=target)
    evidence = {"OY": 1} if target == "Y | O^Y=1" else {"OT": 1} if target == "Y | O^T=1" else {}
    if do and evidence:
        evidence = {k: v for k, v in evidence.items() if k not in do}
    s = _query(model, ["Y"], do=do, evidence=evidence)
    s.name = target
    return s


def _cut_observations(model: Any, template: PairTemplate, intervention: Intervention) -> Any:
    """The mutilated observation CPDs: ``"uniform"`` exposure or tagging as a constant rate (other policies are not
    representable per pair and raise); under do(Y) without a tagging do(), O^T's CPD is the tagging policy
    re-evaluated with every rating set (:func:`_obstag_under_do_rating`), its per-user normaliser included."""
    from pgmpy.factors.discrete import TabularCPD

    cfg = template.config
    for node, policy, rate in (("OY", intervention.exposure, cfg.rating_rate),
                               ("OT", intervention.obstag, cfg.obstag_rate)):
        if policy is None:
            continue
        if policy != "uniform":
            raise ValueError(f"{node}: only 'uniform' exposure has an exact per-pair table, got {policy!r}")
        model = _replace_cpd(
            model.do([node]), node, TabularCPD(node, 2, [[1 - rate], [rate]], state_names={node: [0, 1]})
        )
    if intervention.rating is not None and intervention.obstag is None and template.p_ot_do_rating is not None:
        p = template.p_ot_do_rating.ravel()  # evidence [Pop, Y] in row-major order, as the template's own CPD
        model = _replace_cpd(model, "OT", TabularCPD("OT", 2, np.stack([1 - p, p]), ["Pop", "Y"], [10, 5],
                                                     state_names={"OT": [0, 1], "Pop": list(range(10)),
                                                                  "Y": [1, 2, 3, 4, 5]}))
    return model


def _rebuild_y(template: PairTemplate, tag_effect: float, quality: float | None = None) -> NDArray[np.float64]:
    """Y CPD (n_q, K+1, 5) for another tag effect (and ``do(Q = quality)``: every movie's q set),
    averaged over the movies of each quality bin."""
    cfg = template.config
    n_q = template.p_y_given_qn.shape[0]
    k = cfg.tags_per_movie
    q = template.quality if quality is None else np.full_like(template.quality, float(quality))
    probs = rating_probs_by_match(q, k, offset=cfg.rating_offset, tag_effect=tag_effect, noise_sigma=cfg.noise_sigma)
    return np.stack(
        [
            probs[template.q_bin_of_movie == b].mean(axis=0)
            if (template.q_bin_of_movie == b).any()
            else np.full((k + 1, 5), 0.2)
            for b in range(n_q)
        ]
    )


def calc_sampled_table(sample_do: CTARSample, intervention: Intervention) -> pd.Series:
    """The same quantity as :func:`calc_interventional_table`, counted in a numpy sample of the do() model."""
    target = intervention_target(intervention)
    if target == "P(O^T=1)":
        n = sample_do.counts.pairs_by_rating.sum()
        return pd.Series([float(len(sample_do.obstag_pairs)) / max(n, 1)], index=pd.Index([1], name="O^T"), name=target)
    if target == "Y | O^Y=1":
        c = np.bincount(sample_do.rating["rating"].to_numpy() - 1, minlength=5).astype(float)
    elif target == "Y | O^T=1":
        c = np.bincount(sample_do.obstag_pairs["rating"].to_numpy() - 1, minlength=5).astype(float)
    else:
        c = sample_do.counts.rating_full.astype(float)
    return pd.Series(c / max(c.sum(), 1), index=pd.Index([1, 2, 3, 4, 5], name="Y"), name=target)


def compare_interventional(template: PairTemplate, sample_do: CTARSample, intervention: Intervention) -> pd.DataFrame:
    """Exact (pgmpy, mutilated template) beside sampled (numpy, mutilated sampler), with the difference."""
    exact = calc_interventional_table(template, intervention)
    sampled = calc_sampled_table(sample_do, intervention)
    df = pd.DataFrame({"exact (pgmpy)": exact, "sampled (numpy)": sampled})
    df["difference"] = df["sampled (numpy)"] - df["exact (pgmpy)"]
    df.index.name = intervention_target(intervention)
    return df


def simulate_template(template: PairTemplate, n: int, seed: int = 0, missing: bool = False) -> pd.DataFrame:
    """``n`` pgmpy forward samples of the template (no do(): interventions use exact tables).

    ``missing=True`` additionally masks ``Y`` MAR through ``simulate(missing_prob=...)`` with
    ``P(Y* missing | Pop) = 1 - P(O^Y = 1 | Pop)`` (pgmpy's own missingness mechanism).
    """
    model = template.model
    missing_prob = None
    if missing:
        from pgmpy.factors.discrete import TabularCPD

        p_oy = model.get_cpds("OY").values[1]
        missing_prob = TabularCPD(
            "Y*", 2, np.stack([1 - p_oy, p_oy])[::-1], ["Pop"], [10], state_names={"Y*": [0, 1], "Pop": list(range(10))}
        )
    sim = model.simulate(n_samples=int(n), seed=seed, show_progress=False, missing_prob=missing_prob)
    return sim.apply(lambda col: pd.to_numeric(col.astype(object), errors="coerce"))


def cross_check(template: PairTemplate, sample: CTARSample, n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Compare ``n`` pgmpy template samples with the numpy sampler's pair-level frequencies.

    Rows: ``P(Y=y)``, ``P(N=n)`` for n <= 4, ``P(O^Y=1)``, ``P(O^T=1 | Y=y)``. Columns: ``pgmpy``,
    ``numpy`` (exact counts over every pair of ``sample``), ``se`` (binomial standard error of the
    pgmpy frequency) and ``z``.
    """
    sim = simulate_template(template, n, seed=seed)
    c = sample.counts
    total = float(c.rating_full.sum())
    rows = []
    for y in range(1, 6):
        rows.append((f"P(Y={y})", float((sim["Y"] == y).mean()), c.rating_full[y - 1] / total, n))
    n_tot = c.n_match_by_movie.sum(axis=0)
    for k in range(min(5, n_tot.size)):
        rows.append((f"P(N={k})", float((sim["N"] == k).mean()), n_tot[k] / total, n))
    rows.append(("P(O^Y=1)", float(sim["OY"].mean()), c.p_rating_by_movie.sum() / total, n))
    for y in range(1, 6):
        sel = sim["Y"] == y
        if sel.sum() >= 50:
            rows.append(
                (
                    f"P(O^T=1 | Y={y})",
                    float(sim.loc[sel, "OT"].mean()),
                    c.p_obstag_by_decile_rating[:, y - 1].sum() / max(c.pairs_by_decile_rating[:, y - 1].sum(), 1),
                    int(sel.sum()),
                )
            )
    df = pd.DataFrame(rows, columns=["quantity", "pgmpy", "numpy", "n"])
    p = df["numpy"].clip(1e-6, 1 - 1e-6)
    df["se"] = np.sqrt(p * (1 - p) / df["n"])
    df["z"] = (df["pgmpy"] - df["numpy"]) / df["se"]
    return df.drop(columns="n")
