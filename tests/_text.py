"""What a reader sees of a page's Markdown source: the escapes of ``core.text.md_escape`` taken out."""

from __future__ import annotations

import re


def shown(markdown: str) -> str:
    """``markdown`` without backslash escapes and word joiners, as the browser shows it.

    >>> shown("static\\\\-minilm \\\\(packaged\\\\) http\\\\:\\u2060\\\\/\\\\/x")
    'static-minilm (packaged) http://x'
    """
    return re.sub(r"\\(.)", r"\1", str(markdown)).replace("\u2060", "")
