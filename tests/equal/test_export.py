"""Export: both JSONL shapes with provenance, n-gram decontamination, no settings or key."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.equal.export import export_pairs, find_contaminated, ngrams


def _pairs():
    return pd.DataFrame(
        {
            "round": [0, 1, 2],
            "cluster": [3, 4, 3],
            "doc_id": ["json.dumps", "json.loads", "os.walk"],
            "question": [
                "What does json.dumps do?",
                "How do I parse a JSON string into Python objects quickly?",
                "How do I walk a tree?",
            ],
            "answer": [
                "Serialize obj to a JSON formatted str.",
                "Call json.loads on the text and you get dicts and lists back.",
                "os.walk yields dirpath, dirnames, filenames.",
            ],
            "extractor": "rules",
            "policy": "equal",
        }
    )


REF = ["How do I parse a JSON string into Python objects quickly? Call json.loads"]


@pytest.mark.parametrize("shape", ["messages", "alpaca"])
def test_export_shapes_with_provenance_after_decontamination(shape, monkeypatch):
    monkeypatch.setenv("EQUAL_LLM_API_KEY", "sk-secret-123")
    res = export_pairs(_pairs(), REF, shape=shape, n=8)
    rows = [json.loads(line) for line in res.data.decode().splitlines()]
    assert res.n_removed == 1 and res.n_written == 2 == len(rows)
    assert [r["provenance"]["doc_id"] for r in rows] == ["json.dumps", "os.walk"]
    assert rows[0]["provenance"] == {
        "doc_id": "json.dumps",
        "cluster": 3,
        "round": 0,
        "policy": "equal",
        "extractor": "rules",
    }
    if shape == "messages":
        assert rows[1]["messages"] == [
            {"role": "user", "content": "How do I walk a tree?"},
            {"role": "assistant", "content": "os.walk yields dirpath, dirnames, filenames."},
        ]
    else:
        assert rows[1]["instruction"] == "How do I walk a tree?" and rows[1]["input"] == ""
    assert b"sk-secret" not in res.data and b"base_url" not in res.data


def test_ngram_size_is_a_parameter():
    q, a = ["How do I parse a JSON string into Python objects quickly?"], ["no"]
    assert find_contaminated(q, a, ["parse a JSON string into Python"], n=5) == [True]
    assert find_contaminated(q, a, ["parse a JSON string into Python"], n=8) == [False]
    assert ngrams("a b c", 2) == {("a", "b"), ("b", "c")}
    res = export_pairs(_pairs(), REF, decontaminate=False)
    assert res.n_removed == 0 and res.n_written == 3


def test_bad_export_arguments():
    with pytest.raises(ValueError, match="shape"):
        export_pairs(_pairs(), REF, shape="sharegpt")
    with pytest.raises(ValueError, match="cluster"):
        export_pairs(_pairs().drop(columns="cluster"), REF)
