"""Reference sets ``D_r``: the downstream-task examples the bandit's reward aims at.

Presets live in ``assets/reference/<name>.jsonl`` (written for this project; each matches a
region of the built-in corpus of Python documentation). A user's own set is JSONL with a
question and an answer per line (``question``/``answer``; also ``instruction``/``output``,
``prompt``/``completion``, ``q``/``a``, or a chat ``messages`` list), or plain text with one
question per line (answer empty).

Each example is embedded in the same chat format as extracted pairs
(``QAPair.as_text()``), so the OT reward compares like with like.

A reference set is a small list of examples, read whole and embedded at every run: an upload, a file or a
preset over :data:`MAX_REFERENCE_BYTES` is refused before it is parsed, and one of more than
:data:`MAX_REFERENCE_EXAMPLES` examples before any is embedded (:func:`check_reference_size`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.corpus.readers import decode_utf8
from core.text import not_text

PRESET_DIR = Path(__file__).resolve().parents[2] / "assets" / "reference"
_Q_KEYS = ("question", "instruction", "prompt", "q", "query", "input")
_A_KEYS = ("answer", "output", "completion", "a", "response")

#: the largest reference set read, in bytes (the presets are about 5 KB; 200 extracted pairs some 100 KB)
MAX_REFERENCE_BYTES = 5 << 20
#: the most examples a reference set may hold (each is embedded at every run; the presets hold about 30)
MAX_REFERENCE_EXAMPLES = 5_000


class ReferenceFormatError(ValueError):
    """The reference set cannot be read; the message names the source and line."""


@dataclass(frozen=True)
class ReferenceSet:
    """``D_r``: ``questions[i]`` with ``answers[i]`` (answers may be empty)."""

    name: str
    questions: tuple[str, ...]
    answers: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.questions) != len(self.answers):
            raise ReferenceFormatError(f"{self.name}: {len(self.questions)} questions but {len(self.answers)} answers")
        if not self.questions:
            raise ReferenceFormatError(f"{self.name}: the reference set is empty")

    def __len__(self) -> int:
        return len(self.questions)

    def texts(self) -> list[str]:
        """The strings to embed, in ``QAPair.as_text()``'s chat format."""
        return [f"<|user|>\n{q}\n\n<|assistant|>\n{a}" for q, a in zip(self.questions, self.answers)]

    def raw_texts(self) -> list[str]:
        """Question and answer text, for decontamination."""
        return [f"{q}\n{a}" for q, a in zip(self.questions, self.answers)]


DEFAULT_PRESET = "numerical-arrays"  # the reference task the Bandit page and the tuning lab open with


