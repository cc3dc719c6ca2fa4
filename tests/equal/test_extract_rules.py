"""The rule-based extractor on real document shapes (markers, FAQ, prose, docstrings)."""

from __future__ import annotations

import inspect
import json

import pytest

from core.equal.extract import Extractor, make_extractor
from core.equal.extract.rules import RuleConfig, RuleExtractor


def _pairs(doc_id: str, text: str, **config) -> list[tuple[str, str]]:
    result = RuleExtractor(RuleConfig(**config)).extract([(doc_id, text)])
    assert all(p.doc_id == doc_id and p.extractor == "rules" for p in result.pairs)
    return [(p.question, p.answer) for p in result.pairs]


def test_protocol_and_factory_default():
    extractor = make_extractor()
    assert isinstance(extractor, RuleExtractor)
    assert isinstance(extractor, Extractor)
    assert extractor.name == "rules"


def test_q_a_markers_multiline_and_case_insensitive():
    text = (
        "Welcome to the quiz page. Advertisement: buy now.\n\n"
        "Q: What is the capital of France?\n"
        "A: Paris.\nIt is also the largest city.\n\n"
        "q1. how many legs has a spider?\n"
        "a1. Eight.\n"
    )
    assert _pairs("quiz", text) == [
        ("What is the capital of France?", "Paris.\nIt is also the largest city."),
        ("how many legs has a spider?", "Eight."),
    ]


def test_question_answer_words_and_unanswered_question_dropped():
    text = (
        "Question: Why is the sky blue?\nAnswer: Rayleigh scattering\nof sunlight.\n\n"
        "QUESTION: Is this one answered?\n"
    )
    assert _pairs("qa", text) == [("Why is the sky blue?", "Rayleigh scattering\nof sunlight.")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Q: How do I install it?\n\nThe project is released under the MIT license.", []),
        (
            "Question: Why is the sky blue?\nAnswer: Rayleigh scattering of sunlight.\n\n"
            "QUESTION: Is this one answered?\n\nContact us at the front desk for more information.",
            [("Why is the sky blue?", "Rayleigh scattering of sunlight.")],
        ),
        (
            "Q: What is X?\nQ: inner?\nA: inner answer here.\nA: outer answer words.",
            [("inner?", "inner answer here.")],
        ),
    ],
)
def test_unanswered_question_marker_is_not_paired_by_a_later_rule(text, expected):
    # "a question marker without an answer yields nothing": not even through question_heading
    assert _pairs("d", text) == expected
    fired = [t.rule for t in RuleExtractor().explain("d", text) if t.status == "fired"]
    assert "question_heading" not in fired


def test_unanswered_question_marker_leaves_later_shapes_alone():
    text = "Q: How do I install it?\n\n## How do I upgrade?\n\nRun the upgrade script from the tools folder."
    assert _pairs("d", text) == [("How do I upgrade?", "Run the upgrade script from the tools folder.")]


def test_answer_stops_at_markdown_heading():
    text = "Q: What is 2+2?\nA: 4.\n\n## Related products\nBuy our calculator."
    assert _pairs("d", text) == [("What is 2+2?", "4.")]


def test_problem_solution_and_exercise_blocks():
    text = (
        "Problem: Compute 2+3.\nSolution: 2+3 = 5.\n\n"
        "Exercise 1.2\nShow that the sum of two even numbers is even.\n"
        "Solution. Write them as 2a and 2b; the sum is 2(a+b).\n"
    )
    assert _pairs("book", text) == [
        ("Compute 2+3.", "2+3 = 5."),
        ("Show that the sum of two even numbers is even.", "Write them as 2a and 2b; the sum is 2(a+b)."),
    ]


def test_faq_headings_ending_in_question_mark():
    text = (
        "# Frequently asked questions\n\n"
        "## How do I reset my password?\n\nGo to Settings and click Reset.\n\n"
        "**Can I delete my account?**\nYes, from the profile page.\n\n"
        "Thanks for reading!"
    )
    assert _pairs("faq", text) == [
        ("How do I reset my password?", "Go to Settings and click Reset."),
        ("Can I delete my account?", "Yes, from the profile page."),
    ]


def test_forum_title_and_question_inside_prose():
    forum = "Title: How do I reverse a list in Python?\n\nUse reversed(x) or x[::-1]."
    assert _pairs("post-1", forum) == [("How do I reverse a list in Python?", "Use reversed(x) or x[::-1].")]
    prose = "The compiler is fast. Why is it fast? Because it caches everything. It also avoids copies."
    assert _pairs("blog-7", prose) == [
        ("Why is it fast?", "Because it caches everything. It also avoids copies.")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "This is plain prose. It states facts about the weather and asks nothing.",
        "Buy now! Limited offer. Click here to subscribe.\n\nCopyright 2024.",
        "",
    ],
)
def test_documents_without_qa_shapes_yield_nothing(text):
    result = RuleExtractor().extract([("page-3", text)])
    assert result.pairs == []
    assert result.calls == 1 and result.cost == 0.0 and result.errors == []


