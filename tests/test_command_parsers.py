"""Every command line spells its flags in full: an abbreviation is refused, never read as the longer flag."""

from __future__ import annotations

import pytest

from core.corpus.__main__ import main as corpus_main
from core.ctar.__main__ import main as ctar_main
from core.debias.__main__ import main as debias_main
from core.equal.__main__ import main as equal_main


@pytest.mark.parametrize(("main", "argv", "flag"), [
    (equal_main, ["run", "--reference", "statistics", "--resume", "abc", "--docs-per", "2"], "--docs-per"),
    (equal_main, ["tune", "--reference", "statistics", "--vary", "B=1", "--out", "t.csv", "--bud", "3"], "--bud"),
    (ctar_main, ["generate", "--out", "x", "--n-user", "5"], "--n-user"),
    (debias_main, ["sweep", "--out", "x.csv", "--user", "5"], "--user"),
    (corpus_main, ["index", "--corpus", "x.jsonl", "--layout", "5"], "--layout"),
])
def test_an_abbreviated_flag_is_refused(main, argv, flag, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # were the flag read, nothing is written beside the code
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert f"unrecognized arguments: {flag}" in capsys.readouterr().err


def test_resume_with_an_abbreviated_setting_flag_is_refused_not_dropped(tmp_path, capsys):
    from core.equal.store import RunStore
    from tests.equal.test_cli import _write

    store = tmp_path / "runs.sqlite"
    base = ["run", "--corpus", str(_write(tmp_path, 40)), "--k", "4", "--encoder", "hashing-64", "--quiet",
            "--reference", "statistics", "--store", str(store)]
    assert equal_main([*base, "--budget", "0.1"]) == 0
    run_id = RunStore(store).list_runs().loc[0, "run_id"]
    with pytest.raises(SystemExit) as exit_:
        equal_main([*base, "--resume", run_id, "--docs-per", "2"])
    assert exit_.value.code == 2 and "--docs-per" in capsys.readouterr().err
