"""Yield and precision of the rule extractor on real text labelled by hand (tests/equal/fixtures/shapes.jsonl).

The fixture is cut from text nobody here wrote (Debian FAQs and changelogs, package READMEs,
the language reference, standard-library and numpy docstrings) by scripts/build_shape_fixture.py;
each gold item is a pair a reader would take from it (a question anchor, an answer anchor).
A pair is *correct* when it matches a gold item of its document; *yield* is the share of
gold items matched, *precision* the share of extracted pairs that are correct.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.equal.extract.rules import RULES, RuleExtractor, explain_documents

FIXTURE = Path(__file__).parent / "fixtures" / "shapes.jsonl"
ROWS = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
YIELD_BAR, PRECISION_BAR = 0.85, 0.85


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


def _matches(pair: tuple[str, str], gold: dict) -> bool:
    q, a = map(_norm, pair)
    return _norm(gold["a"]) in a and (gold["q"] is None or _norm(gold["q"]) in q)


def _score():
    extractor = RuleExtractor()
    n_gold = hit = n_pairs = correct = 0
    misses, wrong = [], []
    for row in ROWS:
        pairs = extractor.extract_text(row["id"], row["text"])
        n_pairs += len(pairs)
        ok = [p for p in pairs if any(_matches(p, g) for g in row["gold"])]
        correct += len(ok)
        wrong += [(row["id"], p[0]) for p in pairs if p not in ok]
        for g in row["gold"]:
            n_gold += 1
            if any(_matches(p, g) for p in pairs):
                hit += 1
            else:
                misses.append((row["id"], g["q"] or g["a"]))
    return hit / n_gold, correct / max(n_pairs, 1), misses, wrong


def test_fixture_is_real_text_with_both_kinds_of_document():
    assert len(ROWS) >= 20
    assert sum(not r["gold"] for r in ROWS) >= 5, "documents that must yield nothing (contents, changelogs, stubs)"
    assert all(r["source"] and r["text"] for r in ROWS)


def test_yield_and_precision_on_real_shapes():
    recall, precision, misses, wrong = _score()
    assert recall >= YIELD_BAR, f"yield {recall:.2f} < {YIELD_BAR}; missed {misses}"
    assert precision >= PRECISION_BAR, f"precision {precision:.2f} < {PRECISION_BAR}; wrong {wrong}"


@pytest.mark.parametrize("row", [r for r in ROWS if not r["gold"]], ids=lambda r: r["id"])
def test_documents_without_pairs_yield_nothing_and_say_why(row):
    extractor = RuleExtractor()
    assert extractor.extract_text(row["id"], row["text"]) == []
    frame = explain_documents(extractor, [(row["id"], row["text"])])
    assert frame.loc[0, "pairs"] == 0 and frame.loc[0, "rules"] == "" and frame.loc[0, "why"]


def test_word_problem_paragraph_then_its_solution():
    # the shape the issue measured (problem paragraph, blank line, worked solution: no markers)
    extractor = RuleExtractor()
    assert extractor.extract_text("g", "How many clips did she sell?\n\nShe sold 72.") == [
        ("How many clips did she sell?", "She sold 72.")
    ]
    problem = (
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?"
    )
    solution = (
        "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72"
    )
    pairs = extractor.extract_text("gsm-1", f"{problem}\n\n{solution}")
    assert pairs == [(problem, solution)]
    trace = {t.rule: t for t in extractor.explain("gsm-1", f"{problem}\n\n{solution}")}
    assert trace["question_paragraph"].status == "fired" and trace["question_paragraph"].n_pairs == 1


def test_docstring_whatever_the_id_looks_like():
    import inspect
    import json as json_module

    doc = inspect.getdoc(json_module.dumps)
    extractor = RuleExtractor()
    plain = extractor.extract_text("json.dumps", doc)
    for doc_id in ("py:json.dumps", "stdlib/json/dumps", "json::dumps", "json.dumps()"):
        assert [a for _, a in extractor.extract_text(doc_id, doc)] == [a for _, a in plain], doc_id
    assert extractor.extract_text("py:mod.add", "Add two numbers and return their sum.\n\n>>> add(1, 2)\n3")


def test_explain_names_every_rule_and_the_one_that_fired():
    extractor = RuleExtractor()
    traces = extractor.explain("faq", "Q: What is 2+2?\nA: 4.")
    assert [t.rule for t in traces] == list(RULES)
    assert [t.rule for t in traces if t.status == "fired"] == ["markers"]
    toc = next(r for r in ROWS if r["id"] == "lsof-toc")
    numbered = {t.rule: t for t in extractor.explain(toc["id"], toc["text"])}["numbered"]
    assert numbered.status == "near" and "table of contents" in numbered.detail


def test_explain_cluster_says_why_a_barren_cluster_yields_nothing():
    from core.equal.extract.rules import explain_cluster

    toc = next(r for r in ROWS if r["id"] == "lsof-toc")
    faq = next(r for r in ROWS if r["id"] == "zlib-faq-1")
    ids, texts, labels = [toc["id"], faq["id"], "stub"], [toc["text"], faq["text"], "Plain words."], [1, 0, 1]
    frame = explain_cluster(RuleExtractor(), ids, texts, labels, cluster=1)
    assert list(frame.columns) == ["document", "pairs", "rules", "why"]  # in words: the page showed "doc_id"
    assert list(frame.document) == ["lsof-toc", "stub"] and (frame.pairs == 0).all()
    assert "table of contents" in frame.loc[0, "why"] and "no question-answer shape" in frame.loc[1, "why"]
    assert explain_cluster(RuleExtractor(), ids, texts, labels, cluster=0).loc[0, "rules"] == "numbered"