def test_stdlib_docstring_json_dumps():
    doc = inspect.getdoc(json.dumps)
    pairs = dict(_pairs("json.dumps", doc))
    assert list(pairs) == ["What does `json.dumps` do?"]
    answer = pairs["What does `json.dumps` do?"]
    assert answer.startswith("Serialize ``obj`` to a JSON formatted ``str``.")
    assert "skipkeys" in answer  # the first extended paragraph joins the summary


def test_numpydoc_docstring_numpy_linspace():
    np = pytest.importorskip("numpy")
    pairs = dict(_pairs("numpy.linspace", inspect.getdoc(np.linspace)))
    assert list(pairs) == [
        "What does `numpy.linspace` do?",
        "What are the parameters of `numpy.linspace`?",
        "What does `numpy.linspace` return?",
        "How do you use `numpy.linspace`?",
    ]
    assert pairs["What does `numpy.linspace` do?"].startswith("Return evenly spaced numbers")
    params = pairs["What are the parameters of `numpy.linspace`?"]
    assert params.startswith("start : array_like") and "endpoint : bool" in params
    assert "See Also" not in params and "samples : ndarray" not in params
    assert pairs["What does `numpy.linspace` return?"].startswith("samples : ndarray")
    usage = pairs["How do you use `numpy.linspace`?"]
    assert usage.startswith(">>> import numpy as np") and ">>> np.linspace(2.0, 3.0, num=5)" in usage


def test_ufunc_signature_line_is_not_the_summary():
    np = pytest.importorskip("numpy")
    pairs = dict(_pairs("numpy.add", inspect.getdoc(np.add)))
    assert pairs["What does `numpy.add` do?"].startswith("Add arguments element-wise.")


def test_doctest_example_keeps_output_indentation():
    doc = (
        "Stack two arrays into a matrix.\n\n"
        ">>> stack([1, 2], [3, 4])\narray([[1, 2],\n       [3, 4]])\n"
    )
    pairs = dict(_pairs("mylib.stack", doc))
    assert pairs["How do you use `mylib.stack`?"] == (
        ">>> stack([1, 2], [3, 4])\narray([[1, 2],\n       [3, 4]])"
    )


def test_private_dunder_and_stub_docstrings_yield_nothing():
    assert _pairs("int.__eq__", inspect.getdoc(int.__eq__)) == []
    assert _pairs("json._private", "Serialize the object into a compact string form.") == []
    assert _pairs("os.error.filename", "exception filename") == []
    assert _pairs("numpy.row_stack", "Alias for the vstack function, kept for compatibility.") == []


_PROSE = (
    "Our office moved to a new building downtown last spring.\n\n"
    "The cafeteria on the ground floor serves lunch from noon until two."
)
_MUTEX = "A mutex is a lock that lets only one thread at a time enter a critical section of the code."


@pytest.mark.parametrize(
    "doc_id",
    ["https://example.com/about", "www.example.com", "report.pdf", "notes/a.txt", "x.md", "docs/v1.2.md", "pkg/mod.py"],
)
def test_url_host_and_file_ids_are_not_qualified_names(doc_id):
    # prose under such an id is no docstring: no "What does `example.com.about` do?"
    assert _pairs(doc_id, _PROSE) == []
    # and the definition rule is not switched off as if the text were a docstring
    assert _pairs(doc_id, _MUTEX) == [("What is a mutex?", _MUTEX)]


@pytest.mark.parametrize(
    ("doc_id", "name"),
    [
        ("scipy.sparse.tril#0", "scipy.sparse.tril"),
        ("py:mod.add", "mod.add"),
        ("os.path.join", "os.path.join"),
        ("numpy.ndarray.sum()", "numpy.ndarray.sum"),
        ("scipy.stats.gaussian_kde.pdf", "scipy.stats.gaussian_kde.pdf"),
        ("builtins.zip", "builtins.zip"),
        ("py:flask.json", "flask.json"),
        ("flask.json", "flask.json"),
        ("lxml.html", "lxml.html"),
        ("stdlib/json/dumps", "stdlib.json.dumps"),
    ],
)
def test_python_object_ids_stay_qualified_names(doc_id, name):
    summary = "Compute the thing from its inputs and return it as a new array."
    assert _pairs(doc_id, summary) == [(f"What does `{name}` do?", summary)]


