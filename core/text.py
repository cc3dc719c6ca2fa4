"""Text from a link, a document or a user, made safe to put inside a page's Markdown.

Streamlit renders Markdown (GitHub's flavour, plus its own ``:color[...]``, ``:material/...:``
and ``$...$``) in titles, captions, alerts and expander labels. A query from ``?q=`` or a
document's id written into such a string unescaped could show a working link
(``[Verify your account](http://evil.example)``), bold text, an icon, or a formula the app did
not write. :func:`md_escape` backslash-escapes every ASCII punctuation character (CommonMark
renders an escaped one as itself, so the text reads the same) and folds line breaks. GitHub's
autolinks (``http://...``, ``www.``, ``name@host``) survive escapes, so an invisible word joiner
(U+2060) is put after each ``:`` and before each ``.`` that follows ``www`` and each ``@``: the text
can only ever show as the characters it holds. ``tests/faults/test_link_payloads.py``
renders every link parameter of every page with such payloads in chromium.

Bytes that should be text: :func:`not_text` tells a file given a text name by mistake (a gzip, a zip, random
bytes named ``.csv``) from text in any encoding, so every reader of a user's file (a corpus, a reference set, CTAR's
inputs) refuses it saying what it is and what to do, instead of reading garbage.
"""

from __future__ import annotations

import re
import string

__all__ = ["counted", "md_escape", "not_text"]

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_AUTOLINK = re.compile(r"(?i)(?<=:)|(?<=www)(?=\\\.)|(?=\\@)")  # after ':', between 'www' and '.', before '@'
_JOINER = "\u2060"


def md_escape(text: object) -> str:
    """``text`` as literal characters inside Markdown: ASCII punctuation escaped, autolinks broken by an
    invisible joiner, whitespace runs as one space.

    >>> md_escape("**now** [Click](x)")
    '\\\\*\\\\*now\\\\*\\\\* \\\\[Click\\\\]\\\\(x\\\\)'
    >>> md_escape("http://evil.example").replace(_JOINER, "+")
    'http\\\\:+\\\\/\\\\/evil\\\\.example'
    >>> md_escape("WWW.evil.example me@evil.example").replace(_JOINER, "+")
    'WWW+\\\\.evil\\\\.example me+\\\\@evil\\\\.example'
    >>> md_escape("parse a date\\nfrom a string")
    'parse a date from a string'
    """
    escaped = _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))
    return _AUTOLINK.sub(_JOINER, escaped)


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1, thousands separated: what a caption says of a count.

    >>> counted(1, "document"), counted(0, "cluster"), counted(11357, "document")
    ('1 document', '0 clusters', '11,357 documents')
    """
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


#: byte order marks of UTF-16 and UTF-32 (UTF-32 LE's starts with UTF-16 LE's): a file starting with one is text
_UNICODE_MARKS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
#: leading bytes of the files most often given a text extension by mistake, and what to do instead
_SIGNATURES = ((b"\x1f\x8b", "a gzip archive", "decompress it first"),
               (b"PK\x03\x04", "a zip archive", "give it the .zip extension"),
               (b"PAR1", "a Parquet file", "give it the .parquet extension"),
               (b"%PDF", "a PDF", "save its text as a .txt file"),
               (b"SQLite format 3\x00", "an SQLite database", "export a table as CSV"))
#: how much of a file :func:`not_text` reads
TEXT_SAMPLE_BYTES = 8192


def not_text(data: bytes) -> str | None:
    """Why ``data`` (a file's first bytes; :data:`TEXT_SAMPLE_BYTES` are read) is not text, with what to do, or
    ``None`` for text: a known binary format by its leading bytes, a NUL byte (never in UTF-8 text; a file starting
    with a UTF-16 or UTF-32 byte order mark is text), or more than a third of its characters not UTF-8 (a text in
    another encoding has a few: Latin-1's accents).

    >>> not_text(b"id,text\\n1,caf\\xe9\\n") is None, not_text("h\u00e9".encode("utf-16")) is None
    (True, True)
    >>> not_text(b"\\x1f\\x8b\\x08\\x00rest")
    'it is a gzip archive, not text: decompress it first'
    >>> not_text(bytes(range(256)))
    'it holds binary data (NUL bytes), not text: save or export it as text (CSV, JSONL or plain text)'
    """
    head = data[:TEXT_SAMPLE_BYTES]
    for magic, kind, todo in _SIGNATURES:
        if head.startswith(magic):
            return f"it is {kind}, not text: {todo}"
    if head.startswith(_UNICODE_MARKS):
        return None
    todo = "save or export it as text (CSV, JSONL or plain text)"
    if b"\x00" in head:
        return f"it holds binary data (NUL bytes), not text: {todo}"
    decoded = head.decode("utf-8", "replace")
    if decoded and decoded.count("\ufffd") > len(decoded) / 3:
        return f"most of its bytes are not UTF-8 text: {todo}"
    return None
