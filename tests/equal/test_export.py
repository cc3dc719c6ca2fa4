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
    longer = ["We never parse a JSON string into Python by hand in this project"]  # shares 6 tokens in a row
    assert find_contaminated(q, a, longer, n=5) == [True]
    assert find_contaminated(q, a, longer, n=8) == [False]  # a fragment of a longer reference is not a copy
    assert ngrams("a b c", 2) == {("a", "b"), ("b", "c")}
    res = export_pairs(_pairs(), REF, decontaminate=False)
    assert res.n_removed == 0 and res.n_written == 3


def test_bad_export_arguments():
    with pytest.raises(ValueError, match="shape"):
        export_pairs(_pairs(), REF, shape="sharegpt")
    with pytest.raises(ValueError, match="cluster"):
        export_pairs(_pairs().drop(columns="cluster"), REF)


def test_a_reference_shorter_than_n_tokens_copied_whole_is_contamination():
    """A plain-text reference set is one short question a line: copied into a pair's question or answer (or as
    the pair's question and answer together), the pair is dropped; too short a text, or part of it, is not."""
    ref = ["How do I reverse a list in place?", "What does json.dumps return?", "Why?"]
    q = ["How do I reverse a list in place?", "Tell me: what does json.dumps return? Briefly.", "Why?",
         "How do I reverse a list?"]
    a = ["Call lst.reverse().", "A str.", "Because.", "Use reversed()."]
    assert find_contaminated(q, a, ref, n=8) == [True, True, False, False]
    assert find_contaminated(["How do I"], ["reverse a list in place?"], ref, n=8) == [True]
    assert find_contaminated(["What does json.dumps"], ["return?"], ref, n=4) == [True]
