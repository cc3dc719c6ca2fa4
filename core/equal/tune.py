"""The tuning lab: a grid of bandit settings, each over several seeds, replayed from cache as one job.

Pick one or two settings of :class:`~core.equal.config.RunConfig` (:data:`TUNABLES`) and their
values: every cell of the grid, for every seed (once if the cell is deterministic: its seeds would
replay the same run), is played as an ordinary
:class:`~core.equal.run.BanditRun` over pairs extracted and embedded once
(:mod:`core.equal.replay`), so a cell's curve is exactly what a live run with those settings
would show (bit for bit, with a deterministic extractor) and a whole grid costs seconds. Random
and Avg-sim (the paper's baselines) are replayed with the same seeds and budget beside it.

The pairs and their vectors live in a :class:`~core.equal.baselines.BaselineCache` shared with
the Bandit page's baselines. A grid whose documents are not all in it needs extraction calls:
:func:`calls_to_spend` counts them (a document the extractor keeps on disk costs nothing: an LLM
extractor's own cache, or the rule extractor's in a
:func:`~core.equal.extract.cache.kept_on_disk` wrapper, as the page and ``tune`` build it, so a
restart replays what an earlier process extracted) and :class:`TuneJob` refuses to start without ``spend=True``
(:class:`TuneSpendError` names the count): an LLM extractor replays only what is cached unless
the user confirms. Settings a grid cannot play (an empty grid, ``B`` above the map's clusters,
``D = 0``) are refused before the job starts, naming the setting (:class:`TuneConfigError`).

The job's table (:meth:`TuneJob.table`, :data:`TABLE_COLUMNS`) has one row per cell, seed and
round: extraction calls so far, reference coverage (``mean_r max_e cos(r, e)``, the Bandit
page's "Reference coverage": label-free closeness of the pairs found to ``D_r``), the mean
reward, the pairs, and on a built-in preset the on-task share (provenance label,
:mod:`core.equal.ontask`; NaN elsewhere). :func:`summarize_tune` turns it into curves with a
band over seeds; :func:`rank_cells` into one line per cell.

Example
-------
>>> grid = TuneGrid((("batch_arms", (1, 3)), ("credit", ("document", "pull"))), seeds=(0, 1))
>>> [c.label for c in grid.cells()]  # doctest: +NORMALIZE_WHITESPACE
['1 arm per round · credit per document', '1 arm per round · credit per pull',
 '3 arms per round · credit per document', '3 arms per round · credit per pull']
>>> TuneGrid((), seeds=(0,))
Traceback (most recent call last):
...
core.equal.tune.TuneConfigError: the grid is empty: pick one or two settings to vary, each with at least one value
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.equal.baselines import BATCH_DOCS, BaselineCache
from core.equal.budget import share_of
from core.equal.config import RunConfig, RunConfigError
from core.equal.replay import PrecomputedExtractor, extract_batch, failed_message, table_embedder
from core.equal.run import BanditRun, single_thread_blas
from core.equal.settings import BY_NAME, Setting, config_from_values, values_of
from core.equal.space import ArmSpace
from core.jobs import Job, Tick

BASELINES = ("random", "avg-sim")
#: The baselines in words, as the chart's legend and the ranking (the page's "Every cell" table) name them.
BASELINE_NAMES = {"random": "Random (baseline)", "avg-sim": "Avg-sim (baseline)"}
BATCH_TEXTS = 64  # pair texts embedded per unit of the job
TABLE_COLUMNS = ["cell", "kind", "policy", "seed", "round", "calls", "coverage", "reward", "pairs", "on_task_share"]


TUNE_SHARE = 0.2  # the lab's default share budget (page and command line): a run reads enough to tell cells apart


class TuneConfigError(ValueError):
    """A grid that cannot be played; the message names the setting."""


class TuneSpendError(TuneConfigError):
    """The grid needs extraction calls that were not confirmed; ``calls`` says how many."""

    def __init__(self, calls: int) -> None:
        self.calls = int(calls)
        super().__init__(f"this grid needs {calls:,} extraction calls: {calls:,} documents are not in the cache yet. "
                         "Confirm the spend to extract them (page: the confirm button; command line: --spend); "
                         "nothing is extracted until then")


@dataclass(frozen=True)
class Tunable:
    """One setting the lab can vary: its :class:`~core.equal.settings.Setting` (label, parsing and rules come from
    there, as on the Bandit page), how a cell label says one of its values in words (``"3 arms per round"``),
    and the values the page offers."""

    spec: Setting
    words: str
    choices: tuple[Any, ...]

    @property
    def name(self) -> str:
        """The setting's own name (``"credit"`` for ``reward.credit``): what ``--vary`` and the table call it."""
        return self.spec.field

    @property
    def label(self) -> str:
        return _LABELS.get(self.spec.name, self.spec.label)

    @property
    def chip(self) -> str:
        """The label short enough for a chip of the lab's "Settings to vary" box (the full one is in its help):
        the words before any parenthesised gloss.

        >>> TUNABLES["batch_arms"].chip, TUNABLES["budget"].chip, TUNABLES["unplayed"].chip
        ('Arms per round', 'Budget', 'Estimate before pulls')
        """
        return _CHIPS.get(self.spec.name, self.label.split(" (")[0])

    def parse(self, text: str) -> Any:
        try:
            return self.spec.parse(text)
        except ValueError as exc:
            raise TuneConfigError(f"{self.label}: {text!r} {exc}") from None

    def value_text(self, value: Any) -> str:
        """The value as cell labels and the table write it (``0.25``, ``equal``)."""
        return f"{value:g}" if isinstance(value, float) else str(value)

    def choice_text(self, value: Any) -> str:
        """The value in words, as the Bandit page offers it (``EQUAL (the paper's score)``)."""
        return self.spec.choice_labels.get(value, self.value_text(value))

    def cell_text(self, value: Any, budget_kind: str = "share") -> str:
        """The value as a cell label says it, in the words of the page's controls (``"3 arms per round"``,
        ``"1 doc per pull"``, ``"budget 20%"``), not the paper's letters.

        >>> TUNABLES["batch_arms"].cell_text(3), TUNABLES["docs_per_pull"].cell_text(1)
        ('3 arms per round', '1 doc per pull')
        >>> TUNABLES["policy"].cell_text("learned"), TUNABLES["budget"].cell_text(0.2)
        ('Learned', 'budget 20%')
        >>> TUNABLES["unplayed"].cell_text("eb"), TUNABLES["credit"].cell_text("pull")
        ('estimate before pulls: similarity, trusted as the rewards allow', 'credit per pull')
        """
        if self.name == "budget":
            return f"budget {value:.0%}" if budget_kind == "share" else f"budget {value:g} {budget_kind}"
        text = self.choice_text(value).split(" (")[0]  # "Learned (the default)": the choice, not its note
        if isinstance(value, int) and not isinstance(value, bool):
            return self.words.format(n=value, s="" if value == 1 else "s")
        if not self.words.startswith("{n}") and text[1:2].islower():  # "Per pull" inside a label: "per pull"
            text = text[:1].lower() + text[1:]
        return self.words.format(n=text, s="")


