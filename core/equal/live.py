"""The Bandit page's live loop as a state machine: the page only renders it.

States and the transitions allowed between them (anything else raises
:class:`IllegalTransition`, a ``ValueError`` whose message names the state and the action)::

    idle ──start──▶ playing ──pause──▶ paused ──resume──▶ playing
      │               │  ▲                │
      └──step──▶ paused  └──── tick ──────┘ (tick plays only while playing)
    playing/paused ──finish──▶ finished      (also reached when the run's budget is spent)
    playing/paused ──abandon──▶ interrupted
    any ──reset──▶ idle                       (an unfinished run is interrupted first)
    playing ──start (no new run)──▶ playing   (a repeated Start is a no-op)

``finished``/``interrupted`` accept ``start``/``step`` with a new run. Statuses reach the run
store as they happen (``running``, ``paused``, ``finished``, ``interrupted``): the run takes its
lease (``claim``) when started or resumed and gives it back when paused or given up, so a run
in the store is either played by a live loop or is not ``running``. :meth:`LiveLoop.press`
applies a page's buttons, however often a button was pressed. A full disk while playing
(:class:`~core.disk.DiskFullError` from the run store) pauses the loop in memory and leaves the
message in :attr:`LiveLoop.problem`; the pull is kept and stored by the next ``resume``/``step``.

The loop uses only :class:`~core.equal.run.BanditRun`'s public surface: ``step``,
``play_pull``, ``is_done``, ``finish``, ``claim``, ``pause``, ``abandon`` and ``run_id``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from core.disk import DiskFullError
from core.equal.reference import preset_label

LIVE_STATES = ("idle", "playing", "paused", "finished", "interrupted")


class IllegalTransition(ValueError):
    """An action the live loop's current state does not allow (e.g. ``pause`` while idle)."""


class StatusRecorder(Protocol):
    def set_status(self, run_id: str, status: str) -> None: ...


