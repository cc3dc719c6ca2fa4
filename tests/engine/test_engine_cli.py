"""``python -m core.equal index|extract-all --engine local|ray`` on a small JSONL corpus."""

from __future__ import annotations

import json

import pytest

from core.engine.sink import PairSink
from core.equal.__main__ import main
from tests.engine._engine_data import qa_corpus


@pytest.fixture()
def corpus_file(tmp_path):
    corpus = qa_corpus(30, seed=7)
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(corpus.ids, corpus.texts)))
    return path


def test_extract_all_local_and_ray_fill_equal_sinks(ray_cluster, corpus_file, tmp_path, capsys):
    assert main(["extract-all", "--corpus", str(corpus_file), "--sink", str(tmp_path / "l.sqlite"),
                 "--batch-docs", "4"]) == 0
    assert main(["extract-all", "--corpus", str(corpus_file), "--engine", "ray", "--workers", "2",
                 "--sink", str(tmp_path / "r.sqlite"), "--batch-docs", "4"]) == 0
    out = capsys.readouterr().out
    assert "extract-all (local): 30 documents" in out and "extract-all (ray): 30 documents" in out
    local, ray_sink = PairSink(tmp_path / "l.sqlite"), PairSink(tmp_path / "r.sqlite")
    assert len(local.pairs_frame()) > 20 and ray_sink.pairs_frame().equals(local.pairs_frame())
    assert main(["extract-all", "--corpus", str(corpus_file), "--engine", "ray",
                 "--sink", str(tmp_path / "r.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "0 documents extracted" in out and "(30 already done)" in out


def test_index_on_ray_says_which_engine_embedded_the_map(ray_cluster, corpus_file, capsys):
    assert main(["index", "--corpus", str(corpus_file), "--encoder", "hashing-32", "--k", "3", "--engine", "ray"]) == 0
    assert "embedded by the ray engine" in capsys.readouterr().out


def test_bad_engine_arguments_are_refused(corpus_file, capsys):
    with pytest.raises(SystemExit):
        main(["extract-all", "--corpus", str(corpus_file), "--engine", "spark"])
    assert "invalid choice: 'spark'" in capsys.readouterr().err
    assert main(["extract-all", "--corpus", str(corpus_file), "--extractor", "nonsense"]) == 2
    assert "--extractor nonsense" in capsys.readouterr().err


def test_extract_all_with_an_llm_endpoint_on_ray_stays_within_max_in_flight(ray_cluster, corpus_file, tmp_path,
                                                                            monkeypatch, capsys):
    from tests.equal.fake_llm_server import FakeLLMServer

    with FakeLLMServer(delay=0.05) as server:
        monkeypatch.setenv("EQUAL_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("EQUAL_LLM_MODEL", "fake-model")
        assert main(["extract-all", "--corpus", str(corpus_file), "--extractor", "openai", "--engine", "ray",
                     "--max-in-flight", "2", "--sink", str(tmp_path / "llm.sqlite"), "--batch-docs", "5"]) == 0
        assert 1 <= server.max_in_flight <= 2
        assert len(server.chat_requests) == 30  # this session's response cache has never seen these texts
    out = capsys.readouterr().out
    assert "30 documents done, 0 failed, 20 pairs, 30 calls" in out
