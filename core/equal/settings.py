"""Every setting of a bandit run declared once: the page's widgets, the CLI's options and the links derive from here.

A :class:`Setting` names one field of :class:`~core.equal.config.RunConfig` by its path
(``"batch_arms"``, ``"reward.credit"``, ``"policy_params.alpha"``) and says its type (``int``,
``float``, ``bool`` or a choice, a :class:`enum.StrEnum` of :mod:`core.equal.choices`), its
range, its label in words, its help (formulas go there), the paper's value, and when it applies
(``policy_params.c`` only to UCB1; ``reward.offset`` only to the paper's per-pull credit). The
default is read from ``RunConfig()`` (a policy's parameter from the policy's own signature), so
it is never typed twice. Validation stays in ``RunConfig``: :func:`check_setting` asks it.

:func:`config_from_values` is the one way to turn settings into a ``RunConfig`` (the page, the
CLI and the links use it); it holds the rules that tie settings together:

* a setting that does not apply (a policy's parameter under another policy, the offset under
  per-document credit) takes its default;
* a neighbour weight of 0 switches neighbour sharing off (``share_neighbours=False``);
* an arm's first pull reads at most ``D`` documents (``min(first_pull_docs, docs_per_pull)``);
* a policy's parameters are recorded only where they differ from the policy's default.

>>> config = config_from_values({"policy": "ucb1", "policy_params.c": 2.0, "docs_per_pull": 2})
>>> config.policy, dict(config.policy_params), config.first_pull_docs
('ucb1', {'c': 2.0}, 2)
>>> settings_link(config)
'policy=ucb1&c=2.0&docs_per_pull=2&first_pull_docs=2'
>>> config_from_values({}) == RunConfig()
True
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any
from urllib.parse import urlencode

from core.equal.choices import (
    AlphaRule,
    ArmEstimate,
    ArmPrior,
    BudgetKind,
    Credit,
    DocOrder,
    DocSimilarity,
    EmptyReward,
    Exhaust,
    ExtractorKind,
    OTMethod,
    Policy,
    RewardEstimate,
    StopRule,
)
from core.equal.config import RunConfig, RunConfigError
from core.equal.reward import OTReward
from core.validate import Refusal, refusal_of

__all__ = ["NUMBER", "PAGE_GROUPS", "SETTINGS", "Setting", "changed_settings", "check_setting", "config_from_values",
           "decode_link", "dependent_defaults", "differing_settings", "flat_values", "link_state", "link_values",
           "settings_link", "widget_state"]

NUMBER = "number"  # what a setting that takes a word or a number (alpha: "paper" or 0.001) holds when it is a number
KEY_PREFIX = "bd_"  # the Bandit page's session keys: "bd_" + the field's own name


@dataclass(frozen=True)
class Setting:
    """One setting of a run.

    Parameters
    ----------
    name : str
        The ``RunConfig`` field path: ``"budget"``, ``"reward.credit"``, ``"policy_params.alpha"``.
    kind : type
        ``int``, ``float``, ``bool``, or a ``StrEnum`` whose values are the choices.
    label, help : str
        What a form shows, in words; the help holds formulas and the paper's value.
    group : str
        Where the page draws it: ``"main"`` (in view above Start), ``"policy"``, ``"pulls"``,
        ``"reward"``, ``"extractor"``, or ``"cli"`` (the command line only: the page's seed is the sidebar's).
    lo, hi, lo_open, hi_open
        The range ``RunConfig`` accepts (``None``: unbounded; ``*_open``: the end is excluded).
    word : type[StrEnum], optional
        A word the setting takes instead of a number (``AlphaRule.PAPER``, ``EmptyReward.WORST``).
    paper : Any
        The value in EQUAL's paper or code (``None``: it has none).
    when : (str, tuple of str), optional
        ``(setting name, values)``: it applies only while that setting has one of those values.
    default_by : (str, mapping), optional
        ``(setting name, {value: default})``: its default depends on another setting (the budget on its kind).
    label_by : (str, mapping), optional
        ``(setting name, {value: label})``: its label too (the budget's unit: a share, calls or a cost).
    step, widget
        Page hints: a number input's step; ``"slider"``, ``"toggle"`` or ``"radio"`` instead of the usual widget.
    choice_labels : mapping
        Words for choices (and for ``word``) where the value alone says too little.
    number : float
        For a ``word`` setting: the number it starts at when a number is chosen instead of the word.
    """

    name: str
    kind: type
    label: str
    help: str
    group: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    word: type[StrEnum] | None = None
    paper: Any = None
    when: tuple[str, tuple[Any, ...]] | None = None
    default_by: tuple[str, Mapping[str, Any]] | None = None
    label_by: tuple[str, Mapping[str, str]] | None = None
    step: float | None = None
    widget: str = ""
    choice_labels: Mapping[str, str] = field(default_factory=dict)
    number: float = 0.0

    @property
    def field(self) -> str:
        """The field's own name, the last part of :attr:`name` (what the CLI, links and messages call it)."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def slug(self) -> str:
        """The link's query parameter."""
        return self.field

    @property
    def flag(self) -> str:
        """The CLI option: ``--`` and the field's name with dashes (``--docs-per-pull``)."""
        return "--" + self.field.replace("_", "-")

    @property
    def key(self) -> str:
        """The Bandit page's session key of its widget (for a ``word`` setting: the number's)."""
        return KEY_PREFIX + self.field

    @property
    def rule_key(self) -> str:
        """A ``word`` setting's second widget: the word, or :data:`NUMBER`."""
        return self.key + "_rule"

    @property
    def word_choices(self) -> tuple[str, ...]:
        """A ``word`` setting's first widget's options: its words, then :data:`NUMBER`."""
        return (*_values(self.word), NUMBER) if self.word is not None else ()

    def number_default(self, values: Mapping[str, Any]) -> Any:
        """What the number widget starts at: the default if it is a number, else :attr:`number`."""
        default = self.default_for(values)
        return self.number if isinstance(default, str) or default is None else default

    @property
    def choices(self) -> tuple[str, ...]:
        """The values of a choice setting (plain strings), else ``()``."""
        if isinstance(self.kind, type) and issubclass(self.kind, Enum):
            return tuple(str(m.value) for m in self.kind)
        return ()

    @property
    def default(self) -> Any:
        """The value ``RunConfig()`` gives (a policy's parameter: the policy's own default)."""
        return _field_default(self.name)

    def default_for(self, values: Mapping[str, Any]) -> Any:
        """The default given the other settings' ``values`` (the budget's depends on its kind)."""
        if self.default_by is not None:
            other, table = self.default_by
            chosen = values.get(other, _field_default(other))
            if chosen in table:
                return table[chosen]
        return self.default

    def label_for(self, values: Mapping[str, Any]) -> str:
        """The label given the other settings' ``values`` (the budget's names its kind's unit).

        >>> BY_NAME["budget"].label_for({"budget_kind": "calls"})
        'Budget value (extraction calls)'
        """
        if self.label_by is not None:
            other, table = self.label_by
            return table.get(_plain(values.get(other, _field_default(other))), self.label)
        return self.label

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether the setting matters given the other settings' ``values`` (missing ones at their default)."""
        if self.when is None:
            return True
        other, allowed = self.when
        return _plain(values.get(other, _field_default(other))) in allowed

    def parse(self, text: str) -> Any:
        """A link's or the command line's text as a value of this setting's type, else ``ValueError`` saying why.

        The range is not checked here: :func:`check_setting` asks ``RunConfig``.
        """
        text = str(text).strip()
        if self.choices:
            if text not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}")
            return text
        if self.word is not None and text in _values(self.word):
            return text
        if self.kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("must be 1 or 0")
        if self.kind is int:
            try:
                return int(text)
            except ValueError:
                raise ValueError("must be a whole number") from None
        try:
            value = float(text)
        except ValueError:
            words = f" or {', '.join(_values(self.word))}" if self.word is not None else ""
            raise ValueError(f"must be a number{words}") from None
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


