"""What the Bandit page asked of the live loop, in core: which buttons act now (:meth:`LiveLoop.enabled`), a new run
with its provenance and its name in words (:func:`new_live_run`), a stored run reopened under today's name
(:func:`reopen_shown`), and the score bars' label (:func:`core.viz.bandit.score_label`). They were written inline
in ``pages/bandit.py``; these tests pin the page's behaviour as it was."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_space  # noqa: E402

from core.equal.live import IllegalTransition, LiveLoop, new_live_run, reopen_shown  # noqa: E402
from core.equal.reference import load_reference  # noqa: E402
from core.equal.store import RunStore  # noqa: E402
from core.viz.bandit import score_label  # noqa: E402

ACTIONS = ("start", "pause", "step", "finish", "reset")


@pytest.fixture()
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def _page_rule(state: str, action: str, new_ok: bool) -> bool:
    """The buttons' rule as the page wrote it inline (``disabled=...``), negated."""
    playing, no_new_run = state == "playing", not new_ok and state != "paused"
    return not {"start": playing or no_new_run, "pause": not playing, "step": playing or no_new_run,
                "finish": state not in ("playing", "paused"), "reset": state == "idle"}[action]


@pytest.mark.parametrize("state", ["idle", "playing", "paused", "finished", "interrupted"])
@pytest.mark.parametrize("new_ok", [True, False])
def test_a_button_is_enabled_as_the_page_had_it(state, new_ok):
    loop = LiveLoop()
    loop.state = state
    assert {a: loop.enabled(a, new_ok) for a in ACTIONS} == {a: _page_rule(state, a, new_ok) for a in ACTIONS}


@pytest.mark.parametrize("state", ["idle", "playing", "paused", "finished"])
def test_an_enabled_button_is_a_transition_and_a_greyed_one_is_not(bandit_world, store, state):
    """Pressed, an enabled button changes the loop (or plays a round); a greyed one is refused or does nothing."""
    ids, texts, labels, ref, ext, embed, config = bandit_world
    space = make_space(ids, texts, labels, doc_emb=embed(texts))

    def new_run():
        from core.equal.run import BanditRun

        return BanditRun(replace(config, budget=1.0), space, ref, ext, embed, store=store)

    for action in ACTIONS:
        loop = LiveLoop(store)
        if state != "idle":
            loop.start(new_run())
            {"paused": loop.pause, "finished": loop.finish}.get(state, lambda: None)()
        before = (loop.state, loop.run, getattr(loop.run, "round", None))
        try:
            loop.press(action, new_run)
            changed = (loop.state, loop.run, getattr(loop.run, "round", None)) != before
        except IllegalTransition:
            changed = False
        assert changed == loop_enabled(state, action), (state, action)
        loop.reset()


def loop_enabled(state: str, action: str) -> bool:
    loop = LiveLoop()
    loop.state = state
    return loop.enabled(action)


def test_an_unknown_action_is_refused_naming_the_actions():
    with pytest.raises(ValueError, match="start, pause, step, finish or reset"):
        LiveLoop().enabled("rewind")


def test_a_new_run_records_its_reference_and_is_named_in_words(bandit_world, store):
    ids, texts, labels, _, _, embed, config = bandit_world
    space = make_space(ids, texts, labels, doc_emb=embed(texts))
    reference = load_reference("numerical-arrays")
    run = new_live_run(replace(config, policy="learned", seed=3), space, reference, embed, store)
    assert run.name == "Learned · Numerical arrays · seed 3"
    assert run.provenance.reference_name == "numerical-arrays" and run.provenance.extractor["kind"] == "rules"
    assert run.reference.tolist() == embed(reference.texts()).tolist()
    assert run.store is store


def test_a_stored_run_reopens_under_todays_name_and_the_store_keeps_its_own(bandit_world, store):
    ids, texts, labels, _, _, embed, config = bandit_world
    space = make_space(ids, texts, labels, doc_emb=embed(texts))
    reference = load_reference("numerical-arrays")
    run = new_live_run(replace(config, policy="learned", seed=0), space, reference, embed, store)
    old = "learned · numerical-arrays · seed 0"  # as the page named runs before they were named in words
    run.name = old
    loop = LiveLoop(store)
    loop.step(run)
    loop.reset()
    again, its_reference = reopen_shown(store, run.run_id, space, embed)
    assert again.name == "Learned · Numerical arrays · seed 0" and its_reference.name == "numerical-arrays"
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT name FROM runs WHERE run_id=?", (run.run_id,)).fetchone() == (old,)


def test_the_score_bars_say_what_a_score_is_under_each_policy():
    assert score_label("learned") == "best unread document's score"
    assert {score_label(p) for p in ("equal", "ucb1", "thompson", "exp3")} == {"how promising (score)"}
