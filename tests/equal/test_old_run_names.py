"""A run stored before runs were named in words ('learned · numerical-arrays · seed 0') is listed in today's words
('Learned · Numerical arrays · seed 0') when that name is what its own settings gave; a typed name stays; the store
keeps every name as it was written."""

from __future__ import annotations

import sqlite3

import pytest

from core.equal.live import label_runs, runs_table, stored_rounds
from core.equal.store import RunStore

#: run_id: (stored name, policy, seed, reference, the name the page shows)
RUNS = {
    "slugs": ("learned · numerical-arrays · seed 0", "learned", 0, "numerical-arrays",
              "Learned · Numerical arrays · seed 0"),
    "labels": ("equal · Files and OS · seed 3", "equal", 3, "files-and-os", "EQUAL · Files and OS · seed 3"),
    "upload": ("learned · my-task.jsonl · seed 0", "learned", 0, "my-task.jsonl", "Learned · my-task.jsonl · seed 0"),
    "other seed": ("learned · numerical-arrays · seed 0", "learned", 1, "numerical-arrays",
                   "learned · numerical-arrays · seed 0"),  # not what its own settings gave: typed, kept
    "other task": ("learned · numerical-arrays · seed 0", "learned", 0, "statistics",
                   "learned · numerical-arrays · seed 0"),
    "typed": ("my numerical-arrays run", "learned", 0, "numerical-arrays", "my numerical-arrays run"),
    "today": ("Learned · Statistics · seed 2", "learned", 2, "statistics", "Learned · Statistics · seed 2"),
}


@pytest.fixture()
def store(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    for run_id, (name, policy, seed, reference, _) in RUNS.items():
        store.create_run(run_id, {"policy": policy, "seed": seed}, "f", 10, name,
                         provenance={"reference_name": reference})
    return store


def test_the_stored_runs_table_and_the_picker_show_an_old_generated_name_in_todays_words(store):
    runs = store.list_runs()
    shown = dict(zip(runs["run_id"], runs_table(runs)["run"]))
    assert shown == {run_id: run[4] for run_id, run in RUNS.items()}
    labels = label_runs(runs)
    assert {run_id: labels[run_id].split(" · 20")[0] for run_id in RUNS} == shown
    with sqlite3.connect(store.path) as conn:  # the store is never rewritten
        assert dict(conn.execute("SELECT run_id, name FROM runs")) == {k: v[0] for k, v in RUNS.items()}


def test_a_run_that_cannot_be_compared_is_named_in_todays_words(store):
    def refuse(run_id: str):
        raise ValueError("made on another corpus")

    _, problems = stored_rounds({}, store.list_runs(), ["slugs"], refuse, "numerical-arrays")
    assert problems == ["Learned · Numerical arrays · seed 0 (slugs): made on another corpus"]
