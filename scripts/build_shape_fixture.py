"""Assemble tests/equal/fixtures/shapes.jsonl: real text, labelled by hand, for the rule extractor's shape test.

Every document is cut from text nobody on this team wrote -- Debian's packaged FAQs and
changelogs (/usr/share/doc), installed packages' README metadata, the Python language
reference behind ``help()`` (pydoc_data.topics) and standard-library docstrings -- by a
start pattern and a line count, so the cut is reproducible on a machine with the same
packages. The labels (``gold``) were written by reading each cut, *before* the extractor's
rules for those shapes were written: one item per question-answer pair a careful reader
would take from the text, as an anchor ``q`` (a substring the pair's question must contain,
case-insensitive; ``None`` when the question is generated, e.g. from a docstring) and ``a``
(a substring its answer must contain). A document with no gold item must yield nothing
(tables of contents, changelogs, licences, stubs).

Run: ``python scripts/build_shape_fixture.py`` (writes the fixture; prints what it cut).
"""

from __future__ import annotations

import gzip
import inspect
import json
import re
import sys
from pathlib import Path

DOC = Path("/usr/share/doc")
OUT = Path(__file__).resolve().parents[1] / "tests" / "equal" / "fixtures" / "shapes.jsonl"


def _read(path: Path) -> str:
    data = gzip.open(path, "rt", errors="replace").read() if path.suffix == ".gz" else path.read_text(errors="replace")
    return data.replace("\r\n", "\n")


def _metadata(dist: str) -> str:
    import importlib.metadata

    meta = importlib.metadata.metadata(dist)
    return meta.get_payload() or meta.get("Description") or ""


def cut(text: str, start: str, n_lines: int, nth: int = 0) -> str:
    """``n_lines`` lines from the ``nth`` line matching the regex ``start``."""
    lines = text.split("\n")
    hits = [i for i, ln in enumerate(lines) if re.search(start, ln)]
    if len(hits) <= nth:
        raise SystemExit(f"pattern {start!r} not found ({len(hits)} hits)")
    return "\n".join(lines[hits[nth]: hits[nth] + n_lines]).strip("\n")


def g(a: str, q: str | None = None) -> dict:
    return {"q": q, "a": a}


