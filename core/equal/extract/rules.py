"""A deterministic, offline, rule-based QA extractor: the default extractor.

It stands in for the paper's LLM extract pass (EQUAL, arXiv 2505.12250, Sec. "Extraction")
wherever no endpoint is configured, and keeps a run reproducible from its seed. It reads
only shapes that *are* question-answer pairs, so a document without any of them yields zero
pairs -- the bandit must be able to find clusters that do not pay -- and
:meth:`RuleExtractor.explain` says, per document, which rule fired or why none did.

Named rules, in this order (a span used by an earlier rule is not reused; :data:`RULES`):

``markers``
    Explicit markers at a line start, case-insensitive: ``Q:``/``A:`` (also ``Q1.``/``A1.``,
    ``Q.``/``A.``), ``Question:``/``Answer:``, ``Problem:``/``Solution:``, ``Exercise 3.2``/
    ``Solution``. The answer runs up to the next marker (or a heading / horizontal rule). A
    question marker without an answer yields nothing: filling in answers is an LLM's job; its
    line and the rest of its question's paragraph are consumed, so no later rule pairs it with
    whatever follows.
``numbered``
    Numbered FAQ entries and exercises (``1.``, ``1.1.``, ``3.27<TAB>``): the item's line(s)
    and the block under it (``Solution:`` stripped). A statement item ("compress() returns
    Z_BUF_ERROR.") needs its answer after a blank line; an item whose "answer" is the next
    item -- a table of contents, a plain list -- yields nothing, and its lines are consumed so
    no later rule pairs one question with the next.
``question_heading``
    A Markdown/RST heading, emphasised line (``*...*``, ``**...**``), title (``Title:``,
    ``Subject:``) or one-line paragraph ending in ``?``, with its answer: the rest of its
    paragraph, else the section below a Markdown/RST heading, else the next paragraph.
``task_heading``
    A Markdown/RST heading phrased as a task ("How Faiss works", "How to ...", "Installing
    X", "Installation", "Usage") with the section below: "How does Faiss work?"-style question.
``question_paragraph``
    A paragraph whose last sentence ends in ``?`` (a word problem: context, then the question)
    followed by a paragraph that is not itself a question: the worked solution.
``prose_question``
    A sentence ending in ``?`` inside a paragraph followed by up to ``max_answer_sentences``
    statements of the same paragraph.
``definition``
    A paragraph opening with a definition sentence, "An attribute reference is a primary
    followed by ..." -> "What is an attribute reference?" (pronoun subjects -- "This is a",
    "It is" -- never count; docstrings are left to ``docstring``).
``worked_example``
    An intro line ending in ``:`` followed by ``>>>`` examples with their output, or two or
    more ``input -> output`` lines.
``docstring``
    For a docstring (a public qualified name *whatever the id looks like*: ``json.dumps``,
    ``py:json.dumps``, ``stdlib/json/dumps``, ``json::dumps``; or any text with numpydoc /
    Google / Sphinx sections or ``>>>`` examples). An id that is a URL (``https://...``), a
    ``www.`` host or a file name -- a last path component ``stem.ext`` with a document
    extension (txt, md, rst, pdf, html, htm, json, jsonl, csv, tsv, doc, docx, xml, yaml, yml,
    parquet, and py: ``pkg/mod.py`` is a source file, not an object; not zip: ``builtins.zip``),
    or without a path ``stem.ext`` with an extension no module is named after (``report.pdf``, but
    ``lxml.html`` and ``flask.json`` are modules) -- names no object and is never a docstring's
    name; a longer dotted name (``scipy.stats.gaussian_kde.pdf``) or a ``py:`` id still is:

    - the summary -> "What does `<name>` do?" -> the summary paragraph plus the first
      extended-description paragraph (first chunk only, not a stub: ``Alias for ...``,
      ``Deprecated ...``, ``See ...``, fewer than ``min_summary_words`` words);
    - ``Parameters`` (numpydoc, Google ``Args:``, ``:param x:``) -> "What are the parameters of ...?";
    - ``Returns``/``Yields`` -> "What does ... return?"; ``>>>`` examples -> "How do you use ...?".

    Private and dunder names (``_x``, ``__eq__``) yield nothing.

Accounting: one "call" per document processed (the budget unit of the bandit), cost 0.

Measured on a labelled set of real text (tests/equal/fixtures/shapes.jsonl: Debian FAQs and
changelogs, package READMEs, the language reference, docstrings; built by
scripts/build_shape_fixture.py): see tests/equal/test_extract_shapes.py for the yield and
precision bars.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.equal.extract.base import ExtractionResult, QAPair

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RULES", "RuleConfig", "RuleExtractor", "RuleTrace", "explain_cluster", "explain_documents"]

_QUESTION_MARKERS = r"q\d*|question(?:\s+\d+[\w.]*)?|problem(?:\s+\d+[\w.]*)?|exercise(?:\s+\d+[\w.]*)?"
_ANSWER_MARKERS = r"a\d*|answer|ans|solution"
# A marker opens a line: optional markdown decoration, the word, then ':' or '.' right after
# it (so numpydoc's "A : array_like" is no marker), or, for a numbered exercise/problem, the
# end of the line.
_MARKER = re.compile(
    r"^[ \t]*(?:[#>*_]+[ \t]*)?(?P<word>" + _QUESTION_MARKERS + "|" + _ANSWER_MARKERS + r")"
    r"(?:[*_]+)?(?:[:.][*_]*(?=\s|$)|(?<=\d)(?=[ \t]*$))[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_ANSWER_WORD = re.compile(r"^(?:" + _ANSWER_MARKERS + r")$", re.IGNORECASE)
_SECTION_BREAK = re.compile(r"^[ \t]*(?:#{1,6}[ \t]|(?:-{3,}|\*{3,}|={3,})[ \t]*$)", re.MULTILINE)

_TITLE_PREFIX = re.compile(r"^(?:title|subject|re|faq)\s*:\s*", re.IGNORECASE)
_DECORATION = re.compile(r"^(?:#{1,6}\s*|[-*+]\s+|\d+[.)]\s+|\*\*|__)+|(?:\*\*|__)+$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9`])")
_QUALIFIED = re.compile(r"^[A-Za-z][\w]*(?:\.[A-Za-z][\w]*)+$")
_SIGNATURE = re.compile(r"^[\w.]+\(.*\)\s*(?:->.*)?$")
_STUB = re.compile(r"^(?:alias\b|deprecated\b|see\b|an alias\b|this function is deprecated)", re.IGNORECASE)
_DIRECTIVE = re.compile(r"^\s*\.\.\s")

# numpydoc: "Parameters\n----------"; Google: "Args:" / "Parameters:"; Sphinx fields.
_NUMPYDOC_HEADER = re.compile(r"^([A-Z][A-Za-z ]+)\n[-=~]{3,}[ \t]*$", re.MULTILINE)
_GOOGLE_HEADER = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Returns|Return|Yields|Raises|Examples?|Notes?|"
    r"See Also|Attributes|References)\s*:\s*$",
    re.MULTILINE,
)
_SPHINX_PARAM = re.compile(r"^\s*:(?:param|type|keyword)\b[^:]*:.*(?:\n(?!\s*:)\s+\S.*)*", re.MULTILINE)
_SPHINX_RETURN = re.compile(r"^\s*:(?:returns?|rtype)\s*:.*(?:\n(?!\s*:)\s+\S.*)*", re.MULTILINE)
_PARAM_SECTIONS = {"parameters", "args", "arguments", "params", "other parameters", "keyword args"}
_RETURN_SECTIONS = {"returns", "return", "yields"}


@cache
def _source_digest() -> str:
    """sha256 of this module's source: the rules as they are now."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@dataclass(frozen=True)
