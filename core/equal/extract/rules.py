"""A deterministic, offline, rule-based QA extractor: the default extractor.

It stands in for the paper's LLM extract pass (EQUAL, arXiv 2505.12250, Sec. "Extraction")
wherever no endpoint is configured, and keeps a run reproducible from its seed. It reads
only shapes that *are* question-answer pairs, so a document without any of them yields zero
pairs -- the bandit must be able to find clusters that do not pay.

Shapes recognised, in this order (a span used by an earlier shape is not reused):

1. **Explicit markers** at the start of a line, case-insensitive: ``Q:``/``A:`` (also
   ``Q1.``/``A1.``), ``Question:``/``Answer:``, ``Problem:``/``Solution:``,
   ``Exercise 3.2``/``Solution``. The answer runs over several lines up to the next marker
   (or a markdown heading / horizontal rule). A question marker without an answer yields
   nothing: filling in missing answers is the LLM refine pass's job, not a rule's.
2. **FAQ / forum shapes**: a line, heading (``#``, ``**...**``) or title (``Title:``,
   ``Subject:``) ending in ``?`` followed by its answer (the rest of its paragraph, else the
   next paragraph).
3. **Questions inside prose**: a sentence ending in ``?`` followed by up to
   ``max_answer_sentences`` sentences of the same paragraph (up to the next question).
4. **Docstring shapes** (the built-in corpus: docstrings of stdlib/numpy/scipy/pandas with
   ``doc_id`` = qualified name, e.g. ``json.dumps``), for a public name:

   - the summary line -> "What does `<name>` do?" -> the summary paragraph plus the first
     extended-description paragraph;
   - a ``Parameters`` section (numpydoc, Google ``Args:`` or ``:param x:`` fields) ->
     "What are the parameters of `<name>`?" -> the section;
   - a ``Returns``/``Yields`` section -> "What does `<name>` return?" -> the section;
   - ``>>>`` examples -> "How do you use `<name>`?" -> the first example block(s).

   The summary pair needs a qualified, public ``doc_id`` (dotted identifier, no component
   starting with ``_``) and a summary of at least ``min_summary_words`` words that is not a
   stub (``Alias for ...``, ``Deprecated ...``, ``See ...``); dunder and private names
   (``Return self==value.``) and one-word stubs therefore yield nothing.

Accounting: one "call" per document processed (the budget unit of the bandit), cost 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from core.equal.extract.base import ExtractionResult, QAPair

__all__ = ["RuleConfig", "RuleExtractor"]

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
        for name in ("max_answer_sentences", "max_answer_chars", "max_example_lines",
                     "min_summary_words", "max_question_chars", "max_pairs_per_doc"):
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


class RuleExtractor:
    """Deterministic rule-based extractor (see the module docstring for the shapes).

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
        text = _clean(text)
        pairs, rest = self._marker_pairs(text)
        pairs += self._faq_pairs(rest)
        pairs += self._docstring_pairs(doc_id, text)
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for q, a in pairs:
            q, a = _one_line(q), self._trim(a)
            key = q.lower()
            if q and a and key not in seen:
                seen.add(key)
                out.append((q, a))
            if len(out) >= self.config.max_pairs_per_doc:
                break
        return out

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

    # 1. explicit markers ----------------------------------------------------------
    def _marker_pairs(self, text: str) -> tuple[list[tuple[str, str]], str]:
        """Pairs from ``Q:``/``A:``-style markers, and the text with their spans removed."""
        marks = list(_MARKER.finditer(text))
        if not marks:
            return [], text
        breaks = [m.start() for m in _SECTION_BREAK.finditer(text)]
        pairs: list[tuple[str, str]] = []
        used: list[tuple[int, int]] = []

        def body_end(i: int) -> int:
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            nxt = [b for b in breaks if marks[i].end() <= b < end]
            return min(nxt) if nxt else end

        i = 0
        while i < len(marks):
            is_answer = bool(_ANSWER_WORD.match(marks[i].group("word").strip()))
            if is_answer or i + 1 >= len(marks):
                i += 1
                continue
            nxt = marks[i + 1]
            if not _ANSWER_WORD.match(nxt.group("word").strip()):
                i += 1
                continue
            question = text[marks[i].end() : nxt.start()]
            answer = text[nxt.end() : body_end(i + 1)]
            if question.strip() and answer.strip():
                pairs.append((question, answer))
                used.append((marks[i].start(), body_end(i + 1)))
            i += 2
        rest, pos = [], 0
        for start, end in used:
            rest.append(text[pos:start])
            pos = end
        rest.append(text[pos:])
        return pairs, "\n\n".join(part for part in rest if part.strip())

    # 2./3. FAQ shapes and questions in prose -------------------------------------
    def _faq_pairs(self, text: str) -> list[tuple[str, str]]:
        cfg = self.config
        paragraphs = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
        pairs: list[tuple[str, str]] = []
        skip_next = False
        for k, para in enumerate(paragraphs):
            if skip_next:
                skip_next = False
                continue
            lines = [ln for ln in para.split("\n") if ln.strip()]
            if self._is_code(para):
                continue
            head = _strip_decoration(lines[0])
            if _is_question_text(head, cfg.max_question_chars) and not _SENTENCE_END.search(head):
                body = "\n".join(lines[1:])
                if body.strip():
                    pairs.append((head, body))
                elif k + 1 < len(paragraphs):
                    nxt = paragraphs[k + 1]
                    nxt_head = _strip_decoration(nxt.strip().split("\n")[0])
                    if not _is_question_text(nxt_head, cfg.max_question_chars):
                        pairs.append((head, nxt))
                        skip_next = True
                continue
            pairs += self._prose_pairs(_one_line(para))
        return pairs

    def _prose_pairs(self, paragraph: str) -> list[tuple[str, str]]:
        cfg = self.config
        sentences = [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]
        pairs = []
        for i, sentence in enumerate(sentences):
            if not _is_question_text(sentence, cfg.max_question_chars):
                continue
            answer = []
            for follow in sentences[i + 1 : i + 1 + cfg.max_answer_sentences]:
                if follow.endswith("?"):
                    break
                answer.append(follow)
            if answer:
                pairs.append((sentence, " ".join(answer)))
        return pairs

    @staticmethod
    def _is_code(paragraph: str) -> bool:
        stripped = paragraph.lstrip()
        return stripped.startswith((">>>", "```", "...")) or bool(_DIRECTIVE.match(paragraph))

    # 4. docstrings -----------------------------------------------------------------
    def _docstring_pairs(self, doc_id: str, text: str) -> list[tuple[str, str]]:
        name = doc_id.strip()
        public = bool(_QUALIFIED.match(name)) and not any(p.startswith("_") for p in name.split("."))
        sections = _split_sections(text)
        has_shape = bool(sections) or ">>>" in text or bool(_SPHINX_PARAM.search(text))
        if not (public or (has_shape and name and not any(p.startswith("_") for p in name.split(".")))):
            return []
        pairs: list[tuple[str, str]] = []
        if public:
            summary = self._summary(text)
            structured = has_shape or "\n\n" in summary
            if summary and (structured or not self.config.summary_requires_structure):
                pairs.append((f"What does `{name}` do?", summary))
        params = sections.get("params")
        if not params:
            fields = [m.group(0).strip() for m in _SPHINX_PARAM.finditer(text)]
            params = "\n".join(f for f in fields if f.lstrip().startswith((":param", ":keyword")))
        if params and params.strip():
            pairs.append((f"What are the parameters of `{name}`?", params))
        returns = sections.get("returns") or "\n".join(
            m.group(0).strip() for m in _SPHINX_RETURN.finditer(text)
        )
        if returns and returns.strip():
            pairs.append((f"What does `{name}` return?", returns))
        example = self._examples(sections.get("examples") or text)
        if example:
            pairs.append((f"How do you use `{name}`?", example))
        return pairs

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
