"""Documents as the encoder reads them: content ids, and long texts cut into chunks that fit its window.

A document of more than ``max_words`` whitespace-separated words is split into consecutive chunks of at most
``max_words`` words (the original whitespace kept inside each); every chunk is then measured in tokens, with the
encoder's own tokenizer when one is given (``count_tokens``), else with :func:`estimate_tokens`, and cut further
until none exceeds ``max_tokens``. :mod:`core.corpus.load` (the Corpus map) and :mod:`core.corpus.stream` (the
Large corpus page) both cut a document with :func:`chunk_document`, so one file gives them the same chunks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

DEFAULT_MAX_WORDS = 200
DEFAULT_MAX_TOKENS = 254  # all-MiniLM-L6-v2 reads 256 word pieces, [CLS] and [SEP] included

_SPACE = re.compile(r"(\s+)")
_PIECE = re.compile(r"[A-Za-z0-9]{1,7}|[^\sA-Za-z0-9]")  # the char rule's pseudo word pieces

TokenCounter = Callable[[str], int]  # may also have ``spans(text) -> [(start, end), ...]`` (one per token)


def content_id(text: str) -> str:
    """Stable id of a text: the first 12 hex digits of ``sha1(text)`` (UTF-8)."""
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:12]


def split_words(text: str, max_words: int | None) -> list[str]:
    """Split ``text`` into consecutive chunks of at most ``max_words`` whitespace-separated words.

    Whitespace inside a chunk is kept as in the input; a text of at most ``max_words`` words
    (or ``max_words=None``) comes back as ``[text]``.
    """
    if max_words is None:
        return [text]
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1 or None, got {max_words}")
    if len(text.split(None, max_words)) <= max_words:  # fast path: at most max_words words
        return [text]
    parts = _SPACE.split(text.strip())  # word, space, word, ..., word (2n - 1 parts)
    step = 2 * max_words
    return ["".join(parts[k : k + step - 1]) for k in range(0, len(parts), step)]


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate of word pieces: one per non-ASCII or punctuation character (BERT's
    word pieces give each CJK character and each punctuation mark its own token, so no script is
    undercounted by a factor), and one per 7 characters of an ASCII letter/digit run (rare English
    words split into more pieces than that: the fallback is close, not exact).

    >>> estimate_tokens("Hello, world"), estimate_tokens("\u4e2d\u6587\u6587\u672c")
    (3, 4)
    """
    return len(_PIECE.findall(text))


def _estimate_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _PIECE.finditer(text)]


estimate_tokens.spans = _estimate_spans  # type: ignore[attr-defined]


def _cut_at_spans(text: str, spans: list[tuple[int, int]], max_tokens: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_tokens`` of its token ``spans``, at whitespace between
    tokens where the window has some, else between two tokens. Pieces are contiguous slices with
    their outer whitespace stripped, so no character other than that whitespace is dropped."""
    def boundary(j: int) -> bool:  # whitespace between token j-1 and token j
        return any(ch.isspace() for ch in text[spans[j - 1][1] : spans[j][0]])

    cuts = [0]  # character offsets where pieces start
    i, n = 0, len(spans)
    while n - i > max_tokens:
        limit = i + max_tokens  # tokens i .. limit-1 fit; the next piece starts at token j
        j = limit
        while j > i + 1 and not boundary(j):
            j -= 1
        if not boundary(j):
            j = limit  # no whitespace in the window (CJK, a minified line): cut between two tokens
        cuts.append(spans[j][0])
        i = j
    cuts.append(len(text))
    return [piece for piece in (text[a:b].strip() for a, b in zip(cuts, cuts[1:])) if piece]


def _cut_by_chars(text: str, count: TokenCounter, max_tokens: int) -> list[str]:
    """Cut a text with no usable whitespace into pieces of at most ``max_tokens`` tokens
    (binary search on the prefix length, so ``O(log n)`` counts per piece)."""
    pieces: list[str] = []
    rest = text
    while rest:
        if count(rest) <= max_tokens:
            pieces.append(rest)
            break
        lo, hi = 1, len(rest)  # the longest prefix that fits lies in [lo, hi)
        while lo < hi - 1:
            mid = (lo + hi) // 2
            if count(rest[:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid
        pieces.append(rest[:lo])
        rest = rest[lo:]
    return pieces


def split_tokens(text: str, max_tokens: int, count_tokens: TokenCounter | None = None) -> list[str]:
    """Split ``text`` into consecutive pieces of at most ``max_tokens`` tokens (``count_tokens``
    or :func:`estimate_tokens`), at whitespace where possible, else between tokens (characters).

    A counter with a ``spans`` method (the encoders' and the char rule) is called once per text;
    a plain ``str -> int`` callable is called per word. Nothing is lost: whitespace inside a piece
    is kept, and the pieces joined by the whitespace between them give the (stripped) text back.
    """
    count = count_tokens or estimate_tokens
    if count is estimate_tokens and (len(text) <= max_tokens or estimate_tokens(text) <= max_tokens):
        return [text]  # a char-rule piece holds at least one character; counting is cheaper than listing spans
    spans_of = getattr(count, "spans", None)
    if spans_of is not None:
        spans = spans_of(text)
        return [text] if len(spans) <= max_tokens else _cut_at_spans(text, spans, max_tokens)
    if count(text) <= max_tokens:
        return [text]
    parts = _SPACE.split(text.strip())  # word, space, word, ..., word
    pieces: list[str] = []
    start, used = 0, 0  # the current piece is parts[start:k] (k even: a word index)
    for k in range(0, len(parts), 2):
        n = count(parts[k])
        if n > max_tokens:  # one "word" too long for the model: cut it between characters
            if k > start:
                pieces.append("".join(parts[start : k - 1]))
            pieces.extend(_cut_by_chars(parts[k], count, max_tokens))
            start, used = k + 2, 0
            continue
        if k > start and used + n > max_tokens:
            pieces.append("".join(parts[start : k - 1]))
            start, used = k, 0
        used += n
    if start < len(parts):
        pieces.append("".join(parts[start:]))
    # per-word counts can miss merges across words; check each piece once and cut again if needed
    out: list[str] = []
    for piece in pieces:
        out.extend([piece] if count(piece) <= max_tokens else _cut_by_chars(piece, count, max_tokens))
    return out


def split_text(
    text: str, max_words: int | None, max_tokens: int | None = None, count_tokens: TokenCounter | None = None
) -> list[str]:
    """:func:`split_words`, then :func:`split_tokens` on every chunk over ``max_tokens``."""
    chunks = split_words(text, max_words)
    if max_words is None or max_tokens is None:
        return chunks
    out: list[str] = []
    for chunk in chunks:
        out.extend(split_tokens(chunk, max_tokens, count_tokens))
    return out


def chunk_document(
    text: str,
    max_words: int | None = DEFAULT_MAX_WORDS,
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter | None = None,
) -> list[str]:
    """The chunks of one document, as every loader makes them: ``text`` stripped of outer whitespace, then
    :func:`split_text` (at most ``max_words`` words, then at most ``max_tokens`` tokens of ``count_tokens``, else of
    :func:`estimate_tokens`). A blank text has no chunk.

    >>> chunk_document("  one two three four five  ", max_words=2)
    ['one two', 'three four', 'five']
    >>> chunk_document("   ")
    []
    """
    text = text.strip()
    return split_text(text, max_words, max_tokens, count_tokens) if text else []


# ---------------------------------------------------------------------------- reading