def docs() -> list[dict]:
    zlib = _read(DOC / "zlib1g-dev/FAQ.gz")
    xz = _read(DOC / "xz-utils/faq.txt.gz")
    base = _read(DOC / "base-files/FAQ")
    procps = _read(DOC / "procps/FAQ.gz")
    valgrind = _read(DOC / "valgrind/FAQ.txt.gz")
    lsof = _read(DOC / "lsof/00FAQ.gz")
    sed = _read(DOC / "sed/sedfaq.txt.gz")
    h11 = _metadata("h11")
    hub = _metadata("huggingface_hub")
    faiss = _metadata("faiss-cpu")
    import pydoc_data.topics as topics

    out = [
        # numbered FAQ, question line then an indented answer paragraph
        ("zlib-faq-1", "zlib1g-dev/FAQ", cut(zlib, r"^ 1\. Is zlib Y2K", 9),
         [g("zlib doesn't handle dates", "Y2K-compliant"),
          g("compiled without change to produce a DLL", "Windows DLL")]),
        # numbered problem reports (statements, not questions) with their fix
        ("zlib-faq-4", "zlib1g-dev/FAQ", cut(zlib, r"^ 4\. compress\(\) returns", 7),
         [g("length of the compressed", "compress() returns Z_BUF_ERROR")]),
        # explicit Q:/A: markers, multi-line question
        ("xz-faq-1", "xz-utils/faq.txt", cut(xz, r"^Q:  What do the letters XZ", 14),
         [g("Nothing. They are just two letters", "letters XZ mean"), g("Lempel-Ziv-Markov", "LZMA and LZMA2")]),
        ("xz-faq-4", "xz-utils/faq.txt", cut(xz, r"^Q:  Why is liblzma named", 10),
         [g("designing of the .xz format", "liblzma named liblzma")]),
        # Q./A. with two questions sharing one answer
        ("base-files-faq", "base-files/FAQ", cut(base, r"^Q\. Why \"trixie/sid\" and not", 10),
         [g("codename is a little bit more informative", "not \"testing/unstable\""),
          g("/etc/debian_version is\nnot a reliable", "which distribution I'm running")]),
        # forum-like: a question line, then an indented answer paragraph
        ("procps-faq", "procps/FAQ", cut(procps, r"^Why does \"ps -aux\" complain", 14),
         [g("POSIX and UNIX standards", "ps -aux"), g("You didn't enable it", "SMP (per-CPU) stats")]),
        # numbered questions with the answer on the next lines, no blank line
        ("valgrind-faq-1", "valgrind/FAQ.txt", cut(valgrind, r"^1\.1\. How do you pronounce", 7),
         [g("as in the word \"value\"", "pronounce")]),
        # a table of contents: questions without answers
        ("lsof-toc", "lsof/00FAQ", cut(lsof, r"^3\.21\.1\tHow do I ask lsof", 14), []),
        ("valgrind-toc", "valgrind/FAQ.txt", cut(valgrind, r"^Table of Contents", 8), []),
        # the same FAQ's body: numbered question, indented answer
        ("lsof-faq-3.27", "lsof/00FAQ", cut(lsof, r"^3\.27\tHow can I disable", 16, nth=1),
         [g("controlled by the HASKERNIDCK", "disable the kernel identity check")]),
        # reStructuredText FAQ: emphasised question paragraph, answer paragraph
        ("h11-faq", "h11 METADATA", cut(h11, r"^\*Should I use it\?\*", 16),
         [g("Maybe. You should be aware", "Should I use it"),
          g("robust, complete, and non-hacky", "features/limitations")]),
        # Markdown heading phrased as a question, section below
        ("hub-readme-what", "huggingface_hub METADATA", cut(hub, r"^## What is `huggingface_hub`\?", 4),
         [g("library allows you to interact", "What is `huggingface_hub`")]),
        # Markdown heading phrased as a task ("How X works")
        ("faiss-readme-how", "faiss-cpu METADATA", cut(faiss, r"^## How Faiss works", 4),
         [g("built around an index type", "Faiss")]),
        # changelogs: vocabulary of the field, no question answered
        ("python-changelog", "python3.11/changelog.Debian",
         cut(_read(DOC / "python3.11/changelog.Debian.gz"), r"deb12u5", 12), []),
        ("xz-changelog", "xz-utils/changelog", cut(_read(DOC / "xz-utils/changelog.gz"), r".", 20), []),
        # definition sentences in the language reference
        ("topic-class", "pydoc topics: class", cut(topics.topics["class"], r"A class definition is an executable", 6),
         [g("executable statement", "class definition")]),
        ("topic-attribute-references", "pydoc topics: attribute-references",
         cut(topics.topics["attribute-references"], r"An attribute reference is", 8),
         [g("primary followed by a period", "attribute reference")]),
        # docstrings, whatever the id looks like
        ("py:json.dumps", "json.dumps docstring", inspect.getdoc(__import__("json").dumps),
         [g("Serialize ``obj`` to a JSON formatted ``str``"), g("If ``skipkeys`` is true")]),
        ("stdlib/textwrap/dedent", "textwrap.dedent docstring", inspect.getdoc(__import__("textwrap").dedent),
         [g("Remove any common leading whitespace")]),
        ("numpy.clip", "numpy.clip docstring", cut(inspect.getdoc(__import__("numpy").clip), r".", 200),
         [g("Clip (limit) the values in an array"), g("a : array_like"),
          g("clipped_array"), g(">>> a = np.arange(10)")]),
        # worked examples: input >>> then output
        ("topic-formatexamples", "pydoc topics: formatstrings",
         cut(topics.topics["formatstrings"], r"^Accessing arguments by position:", 12),
         [g("'a, b, c'", "Accessing arguments by position")]),
        # private / stub docstrings: nothing to learn
        ("collections._OrderedDictKeysView", "stub", "D.keys() -> a set-like object providing a view on D's keys", []),
        ("int.__eq__", "int.__eq__ docstring", inspect.getdoc(int.__eq__), []),
        # a second batch, labelled before the extractor was run on it
        ("sed-toc", "sed/sedfaq.txt", cut(sed, r"^CONTENTS", 16), []),
        ("sed-toc-examples", "sed/sedfaq.txt", cut(sed, r"^4\. EXAMPLES", 16), []),
        ("sed-faq-2.1", "sed/sedfaq.txt", cut(sed, r"^2\.1\. What is sed\?", 14, nth=1),
         [g("stands for Stream EDitor", "What is sed")]),
        # RST heading phrased as a question, section below
        ("man-db-faq", "man-db/FAQ", cut(_read(DOC / "man-db/FAQ"), r"^Why use man-db instead of man\?", 10),
         [g("forked from a common code base", "Why use man-db instead of man")]),
        # a problem statement paragraph, then its fix (no question mark anywhere)
        ("ncurses-faq", "ncurses-base/FAQ", cut(_read(DOC / "ncurses-base/FAQ"), r"^If you use escape codes", 7),
         [g("custom terminfo type", "escape codes")]),
        ("bash-news", "bash/NEWS", cut(_read(DOC / "bash/NEWS.gz"), r"^This is a terse description", 18), []),
        ("zlib-copyright", "zlib1g-dev/copyright", cut(_read(DOC / "zlib1g-dev/copyright"), r"^Format:", 14), []),
        # a task heading (Markdown) with the instructions below
        ("httpx-install", "httpx METADATA", cut(_metadata("httpx"), r"^## Installation", 13),
         [g("pip install httpx", "install")]),
        # a definition whose subject is a quoted keyword
        ("topic-pass", "pydoc topics: pass", topics.topics["pass"][:400], [g("null operation", "pass")]),
    ]
    return [{"id": i, "source": s, "text": t, "gold": gold} for i, s, t, gold in out]


def main() -> int:
    rows = docs()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    for row in rows:
        print(f"{row['id']:<34} {len(row['text']):>5} chars, {len(row['gold'])} gold")
    print(f"wrote {OUT} ({len(rows)} documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