class RuleConfig:
    """Limits of the rule-based extractor.

    Parameters
    ----------
    max_answer_sentences : int
        Sentences taken as the answer of a question found inside prose (shape 3).
    max_answer_chars : int
        Answers are cut (at a line end where possible) beyond this many characters.
    max_example_lines : int
        Lines of ``>>>`` example code kept for the "How do you use" answer.
    min_summary_words : int
        Fewer words in a docstring summary and it is treated as a stub (no pair).
    max_question_chars : int
        Longer "questions" (a whole paragraph that happens to end in ``?``) are ignored.
    max_pairs_per_doc : int
        At most this many pairs per document, in document order.
    summary_requires_structure : bool
        If true, a docstring's summary yields its "What does ... do?" pair only when the
        docstring has more than the summary (a section, an example or a second paragraph),
        so one-paragraph docstrings pay nothing. Off by default (every public summary pays).
    """

    max_answer_sentences: int = 3
    max_answer_chars: int = 2000
    max_example_lines: int = 40
    min_summary_words: int = 3
    max_question_chars: int = 300
    max_pairs_per_doc: int = 20
    summary_requires_structure: bool = False

    def __post_init__(self) -> None:
        for name in (
            "max_answer_sentences",
            "max_answer_chars",
            "max_example_lines",
            "min_summary_words",
            "max_question_chars",
            "max_pairs_per_doc",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"RuleConfig.{name} must be >= 1, got {getattr(self, name)!r}")


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _strip_decoration(line: str) -> str:
    line = _DECORATION.sub("", line.strip()).strip()
    return _TITLE_PREFIX.sub("", line).strip()


def _is_question_text(text: str, max_chars: int) -> bool:
    words = re.findall(r"[A-Za-z]+", text)
    return (
        text.endswith("?")
        and len(text) <= max_chars
        and len(words) >= 2
        and text[0].isalnum()
        and not text.lstrip().startswith((">>>", "..."))
    )