def test_summary_requires_structure_option():
    one_paragraph = "Join two or more pathname components, inserting '/' as needed."
    assert _pairs("os.path.join", one_paragraph) != []
    assert _pairs("os.path.join", one_paragraph, summary_requires_structure=True) == []


def test_numpydoc_parameter_named_a_is_not_an_answer_marker():
    doc = (
        "Solve a linear matrix equation.\n\nParameters\n----------\n"
        "a : (M, M) array_like\n    Coefficient matrix.\nb : array_like\n    Ordinate values.\n"
    )
    questions = [q for q, _ in _pairs("numpy.linalg.solve", doc)]
    assert questions == [
        "What does `numpy.linalg.solve` do?",
        "What are the parameters of `numpy.linalg.solve`?",
    ]


def test_deterministic_and_one_call_per_document():
    np = pytest.importorskip("numpy")
    docs = [
        ("numpy.linspace", inspect.getdoc(np.linspace)),
        ("json.dumps", inspect.getdoc(json.dumps)),
        ("quiz", "Q: What is 2+2?\nA: 4."),
        ("prose", "Nothing to see here."),
    ]
    first = RuleExtractor().extract(docs)
    second = RuleExtractor().extract(list(reversed(docs)))
    assert first.calls == 4 and first.cost == 0.0
    assert sorted(first.pairs, key=repr) == sorted(second.pairs, key=repr)
    assert first.pairs == RuleExtractor().extract(docs).pairs
    assert {p.doc_id for p in first.pairs} == {"numpy.linspace", "json.dumps", "quiz"}


def test_bad_config_names_the_parameter():
    with pytest.raises(ValueError, match="max_answer_sentences"):
        RuleConfig(max_answer_sentences=0)
    with pytest.raises(ValueError, match="max_pairs"):
        make_extractor("rules", max_pairs=3)


def test_factory_passes_config_fields():
    doc = "Q: one?\nA: 1.\n\nQ: two?\nA: 2.\n\nQ: three?\nA: 3."
    extractor = make_extractor("rules", max_pairs_per_doc=2)
    assert [p.question for p in extractor.extract([("d", doc)]).pairs] == ["one?", "two?"]


def test_rule_extractions_kept_on_disk_replay_in_another_process_and_a_new_version_misses(tmp_path):
    from core.equal.extract.base import ExtractionResult
    from core.equal.extract.cache import CachedExtractor, ExtractionCache, kept_on_disk

    docs = [("faq", "Q: What is 2+2?\nA: 4."), ("prose", "Plain text without questions."), ("bad", None)]
    rules = RuleExtractor()
    first = CachedExtractor(rules, rules.version, ExtractionCache(tmp_path / "x.sqlite"))
    fresh = first.extract(docs)
    assert fresh.calls == 3 and [d for d, _ in fresh.errors] == ["bad"]
    again = CachedExtractor(rules, rules.version, ExtractionCache(tmp_path / "x.sqlite"))  # a new process' view
    assert again.is_cached(docs[0][1]) and again.is_cached(docs[1][1])  # "no pairs" is kept too
    replay = again.extract(docs[:2])
    assert (replay.calls, replay.cached, replay.pairs) == (0, 2, fresh.pairs)
    other = CachedExtractor(RuleExtractor(max_pairs_per_doc=1), RuleExtractor(max_pairs_per_doc=1).version,
                            ExtractionCache(tmp_path / "x.sqlite"))
    assert not other.is_cached(docs[0][1])  # other limits: another key

    class OwnCache:
        name = "llm"

        def is_cached(self, text):
            return False

        def extract(self, docs):
            return ExtractionResult()

    llm = OwnCache()
    assert kept_on_disk(llm) is llm and isinstance(kept_on_disk(rules), CachedExtractor)


def test_rule_extractions_kept_on_disk_survive_a_cache_that_fails_and_a_batch_is_kept_in_one_write(tmp_path, caplog):
    import logging

    from core.equal.extract.cache import CachedExtractor, ExtractionCache

    docs = [("faq", "Q: What is 2+2?\nA: 4."), ("two", "Q: And 3+3?\nA: 6.")]
    rules = RuleExtractor()
    broken = ExtractionCache(tmp_path / "gone.sqlite")
    broken.close()
    with caplog.at_level(logging.WARNING, logger="core.equal.extract.cache"):
        result = CachedExtractor(rules, rules.version, broken).extract(docs)
    assert result.calls == 2 and [p.answer for p in result.pairs] == ["4.", "6."]  # read and kept in memory
    assert caplog.text.count("results kept") == 1  # one write a batch: one warning, not one a document
    cache = ExtractionCache(tmp_path / "ok.sqlite")
    CachedExtractor(rules, rules.version, cache).extract(docs)
    assert len(cache) == 2