def _tunable(name: str, words: str, choices: tuple[Any, ...] = ()) -> Tunable:
    spec = BY_NAME[name]
    return Tunable(spec, words, choices or spec.choices)


_LABELS = {"budget": "Budget (share of the corpus, or calls)"}  # the page's label names the share alone
_CHIPS = {"unplayed": "Estimate before pulls", "doc_order": "Document order"}  # shorter than the labels' words
TUNABLES: dict[str, Tunable] = {t.name: t for t in (
    _tunable("policy", "{n}"),
    _tunable("batch_arms", "{n} arm{s} per round", (1, 2, 3, 5, 8, 10, 20)),
    _tunable("docs_per_pull", "{n} doc{s} per pull", (1, 3, 5, 10, 20, 50)),
    _tunable("unplayed", "estimate before pulls: {n}"),
    _tunable("neighbour_weight", "neighbour weight {n}", (0.0, 0.1, 0.25, 0.5, 1.0)),
    _tunable("reward.credit", "credit {n}"),
    _tunable("doc_order", "document order: {n}"),
    _tunable("budget", "budget {n}", (0.05, 0.1, 0.2, 0.3, 0.5)),
)}
#: The lab's "Settings to vary" help: what a cell is, and the settings under the Bandit page's labels (the chips
#: say only their words, :attr:`Tunable.chip`).
VARY_HELP = ("Every combination of their values below is a cell of the grid. The settings, as the Bandit page names "
             "them: " + "; ".join(t.label for t in TUNABLES.values()) + ".")
_ALIASES = {"B": "batch_arms", "D": "docs_per_pull", "prior": "unplayed", "order": "doc_order",
            "neighbour": "neighbour_weight"}


