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
"""

from __future__ import annotations

import re
import string

__all__ = ["counted", "md_escape"]

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