def _values(choice: type[StrEnum]) -> tuple[str, ...]:
    return tuple(str(m.value) for m in choice)


def _plain(value: Any) -> Any:
    """A choice member as its plain string (stored runs hold strings); anything else unchanged."""
    return str(value.value) if isinstance(value, Enum) else value


_PULL_CREDIT = ("reward.credit", (Credit.PULL.value,))
_PRIORS = ("unplayed", (ArmEstimate.PRIOR.value, ArmEstimate.EB.value))

#: Every setting of a run, in the order the page draws them (a condition names a setting drawn before it).
SETTINGS: tuple[Setting, ...] = (
    # ------------------------------------------------------------------ in view above Start
    Setting("policy", Policy, "Policy", "Who picks what to read: learned (the default): the documents most similar "
            "to the reference, corrected by what the run's own reads predict they yield (a ridge on the embedding "
            "with a per-cluster intercept), grouped into one pull per cluster; EQUAL's score over clusters (equal, "
            "the paper), UCB1, Thompson sampling, epsilon-greedy, EXP3; or a baseline that picks documents: random, "
            "all, most similar to the reference (avg-sim).", "main", paper="equal",
            choice_labels={"equal": "EQUAL (the paper's score)", "ucb1": "UCB1", "thompson": "Thompson sampling",
                           "epsilon-greedy": "Epsilon-greedy", "exp3": "EXP3",
                           "random": "Baseline: random documents", "all": "Baseline: every document in order",
                           "avg-sim": "Baseline: most similar first",
                           "learned": "Learned (the default)"}),
    Setting("budget_kind", BudgetKind, "Budget", "What the budget counts: a share of the corpus' documents, "
            "extraction calls, or cost (an endpoint's prices).", "main", paper="share",
            choice_labels={"share": "Share of the documents", "calls": "Extraction calls",
                           "cost": "Cost (endpoint prices)"}),
    Setting("budget", float, "Budget value (share: 0-1)", "A share of the documents in (0, 1] (the paper: 0.05), "
            "or a number of calls, or a cost.", "main", lo=0, lo_open=True, paper=0.05, step=0.01,
            default_by=("budget_kind", {BudgetKind.CALLS.value: 100.0, BudgetKind.COST.value: 100.0}),
            label_by=("budget_kind", {BudgetKind.CALLS.value: "Budget value (extraction calls)",
                                      BudgetKind.COST.value: "Budget value (cost)"})),
    # ------------------------------------------------------------------ the policy and its prior
    Setting("policy_params.alpha", float, "Exploration weight", "How strongly EQUAL tries the clusters it has "
            "pulled least. Its score mean_j + alpha sqrt(2 ln(sum T) / (T_j + 1)), this weight being alpha; paper: "
            "alpha = 1/(sum T + 1), the authors' code: a constant 0.001.", "policy", lo=0,
            word=AlphaRule, paper="paper", when=("policy", ("equal",)), step=0.001, number=0.001,
            choice_labels={"paper": "The paper's, shrinking as pulls add up", NUMBER: "A constant"}),
    Setting("policy_params.c", float, "Exploration weight", "How strongly UCB1 tries the clusters it has pulled "
            "least: 0 always pulls the best mean so far. Its score mean_j + c sqrt(2 ln N / T_j), this weight being c "
            "(Auer et al. 2002).", "policy", lo=0, when=("policy", ("ucb1",)), step=0.1),
    Setting("policy_params.sigma", float, "Reward noise", "Thompson sampling's known reward noise sigma: the "
            "posterior of an arm has variance 1 / (1/prior_sigma^2 + T_j/sigma^2).", "policy", lo=0, lo_open=True,
            when=("policy", ("thompson",)), step=0.01),
    Setting("policy_params.prior_sigma", float, "Prior spread", "Thompson sampling's prior N(0, prior_sigma^2) "
            "of an arm's reward.", "policy", lo=0, lo_open=True, when=("policy", ("thompson",)), step=0.05),
    Setting("policy_params.epsilon", float, "Exploration share", "Epsilon-greedy: each arm of a round is replaced "
            "by a random one with probability epsilon.", "policy", lo=0, hi=1, when=("policy", ("epsilon-greedy",)),
            widget="slider"),
    Setting("policy_params.gamma", float, "Exploration share", "EXP3: p = (1 - gamma) w / sum w + gamma / K.",
            "policy", lo=0, hi=1, lo_open=True, when=("policy", ("exp3",)), widget="slider"),
    Setting("unplayed", ArmEstimate, "Arm estimate before pulls", "Similarity, trusted as the rewards allow (eb): "
            "from the cluster's similarity to the reference, trusted as far as the rewards' variances say; "
            "similarity, fixed weight (prior): the same with a fixed weight; mean reward so far (mean); zero (the "
            "paper): every arm first.", "policy", paper="zero",
            choice_labels={"eb": "Similarity, trusted as the rewards allow", "prior": "Similarity, fixed weight",
                           "mean": "Mean reward so far", "zero": "Zero, every arm first (the paper)"}),
    Setting("prior_weight", float, "Prior weight (pseudo-pulls)", "Pseudo-pulls at the predicted reward (prior; "
            "eb until two arms have two pulls); 0: the prediction only orders the unplayed arms.", "policy", lo=0,
            when=_PRIORS, step=1.0),
    Setting("share_neighbours", bool, "Neighbour reward sharing", "EQUAL's sharing: a pull also counts for the "
            "cluster's neighbours on the map.", "policy", paper=True, widget="toggle"),
    Setting("neighbour_weight", float, "Neighbour weight", "What a neighbouring cluster's pull counts for an arm: 1 "
            "as much as its own (the paper), less pools the neighbours as weaker evidence; 0: no sharing.", "policy",
            lo=0, hi=1, paper=1.0, when=("share_neighbours", (True,)), step=0.05),
    # ------------------------------------------------------------------ what a pull reads
    Setting("batch_arms", int, "Arms per round", "Clusters pulled each round (B in the paper; the authors' code: "
            "50 of k = 1000).", "pulls", lo=1),
    Setting("docs_per_pull", int, "Documents per pull", "Documents extracted per pull (D in the paper; the paper: "
            "10).", "pulls", lo=1, paper=10),
    Setting("first_pull_docs", int, "First pull of an arm (docs)", "A cheap probe, at most Documents per pull; set "
            "it to Documents per pull for the paper's behaviour.", "pulls", lo=1),
    Setting("doc_order", DocOrder, "Document order in a cluster", "Most similar first (similar): a cluster's "
            "documents most similar to the reference first (the bandit still picks the cluster from the rewards); "
            "random (random): a seeded shuffle (the paper); corpus order (file); learned value first (learned): by "
            "the value the run's own reads predict for each document (a ridge regression on its embedding and "
            "similarity, most similar first until 10 are read).", "pulls", paper="random",
            choice_labels={"random": "Random (a seeded shuffle; the paper)", "file": "Corpus order",
                           "similar": "Most similar first", "learned": "Learned value first"}),
    Setting("order_explore", float, "Order exploration", "similar/learned order, and the learned policy: seeded "
            "Gumbel noise on each document's score, in standard deviations of the similarities, so the seed samples "
            "the order around the ranking; 0 reads the best first, always (the seed then changes nothing but ties).",
            "pulls", lo=0, step=0.25, when=("doc_order", (DocOrder.SIMILAR.value, DocOrder.LEARNED.value))),
    Setting("doc_similarity", DocSimilarity, "Document similarity", "To the nearest reference example (max): a "
            "document's cosine to it; to the reference on average (mean): its mean cosine to them all (what avg-sim "
            "ranks by). Orders a cluster's documents and starts the similarity estimates of an arm.", "pulls",
            choice_labels={"max": "To the nearest reference example", "mean": "To the reference on average"}),
    Setting("arm_prior", ArmPrior, "Arm prior from", "The whole cluster (cluster): the similarity of all its "
            "documents; its next pull's documents (next): of the documents its next pull reads (with the learned "
            "order, their learned value), every round.", "policy", when=_PRIORS,
            choice_labels={"cluster": "The whole cluster", "next": "Its next pull's documents"}),
    Setting("exhaust", Exhaust, "Cluster with fewer documents left than one pull reads", "Its last pull takes "
            "what is left (partial), or it is done (strict, the paper): the arm is exhausted. One pull reads "
            "Documents per pull (D in the paper).", "pulls", paper="strict",
            choice_labels={"partial": "Its last pull takes what is left", "strict": "It is done (the paper)"}),
    Setting("stop", StopRule, "Stop rule", "Stop when the budget is spent (budget), or also after "
            "'patience' rounds whose mean reward did not beat the best round (plateau).", "pulls", paper="budget",
            choice_labels={"budget": "When the budget is spent", "plateau": "Also when the reward plateaus"}),
    Setting("patience", int, "Plateau patience (rounds)", "Rounds without a better round before a plateau stop.",
            "pulls", lo=1, when=("stop", ("plateau",))),
    # ------------------------------------------------------------------ how a pull is rewarded
    Setting("reward.method", OTMethod, "OT solver", "The optimal-transport solver: exact EMD (Sinkhorn above 2,000 "
            "points), Sinkhorn, or IPOT (the authors' code).", "reward", paper="ipot",
            choice_labels={"emd": "Exact (EMD)", "sinkhorn": "Sinkhorn", "ipot": "IPOT (the authors' code)"}),
    Setting("reward.credit", Credit, "Reward credit", "Per document (document): each pair's cosine to the reference "
            "examples OT moves it to, summed and divided by the documents read (yield counts); per pair (pair); per "
            "pull (pull): one OT distance per pull, 1 - W - offset (the paper).", "reward", paper="pull",
            choice_labels={"document": "Per document", "pair": "Per pair", "pull": "Per pull (the paper)"}),
    Setting("reward.offset", float, "Reward offset (pull credit)", "reward = 1 - W - offset (the authors' code: "
            "0.12).", "reward", paper=0.12, when=_PULL_CREDIT, step=0.01),
    Setting("reward.estimate", RewardEstimate, "Reward estimate", "A pull is rewarded by the OT of its own pairs "
            "(batch, the authors' code), or of all the arm's pairs so far (cumulative, the paper's text).",
            "reward", paper="batch", choice_labels={"batch": "The pull's own pairs (the authors' code)",
                                                    "cumulative": "All the arm's pairs so far (the paper's text)"}),
    Setting("reward.empty_reward", float, "Empty pull reward (pull credit)", "A pull that yields no pairs: the worst "
            "reward so far, or a number (the paper: 0).", "reward", word=EmptyReward, paper=0.0, when=_PULL_CREDIT,
            step=0.1, choice_labels={"worst": "The worst so far", NUMBER: "A number"}),
    # ------------------------------------------------------------------ who extracts
    Setting("extractor", ExtractorKind, "Extractor", "rules: offline and free; openai: an OpenAI-compatible "
            "endpoint (the CLI reads it from EQUAL_LLM_BASE_URL / EQUAL_LLM_MODEL / EQUAL_LLM_API_KEY).",
            "extractor", widget="radio",
            choice_labels={"rules": "Rule-based (offline)", "openai": "OpenAI-compatible endpoint"}),
    Setting("max_failures", int, "Failures before stopping", "Consecutive failed extractions after which the run "
            "stops as 'stopped: endpoint failing' (resume it once the endpoint answers).", "extractor", lo=1,
            when=("extractor", ("openai",))),
    Setting("seed", int, "Seed", "Seeds the run's every draw (on the page: the sidebar's Seed).", "cli", lo=0),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
#: The page's groups (the ``"cli"`` group is the command line's only).
PAGE_GROUPS: dict[str, tuple[Setting, ...]] = {
    group: tuple(s for s in SETTINGS if s.group == group)
    for group in ("main", "policy", "pulls", "reward", "extractor")}
PAGE_SETTINGS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.group != "cli")