def find_tunable(name: str) -> Tunable:
    """The :class:`Tunable` called ``name`` (a field name or its short name: ``B``, ``D``, ``prior``, ``order``)."""
    key = _ALIASES.get(name, name)
    if key not in TUNABLES:
        raise TuneConfigError(f"unknown setting {name!r}: choose one of {', '.join(TUNABLES)}")
    return TUNABLES[key]


def parse_axis(text: str) -> tuple[str, tuple[Any, ...]]:
    """``"batch_arms=1,3,5"`` -> ``("batch_arms", (1, 3, 5))`` (the command line's ``--vary``).

    >>> parse_axis("D=3,10")
    ('docs_per_pull', (3, 10))
    """
    name, sep, values = text.partition("=")
    if not sep:
        raise TuneConfigError(f"--vary {text!r}: write SETTING=VALUE,VALUE,... (e.g. batch_arms=1,3,5)")
    tunable = find_tunable(name.strip())
    parts = [v.strip() for v in values.split(",") if v.strip()]
    if not parts:
        raise TuneConfigError(f"{tunable.label}: pick at least one value")
    return tunable.name, tuple(tunable.parse(v) for v in parts)


@dataclass(frozen=True)
class TuneCell:
    """One setting cell: its label in words (``"3 arms per round · 10 docs per pull"``), the values it sets, and its
    config (the base seed)."""

    label: str
    values: Mapping[str, Any]
    config: RunConfig


@dataclass(frozen=True)
class TuneGrid:
    """One or two settings to vary (``axes``: ``((name, values), ...)``), the seeds, and the other settings.

    Validated on construction: every cell's :class:`RunConfig` is built, so a value the run
    would refuse (``D = 0``, a neighbour weight of 2) is refused here, naming the setting.
    A cost budget is refused (replayed extractions cost nothing).
    """

    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    base: RunConfig = field(default_factory=lambda: RunConfig(budget=TUNE_SHARE))

    def __post_init__(self) -> None:
        if not self.axes:
            raise TuneConfigError("the grid is empty: pick one or two settings to vary, each with at least one value")
        for name, values in self.axes:
            if not len(values):
                raise TuneConfigError(f"{find_tunable(str(name)).label}: pick at least one value")
        axes = tuple((find_tunable(str(n)).name, tuple(dict.fromkeys(v))) for n, v in self.axes)
        names = [n for n, _ in axes]
        if len(axes) > 2 or len(set(names)) != len(names):
            raise TuneConfigError(f"vary one or two different settings, got {', '.join(names)}")
        if not self.seeds:
            raise TuneConfigError("seeds: pick at least one seed")
        if self.base.budget_kind == "cost":
            raise TuneConfigError("budget kind 'cost': the lab replays cached extractions, which cost nothing; "
                                  "use a share or calls budget")
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "seeds", tuple(int(s) for s in dict.fromkeys(self.seeds)))
        self.cells()  # every cell's config is valid

    def cells(self) -> list[TuneCell]:
        """Every combination of the axes' values, first axis slowest; each cell's config is the base's settings with
        the cell's values, through :func:`core.equal.settings.config_from_values` (the Bandit page's rules: a
        neighbour weight of 0 switches sharing off, a first pull reads at most D)."""
        base = values_of(self.base)
        out = []
        for combo in itertools.product(*(values for _, values in self.axes)):
            values, parts = dict(base), []
            for (name, _), value in zip(self.axes, combo):
                tunable = TUNABLES[name]
                values[tunable.spec.name] = value
                parts.append(tunable.cell_text(value, self.base.budget_kind))
            try:
                config = config_from_values(values)
            except (RunConfigError, TypeError) as exc:
                bad = [f"{TUNABLES[n].label} = {v!r}" for (n, _), v in zip(self.axes, combo)]
                raise TuneConfigError(f"{' · '.join(bad)}: {exc}") from None
            out.append(TuneCell(" · ".join(parts), dict(zip((n for n, _ in self.axes), combo)), config))
        return out

    def seeds_for(self, config: RunConfig) -> tuple[int, ...]:
        """The seeds a run of ``config`` is played with: every seed of the grid, or only the first where the
        configuration is :attr:`~core.equal.config.RunConfig.deterministic` (every seed would replay the same run,
        so the cell is played and shown as one run, as ``benchmarks/bench_equal.py`` does).

        >>> grid = TuneGrid((("policy", ("learned", "thompson")),), seeds=(4, 5, 6))
        >>> [grid.seeds_for(c.config) for c in grid.cells()]
        [(4,), (4, 5, 6)]
        """
        return self.seeds[:1] if config.deterministic else self.seeds

    @property
    def n_runs(self) -> int:
        """Runs the job plays: every cell and each baseline, once per seed of :meth:`seeds_for` (a deterministic
        one once).

        >>> TuneGrid((("batch_arms", (1, 3)),), seeds=(0, 1, 2), base=RunConfig(policy="learned")).n_runs
        6
        """
        configs = [c.config for c in self.cells()] + [self.baseline_config(p) for p in BASELINES]
        return sum(len(self.seeds_for(c)) for c in configs)

    def baseline_config(self, policy: str) -> RunConfig:
        """A baseline's settings: the base's, with the largest budget of any cell (its curve spans the x axis)."""
        budget = max(c.config.budget for c in self.cells())
        return replace(self.base, policy=policy, policy_params={}, budget=budget)


