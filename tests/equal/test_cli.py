from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.corpus.load import load_corpus
from core.corpus.mapping import MapSettings, load_corpus_map
from core.equal.__main__ import main
from tests.corpus._mapdata import topic_corpus

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, n: int = 60) -> Path:
    corpus, _ = topic_corpus(n, seed=8)
    path = tmp_path / "docs.jsonl"
    path.write_text(
        "\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)) + "\nnot json\n"
    )
    return path


def test_index_builds_the_map_cache(tmp_path, capsys):
    path = _write(tmp_path)
    rc = main(["index", "--corpus", str(path), "--k", "4", "--encoder", "hashing-64", "--seed", "3"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "indexed 60 documents into 4 clusters" in captured.out
    assert "malformed_json" in captured.err  # the load report is shown
    # README: bad lines are listed, by file and line (it gave only the count '1 malformed_json')
    assert "docs.jsonl:61: malformed_json: not valid JSON" in captured.err
    corpus, _ = load_corpus(path)
    cmap = load_corpus_map(corpus, MapSettings(encoder_name="hashing-64", k=4, seed=3))
    assert cmap is not None and cmap.xy.shape == (60, 2)


def test_bad_input_exits_2_with_message(tmp_path, capsys):
    assert main(["index", "--corpus", str(tmp_path / "missing.jsonl"), "--encoder", "hashing"]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    path = _write(tmp_path, 10)
    assert main(["index", "--corpus", str(path), "--k", "50", "--encoder", "hashing"]) == 2
    assert "k=50" in capsys.readouterr().err


def test_module_entry_point_runs(tmp_path):
    path = _write(tmp_path, 20)
    env = dict(os.environ, HF_HUB_OFFLINE="1", EQUALCTAR_HOME=str(tmp_path / "home"))
    out = subprocess.run(
        [sys.executable, "-m", "core.equal", "index", "--corpus", str(path), "--k", "2", "--encoder", "hashing"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "indexed 20 documents" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "core.equal", "index"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "--corpus" in bad.stderr


def test_run_with_an_openai_compatible_endpoint_never_shows_the_key(tmp_path, capsys, monkeypatch):
    from tests.equal.fake_llm_server import FakeLLMServer

    key = "sk-cli-SECRET-9876543210"
    path = _write(tmp_path, 40)
    store = tmp_path / "runs.sqlite"
    with FakeLLMServer() as server:
        monkeypatch.setenv("EQUAL_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("EQUAL_LLM_MODEL", "fake-model")
        monkeypatch.setenv("EQUAL_LLM_API_KEY", key)
        rc = main(
            [
                "run",
                "--corpus",
                str(path),
                "--k",
                "4",
                "--encoder",
                "hashing-64",
                "--reference",
                "statistics",
                "--store",
                str(store),
                "--extractor",
                "openai",
                "--budget",
                "0.25",
                "--quiet",
            ]
        )
        assert rc == 0, capsys.readouterr().err
        assert server.chat_requests  # the endpoint did the extraction
    captured = capsys.readouterr()
    assert "10 documents" in captured.out  # 25% of 40, budget not overrun
    assert key not in captured.out + captured.err
    assert key.encode() not in store.read_bytes()


def test_run_with_an_unreachable_endpoint_exits_2_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EQUAL_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: nothing listens
    monkeypatch.setenv("EQUAL_LLM_MODEL", "fake-model")
    monkeypatch.setenv("EQUAL_LLM_API_KEY", "sk-unused-SECRET")
    path = _write(tmp_path, 20)
    rc = main(
        [
            "run",
            "--corpus",
            str(path),
            "--encoder",
            "hashing",
            "--reference",
            "statistics",
            "--store",
            str(tmp_path / "runs.sqlite"),
            "--extractor",
            "openai",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "--extractor openai" in err and "SECRET" not in err
    assert not (tmp_path / "runs.sqlite").exists()


def test_index_prints_informative_progress_and_streams_large_corpora(tmp_path, capsys):
    import json

    path = tmp_path / "docs.jsonl"
    words = ["file path open read", "date time zone clock", "array shape dtype axis", "socket host port server"]
    records = (json.dumps({"id": f"d{i}", "text": f"{words[i % 4]} note {i} " * 3}) for i in range(400))
    path.write_text("\n".join(records) + "\n")
    assert main(["index", "--corpus", str(path), "--k", "4", "--encoder", "hashing-64"]) == 0
    err = capsys.readouterr().err
    assert "Embedding documents: 400/400 documents (100%)" in err and "one-time (cached)" in err
    assert "2-D layout (UMAP)" in err
    assert main(["index", "--corpus", str(path), "--k", "4", "--stream"]) == 0
    captured = capsys.readouterr()
    assert "indexed 400 documents" in captured.out and "into 4 clusters" in captured.out


def _fake_env(monkeypatch, server) -> None:
    """The fake endpoint, and a fresh home: the extraction cache must not answer for a failing endpoint."""
    monkeypatch.setenv("EQUALCTAR_HOME", str(Path(server.home)))
    monkeypatch.setenv("EQUAL_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("EQUAL_LLM_MODEL", "fake-model")
    monkeypatch.setenv("EQUAL_LLM_API_KEY", "sk-test-SECRET-000")


def _llm_run_args(path, store, *budget: str) -> list[str]:
    """``run`` over a 4-cluster hashing map with the OpenAI-compatible extractor (the fake endpoint)."""
    return ["run", "--corpus", str(path), "--k", "4", "--encoder", "hashing-64", "--reference", "statistics",
            "--store", str(store), "--extractor", "openai", *budget, "--quiet"]


def test_failing_endpoint_stops_the_run_exit_3_and_resume_retries(tmp_path, capsys, monkeypatch):
    from core.equal.store import RunStore
    from tests.equal.fake_llm_server import FakeLLMServer, Good, Status

    path = _write(tmp_path, 40)
    store = tmp_path / "runs.sqlite"
    args = _llm_run_args(path, store, "--budget", "0.25")
    with FakeLLMServer() as server:
        server.home = tmp_path / "home"
        _fake_env(monkeypatch, server)
        server.responder = lambda body: Status(400)  # refused, not retried: every document fails at once
        assert main([*args, "--max-failures", "3"]) == 3
        err = capsys.readouterr().err
        run_id = RunStore(store).list_runs().loc[0, "run_id"]
        assert "stopped: endpoint failing" in err and f"--resume {run_id}" in err
        stored = RunStore(store).load_run(run_id)
        assert stored.status == "stopped: endpoint failing" and stored.pairs.empty
        assert sum(map(len, stored.pulls["failed"])) == stored.pulls["n_errors"].sum() >= 3
        server.responder = lambda body: Good()
        assert main([*args, "--resume", run_id]) == 0
        assert "10 documents" in capsys.readouterr().out  # the failed ones were retried and the budget spent on work
    assert RunStore(store).load_run(run_id).status == "finished"


def test_cost_budget_needs_prices_and_then_stops_the_run(tmp_path, capsys, monkeypatch):
    from core.equal.store import RunStore
    from tests.equal.fake_llm_server import FakeLLMServer

    path = _write(tmp_path, 40)
    store = tmp_path / "runs.sqlite"
    args = _llm_run_args(path, store, "--budget-kind", "cost", "--budget", "0.001")
    with FakeLLMServer() as server:
        server.home = tmp_path / "home"
        _fake_env(monkeypatch, server)
        assert main(args) == 2 and "needs prices" in capsys.readouterr().err
        assert main([*args, "--price-in", "5", "--price-out", "5"]) == 0
    runs = RunStore(store).list_runs()
    assert len(runs) == 1 and runs.loc[0, "cost"] >= 0.001 and runs.loc[0, "docs"] < 40
    assert (
        main(
            [
                "run",
                "--corpus",
                str(path),
                "--encoder",
                "hashing",
                "--reference",
                "statistics",
                "--store",
                str(store),
                "--budget-kind",
                "cost",
                "--budget",
                "1",
            ]
        )
        == 2
    )  # the free rule extractor: refused
    assert "rule extractor is free" in capsys.readouterr().err


def test_resume_with_another_seed_is_refused_and_a_damaged_store_is_named(tmp_path, capsys):
    from core.equal.store import RunStore

    path = _write(tmp_path, 40)
    store = tmp_path / "runs.sqlite"
    corpus = ["run", "--corpus", str(path), "--k", "4", "--encoder", "hashing-64", "--quiet"]
    base = [*corpus, "--reference", "statistics", "--store", str(store)]
    assert main([*base, "--budget", "0.2", "--seed", "4"]) == 0
    run_id = RunStore(store).list_runs().loc[0, "run_id"]
    capsys.readouterr()
    assert main([*base, "--resume", run_id, "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "seed differs: run used 4, you passed 5" in err
    assert main([*base, "--resume", run_id, "--seed", "4"]) == 0  # the same value is fine
    assert main([*corpus, "--reference", "numerical-arrays", "--store", str(store), "--resume", run_id]) == 2
    assert "reference set differs" in capsys.readouterr().err
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"garbage" * 1000)
    assert main([*corpus, "--reference", "statistics", "--store", str(broken)]) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "move it aside" in err.lower() and "Traceback" not in err


def test_run_records_the_reward_and_reading_flags_and_resume_checks_them(tmp_path, capsys):
    from core.equal.store import RunStore

    path = _write(tmp_path, 40)
    store = tmp_path / "runs.sqlite"
    base = ["run", "--corpus", str(path), "--k", "4", "--encoder", "hashing-64", "--quiet", "--reference",
            "statistics", "--store", str(store)]
    flags = ["--credit", "pull", "--doc-order", "file", "--neighbour-weight", "0.5"]
    assert main([*base, "--budget", "0.2", *flags]) == 0
    row = RunStore(store).list_runs().iloc[0]
    config = RunStore(store).load_run(row["run_id"]).config
    assert (config["reward"]["credit"], config["doc_order"], config["neighbour_weight"]) == ("pull", "file", 0.5)
    capsys.readouterr()
    assert main([*base, "--resume", row["run_id"], "--credit", "document"]) == 2
    assert "credit differs: run used 'pull', you passed 'document'" in capsys.readouterr().err
    assert main([*base, "--resume", row["run_id"], *flags]) == 0  # the recorded values are fine
    # the option as typed, its range in words (it said RunConfig.neighbour_weight must be in [0, 1])
    assert main([*base, "--neighbour-weight", "2"]) == 2
    assert "error: --neighbour-weight must be from 0 to 1, got 2.0" in capsys.readouterr().err


def test_tune_writes_the_grid_table_and_asks_before_spending(tmp_path, capsys, monkeypatch):
    import pandas as pd

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))  # an extraction cache no other test filled

    args = ["tune", "--corpus", "builtin", "--limit", "200", "--encoder", "hashing-64", "--reference", "statistics",
            "--vary", "B=1,3", "--vary", "credit=document,pull", "--seeds", "2", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "t.csv")]) == 2  # nothing cached: asks first
    assert "needs 200 extraction calls" in capsys.readouterr().err and not (tmp_path / "t.csv").exists()
    assert main([*args, "--out", str(tmp_path / "t.csv"), "--spend"]) == 0
    assert "closest to the reference" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "t.csv")
    one, three = "1 arm per round · credit per", "3 arms per round · credit per"
    assert set(table["cell"]) == {f"{one} document", f"{one} pull", f"{three} document", f"{three} pull", "random",
                                  "avg-sim"}
    assert set(table["seed"]) == {0, 1} and table["calls"].max() == 40  # a 0.2 share of 200 documents
    assert table["on_task_share"].between(0, 1).all()  # a built-in preset: the provenance label is known
    assert set(table.loc[table["kind"] == "setting", "batch_arms"]) == {1, 3}
    assert main([*args, "--out", str(tmp_path / "t.parquet"), "--spend"]) == 0
    assert pd.read_parquet(tmp_path / "t.parquet")[["cell", "seed", "calls", "coverage"]].equals(
        table[["cell", "seed", "calls", "coverage"]])
    capsys.readouterr()
    # another process, no --spend: what the first one extracted is on disk and replays, the same table
    assert main([*args, "--out", str(tmp_path / "again.csv")]) == 0, capsys.readouterr().err
    assert pd.read_csv(tmp_path / "again.csv").equals(table)


def test_tune_refuses_bad_settings_naming_them(tmp_path, capsys):
    base = ["tune", "--corpus", "builtin", "--limit", "200", "--encoder", "hashing-64", "--reference", "statistics"]
    assert main([*base, "--vary", "D=0,10", "--out", str(tmp_path / "t.csv")]) == 2
    assert "Documents per pull = 0" in capsys.readouterr().err
    assert main([*base, "--vary", "B=1,500", "--out", str(tmp_path / "t.csv"), "--spend"]) == 2
    assert "Arms per round = 500 is more than the map's" in capsys.readouterr().err
    assert main([*base, "--vary", "B=1", "--out", str(tmp_path / "t.xlsx")]) == 2
    assert "use .csv or .parquet" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # a grid stores no run: --store is no flag of tune
        main([*base, "--vary", "B=1", "--out", str(tmp_path / "t.csv"), "--store", str(tmp_path / "s.sqlite")])
    assert exit_.value.code == 2 and "unrecognized arguments: --store" in capsys.readouterr().err


def test_tune_calls_budget_defaults_to_the_declared_calls_budget(tmp_path, capsys, monkeypatch):
    import pandas as pd

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))  # its extractions fill no other test's cache

    from core.equal.settings import BY_NAME

    calls = BY_NAME["budget"].default_for({"budget_kind": "calls"})
    args = ["tune", "--corpus", "builtin", "--limit", "200", "--encoder", "hashing-64", "--reference", "statistics",
            "--vary", "B=1,3", "--seeds", "1", "--quiet", "--spend", "--budget-kind", "calls"]
    assert main([*args, "--out", str(tmp_path / "t.csv")]) == 0, capsys.readouterr().err
    assert pd.read_csv(tmp_path / "t.csv")["calls"].max() == calls  # not 0.2 of a call: one pull
    assert main([*args, "--budget", "30", "--out", str(tmp_path / "t30.csv")]) == 0
    assert pd.read_csv(tmp_path / "t30.csv")["calls"].max() == 30


def test_index_stream_uses_the_encoder_and_refuses_flags_it_cannot_honour(tmp_path, capsys):
    path = _write(tmp_path, 30)  # under the 40 documents a ridge map needs: no MiniLM alignment in a unit test
    assert main(["index", "--stream", "--corpus", str(path), "--encoder", "hashing-64", "--k", "3"]) == 0
    assert "into 3 clusters with hashing-64" in capsys.readouterr().out  # not the static tier
    for flags in (["--limit", "10"], ["--umap-neighbors", "5"], ["--umap-min-dist=0.5"], ["--engine", "ray"]):
        assert main(["index", "--stream", "--corpus", str(path), "--encoder", "hashing-64", *flags]) == 2
        err = capsys.readouterr().err
        assert f"index --stream cannot use {flags[0].split('=')[0]}" in err and "Traceback" not in err


def test_tune_and_export_create_the_out_folder_and_name_one_that_cannot_be(tmp_path, capsys, monkeypatch):
    from core.equal.store import RunStore

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))

    store = tmp_path / "runs.sqlite"
    corpus = ["--corpus", str(_write(tmp_path, 40)), "--k", "4", "--encoder", "hashing-64", "--quiet",
              "--reference", "statistics"]
    assert main(["run", *corpus, "--store", str(store), "--budget", "0.2"]) == 0
    run_id = RunStore(store).list_runs().loc[0, "run_id"]
    out = tmp_path / "new" / "deeper" / "de.jsonl"
    assert main(["export", run_id, "--reference", "statistics", "--store", str(store), "--out", str(out)]) == 0
    assert out.exists()
    tune = ["tune", *corpus, "--vary", "B=1,3", "--seeds", "1", "--spend"]
    assert main([*tune, "--out", str(tmp_path / "grids" / "g.csv")]) == 0
    assert (tmp_path / "grids" / "g.csv").exists()
    (tmp_path / "a-file").write_text("")
    capsys.readouterr()
    assert main([*tune, "--out", str(tmp_path / "a-file" / "g.csv")]) == 2
    err = capsys.readouterr().err
    assert "could not be created" in err and "a-file" in err and "Traceback" not in err
