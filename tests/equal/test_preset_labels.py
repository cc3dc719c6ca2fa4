"""Reference-task presets are shown by name in words ("Text processing"), never by their slug; the slug stays
the value (links, the command line, the run's record)."""

from __future__ import annotations

import pandas as pd

from core.equal.live import runs_table
from core.equal.reference import list_presets, preset_label


def test_every_shipped_preset_has_a_readable_name():
    for slug in list_presets():
        name = preset_label(slug)
        assert "-" not in name and name != slug and name[:1].isupper(), (slug, name)
    assert preset_label("files-and-os") == "Files and OS"


def test_other_reference_names_are_left_as_they_are():
    for name in ("Tag: date parsing", "my-task.jsonl", "tag: dates", "", "uploaded"):
        assert preset_label(name) == name


def test_the_stored_runs_table_names_a_preset_in_words():
    runs = pd.DataFrame({"name": ["a", "b"], "status": ["finished", "paused"],
                         "reference": ["text-processing", "my-task.jsonl"]})
    table = runs_table(runs)
    assert list(table["reference task"]) == ["Text processing", "my-task.jsonl"]
    assert list(runs["reference"]) == ["text-processing", "my-task.jsonl"]  # the store's own frame keeps the slug


def test_a_new_run_is_named_in_words_for_every_policy():
    from core.equal.config import RunConfig
    from core.equal.settings import BY_NAME, run_name

    for policy in BY_NAME["policy"].choice_labels:
        name = run_name(RunConfig(policy=policy, seed=2), preset_label("text-processing"))
        assert name.endswith(" · Text processing · seed 2"), name
        assert not name.startswith(policy + " "), name  # the code value ("learned", "avg-sim") is not the name
        assert "(" not in name, name  # the box's gloss ("(the default)") is left out