def grid_size_note(grid: TuneGrid) -> str:
    """What the lab says a grid plays: its cells and its runs, a deterministic cell or baseline counted once, and
    which play once and which play every seed (it read "Each plays the 3 seeds, but a deterministic one plays once:
    every setting cell here, and Avg-sim", every part but Random contradicting "each").

    >>> grid_size_note(TuneGrid((("batch_arms", (1, 3)),), seeds=(0, 1, 2)))  # doctest: +NORMALIZE_WHITESPACE
    '2 setting cells, with Random and Avg-sim: 6 runs. Every setting cell here and Avg-sim play once (their seeds
     would replay one run); Random plays the 3 seeds.'
    >>> grid_size_note(TuneGrid((("policy", ("thompson", "equal")),), seeds=(0, 1, 2))).split("; ")[1]
    'the other cells and Random play the 3 seeds.'
    >>> grid_size_note(TuneGrid((("policy", ("thompson", "exp3")),), seeds=(0, 1, 2))).split(". ", 1)[1]
    'Avg-sim plays once (its seeds would replay one run); the setting cells and Random play the 3 seeds.'
    >>> grid_size_note(TuneGrid((("batch_arms", (1, 3)),), seeds=(0,)))
    '2 setting cells × 1 seed, with Random and Avg-sim: 4 runs.'
    """
    cells = grid.cells()
    head = f"{len(cells)} setting cells"
    if len(grid.seeds) == 1:
        return f"{head} × 1 seed, with Random and Avg-sim: {grid.n_runs} runs."
    fixed = sum(len(grid.seeds_for(c.config)) == 1 for c in cells)
    seeds = f"{len(grid.seeds)} seeds"
    if fixed == len(cells):
        which = ("Every setting cell here and Avg-sim play once (their seeds would replay one run); Random plays "
                 f"the {seeds}")
    elif fixed:
        which = (f"{fixed} of the {len(cells)} setting cells and Avg-sim play once (their seeds would replay one run); "
                 f"the other cells and Random play the {seeds}")
    else:
        which = f"Avg-sim plays once (its seeds would replay one run); the setting cells and Random play the {seeds}"
    return f"{head}, with Random and Avg-sim: {grid.n_runs} runs. {which}."


def seed_note(grid: TuneGrid) -> str:
    """What the lab says when its seeds cannot spread some cells: ``""`` unless the grid has several seeds and a cell
    is deterministic (:attr:`RunConfig.deterministic`: every seed would replay the same run, so the cell plays once,
    :meth:`TuneGrid.seeds_for`, and shows as one line without a band; only the seeded baseline, Random, plays every
    seed).

    >>> seed_note(TuneGrid((("batch_arms", (1, 3)),), seeds=(0, 1, 2))).split(",")[0]
    'Every setting cell here is deterministic'
    >>> seed_note(TuneGrid((("policy", ("equal", "thompson")),), seeds=(0, 1))).split(",")[0]
    '1 of 2 setting cells is deterministic'
    >>> seed_note(TuneGrid((("batch_arms", (1, 3)),), seeds=(0,)))
    ''
    """
    cells = grid.cells()
    fixed = sum(c.config.deterministic for c in cells)
    if len(grid.seeds) < 2 or not fixed:
        return ""
    which = ("Every setting cell here is deterministic" if fixed == len(cells) else
             f"{fixed} of {len(cells)} setting cells {'is' if fixed == 1 else 'are'} deterministic")
    return (f"{which}, so it shows as one line without a band (the caption above counts its runs). To see a spread "
            "over seeds, vary the document order (Random) or the policy (Thompson sampling, Epsilon-greedy and EXP3 "
            "draw from the seed).")