class LiveLoop:
    """Start, step, pause, resume, finish, reset or abandon (interrupt) one live bandit run.

    Parameters
    ----------
    store : object with ``set_status(run_id, status)``, optional
        Where run statuses are recorded (the :class:`~core.equal.store.RunStore`).
    clock : callable, optional
        Seconds as a float; injected by tests.
    """

    def __init__(self, store: StatusRecorder | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.store = store
        self.clock = clock
        self.state = "idle"
        self.run: Any = None  # a BanditRun, or a test double with the methods the loop calls
        self.problem = ""  # why playing stopped by itself (a full disk), for the page to show; cleared on playing

    # ------------------------------------------------------------------ queries
    @property
    def playing(self) -> bool:
        """Whether the page should keep refreshing (the only state in which ``tick`` does work)."""
        return self.state == "playing"

    @property
    def has_run(self) -> bool:
        return self.run is not None

    def enabled(self, action: str, new_run_ok: bool = True) -> bool:
        """Whether the page's button for ``action`` does something now (else it is greyed out). ``start`` and
        ``step`` build a new run unless the loop is paused, so they need ``new_run_ok`` (the settings make a valid
        run) then; pressed while playing they do nothing (:meth:`press`).

        >>> loop = LiveLoop()
        >>> [a for a in ("start", "pause", "step", "finish", "reset") if loop.enabled(a)]
        ['start', 'step']
        >>> loop.enabled("start", new_run_ok=False)
        False
        """
        if action in ("start", "step"):
            return not self.playing and (self.state == "paused" or new_run_ok)
        if action == "pause":
            return self.playing
        if action == "finish":
            return self.state in ("playing", "paused")
        if action == "reset":
            return self.state != "idle"
        raise ValueError(f"unknown action {action!r}: start, pause, step, finish or reset")

    def _require(self, action: str, *states: str) -> None:
        if self.state not in states:
            raise IllegalTransition(f"cannot {action} a run that is {self.state} (allowed when {' or '.join(states)})")

    def _record(self, status: str) -> None:
        if self.store is not None and self.run is not None:
            self.store.set_status(self.run.run_id, status)

    # ------------------------------------------------------------------ transitions
    def press(self, action: str, new_run: Callable[[], Any]) -> None:
        """Apply a page's button once, however often it was pressed.

        ``start``: a new run (``new_run()``) when none is live, resume when paused, and nothing
        while playing: a double click, or a click queued before the button greyed out, builds no
        run. ``step``: one round of the paused run, or of a new one; nothing while playing. Other
        actions (``pause``, ``finish``, ``reset``) are the methods of the same name.
        """
        if action in ("start", "step") and self.state == "playing":
            return
        if action in ("start", "step") and self.state != "paused":
            return getattr(self, action)(new_run())
        getattr(self, action)()

    def start(self, run=None) -> None:
        """Play ``run`` live (idle, finished or interrupted: a new run is required), or resume a paused one.

        Without a run, a playing loop stays as it is (a repeated Start). The run takes its lease
        first, so a run another session plays is refused (``RunBusyError``) and nothing changes.
        """
        if self.state == "playing" and run is None:
            return None
        if self.state == "paused" and run is None:
            return self.resume()
        self._require("start", "idle", "finished", "interrupted")
        if run is None:
            raise IllegalTransition("start: a new run is required")
        if hasattr(run, "claim"):
            run.claim()
        self.run, self.state, self.problem = run, "playing", ""
        self._settle()
        return None

    def step(self, run=None) -> None:
        """Play one whole round, then hold (``paused``), or ``finished`` when that round ended the run."""
        if self.state in ("idle", "finished", "interrupted"):
            if run is None:
                raise IllegalTransition(f"step: a {self.state} loop needs a new run")
            self.run = run
        else:
            self._require("step", "paused")
        self.state, self.problem = "paused", ""
        if not self.run.is_done:
            try:
                self.run.step()
            except DiskFullError as exc:  # nothing more can be stored: hold, with the message
                self.problem = str(exc)
                return
        if not self._settle():
            self._record_pause()

    def pause(self) -> None:
        """Stop playing now: the next ``tick`` plays nothing."""
        self._require("pause", "playing")
        self.state = "paused"
        self._record_pause()

    def _record_pause(self) -> None:
        if hasattr(self.run, "pause"):  # the run records it and gives up its lease
            self.run.pause()
        else:
            self._record("paused")

    def resume(self) -> None:
        """Play the paused run again (it takes its lease back first: refused while another session plays it)."""
        self._require("resume", "paused")
        if hasattr(self.run, "claim"):
            self.run.claim()
        else:
            self._record("running")
        self.state, self.problem = "playing", ""
        self._settle()

    def finish(self) -> None:
        """End the run here (recorded as finished), whether or not its budget is spent. The run takes its lease
        first, so a tab holding a run that another session has since resumed cannot mark it finished while it plays
        (``RunBusyError``, and nothing changes)."""
        self._require("finish", "playing", "paused")
        if hasattr(self.run, "claim"):
            self.run.claim()
        self.state = "finished"
        self.run.finish()  # records a run whose budget is spent
        if not self.run.is_done:
            self._record("finished")  # ended early by the user: finished all the same

    def abandon(self) -> None:
        """Give the run up (recorded as interrupted, its lease released); it can be reopened and resumed."""
        self._require("abandon", "playing", "paused")
        self.state = "interrupted"
        if hasattr(self.run, "abandon"):
            self.run.abandon()
        else:
            self._record("interrupted")

    def reset(self) -> None:
        """Back to idle with no run; an unfinished run is interrupted first."""
        if self.state in ("playing", "paused"):
            self.abandon()
        self.run, self.state = None, "idle"

    def adopt(self, run) -> None:
        """Hold a reopened stored run, paused (or finished when it is done)."""
        if self.state in ("playing", "paused"):
            self.abandon()
        self.run, self.state = run, "paused"
        if not self._settle():
            self._record_pause()

    # ------------------------------------------------------------------ playing
    def tick(self, max_rounds: int = 1, max_seconds: float = 0.3) -> int:
        """While playing, play pulls until ``max_rounds`` rounds complete or ``max_seconds`` pass.

        Returns the number of pulls played (0 unless playing). Reaching the end of the run's
        budget finishes it. At least one pull is played per call, so a slow pull still advances.
        A full disk pauses the loop (in memory: nothing can be recorded) with the message in :attr:`problem`.
        """
        if self.state != "playing":
            return 0
        t0, rounds, pulls = self.clock(), 0, 0
        while not self.run.is_done and rounds < max_rounds:
            try:
                rounds += self.run.play_pull() is not None
            except DiskFullError as exc:  # the pull is applied and kept; Resume stores it once space is freed
                self.state, self.problem = "paused", str(exc)
                return pulls
            if getattr(self.run, "interrupted", False) or self.state != "playing":
                break  # paused from another thread: its extraction was cancelled, the pull replays on resume
            pulls += 1
            if self.clock() - t0 >= max_seconds:
                break
        self._settle()
        return pulls

    def _settle(self) -> bool:
        """Finish a playing or paused run whose budget is spent; True when it did."""
        if self.state in ("playing", "paused") and self.run is not None and self.run.is_done:
            self.state = "finished"
            self.run.finish()
            return True
        return False


def shown_state(loop: LiveLoop) -> str:
    """The state a page shows: ``"stopped"`` for a run that ended by itself before its budget (an endpoint that kept
    failing: the run's ``stop_note`` says why and what to do), else the loop's state. Such a run is ``finished`` to
    the loop, and the page said so of an empty run; reopened (a reload reopens it from the address), it is
    ``paused`` to the loop, so that Resume retries it, and still stopped until it plays on (``reopened_stop``)."""
    if loop.state == "finished" and getattr(loop.run, "stop_reason", None):
        return "stopped"
    if loop.state == "paused" and getattr(loop.run, "reopened_stop", None):
        return "stopped"
    return loop.state


# ---------------------------------------------------------------------- the runs the page starts and reopens
def new_live_run(config, space, reference, embed: Callable, store, llm=None,
                 reference_label: Callable[[str], str] = preset_label):
    """A new run for the live loop: ``config`` on ``space`` (an :class:`~core.equal.space.ArmSpace`) towards
    ``reference`` (a :class:`~core.equal.reference.ReferenceSet`, embedded with ``embed``), extracted by
    ``config.extractor`` (an endpoint: ``llm``, an :class:`~core.settings.LLMSettings` or ``None`` for the
    environment's, checked before any work), committed to ``store``. Its provenance records the reference set and
    the extractor, so reopening it is exact; its name says the policy, the task (``reference_label`` of the
    reference's name: a preset in words) and the seed (:func:`core.equal.settings.run_name`).

    Raises ``ValueError`` naming the cause: an endpoint that does not answer, a setting the run refuses.
    """
    from core.equal.extract import make_checked_extractor
    from core.equal.provenance import RunProvenance
    from core.equal.run import BanditRun
    from core.equal.settings import run_name

    extractor = make_checked_extractor(config.extractor, llm if config.extractor == "openai" else None)
    return BanditRun(config, space, embed(reference.texts()), extractor, embed, store=store,
                     provenance=RunProvenance.build(space, reference, extractor),
                     name=run_name(config, reference_label(reference.name)))


def reopen_shown(store, run_id: str, space, embed: Callable, fallback_reference=None,
                 reference_label: Callable[[str], str] = preset_label, endpoint=None):
    """``(run, its reference set)``: the stored run ``run_id`` rebuilt on ``space`` with its own recorded inputs
    (:func:`core.equal.reopen.reopen_with_reference`, which refuses naming the difference), its name as the page
    lists it (:func:`core.equal.settings.shown_run_name`: a name generated before runs were named in words, in
    today's words; the store keeps the name it has). An endpoint run continues with ``endpoint`` (an
    :class:`~core.settings.LLMSettings`, ``None``: the environment's) when it names the address and model the run was
    made with; otherwise it is reopened to look at only."""
    from core.equal.reopen import reopen_with_reference
    from core.equal.settings import shown_run_name

    run, reference = reopen_with_reference(store, run_id, space, embed, fallback_reference=fallback_reference,
                                           reference_label=reference_label, endpoint=endpoint)
    run.name = shown_run_name(run.name, run.config.policy, run.config.seed, run.provenance.reference_name)
    return run, reference


# ---------------------------------------------------------------------- stored runs
def shown_names(runs) -> list[str]:
    """Each run's name as the page shows it (:func:`core.equal.settings.shown_run_name`: a name generated before runs
    were named in words, in today's words) for a ``RunStore.list_runs`` frame."""
    from core.equal.settings import shown_run_name

    if not {"policy", "seed", "reference"} <= set(runs):
        return [str(n) for n in runs["name"]]
    return [shown_run_name(str(r.name), str(r.policy), r.seed, str(r.reference)) for r in runs.itertuples()]


def label_runs(runs) -> dict[str, str]:
    """``{run_id: "name · 2026-12-01 20:15 · status · run_id"}`` for a ``RunStore.list_runs`` frame (the name as
    :func:`shown_names` shows it)."""
    return {r.run_id: f"{name} · {r.created:%Y-%m-%d %H:%M} · {r.status} · {r.run_id}"
            for r, name in zip(runs.itertuples(), shown_names(runs))}


def picked_labels(labels: dict[str, str], run_ids: list[str]) -> list[str]:
    """The labels (:func:`label_runs`) of ``run_ids``, in the order picked; an id without a label as itself.

    >>> picked_labels({"a1": "Learned · seed 0", "b2": "UCB1 · seed 1"}, ["b2", "a1", "c3"])
    ['UCB1 · seed 1', 'Learned · seed 0', 'c3']
    """
    return [labels.get(run_id, run_id) for run_id in run_ids]


def stored_rounds(cache: dict, runs, run_ids, reopen: Callable[[str], Any],
                  reference_name: str) -> tuple[list, list[str]]:
    """The ``rounds_frame`` of each stored run in ``run_ids``, reopening each once per stored state.

    ``cache`` (kept by the page) maps ``(run_id, docs, status, reference_name)`` to a frame, so a
    rerun redraws without replaying. Returns ``(frames, problems)``: one readable message per run
    that could not be reopened (``reopen`` raised ``ValueError``), never one per attempt.
    """
    info = runs.assign(name=shown_names(runs)).set_index("run_id")
    frames, problems = [], []
    for run_id in run_ids:
        key = (run_id, int(info.docs[run_id]), str(info.status[run_id]), reference_name)
        if key not in cache:
            try:
                cache[key] = reopen(run_id).rounds_frame()
            except ValueError as exc:
                problems.append(f"{info.name[run_id]} ({run_id}): {exc}")
                continue
        frames.append(cache[key])
    return frames, problems


# ---------------------------------------------------------------------- what the live panel shows
# "estimated": an arm's estimate holds its prior and its neighbours' shared pulls, so an arm never pulled has one too
# (it read "mean reward" beside 0 pulls)
ARM_COLUMNS = {"arm": "cluster", "pulls": "pulls", "mean": "estimated reward", "score": "score",
               "docs_left": "documents left"}


def _named(arms, names):
    return arms if names is None else [names[int(a)] for a in arms]


UNTRIED = "untried (read first)"  # UCB1's score of an arm never pulled: +inf, which a table showed as "Infinity"


def score_text(score: float) -> str:
    """An arm's score as the arms table shows it: 4 decimals, :data:`UNTRIED` for UCB1's +inf, "none left" for the
    learned policy's arm with no unread document.

    >>> score_text(0.61234), score_text(float("inf")), score_text(float("-inf"))
    ('0.6123', 'untried (read first)', 'none left')
    """
    return UNTRIED if score == float("inf") else "none left" if score == float("-inf") else f"{score:.4f}"


def top_arms(run, n: int = 30, names=None, arms=None):
    """The ``n`` best-scored arms, columns in words: ``cluster, pulls, estimated reward, score, documents left``.

    ``names``: one label per arm (``core.viz.bandit.arm_names``) shown instead of the arm number. The score is
    text (:func:`score_text`): an untried arm's +inf says so in words. ``arms``: ``run.arms_frame()`` when the caller
    has it already (the learned policy scores every unread document for it).
    """
    df = (run.arms_frame() if arms is None else arms).sort_values("score", ascending=False).head(n)[list(ARM_COLUMNS)]
    return df.assign(arm=_named(df["arm"], names), score=[score_text(float(s)) for s in df["score"]]
                     ).rename(columns=ARM_COLUMNS)


def newest_pairs(run, n: int = 8, names=None):
    """The ``n`` newest QA pairs, newest first: columns ``round, cluster, document, question, answer`` (the
    document's id under a word: the table showed the field name ``doc_id``; ``cluster`` by name when ``names``
    is given; ``round`` counted from 1, as the page's Round metric and reward chart count it)."""
    df = run.pairs_frame(last=n).iloc[::-1][["round", "cluster", "doc_id", "question", "answer"]]
    return df.assign(round=df["round"] + 1, cluster=_named(df["cluster"], names)).rename(columns={"doc_id": "document"})


#: At most this many stored runs are compared on one chart: each is reopened (replayed) once, and past six the
#: legend's names and the colours no longer tell the curves apart.
MAX_COMPARED = 6


def stored_settings_table(store: Any, run_ids: list[str], names: list[str]):
    """The settings several stored runs of ``store`` differ in, as a table: one row per run in the order of
    ``run_ids`` (column ``run``: its ``names`` entry), then one column per setting whose value is not the same in
    all of them, in words (:func:`core.equal.settings.differing_settings`); only ``run`` when they share every
    setting and the seed. Raises ``KeyError``/``ValueError``/``TypeError`` when a run's settings cannot be read."""
    import pandas as pd

    from core.equal.config import RunConfig
    from core.equal.settings import differing_settings

    differ = differing_settings([RunConfig.from_dict(store.load_config(run_id)) for run_id in run_ids])
    return pd.DataFrame({"run": list(names), **differ})


RUN_COLUMNS = {"name": "run", "created": "started (UTC)", "status": "status", "policy": "policy",
               "reference": "reference task", "docs": "documents read", "calls": "extraction calls",
               "pairs": "QA pairs", "mean_reward": "mean reward", "pulls": "pulls", "cost": "cost",
               "n_docs": "documents in the corpus"}


def runs_table(runs):
    """A ``RunStore.list_runs`` frame as the page lists it: columns in words (``n_docs`` beside ``docs`` said
    nothing of which is the corpus and which the run read), the id left to each pick's label."""
    shown = runs[[c for c in RUN_COLUMNS if c in runs]]
    if "name" in shown:  # a name generated before runs were named in words, in today's words
        shown = shown.assign(name=shown_names(runs))
    if "reference" in shown:  # a preset in words ("Numerical arrays"), as the page's box offers it
        shown = shown.assign(reference=[preset_label(str(r)) for r in shown["reference"]])
    if "policy" in shown:  # as the Policy box offers it ("Learned"), not its code value
        from core.equal.settings import policy_words

        shown = shown.assign(policy=[policy_words(str(p)) for p in shown["policy"]])
    if "created" in shown:  # to the minute, as each pick's label: the column says UTC, the cell needs no "+00:00"
        shown = shown.assign(created=[f"{t:%Y-%m-%d %H:%M}" for t in shown["created"]])
    if "cost" in shown and not (shown["cost"].fillna(0) != 0).any():  # the rule extractor, a free endpoint: a column
        shown = shown.drop(columns="cost")  # of zeros that pushed the table past a 1440-px window's width
    return shown.rename(columns=RUN_COLUMNS)