def list_presets() -> list[str]:
    """Names of the shipped presets (file stems under ``assets/reference``), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.jsonl"))


_ACRONYMS = {"os": "OS", "io": "IO", "csv": "CSV", "json": "JSON", "http": "HTTP", "sql": "SQL", "xml": "XML"}


def preset_label(name: str) -> str:
    """What a form shows for the reference task ``name``: a shipped preset's slug in words (the slug stays the
    value, in links and the command line); any other name (a tag's choice, an uploaded file, a path) as it is.

    >>> preset_label("text-processing"), preset_label("files-and-os")
    ('Text processing', 'Files and OS')
    >>> preset_label("Tag: dates"), preset_label("my-task.jsonl")
    ('Tag: dates', 'my-task.jsonl')
    """
    if name not in list_presets():
        return name
    words = [_ACRONYMS.get(w, w) for w in name.split("-")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _from_record(obj: object, where: str) -> tuple[str, str]:
    if isinstance(obj, str):
        return obj.strip(), ""
    if not isinstance(obj, dict):
        raise ReferenceFormatError(f"{where}: expected a JSON object with question/answer, got {type(obj).__name__}")
    if isinstance(obj.get("messages"), list):
        user = [m.get("content", "") for m in obj["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        bot = [m.get("content", "") for m in obj["messages"] if isinstance(m, dict) and m.get("role") == "assistant"]
        if user:
            return str(user[0]).strip(), str(bot[0] if bot else "").strip()
    low = {str(k).lower(): v for k, v in obj.items()}
    q = next((low[k] for k in _Q_KEYS if isinstance(low.get(k), str) and low[k].strip()), None)
    if q is None:
        raise ReferenceFormatError(f"{where}: no question field (one of {_Q_KEYS}); keys are {sorted(obj)}")
    a = next((low[k] for k in _A_KEYS if isinstance(low.get(k), str)), "")
    return q.strip(), a.strip()


def check_reference_size(n_bytes: int, name: str, examples: int | None = None) -> None:
    """Refuse a reference set of ``n_bytes`` bytes (or ``examples`` examples, once parsed) over the limits.

    >>> check_reference_size(6 << 20, "big.jsonl")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    core.equal.reference.ReferenceFormatError: big.jsonl: 6.0 MiB is too large ... at most 5.0 MiB (5,000 examples)...
    """
    from core.limits import format_bytes

    limit = f"at most {format_bytes(MAX_REFERENCE_BYTES)} ({MAX_REFERENCE_EXAMPLES:,} examples)"
    if n_bytes > MAX_REFERENCE_BYTES:
        raise ReferenceFormatError(f"{name}: {format_bytes(n_bytes)} is too large for a reference set, a small list "
                                   f"of examples of the task: {limit}; not read")
    if examples is not None and examples > MAX_REFERENCE_EXAMPLES:
        raise ReferenceFormatError(f"{name}: {examples:,} examples are too many for a reference set, a small list "
                                   f"of examples of the task: {limit}; none embedded")


class _FirstBadBytes(list):
    def add(self, kind: str, location: str, detail: str) -> None:
        self.append((location, detail.split(";")[0]))


def _decode(data: bytes, name: str) -> str:
    """``data`` as text (UTF-8, or UTF-16/32 with its byte order mark, as a corpus is read), else refused saying where
    and what to do: a binary by what it is (:func:`core.text.not_text`), another encoding by its first
    bad byte."""
    if (why := not_text(data)) is not None:
        raise ReferenceFormatError(f"{name}: {why}")
    bad = _FirstBadBytes()
    text = decode_utf8(data, name, bad)
    if bad:
        where, what = bad[0]
        raise ReferenceFormatError(f"{where}: not UTF-8 text ({what}); save it as UTF-8 and upload it again")
    return text


def parse_reference(data: bytes | str, name: str = "uploaded") -> ReferenceSet:
    """Parse JSONL (or a JSON list) of question/answer records, or plain text lines; refused unparsed over
    :data:`MAX_REFERENCE_BYTES`, and over :data:`MAX_REFERENCE_EXAMPLES` examples (:func:`check_reference_size`)."""
    check_reference_size(len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data), name)
    text = _decode(data, name) if isinstance(data, bytes) else data
    stripped = text.strip()
    if not stripped:
        raise ReferenceFormatError(f"{name}: the file is empty")
    qs: list[str] = []
    ans: list[str] = []
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ReferenceFormatError(f"{name}: invalid JSON list ({exc.msg} at line {exc.lineno})") from None
        for i, obj in enumerate(records, 1):
            q, a = _from_record(obj, f"{name} item {i}")
            qs.append(q)
            ans.append(a)
    elif stripped.startswith("{"):
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReferenceFormatError(f"{name} line {lineno}: invalid JSON ({exc.msg})") from None
            q, a = _from_record(obj, f"{name} line {lineno}")
            qs.append(q)
            ans.append(a)
    else:
        for line in text.splitlines():
            if line.strip():
                qs.append(line.strip())
                ans.append("")
    check_reference_size(0, name, len(qs))
    return ReferenceSet(name, tuple(qs), tuple(ans))


def load_reference(source: str | Path | bytes, name: str | None = None) -> ReferenceSet:
    """A preset by name (see :func:`list_presets`), a file path, or raw bytes.

    Raises
    ------
    ReferenceFormatError
        Unknown preset / missing file, or unreadable content (message names the line).
    """
    if isinstance(source, bytes):
        return parse_reference(source, name or "uploaded")
    text = str(source)
    if text in list_presets():
        return parse_reference((PRESET_DIR / f"{text}.jsonl").read_bytes(), name or text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise ReferenceFormatError(f"{text!r} is neither a preset ({', '.join(list_presets())}) nor a file")
    check_reference_size(path.stat().st_size, path.name)  # before a byte is read
    return parse_reference(path.read_bytes(), name or path.stem)


def reference_from_documents(name: str, docs: Sequence[tuple[str, str]], extractor, max_pairs: int = 200,
                             snippet_chars: int = 400) -> ReferenceSet:
    """A reference task made from documents (a saved selection of the map): the pairs ``extractor`` finds in
    them, at most ``max_pairs``; a document that yields none stands as a question (its first
    ``snippet_chars`` characters) with no answer. ``docs`` are ``(doc_id, text)``.

    >>> from core.equal.extract import make_extractor
    >>> ref = reference_from_documents("tag: demo", [("d1", "Q: What is 2+2?\\nA: 4."), ("d2", "Plain prose.")],
    ...                                make_extractor("rules"))
    >>> ref.name, len(ref) >= 2, "Plain prose." in ref.questions
    ('tag: demo', True, True)
    """
    if not docs:
        raise ReferenceFormatError(f"{name}: no documents to make a reference task from")
    pairs = extractor.extract(list(docs)).pairs[:max_pairs]
    found = {p.doc_id for p in pairs}
    questions = [p.question for p in pairs] + [text[:snippet_chars].strip() for doc_id, text in docs
                                               if doc_id not in found and text.strip()]
    answers = [p.answer for p in pairs] + [""] * (len(questions) - len(pairs))
    return ReferenceSet(name, tuple(questions[:max_pairs]), tuple(answers[:max_pairs]))


TAG_PREFIX = "Tag: "  # a saved selection of the map offered as a reference task (core.corpus.tags)


def tag_choices(tags) -> list[str]:
    """The Bandit page's reference-task choices for the corpus's tags (``"Tag: <name>"``)."""
    return [TAG_PREFIX + t.name for t in tags]


def tag_choice_now(choice: str, tags) -> str:
    """``choice`` under its tag's name now: a tag renamed since it was chosen (on this page or in another session)
    is followed (``"Tag: old"`` -> ``"Tag: new"``); any other choice is returned as it is.

    >>> from core.corpus.tags import Tag
    >>> tag_choice_now("Tag: dates", [Tag("date parsing", ("d1",), 0.0, former=("dates",))])
    'Tag: date parsing'
    """
    from core.corpus.tags import current_names

    if not choice.startswith(TAG_PREFIX):
        return choice
    now = current_names(tags, [choice.removeprefix(TAG_PREFIX)])
    return TAG_PREFIX + now[0] if now else choice


def reference_from_tag(choice: str, tags, corpus, extractor) -> ReferenceSet:
    """The reference task of the tag chosen as ``choice`` (``"Tag: <name>"``): its documents' pairs
    (:func:`reference_from_documents`). Raises :class:`ReferenceFormatError` if the tag is gone or empty here."""
    name = choice.removeprefix(TAG_PREFIX)
    tag = next((t for t in tags if t.name == name), None)
    if tag is None:
        raise ReferenceFormatError(f"tag {name!r}: no such tag on this corpus (deleted, or made on another corpus)")
    texts = dict(zip(corpus.ids, corpus.texts))
    return reference_from_documents(f"tag: {name}", [(d, texts[d]) for d in tag.doc_ids if d in texts], extractor)