def check_grid(grid: TuneGrid, space: ArmSpace, reference: NDArray) -> None:
    """Refuse, naming the setting, a grid some cell of which this map cannot play (before any work).

    ``B`` above the map's clusters is refused; every cell's run is then built once (without
    playing it), so what :class:`~core.equal.run.BanditRun` itself refuses (a similarity order
    without document embeddings) is refused here too.
    """
    k = space.k if space.k is not None else int(np.max(space.labels)) + 1
    empty = PrecomputedExtractor({})
    for cell in grid.cells():
        if cell.config.batch_arms > k:
            raise TuneConfigError(f"{TUNABLES['batch_arms'].label} = {cell.config.batch_arms} is more than the map's "
                                  f"{k} clusters; pick at most {k}")
        try:
            BanditRun(cell.config, space, reference, empty, table_embedder({}))
        except RunConfigError as exc:
            raise TuneConfigError(f"{cell.label}: {exc}") from None


def calls_to_spend(space: ArmSpace, extractor: Any, cache: BaselineCache) -> int:
    """Extraction calls a grid on ``space`` would spend: documents neither in ``cache`` nor kept on disk by the
    extractor (``extractor.is_cached(text)``: an LLM extractor's own cache, a
    :class:`~core.equal.extract.cache.CachedExtractor`'s), each read once."""
    is_cached = getattr(extractor, "is_cached", None)
    texts = space.texts
    n = 0
    for i, doc in enumerate(space.doc_ids):
        if doc in cache.pairs_by_doc:
            continue
        if callable(is_cached) and texts is not None and is_cached(texts[i]):
            continue
        n += 1
    return n