# "1. ", "1.1. ", "3) ", or a dotted number then a tab (spaces after cleaning): "3.27<TAB>How ..."
_NUMBERED = re.compile(
    r"^(?P<indent>[ \t]*)(?P<num>\d{1,3}(?:[.)]|(?:\.\d{1,3})+(?:\.|(?=[ \t]{2}|[ \t][A-Z]))))[ \t]+(?P<head>\S.*)$"
)
_HEAD_END = re.compile(r"[?.:!][\"')*_]*$")
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(?P<t>.+?)[ \t#]*$")
_RST_UNDERLINE = re.compile(r"^[ \t]*([=\-~^\"'`#*+])\1{2,}[ \t]*$")
_EMPHASIS = re.compile(r"^[ \t]*(?P<m>\*\*|\*|__|_)(?P<t>[^*_].*?)(?P=m)[ \t]*$")
_TASK_HOW = re.compile(r"^how\s+(?:to\s+)?(?P<rest>.+)$", re.IGNORECASE)
_TASK_WORDS = {
    "installation": "install",
    "installing": "install",
    "install": "install",
    "using": "use",
    "getting started": "get started",
    "configuration": "configure",
    "configuring": "configure",
    "building": "build",
    "running": "run",
    "upgrading": "upgrade",
    "troubleshooting": "troubleshoot",
}
_DEFINITION = re.compile(
    r"^(?:(?P<art>An?|The)\s+(?P<term>[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*){0,4}?)"
    r"|(?P<q>[\"'`]{1,2})(?P<quoted>[\w.-]+)(?P=q))\s+(?:is|are)\s+(?P<what>(?:an?|the|one)\s+\S)",
)
_NOT_TERMS = {
    "result",
    "default",
    "following",
    "same",
    "only",
    "first",
    "last",
    "reason",
    "other",
    "rest",
    "idea",
    "problem",
    "answer",
    "question",
    "way",
    "difference",
    "goal",
    "purpose",
    "main",
    "best",
    "next",
}
_ARROW = re.compile(r"^[ \t]*(?P<x>\S.*?)[ \t]+(?:->|=>|\u2192)[ \t]+(?P<y>\S.*)$")
_ENDS_ASKING = re.compile(r"\?[\"')\]]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*$")
_CHUNK = re.compile(r"#(\d+)$")
_SCHEME = re.compile(r"^[A-Za-z][\w+-]*:(?!:)")
_URL = re.compile(r"^(?:[A-Za-z][\w+.-]*://|www\.)", re.IGNORECASE)
# Document/file extensions: an id "report.pdf" or "notes/a.txt" names a file, not an object.
# "py" is one too ("pkg/mod.py" is a source file; its object is the module "pkg.mod").
# "zip" is not: builtins.zip is a Python object, and an archive is no text document.
_FILE_EXTENSIONS = frozenset("txt md rst pdf html htm json jsonl csv tsv docx doc xml yaml yml parquet py".split())
# of those, the ones no Python module is named after: ``lxml.html``, ``flask.json`` stay object names without a path
_DOCUMENT_EXTENSIONS = frozenset("txt md rst pdf htm jsonl tsv docx yml parquet".split())

RULES = (
    "markers",
    "numbered",
    "question_heading",
    "task_heading",
    "question_paragraph",
    "prose_question",
    "docstring",
    "definition",
    "worked_example",
)


@dataclass(frozen=True)
class RuleTrace:
    """What one named rule did with one document.

    ``status`` is ``"fired"`` (it gave ``n_pairs`` pairs), ``"near"`` (its shape is present
    but was rejected: ``detail`` says why) or ``"absent"`` (no trace of its shape).
    """

    rule: str
    status: str
    n_pairs: int
    detail: str


@dataclass
class _Outcome:
    pairs: list[tuple[str, str]]
    detail: str
    near: bool = False


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def _is_answer(text: str) -> bool:
    """Could ``text`` answer a question: some words, not itself a question or a list of them, not a CAPS label."""
    words = re.findall(r"[A-Za-z]+", text)
    flat = _one_line(text)
    label = re.sub(r"\(.*?\)", "", flat)
    return (
        len(words) >= 2
        and not _mostly_questions(text)
        and not _ENDS_ASKING.search(flat)
        and not (label.upper() == label and len(words) < 8)
        and not _NUMBERED.match(text.strip().split("\n")[0])
    )


def _mostly_questions(text: str) -> bool:
    """True when most lines/sentences of ``text`` end in ``?`` (a list of questions, not an answer)."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    asks = sum(ln.endswith("?") for ln in lines)
    return bool(lines) and asks * 2 >= len(lines) and asks >= 1


def _heading(para: str) -> tuple[str, str, str] | None:
    """``(kind, title, body)`` when the paragraph opens with a heading: md, rst, emph, title or line."""
    lines = para.strip("\n").split("\n")
    first = lines[0]
    m = _MD_HEADING.match(first)
    if m:
        return "md", m.group("t").strip(), "\n".join(lines[1:])
    if len(lines) > 1 and _RST_UNDERLINE.match(lines[1]) and len(lines[1].strip()) >= len(first.strip()) - 2:
        return "rst", first.strip(), "\n".join(lines[2:])
    m = _EMPHASIS.match(first)
    if m:
        return "emph", m.group("t").strip(), "\n".join(lines[1:])
    if _TITLE_PREFIX.match(first.strip()):
        return "title", _TITLE_PREFIX.sub("", first.strip()), "\n".join(lines[1:])
    return None


def _task_question(title: str) -> str | None:
    """The question a task heading asks ("How Faiss works" -> "How does Faiss work?"), else None."""
    t = title.strip().rstrip(":.")
    m = _TASK_HOW.match(t)
    if m:
        rest = m.group("rest")
        words = rest.split()
        if t.lower().startswith("how to "):
            return f"How do you {rest}?"
        if len(words) >= 2 and words[-1].endswith("s") and not words[-1].endswith("ss"):
            return f"How does {' '.join(words[:-1])} {words[-1][:-1]}?"
        return f"How {rest}?"
    low = t.lower()
    if low in ("usage", "use"):
        return "How do you use it?"
    for word, verb in _TASK_WORDS.items():
        if low == word or low.startswith(word + " "):
            obj = t[len(word) :].strip()
            return f"How do you {verb} {obj}?".replace(" ?", "?") if obj else f"How do you {verb} it?"
    return None


def _names_a_file(doc_id: str) -> bool:
    """Is ``doc_id`` a URL, a ``www.`` host or a file name rather than an object's name.

    A file name ends in an extension of :data:`_FILE_EXTENSIONS` after a path's last ``/``
    (``notes/a.txt``, ``docs/v1.2.md``) or, without a path, in one of :data:`_DOCUMENT_EXTENSIONS`
    after the id's only dot (``report.pdf``; ``lxml.html`` and ``flask.json`` name modules). A longer
    dotted name (``scipy.stats.gaussian_kde.pdf``) or a ``py:`` id (``py:flask.json``) stays an
    object's name.

    >>> [_names_a_file(i) for i in ("https://example.com/about", "www.example.com", "notes/a.txt")]
    [True, True, True]
    >>> [_names_a_file(i) for i in ("scipy.sparse.tril#0", "py:mod.add#2", "scipy.stats.gaussian_kde.pdf")]
    [False, False, False]
    >>> [_names_a_file(i) for i in ("report.pdf", "lxml.html", "flask.json", "docs/flask.json")]
    [True, False, False, True]
    """
    doc_id = _CHUNK.sub("", doc_id.strip())
    if _URL.match(doc_id):
        return True
    if doc_id.lower().startswith("py:"):
        return False
    path = doc_id.replace("\\", "/")
    last = path.rsplit("/", 1)[-1]
    ext = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    if "/" in path:
        return ext in _FILE_EXTENSIONS
    return last.count(".") == 1 and ext in _DOCUMENT_EXTENSIONS


def _qualified_name(doc_id: str) -> tuple[str, int]:
    """A dotted name from any id shape, and the chunk index: ``py:mod.add#2`` -> ``("mod.add", 2)``."""
    name = doc_id.strip()
    chunk = 0
    m = _CHUNK.search(name)
    if m:
        chunk, name = int(m.group(1)), name[: m.start()]
    name = _SCHEME.sub("", name).replace("::", ".").replace("/", ".").strip(".")
    if name.endswith("()"):
        name = name[:-2]
    return name, chunk


class _RuleBase:
    """What every rule group reads: the limits, and the answer trimming."""

    config: RuleConfig

    @staticmethod
    def _is_code(paragraph: str) -> bool:
        stripped = paragraph.lstrip()
        return stripped.startswith((">>>", "```", "...")) or bool(_DIRECTIVE.match(paragraph))

    def _trim(self, answer: str) -> str:
        lines = [ln.rstrip() for ln in answer.strip("\n").split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        # remove the common indentation, keep relative indentation (code, lists)
        indents = [len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()]
        cut = min(indents) if indents else 0
        text = "\n".join(ln[cut:] for ln in lines).strip()
        limit = self.config.max_answer_chars
        if len(text) > limit:
            head = text[:limit]
            text = head[: head.rfind("\n")] if "\n" in head[limit // 2 :] else head
        return text


class _LineRules(_RuleBase):
    """Rules that read marked lines of the whole text: ``Q:``/``A:`` markers and numbered entries.

    Each returns its outcome and the text with the spans it consumed removed, for the paragraph rules.
    """

    # markers ------------------------------------------------------------------------
    def _rule_markers(self, text: str) -> tuple[_Outcome, str]:
        """Pairs from ``Q:``/``A:``-style markers, and the text with their spans removed."""
        marks = list(_MARKER.finditer(text))
        if not marks:
            return _Outcome(
                [], "no Q:/A:, Question:/Answer:, Problem:/Solution: or Exercise marker at a line start"
            ), text
        breaks = [m.start() for m in _SECTION_BREAK.finditer(text)]
        pairs: list[tuple[str, str]] = []
        used: list[tuple[int, int]] = []

        def body_end(i: int) -> int:
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            nxt = [b for b in breaks if marks[i].end() <= b < end]
            return min(nxt) if nxt else end

        for i in range(len(marks)):
            if _ANSWER_WORD.match(marks[i].group("word").strip()):
                continue
            nxt = marks[i + 1] if i + 1 < len(marks) else None
            if nxt is not None and _ANSWER_WORD.match(nxt.group("word").strip()):
                question, answer = text[marks[i].end() : nxt.start()], text[nxt.end() : body_end(i + 1)]
                if question.strip() and answer.strip():
                    pairs.append((question, answer))
                    used.append((marks[i].start(), body_end(i + 1)))
                    continue
            # unanswered: its marker and question text are consumed, so no later rule pairs them
            used.append((marks[i].start(), _question_end(text, marks[i].end(), body_end(i))))
        rest = _cut_spans(text, used)
        n_q = sum(not _ANSWER_WORD.match(m.group("word").strip()) for m in marks)
        detail = "" if pairs else f"{n_q} question marker(s) without an answer marker right after"
        return _Outcome(pairs, detail, near=True), rest

    # numbered -----------------------------------------------------------------------
    def _rule_numbered(self, text: str, is_doc: bool = False) -> tuple[_Outcome, str]:
        """Numbered entries with the block under them; entries without one (contents, lists) are consumed.

        Inside a docstring only question entries count: its numbered statements are enumerations.
        """
        lines = text.split("\n")
        entries = {i: m for i, m in ((i, _NUMBERED.match(ln)) for i, ln in enumerate(lines)) if m is not None}
        starts = sorted(entries)
        if not starts:
            return _Outcome([], "no numbered entries (1., 1.1., 3.27)"), text
        pairs, spans, empty = [], [], 0
        offsets = np.cumsum([0] + [len(ln) + 1 for ln in lines]).tolist()
        for k, i in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
            stop = next(
                (j for j in range(i + 1, stop) if _RST_UNDERLINE.match(lines[j]) or _MD_HEADING.match(lines[j])), stop
            )
            head, j = [entries[i].group("head").strip()], i + 1
            while (
                j < stop
                and lines[j].strip()
                and not _HEAD_END.search(head[-1])
                and len(head) < 3
                and lines[j][:1] in " \t"
            ):
                head.append(lines[j].strip())
                j += 1
            question = " ".join(head)
            gap = j < stop and not lines[j].strip()
            body = "\n".join(lines[j:stop])
            if re.match(r"\s*(?:solution|answer)\b", body, re.IGNORECASE):
                body = _MARKER.sub("", body, count=1)
            words = len(re.findall(r"[A-Za-z]+", body))
            is_q = question.endswith("?")
            # a statement entry is a sentence ("compress() returns Z_BUF_ERROR."), not a title ("New Features")
            statement = (
                not is_doc
                and gap
                and 2 <= len(question.split()) <= 15
                and question.rstrip("*_")[-1:] in ".!:"
                and not _SENTENCE_END.search(question)
                and bool(re.match(r"[A-Z]|\w+\(", question))
            )
            if words >= 4 and (is_q or statement) and _is_answer(body):
                pairs.append((question, body))
                spans.append((offsets[i], offsets[stop]))
            elif not body.strip() or _mostly_questions(body):
                empty += 1
                spans.append((offsets[i], offsets[stop]))
        detail = (
            ""
            if pairs
            else (
                f"{empty} numbered entr(y/ies) with no answer under them (a table of contents or a list)"
                if empty
                else "numbered lines are list items, not questions with answers"
            )
        )
        return _Outcome(pairs, detail, near=True), _cut_spans(text, spans)


class _ParagraphRules(_RuleBase):
    """Rules that read the paragraphs left over: headings, question paragraphs and prose questions.

    Each marks the paragraphs it used in ``used``, so a later rule does not take them again.
    """

    def _section(self, paragraphs: list[str], k: int, kind: str, used: set[int]) -> tuple[str, list[int]]:
        """The answer under paragraph ``k``'s heading: the next paragraph, or for md/rst headings the section."""
        taken: list[int] = []
        for j in range(k + 1, len(paragraphs)):
            if j in used:
                break
            nxt = paragraphs[j]
            h = _heading(nxt)
            first = _strip_decoration(nxt.strip().split("\n")[0])
            if (
                (h and h[0] in ("md", "rst"))
                or (taken and h)
                or _is_question_text(first, self.config.max_question_chars)
            ):
                break
            taken.append(j)
            if kind not in ("md", "rst"):
                break
        return "\n\n".join(paragraphs[j] for j in taken), taken

    def _rule_question_heading(self, paragraphs: list[str], used: set[int]) -> _Outcome:
        cfg = self.config
        pairs, near = [], 0
        for k, para in enumerate(paragraphs):
            if k in used or self._is_code(para):
                continue
            h = _heading(para)
            kind, title, body = (
                h
                if h
                else ("line", _strip_decoration(para.strip().split("\n")[0]), "\n".join(para.strip().split("\n")[1:]))
            )
            title = _strip_decoration(title)
            if not _is_question_text(title, cfg.max_question_chars) or _SENTENCE_END.search(title):
                continue
            taken: list[int] = []
            if not body.strip():
                body, taken = self._section(paragraphs, k, kind, used)
            if _is_answer(body):
                pairs.append((title, body))
                used.update([k, *taken])
            else:
                near += 1
        return _Outcome(
            pairs,
            f"{near} question heading(s) or line(s) followed by another question or nothing"
            if near
            else "no heading, title or line ending in '?'",
            near=bool(near),
        )

    def _rule_task_heading(self, paragraphs: list[str], used: set[int]) -> _Outcome:
        pairs, near = [], 0
        for k, para in enumerate(paragraphs):
            h = _heading(para) if k not in used else None
            if not h or h[0] not in ("md", "rst"):
                continue
            question = _task_question(_strip_decoration(h[1]))
            if question is None:
                continue
            body, taken = (h[2], []) if h[2].strip() else self._section(paragraphs, k, h[0], used)
            if len(re.findall(r"[A-Za-z]+", body)) >= 5:
                pairs.append((question, body))
                used.update([k, *taken])
            else:
                near += 1
        return _Outcome(
            pairs,
            f"{near} task heading(s) with no section under them"
            if near
            else "no heading phrased as a task (How ..., How to ..., Installing ..., Usage)",
            near=bool(near),
        )

    def _rule_question_paragraph(self, paragraphs: list[str], used: set[int]) -> _Outcome:
        pairs, near = [], 0
        limit = 4 * self.config.max_question_chars
        for k, para in enumerate(paragraphs[:-1]):
            if k in used or k + 1 in used or self._is_code(para) or _heading(para):
                continue
            flat = _one_line(para)
            last = _SENTENCE_END.split(flat)[-1]
            if not (_is_question_text(last, self.config.max_question_chars) and len(flat) <= limit):
                continue
            nxt = paragraphs[k + 1]
            first = _strip_decoration(nxt.strip().split("\n")[0])
            if _heading(nxt) or _is_question_text(first, self.config.max_question_chars) or not _is_answer(nxt):
                near += 1
                continue
            pairs.append((flat, nxt))
            used.update([k, k + 1])
        return _Outcome(
            pairs,
            f"{near} paragraph(s) ending in a question followed by another question or a heading"
            if near
            else "no paragraph ending in '?' followed by an answer paragraph",
            near=bool(near),
        )

    def _rule_prose(self, paragraphs: list[str], used: set[int]) -> _Outcome:
        cfg = self.config
        pairs, near = [], 0
        for k, para in enumerate(paragraphs):
            if k in used or self._is_code(para):
                continue
            sentences = [s.strip() for s in _SENTENCE_END.split(_one_line(para)) if s.strip()]
            for i, sentence in enumerate(sentences):
                if not _is_question_text(sentence, cfg.max_question_chars):
                    continue
                answer = []
                for follow in sentences[i + 1 : i + 1 + cfg.max_answer_sentences]:
                    if _ENDS_ASKING.search(follow):
                        break
                    answer.append(follow)
                if answer and _is_answer(" ".join(answer)):
                    pairs.append((sentence, " ".join(answer)))
                    used.add(k)
                else:
                    near += 1
        return _Outcome(
            pairs,
            f"{near} question(s) in prose not followed by a statement"
            if near
            else "no sentence ending in '?' inside a paragraph",
            near=bool(near),
        )


class _ContentRules(_RuleBase):
    """Rules that read the content: definition sentences, worked examples, docstrings."""

    def _rule_definition(self, paragraphs: list[str], used: set[int], is_doc: bool) -> _Outcome:
        if is_doc:
            return _Outcome([], "left to the docstring rule")
        pairs: list[tuple[str, str]] = []
        for k, para in enumerate(paragraphs):
            if k in used or self._is_code(para) or len(pairs) >= 3:
                continue
            flat = _one_line(para)
            m = _DEFINITION.match(flat)
            term = (m.group("term") or m.group("quoted")) if m else ""
            if not m or {term.split()[0].lower(), term.split()[-1].lower()} & _NOT_TERMS:
                continue
            sentence = _SENTENCE_END.split(flat)[0]
            if sentence.endswith(":"):
                sentence = "\n".join(para.strip().split("\n"))
            if len(re.findall(r"[A-Za-z]+", sentence)) < 6 or re.match(
                r"(?:the|as)\s+follows?", flat[m.start("what") :], re.I
            ):
                continue
            subject = f"{m.group('art').lower()} {term}" if m.group("art") else f"{m.group('q')}{term}{m.group('q')}"
            pairs.append((f"What is {subject}?", sentence))
            used.add(k)
        return _Outcome(pairs, "" if pairs else "no paragraph opens with a definition ('A ... is a ...')")

    def _rule_examples(self, paragraphs: list[str], used: set[int], is_doc: bool) -> _Outcome:
        if is_doc:
            return _Outcome([], "left to the docstring rule (its >>> examples)")
        pairs = []
        for k, para in enumerate(paragraphs):
            if k in used:
                continue
            lines = [ln for ln in para.split("\n") if ln.strip()]
            arrows = [m for m in map(_ARROW.match, lines) if m and re.search(r"[A-Za-z_(\[]", m.group("x"))]
            if len(arrows) >= 3 and 3 * len(arrows) >= 2 * len(lines):
                pairs += [(f"What does `{m.group('x').strip()}` give?", m.group("y")) for m in arrows]
                used.add(k)
                continue
            if k + 1 < len(paragraphs) and para.rstrip().endswith(":") and paragraphs[k + 1].lstrip().startswith(">>>"):
                intro = _SENTENCE_END.split(_one_line(para))[-1].rstrip(":")
                if 3 <= len(intro.split()) <= 20 and intro[:1].isalpha():
                    pairs.append((f"What is an example of {intro[:1].lower() + intro[1:]}?", paragraphs[k + 1]))
                    used.update([k, k + 1])
        return _Outcome(pairs, "" if pairs else "no intro line ending in ':' before '>>>' examples, no 'x -> y' lines")

    # docstrings -----------------------------------------------------------------------
    def _rule_docstring(self, doc_id: str, text: str) -> _Outcome:
        if _names_a_file(doc_id):
            return _Outcome([], f"id {doc_id!r} is a URL, a host or a file name, not a qualified object name")
        name, chunk = _qualified_name(doc_id)
        private = any(p.startswith("_") for p in name.split("."))
        public = bool(_QUALIFIED.match(name)) and not private
        sections = _split_sections(text)
        has_shape = bool(sections) or ">>>" in text or bool(_SPHINX_PARAM.search(text))
        if private and (has_shape or _QUALIFIED.match(name)):
            return _Outcome([], f"{name!r} is a private or dunder name", near=True)
        if not (public or (has_shape and _IDENTIFIER.match(name))):
            return _Outcome(
                [],
                f"id {doc_id!r} names no public qualified object and the text has no docstring "
                "sections or >>> examples",
            )
        pairs: list[tuple[str, str]] = []
        summary = self._summary(text) if chunk == 0 else ""
        if summary and ((has_shape or "\n\n" in summary) or not self.config.summary_requires_structure):
            pairs.append((f"What does `{name}` do?", summary))
        params = sections.get("params")
        if not params:
            fields = [m.group(0).strip() for m in _SPHINX_PARAM.finditer(text)]
            params = "\n".join(f for f in fields if f.lstrip().startswith((":param", ":keyword")))
        if params and params.strip():
            pairs.append((f"What are the parameters of `{name}`?", params))
        returns = sections.get("returns") or "\n".join(m.group(0).strip() for m in _SPHINX_RETURN.finditer(text))
        if returns and returns.strip():
            pairs.append((f"What does `{name}` return?", returns))
        example = self._examples(sections.get("examples") or text)
        if example:
            pairs.append((f"How do you use `{name}`?", example))
        why = "" if pairs else "the summary is a stub or too short, and there are no sections or examples"
        return _Outcome(pairs, why, near=True)

    def _summary(self, text: str) -> str:
        lines = text.strip("\n").split("\n")
        if lines and _SIGNATURE.match(lines[0].strip()):
            lines = lines[1:]
        body = "\n".join(lines).strip()
        paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()]
        if not paragraphs:
            return ""
        first = paragraphs[0]
        if _is_header_or_code(first):
            return ""
        summary = _one_line(first)
        first_sentence = _SENTENCE_END.split(summary)[0]
        if len(re.findall(r"[A-Za-z]+", first_sentence)) < self.config.min_summary_words:
            return ""
        if _STUB.match(summary) or not summary[0].isalpha():
            return ""
        out = [summary]
        if len(paragraphs) > 1 and not _is_header_or_code(paragraphs[1]):
            out.append(_one_line(paragraphs[1]))
        return "\n\n".join(out)

    def _examples(self, text: str) -> str:
        lines = text.split("\n")
        kept: list[str] = []
        in_block = False
        for line in lines:
            stripped = line.strip()
            if stripped.startswith(">>>"):
                in_block = True
                kept.append(line.rstrip())
            elif in_block and stripped:
                kept.append(line.rstrip())  # a continuation line or the expected output
            elif in_block:
                in_block = False
                if kept and kept[-1] != "":
                    kept.append("")
            if sum(1 for k in kept if k) >= self.config.max_example_lines:
                break
        return self._trim("\n".join(kept))


class RuleExtractor(_LineRules, _ParagraphRules, _ContentRules):
    """Deterministic rule-based extractor (see the module docstring for the named rules).

    Parameters
    ----------
    config : RuleConfig, optional
        Limits; the defaults suit the built-in corpus.
    **fields
        Or the :class:`RuleConfig` fields themselves (``RuleExtractor(max_pairs_per_doc=5)``).

    Examples
    --------
    >>> result = RuleExtractor().extract([("faq", "Q: What is 2+2?\\nA: 4.")])
    >>> [(p.question, p.answer) for p in result.pairs]
    [('What is 2+2?', '4.')]
    >>> RuleExtractor().extract_text("g", "How many clips did she sell?\\n\\nShe sold 72.")
    [('How many clips did she sell?', 'She sold 72.')]
    >>> [t.rule for t in RuleExtractor().explain("faq", "Q: What is 2+2?\\nA: 4.") if t.status == "fired"]
    ['markers']
    >>> RuleExtractor().extract([("prose", "Plain text without questions.")]).pairs
    []
    """

    name = "rules"

    def __init__(self, config: RuleConfig | None = None, **fields) -> None:
        if config is not None and fields:
            raise ValueError(f"RuleExtractor: pass either config or RuleConfig fields, not both ({sorted(fields)})")
        try:
            self.config = config or RuleConfig(**fields)
        except TypeError as exc:
            raise ValueError(f"RuleExtractor: {exc}") from None

    def __repr__(self) -> str:
        return f"RuleExtractor({self.config!r})"

    @property
    def version(self) -> str:
        """Names the rules and their limits (this module's source and :attr:`config`, hashed): part of an on-disk
        cache key (:class:`~core.equal.extract.cache.CachedExtractor`), so a changed rule re-extracts."""
        digest = hashlib.sha256(_source_digest().encode() + repr(self.config).encode()).hexdigest()
        return f"rules:{digest[:16]}"

    def extract(self, docs: Sequence[tuple[str, str]]) -> ExtractionResult:
        """Extract the pairs of every document; ``calls = len(docs)``, cost 0."""
        result = ExtractionResult()
        for doc_id, text in docs:
            result.calls += 1
            if not isinstance(text, str):
                result.errors.append((str(doc_id), f"document text is {type(text).__name__}, not str"))
                continue
            result.pairs.extend(
                QAPair(question=q, answer=a, doc_id=str(doc_id), extractor=self.name)
                for q, a in self.extract_text(str(doc_id), text)
            )
        return result

    # ------------------------------------------------------------------ per document
    def extract_text(self, doc_id: str, text: str) -> list[tuple[str, str]]:
        """The ``(question, answer)`` pairs of one document, in document order, deduplicated."""
        return [(q, a) for q, a, _ in self._run(doc_id, text)[0]]

    def explain(self, doc_id: str, text: str) -> list[RuleTrace]:
        """One :class:`RuleTrace` per rule of :data:`RULES`: which fired (and how many pairs it kept) or why not."""
        return self._run(doc_id, text)[1]

    def _run(self, doc_id: str, text: str) -> tuple[list[tuple[str, str, str]], list[RuleTrace]]:
        text = _clean(text)
        outcomes: dict[str, _Outcome] = {}
        outcomes["docstring"] = self._rule_docstring(doc_id, text)
        is_doc = bool(outcomes["docstring"].pairs)
        outcomes["markers"], rest = self._rule_markers(text)
        outcomes["numbered"], rest = self._rule_numbered(rest, is_doc)
        paragraphs = _paragraphs(rest)
        used: set[int] = set()
        outcomes["question_heading"] = self._rule_question_heading(paragraphs, used)
        outcomes["task_heading"] = self._rule_task_heading(paragraphs, used)
        outcomes["question_paragraph"] = self._rule_question_paragraph(paragraphs, used)
        outcomes["prose_question"] = self._rule_prose(paragraphs, used)
        outcomes["definition"] = self._rule_definition(paragraphs, used, is_doc)
        outcomes["worked_example"] = self._rule_examples(paragraphs, used, is_doc)
        kept: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        counts = dict.fromkeys(RULES, 0)
        for rule in RULES:
            for q, a in outcomes[rule].pairs:
                q, a = _one_line(q), self._trim(a)
                if q and a and q.lower() not in seen and len(kept) < self.config.max_pairs_per_doc:
                    seen.add(q.lower())
                    kept.append((q, a, rule))
                    counts[rule] += 1
        traces = []
        for rule in RULES:
            out = outcomes[rule]
            if counts[rule]:
                traces.append(RuleTrace(rule, "fired", counts[rule], out.detail or f"{counts[rule]} pair(s)"))
            elif out.pairs:
                traces.append(
                    RuleTrace(rule, "near", 0, "its pairs repeat questions already taken, or the cap was reached")
                )
            else:
                traces.append(RuleTrace(rule, "near" if out.near else "absent", 0, out.detail))
        return kept, traces


def _question_end(text: str, start: int, stop: int) -> int:
    """Where the question text from ``start`` ends: its paragraph's end (a blank line), at most ``stop``."""
    body = re.search(r"\S", text[start:stop])
    if body is None:
        return stop
    blank = re.compile(r"\n[ \t]*\n").search(text, start + body.start(), stop)
    return blank.start() if blank else stop


def _cut_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the character ``spans`` (sorted, non-overlapping), the pieces joined by blank lines."""
    rest, pos = [], 0
    for start, end in sorted(spans):
        rest.append(text[pos:start])
        pos = max(pos, end)
    rest.append(text[pos:])
    return "\n\n".join(part for part in rest if part.strip())


def explain_documents(extractor: RuleExtractor, docs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Per document: how many pairs, which rules fired and, when none did, why (for "a cluster that yields nothing").

    Parameters
    ----------
    extractor : RuleExtractor
    docs : sequence of ``(doc_id, text)``

    Returns
    -------
    pandas.DataFrame
        One row per document: ``document`` (its id; the page's table showed the field name ``doc_id``), ``pairs``
        (int), ``rules`` (fired rules, comma-separated), ``why`` (empty when a rule fired; else the rejected
        shapes, or that none was present).
    """
    import pandas as pd

    rows = []
    for doc_id, text in docs:
        traces = extractor.explain(str(doc_id), text if isinstance(text, str) else "")
        fired = [t for t in traces if t.status == "fired"]
        near = [f"{t.rule}: {t.detail}" for t in traces if t.status == "near"]
        why = (
            ""
            if fired
            else (
                "; ".join(near)
                if near
                else "no question-answer shape: no '?', no Q:/A: markers, no numbered entries, no headings, "
                "no definition, no docstring sections"
            )
        )
        rows.append(
            {
                "document": str(doc_id),
                "pairs": sum(t.n_pairs for t in fired),
                "rules": ", ".join(t.rule for t in fired),
                "why": why,
            }
        )
    return pd.DataFrame(rows, columns=["document", "pairs", "rules", "why"])


def explain_cluster(
    extractor: RuleExtractor,
    doc_ids: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[int],
    cluster: int,
    limit: int = 200,
) -> pd.DataFrame:
    """:func:`explain_documents` for the first ``limit`` documents of one cluster (``labels`` ``(n,)``), for the page.

    A cluster that yields nothing says why: every row's ``why`` names the shapes that were
    present but rejected (a table of contents, a private name, a question followed by another
    question) or that no question-answer shape was there at all.
    """
    idx = [i for i, lab in enumerate(labels) if int(lab) == int(cluster)][: max(0, int(limit))]
    return explain_documents(extractor, [(doc_ids[i], texts[i]) for i in idx])


def _is_header_or_code(paragraph: str) -> bool:
    first = paragraph.strip().split("\n")[0].strip()
    return (
        first.startswith((">>>", "..", ":", "```"))
        or bool(_NUMPYDOC_HEADER.match(paragraph.strip()))
        or bool(_GOOGLE_HEADER.match(first))
    )


def _split_sections(text: str) -> dict[str, str]:
    """Section bodies of a numpydoc or Google-style docstring, keyed ``params``/``returns``/``examples``."""
    headers = [(m.start(), m.end(), m.group(1).strip().lower()) for m in _NUMPYDOC_HEADER.finditer(text)]
    headers += [(m.start(), m.end(), m.group(1).strip().lower()) for m in _GOOGLE_HEADER.finditer(text)]
    headers.sort()
    out: dict[str, str] = {}
    for k, (_, end, title) in enumerate(headers):
        stop = headers[k + 1][0] if k + 1 < len(headers) else len(text)
        body = text[end:stop].strip("\n")
        if not body.strip():
            continue
        if title in _PARAM_SECTIONS:
            key = "params"
        elif title in _RETURN_SECTIONS:
            key = "returns"
        elif title in {"examples", "example"}:
            key = "examples"
        else:
            continue
        out[key] = (out[key] + "\n" + body) if key in out and key == "params" else out.get(key, body)
    return out