@functools.cache
def _policy_default(policy: str, param: str) -> Any:
    from core.equal.policies import make_policy

    return inspect.signature(type(make_policy(policy)).__init__).parameters[param].default


def _field_default(name: str) -> Any:
    defaults = RunConfig()
    if name.startswith("policy_params."):
        param = name.split(".", 1)[1]
        if param in defaults.policy_params:
            return defaults.policy_params[param]
        when = BY_NAME[name].when
        assert when is not None, f"{name}: a policy's parameter says which policy it belongs to"
        return _policy_default(when[1][0], param)
    value: Any = defaults
    for part in name.split("."):
        value = getattr(value, part)
    return value


def _typed(spec: Setting, value: Any) -> Any:
    """``value`` as the setting's type where it is a plain number of another (a widget's 3.0 for an int); a value
    of the wrong kind is passed on for ``RunConfig`` to refuse, naming the setting."""
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if spec.kind is int and float(value).is_integer():
        return int(value)
    if spec.kind is float:
        return float(value)
    return value


def resolve(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting's value: the given one where it applies, else its default (conditions read the given values).

    >>> resolve({"policy": "equal", "policy_params.c": 5.0})["policy_params.c"]  # c is UCB1's
    1.0
    """
    given = {name: _typed(BY_NAME[name], v) for name, v in values.items() if name in BY_NAME and v is not None}
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown:
        raise RunConfigError(f"unknown run setting(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for spec in SETTINGS:  # in order: a condition names a setting resolved before it
        context = {**given, **out}
        out[spec.name] = given[spec.name] if spec.name in given and spec.applies(context) else spec.default_for(context)
    return out


class SettingRefusedError(RunConfigError):
    """A setting's value refused, said as a form says it: the setting's label and its rule in words
    (``"Budget value (share: 0-1) must be above 0 and at most 1, got 2.0"``). :attr:`setting`, :attr:`rule` and
    :attr:`got` let the command line name its option instead (:meth:`for_cli`); :attr:`refusal` is the refusal of
    ``RunConfig`` (or a policy, or ``OTReward``) it words."""

    def __init__(self, setting: Setting, label: str, rule: str, got: str, refusal: Refusal | None = None) -> None:
        self.setting, self.label, self.rule, self.got = setting, label, rule, got
        super().__init__(f"{label} must be {rule}, got {got}", refusal)

    def for_cli(self) -> str:
        """The refusal naming the command line's option (``"--budget must be above 0 and at most 1, got 2.0"``)."""
        return f"{self.setting.flag} must be {self.rule}, got {self.got}"


_BY_FIELD: dict[str, Setting] = {s.field: s for s in SETTINGS}


def in_words(exc: ValueError, values: Mapping[str, Any]) -> ValueError:
    """``exc`` (a refusal of ``RunConfig``, ``OTReward`` or a policy that carries its
    :class:`~core.validate.Refusal`) as a :class:`SettingRefusedError` that names the setting by its label given the
    other ``values`` (the budget's unit follows its kind) and says the rule in words; ``exc`` itself when it names
    no setting. The refusal's fields are read, never its message.

    >>> from core.validate import Rule
    >>> gamma = Refusal("gamma", Rule(lo=0, hi=1, lo_open=True), 0.0, owner="EXP3")
    >>> str(in_words(RunConfigError("anything at all", gamma), {"policy": "exp3"}))
    'Exploration share must be above 0 and at most 1, got 0.0'
    >>> budget = Refusal("budget", Rule(lo=0, lo_open=True), 0.0, owner="RunConfig")
    >>> str(in_words(RunConfigError(str(budget), budget), {"budget_kind": "calls"}))
    'Budget value (extraction calls) must be above 0, got 0.0'
    """
    refusal = refusal_of(exc)
    spec = _BY_FIELD.get(refusal.field) if refusal is not None else None
    if refusal is None or spec is None:
        return exc
    return SettingRefusedError(spec, spec.label_for(values), refusal.rule.in_words(), repr(refusal.got), refusal)


def config_from_values(values: Mapping[str, Any]) -> RunConfig:
    """The ``RunConfig`` of these settings (names as in :data:`SETTINGS`; missing ones at their default).

    Raises :class:`~core.equal.config.RunConfigError` (a ``ValueError`` naming the setting) as ``RunConfig`` does;
    a value out of range as a :class:`SettingRefusedError`, in the words of the page's form (:func:`in_words`).
    """
    try:
        return _config_from_values(values)
    except ValueError as exc:  # RunConfigError, and a policy's PolicyConfigError (EXP3.gamma)
        worded = in_words(exc, values)
        if worded is exc:
            raise
        raise worded from exc


def _config_from_values(values: Mapping[str, Any]) -> RunConfig:
    v = resolve(values)
    policy_params = {s.field: v[s.name] for s in SETTINGS
                     if s.name.startswith("policy_params.") and s.applies(v) and v[s.name] != s.default}
    reward = {s.field: v[s.name] for s in SETTINGS if s.name.startswith("reward.")}
    top = {s.name: v[s.name] for s in SETTINGS if "." not in s.name}
    first = top["first_pull_docs"]
    if isinstance(first, int) and isinstance(top["docs_per_pull"], int) and not isinstance(first, bool):
        top["first_pull_docs"] = min(first, top["docs_per_pull"])  # an arm's first pull reads at most D
    if isinstance(top["neighbour_weight"], (int, float)) and top["neighbour_weight"] == 0:
        top["share_neighbours"] = False  # weight 0: nothing is shared
    try:
        rewarder = OTReward(**reward)
    except ValueError as exc:
        raise RunConfigError(str(exc), refusal_of(exc)) from exc
    return RunConfig(**top, policy_params=policy_params, reward=rewarder)


def flat_values(config: RunConfig) -> dict[str, Any]:
    """Each setting's value in ``config``, by the field's own name (``"credit"``, ``"alpha"``): what ``--resume``
    compares its flags against. A policy's parameter the config does not hold is at the policy's default."""
    out: dict[str, Any] = {}
    for spec in SETTINGS:
        if spec.name.startswith("policy_params."):
            out[spec.field] = config.policy_params.get(spec.field, spec.default)
        else:
            value: Any = config
            for part in spec.name.split("."):
                value = getattr(value, part)
            out[spec.field] = value
    return out


def values_of(config: RunConfig) -> dict[str, Any]:
    """Each setting's value in ``config`` by its name (an unset first pull reads ``D``)."""
    flat = flat_values(config)
    out = {s.name: flat[s.field] for s in SETTINGS}
    if out["first_pull_docs"] is None:
        out["first_pull_docs"] = config.docs_per_pull
    return out


def changed_settings(old: RunConfig, new: RunConfig) -> list[str]:
    """The labels of the page's settings whose value differs from ``old`` to ``new`` (a setting that applies under
    neither, UCB1's ``c`` between two other policies, is left out): which controls a live run does not follow.

    >>> changed_settings(RunConfig(), RunConfig(policy="ucb1", batch_arms=5))
    ['Policy', 'Arms per round']
    >>> changed_settings(RunConfig(), RunConfig())
    []
    """
    a, b = values_of(old), values_of(new)
    return [s.label_for(b) for s in PAGE_SETTINGS if (s.applies(a) or s.applies(b)) and a[s.name] != b[s.name]]


def settings_differences(a: RunConfig, b: RunConfig) -> list[str]:
    """The page's settings (and the seed) that differ from run ``a`` to run ``b``, in words with both values: what
    two compared runs' names (policy, task, seed) do not say.

    >>> settings_differences(RunConfig(budget=0.05), RunConfig(budget=0.5, seed=2))
    ['Budget value (share: 0-1): 0.05 / 0.5', 'Seed: 0 / 2']
    >>> settings_differences(RunConfig(), RunConfig(policy="ucb1"))
    ['Policy: Learned (the default) / UCB1']
    >>> settings_differences(RunConfig(), RunConfig())
    []
    """
    return [f"{label}: {' / '.join(words)}" for label, words in differing_settings([a, b]).items()]


def differing_settings(configs: list[RunConfig]) -> dict[str, list[str]]:
    """The page's settings (and the seed) whose value is not the same in all of ``configs``: each setting's label
    with its value in words for every config, in order (a setting that applies under none of them, UCB1's weight
    among other policies, is left out): the columns of a table that compares several runs.

    >>> differing_settings([RunConfig(budget=0.05), RunConfig(budget=0.5), RunConfig(budget=0.5, seed=2)])
    {'Budget value (share: 0-1)': ['0.05', '0.5', '0.5'], 'Seed': ['0', '0', '2']}
    >>> differing_settings([RunConfig(), RunConfig()])
    {}
    """
    values = [values_of(c) for c in configs]
    out: dict[str, list[str]] = {}
    for spec in PAGE_SETTINGS:
        shown = [v[spec.name] for v in values]
        if any(spec.applies(v) for v in values) and any(x != shown[0] for x in shown[1:]):
            out[spec.label_for(values[-1])] = [_value_words(spec, x) for x in shown]
    if len({c.seed for c in configs}) > 1:
        out["Seed"] = [str(c.seed) for c in configs]
    return out


def _value_words(spec: Setting, value: Any) -> str:
    """A setting's value as a person reads it: a choice in the page's words, on/off, a number in ``%g``."""
    value = _plain(value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(spec.choice_labels.get(value, value)) if isinstance(value, str) else f"{value:g}"


def link_values(config: RunConfig) -> dict[str, Any]:
    """The settings a link carries for ``config``: those that apply and differ from their default, by name."""
    values = values_of(config)
    return {s.name: values[s.name] for s in PAGE_SETTINGS
            if s.applies(values) and values[s.name] != s.default_for(values)}


def encode_value(value: Any) -> str:
    """A setting's value as link text (``True`` -> ``"1"``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(_plain(value))


def run_name(config: RunConfig, task: str) -> str:
    """A new run's name, as the stored-runs table and the charts' legends show it: the policy in the page's words
    (without its gloss), the reference task's name, the seed.

    >>> run_name(RunConfig(policy="learned", seed=3), "Numerical arrays")
    'Learned · Numerical arrays · seed 3'
    >>> run_name(RunConfig(policy="equal"), "Files and OS")
    'EQUAL · Files and OS · seed 0'
    """
    return _run_name(config.policy, task, config.seed)


def _run_name(policy: str, task: str, seed: Any) -> str:
    return f"{policy_words(policy)} · {task} · seed {seed}"


def policy_words(policy: str) -> str:
    """A policy as the Policy box names it, without its gloss; an unknown one as given.

    >>> policy_words("learned"), policy_words("ucb1"), policy_words("mine")
    ('Learned', 'UCB1', 'mine')
    """
    return str(BY_NAME["policy"].choice_labels.get(policy, policy)).split(" (")[0]


def shown_run_name(name: str, policy: str, seed: Any, reference: str) -> str:
    """A stored run's ``name`` as the page lists it. A name the page generated before runs were named in words
    (``'learned · numerical-arrays · seed 0'``; later ``'learned · Numerical arrays · seed 0'``) is shown as
    :func:`run_name` names it now, when it is exactly what the run's own ``policy``, ``seed`` and ``reference``
    (its recorded reference set's name) gave; any other name (one typed, a tag's) as stored. The store keeps the
    name it has.

    >>> shown_run_name("learned · numerical-arrays · seed 0", "learned", 0, "numerical-arrays")
    'Learned · Numerical arrays · seed 0'
    >>> shown_run_name("learned · numerical-arrays · seed 0", "learned", 1, "numerical-arrays")  # not its own
    'learned · numerical-arrays · seed 0'
    """
    from core.equal.reference import preset_label

    task = preset_label(reference)
    old = {f"{policy} · {reference} · seed {seed}", f"{policy} · {task} · seed {seed}"}
    return _run_name(policy, task, seed) if name in old else name


def settings_link(config: RunConfig) -> str:
    """The Bandit page's query string for ``config``: every setting that applies and is not at its default, by its
    slug (``""`` when all are). The page's link restores them (:func:`check_setting` guards each)."""
    return urlencode({BY_NAME[name].slug: encode_value(v) for name, v in link_values(config).items()})


def widget_state(config: RunConfig) -> dict[str, Any]:
    """The Bandit page's session values that show ``config``: each setting's widget key, and for a setting that
    takes a word (alpha: ``"paper"``) the word widget's key too."""
    values = values_of(config)
    out: dict[str, Any] = {}
    for spec in PAGE_SETTINGS:
        out.update(widget_values(spec, values[spec.name]))
    return out


def widget_values(spec: Setting, value: Any) -> dict[str, Any]:
    """The session values that show ``value`` in ``spec``'s widgets."""
    value = _typed(spec, value)
    if spec.word is None:
        return {spec.key: value}
    if isinstance(value, str):  # the word: the number's widget keeps what it had
        return {spec.rule_key: value}
    return {spec.rule_key: NUMBER, spec.key: value}


def check_setting(spec: Setting, value: Any, context: Mapping[str, Any] | None = None) -> Any:
    """``value`` when ``RunConfig`` accepts it for ``spec``, else ``ValueError`` with ``RunConfig``'s reason.

    ``context``: other settings' values already accepted (a budget of 100 is fine for calls, not for a
    share). Where ``spec`` applies only under some value of another setting (``c`` under UCB1), it is
    checked under that value, so a link cannot hold what the form would refuse.

    >>> check_setting(BY_NAME["policy_params.c"], -1.0)
    Traceback (most recent call last):
    ...
    ValueError: Exploration weight must be at least 0, got -1.0
    """
    given = dict(context or {})
    if spec.when is not None and not spec.applies(given):
        given[spec.when[0]] = spec.when[1][0]
    try:
        config_from_values({**given, spec.name: value})
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return value


def link_state(config: RunConfig) -> dict[str, Any]:
    """The Bandit page's widget keys and what its link writes for each (``None``: left out, at its default or not
    applying); the page passes these to the link so it carries ``config``, not stale widget values."""
    carried = link_values(config)
    return {s.key: carried.get(s.name) for s in PAGE_SETTINGS}


def dependent_defaults(name: str, value: Any) -> dict[str, Any]:
    """Widget values of the settings whose default depends on setting ``name`` now at ``value`` (a new budget kind
    sets the budget to that kind's default: 100 calls, not a share of 0.05 calls).

    >>> dependent_defaults("budget_kind", "calls")
    {'bd_budget': 100.0}
    """
    out: dict[str, Any] = {}
    for spec in SETTINGS:
        if spec.default_by is not None and spec.default_by[0] == name:
            out.update(widget_values(spec, spec.default_for({name: value})))
    return out


def decode_link(query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """A Bandit link's settings as widget values, and one problem per value ``RunConfig`` refuses.

    Each value is checked with the link's other accepted values (a budget of 100 with ``budget_kind=calls``),
    in the page's order, so a setting's condition is read before it.

    >>> decode_link({"budget_kind": "calls", "budget": "100", "c": "-1", "credit": "none"})[0]
    {'bd_budget_kind': 'calls', 'bd_budget': 100.0}
    """
    accepted: dict[str, Any] = {}
    state: dict[str, Any] = {}
    problems: list[str] = []
    for spec in PAGE_SETTINGS:
        if spec.slug not in query:
            continue
        text = str(query[spec.slug])
        try:
            value = check_setting(spec, spec.parse(text), accepted)
        except ValueError as exc:
            shown = text if len(text) <= 60 else text[:59] + "…"
            problems.append(f"{spec.slug} {shown!r}: {exc}")
            continue
        accepted[spec.name] = value
        state.update(widget_values(spec, value))
    return state, problems