def on_task_share_by_round(run: BanditRun, on_task: set[str], n_rounds: int) -> NDArray[np.float64]:
    """Per round of ``run`` (``shape (n_rounds,)``): the share of the pairs found so far whose document is on-task
    (NaN before the first pair)."""
    rounds = np.asarray([m[0] for m in run.ledger.pair_meta], dtype=np.int64)
    hits = np.asarray([p.doc_id in on_task for p in run.ledger.pairs], dtype=np.float64)
    per_round_on = np.cumsum(np.bincount(rounds, weights=hits, minlength=n_rounds)[:n_rounds])
    per_round_all = np.cumsum(np.bincount(rounds, minlength=n_rounds)[:n_rounds]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(per_round_all > 0, per_round_on / per_round_all, np.nan)


def run_frame(run: BanditRun, cell: str, kind: str, on_task: set[str] | None) -> pd.DataFrame:
    """A finished run as rows of the tuning table (:data:`TABLE_COLUMNS`), one per round."""
    rounds = run.rounds_frame()
    n_rounds = int(rounds["round"].max()) + 1 if len(rounds) else 0
    share = (on_task_share_by_round(run, on_task, n_rounds)[rounds["round"].to_numpy(dtype=np.int64)]
             if on_task is not None and len(rounds) else np.full(len(rounds), np.nan))
    return pd.DataFrame({"cell": cell, "kind": kind, "policy": run.config.policy, "seed": run.config.seed,
                         "round": rounds["round"].to_numpy(dtype=np.int64),
                         "calls": rounds["calls_cum"].to_numpy(dtype=np.int64),
                         "coverage": rounds["coverage"].to_numpy(dtype=np.float64),
                         "reward": rounds["reward_cum"].to_numpy(dtype=np.float64),
                         "pairs": rounds["pairs_cum"].to_numpy(dtype=np.int64), "on_task_share": share},
                        columns=TABLE_COLUMNS)


class TuneJob(Job):
    """A :class:`TuneGrid` played as one cancellable :class:`~core.jobs.Job` (see the module docstring).

    Units: a batch of documents extracted (only those not cached, and only with ``spend``), a
    batch of pair texts embedded, then one run per cell and seed, and per baseline and seed (a deterministic cell
    or baseline: one run, :meth:`TuneGrid.seeds_for`).
    :meth:`table` holds the runs finished so far (a cancelled job keeps them, and ``cache`` keeps
    what was extracted and embedded). ``result`` is the table when done.

    Parameters
    ----------
    grid : TuneGrid
    space : ArmSpace
        The corpus map's arms, with texts (a document not cached is extracted from them) and
        ``doc_emb`` (Avg-sim and the similarity prior need it).
    extractor : Extractor
        Reads the documents the cache lacks; with an LLM, only after ``spend=True``.
    embed : callable
        ``texts -> (len, d)`` unit vectors in the space of ``reference`` (shape ``(m, d)``).
    cache : BaselineCache, optional
        Shared with the Bandit page's baselines on the same corpus map and extractor.
    on_task : set of str, optional
        On-task document ids (:func:`core.equal.ontask.on_task_ids`); the table's on-task share.
    spend : bool
        Confirms the extraction calls :func:`calls_to_spend` counts; without it a grid that needs
        any raises :class:`TuneSpendError` here, before the job starts.

    Raises
    ------
    TuneConfigError
        A cell this map cannot play (:func:`check_grid`); :class:`TuneSpendError` as above.
    """

    def __init__(self, grid: TuneGrid, space: ArmSpace, extractor: Any, embed: Callable[[Sequence[str]], NDArray],
                 reference: NDArray, cache: BaselineCache | None = None, on_task: set[str] | None = None,
                 spend: bool = False) -> None:
        reference = np.atleast_2d(np.asarray(reference, dtype=np.float32))
        check_grid(grid, space, reference)
        self.cache = cache if cache is not None else BaselineCache()
        self.calls_needed = calls_to_spend(space, extractor, self.cache)
        if self.calls_needed and not spend:
            raise TuneSpendError(self.calls_needed)
        self.grid, self.space, self.extractor, self.embed, self.reference = grid, space, extractor, embed, reference
        self.on_task = on_task
        self.frames: list[pd.DataFrame] = []
        self.failed_docs: list[str] = []
        super().__init__("Tuning grid", self._units())

    # ------------------------------------------------------------------ work
    def _units(self) -> Generator[Tick, None, pd.DataFrame]:
        yield from self._extract()
        yield from self._embed()
        bare = replace(self.space, texts=None)
        pairs = {d: self.cache.pairs_by_doc.get(d, []) for d in self.space.doc_ids}
        embed = table_embedder(self.cache.table)
        runs = [(c.label, "setting", c.config) for c in self.grid.cells()]
        runs += [(p, "baseline", self.grid.baseline_config(p)) for p in BASELINES
                 if p != "avg-sim" or self.space.doc_emb is not None]
        total = sum(len(self.grid.seeds_for(config)) for _, _, config in runs)
        n = 0
        with single_thread_blas():
            for label, kind, config in runs:
                for seed in self.grid.seeds_for(config):  # a deterministic cell once: its seeds replay one run
                    run = BanditRun(replace(config, seed=seed), bare, self.reference, PrecomputedExtractor(pairs),
                                    embed, name=f"{label} seed {seed}").run_until_done()
                    self.frames.append(run_frame(run, label, kind, self.on_task))
                    n += 1
                    yield Tick(n, total, "Replaying the grid")
        return self.table()

    def _extract(self) -> Generator[Tick, None, None]:
        ids, texts = list(self.space.doc_ids), self.space.texts
        todo = [i for i, d in enumerate(ids) if d not in self.cache.pairs_by_doc]
        if todo and texts is None:
            raise TuneConfigError(f"{len(todo)} documents are not in the cache and the arm space has no texts")
        assert texts is not None or not todo
        for start in range(0, len(todo), BATCH_DOCS):
            chunk = todo[start:start + BATCH_DOCS]
            found, bad = extract_batch(self.extractor, [(ids[i], texts[i]) for i in chunk])  # type: ignore[index]
            self.cache.pairs_by_doc.update(found)  # per batch: a cancelled job keeps what it extracted
            self.failed_docs += bad
            yield Tick(min(start + BATCH_DOCS, len(todo)), len(todo), "Extracting the documents not cached")
        if self.failed_docs:
            raise TuneConfigError(failed_message(self.failed_docs, "the others are kept, so running the grid again "
                                                                   "retries only these"))

    def _embed(self) -> Generator[Tick, None, None]:
        wanted = dict.fromkeys(p.as_text() for d in self.space.doc_ids for p in self.cache.pairs_by_doc.get(d, []))
        missing = [t for t in wanted if t not in self.cache.table]
        for start in range(0, len(missing), BATCH_TEXTS):
            chunk = missing[start:start + BATCH_TEXTS]
            self.cache.table.update(zip(chunk, np.asarray(self.embed(chunk), dtype=np.float32)))
            yield Tick(min(start + BATCH_TEXTS, len(missing)), len(missing), "Embedding the pairs")

    # ------------------------------------------------------------------ what the page shows
    def table(self) -> pd.DataFrame:
        """The rows of every run finished so far: :data:`TABLE_COLUMNS`, then one column per varied setting
        holding the cell's value (empty for the baselines)."""
        table = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame(columns=TABLE_COLUMNS)
        for name, _ in self.grid.axes:
            by_label = {c.label: c.values[name] for c in self.grid.cells()}
            column = table["cell"].map(by_label)
            whole = all(isinstance(v, int) and not isinstance(v, bool) for v in by_label.values())
            table[name] = column.astype("Int64") if whole else column  # a count stays a count beside empty baselines
        return table

    def describe(self) -> str:
        """What the progress bar says: ``"Replaying the grid: 12/42 runs · 9/s · 3 s left"``."""
        stage = self.progress().stage
        unit = "runs" if stage == "Replaying the grid" else ("pair texts" if stage.startswith("Embedding")
                                                             else "documents")
        return self.progress().describe(unit)

    def cancel_note(self) -> str | None:
        """The warning a cancelled job shows (``None`` unless cancelled)."""
        if self.status != "cancelled":
            return None
        return (f"Cancelled: {len(self.frames)} of {self.grid.n_runs} runs finished are shown; what was extracted "
                "and embedded is kept, so running the grid again resumes.")


def _step_at(calls: NDArray, values: NDArray, grid: NDArray) -> NDArray[np.float64]:
    """``values`` read as a step function of ``calls`` (sorted) at ``grid``: the last value at ``calls <= x``, NaN
    before the first.

    >>> _step_at(np.array([10, 20]), np.array([0.5, 0.7]), np.array([5, 10, 15, 25]))
    array([nan, 0.5, 0.5, 0.7])
    """
    idx = np.searchsorted(calls, grid, side="right") - 1
    out = np.asarray(values, dtype=np.float64)[np.clip(idx, 0, None)]
    return np.where(idx >= 0, out, np.nan)


def summarize_tune(table: pd.DataFrame, value: str = "coverage", points: int = 60) -> pd.DataFrame:
    """Curves with a band over seeds: per cell and point of a shared calls axis, ``mean``, ``lo``, ``hi``.

    Each run is read as a step function of its extraction calls (its value after its last
    round at or before ``calls``); ``lo``/``hi`` are the lowest and highest seed, and a point
    past a seed's last round reads that seed's final value (a run that stopped early keeps
    what it found). Columns: ``cell, kind, calls, mean, lo, hi, seeds``.
    """
    cols = ["cell", "kind", "calls", "mean", "lo", "hi", "seeds"]
    data = table.dropna(subset=[value])
    if data.empty:
        return pd.DataFrame(columns=cols)
    top = int(data["calls"].max())
    grid = np.unique(np.linspace(0, top, points).round().astype(np.int64))
    out = []
    for (cell, kind), g in data.groupby(["cell", "kind"], sort=False):
        curves = np.stack([_step_at(r["calls"].to_numpy(), r[value].to_numpy(), grid)
                           for _, r in g.sort_values("round").groupby("seed", sort=True)])
        seen = ~np.isnan(curves)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a point no seed has reached yet is NaN
            mean, lo, hi = np.nanmean(curves, 0), np.nanmin(curves, 0), np.nanmax(curves, 0)
        out.append(pd.DataFrame({"cell": cell, "kind": kind, "calls": grid, "mean": mean, "lo": lo, "hi": hi,
                                 "seeds": seen.sum(0)}))
    return pd.concat(out, ignore_index=True)[cols]


def rank_cells(table: pd.DataFrame) -> pd.DataFrame:
    """One row per cell, best first: the final coverage's mean and spread over seeds, the runs played (one for a
    deterministic cell, :meth:`TuneGrid.seeds_for`), the calls spent, and the final on-task share (NaN without a
    provenance label). Columns: ``cell, kind, coverage, coverage_sd, spread, runs, calls, on_task_share``; a
    baseline's cell in words (:data:`BASELINE_NAMES`: ``"Random (baseline)"``, as the chart's legend says it; the
    table read ``random``). A cell played once has no spread: ``coverage_sd`` is NaN and ``spread`` says "one run"
    (it read "± 0.000", as if its seeds had agreed); otherwise ``spread`` is ``"± <sd>"``."""
    cols = ["cell", "kind", "coverage", "coverage_sd", "spread", "runs", "calls", "on_task_share"]
    if table.empty:
        return pd.DataFrame(columns=cols)
    last = table.sort_values("round").groupby(["cell", "kind", "seed"], sort=False).tail(1)
    out = last.groupby(["cell", "kind"], sort=False).agg(
        coverage=("coverage", "mean"), coverage_sd=("coverage", "std"), runs=("seed", "nunique"),
        calls=("calls", "mean"), on_task_share=("on_task_share", "mean")).reset_index()
    out["spread"] = np.where(out["runs"] > 1, "± " + out["coverage_sd"].map("{:.3f}".format), "one run")
    baseline = out["kind"] == "baseline"
    out.loc[baseline, "cell"] = out.loc[baseline, "cell"].map(lambda c: BASELINE_NAMES.get(c, c))
    return out.sort_values(["coverage", "cell"], ascending=[False, True], ignore_index=True)[cols]


def clicked_cell(chart_state: Any, cells: Sequence[str]) -> str | None:
    """The setting cell a click on the tuning chart names, if it is one of ``cells`` (a baseline's curve is not).

    ``chart_state`` is the chart's selection state (``{"selection": {"points": [...]}}``); each point carries its
    cell in ``customdata`` (:func:`core.viz.tuning.make_tuning_figure`), so the click maps by name, not position.

    >>> clicked_cell({"selection": {"points": [{"curve_number": 5, "customdata": "B=3"}]}}, ["B=1", "B=3"])
    'B=3'
    >>> clicked_cell({"selection": {"points": [{"customdata": "random"}]}}, ["B=1", "B=3"]) is None
    True
    >>> clicked_cell(None, ["B=1"]) is None
    True
    """
    points = ((chart_state or {}).get("selection") or {}).get("points") or []
    for point in points:
        cell = point.get("customdata")
        cell = cell[0] if isinstance(cell, (list, tuple)) and cell else cell
        if isinstance(cell, str) and cell in cells:
            return cell
    return None


def setting_cells(ranked: pd.DataFrame) -> list[str]:
    """The setting cells of :func:`rank_cells`'s frame, best first (the baselines have no settings to apply)."""
    return ranked.loc[ranked["kind"] == "setting", "cell"].tolist()


def bandit_link(page_url: str | None, config: RunConfig, reference: str | None = None) -> str:
    """The Bandit page's address with ``config``'s settings (:func:`core.equal.settings.settings_link`) and the
    ``reference`` task (a preset; left out at the page's default), beside the page at ``page_url`` (the lab's own
    address; ``None``: a relative link).

    >>> bandit_link("http://127.0.0.1:8501/tuning_lab", RunConfig(batch_arms=5))
    'http://127.0.0.1:8501/bandit?batch_arms=5'
    >>> bandit_link(None, RunConfig(batch_arms=5), reference="statistics")
    '/bandit?reference=statistics&batch_arms=5'
    """
    from urllib.parse import urlencode

    from core.equal.reference import DEFAULT_PRESET
    from core.equal.settings import settings_link

    root = (page_url or "").split("?", 1)[0].rsplit("/", 1)[0]
    query = "&".join(q for q in (urlencode({"reference": reference}) if reference not in (None, DEFAULT_PRESET)
                                 else "", settings_link(config)) if q)
    return f"{root}/bandit" + (f"?{query}" if query else "")


def cell_settings(grid: TuneGrid, label: str) -> RunConfig:
    """The :class:`RunConfig` of the cell labelled ``label`` (for the Bandit page's settings)."""
    for cell in grid.cells():
        if cell.label == label:
            return cell.config
    raise KeyError(f"no cell {label!r} in this grid")


def total_calls_hint(grid: TuneGrid, n_docs: int) -> int:
    """The most documents one run of ``grid`` reads (its largest budget), for the page's caption."""
    budgets = [c.config.budget for c in grid.cells()]
    return share_of(max(budgets), n_docs) if grid.base.budget_kind == "share" else int(max(budgets))


TABLE_FORMATS = (".csv", ".parquet")


def write_table(table: pd.DataFrame, out: str | Path) -> Path:
    """Write the tuning table as CSV or Parquet, chosen by ``out``'s suffix; nothing half-written is left."""
    from core.csv_safe import to_safe_csv
    from core.disk import write_atomic

    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise TuneConfigError(f"--out {path.name}: the suffix picks the format, use .csv or .parquet")
    if suffix == ".csv":
        text = to_safe_csv(table)
        return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                            f"the tuning table could not be written to {path.name}")
    frame = table.copy()
    for column in frame.select_dtypes(include="object").columns:
        frame[column] = frame[column].map(lambda v: None if v is None or v != v else str(v))
    return write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False),
                        f"the tuning table could not be written to {path.name}")


def axes_from(names: Sequence[str], values: Mapping[str, Sequence[Any]]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The page's picks as a grid's axes: ``names`` in order, each with its chosen values (none chosen: empty).

    >>> axes_from(["docs_per_pull"], {"docs_per_pull": [3, 10], "budget": [0.1]})
    (('docs_per_pull', (3, 10)),)
    """
    return tuple((name, tuple(values.get(name, ()))) for name in names)
