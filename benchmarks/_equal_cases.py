"""The family of cases `bench_equal.py` judges EQUAL on (issue #28), and the fixed rule that splits it.

A case is the whole built-in corpus, a preset reference set and, for a decoy case, about as many
documents as the 5% budget has calls (``DECOYS_PER_CASE``; the issue's whole-corpus case had 561 decoys
for 593 calls) added to the corpus that speak the preset's vocabulary and answer nothing. Every decoy is
made from real text this machine ships: the docstrings of the preset's own modules (harvested into
the built-in corpus) and Python's changelog (``/usr/share/doc/python3.11/NEWS.gz``). On-task is
provenance (the preset's modules, ``core.equal.ontask.PROVENANCE``), never an embedding, so a
decoy is off-task whatever it looks like.

Decoy kinds, one function each (``DECOY_KINDS``):

* ``unanswered``: the preset's docstring summaries turned into questions in the reference set's
  style ("How do I return the sample variance of data?"), four to a paragraph, no answer;
* ``index``: an index / table of contents, ``name -- summary`` lines of the preset's objects;
* ``changelog``: Python's NEWS entries that name the preset's modules;
* ``boilerplate``: near-duplicates: each summary wrapped in the same generated-page boilerplate.

A kind makes its units (a question, three index lines, three changelog entries, one page) once; the
case mirrors them the way a crawl of a documentation site does, once per Python version in
``VERSIONS``, until ``DECOYS_PER_CASE`` documents (:func:`mirrored`). The first family added each unit
once (46 to 386 decoys a case): under MiniLM an Avg-sim that skipped every one of them held only 3%
more on-task pairs, so those cases did not test where similarity ranking is misled.

Where a decoy lands among the answered documents of the same cluster (the "mixed" kind of the issue)
is not built by hand: the clustering puts them there, and :func:`mixing` prints how often.

The split (:func:`split_of`) is fixed before any tuning: presets are numbered in sorted order
(``dates-and-time`` 0 ... ``text-processing`` 5), kinds as in ``KINDS`` (``standard`` 0, then the
decoy kinds 1-4), and a case is in the tuning half when ``preset + kind`` is even, else in the
confirmation half. Each kind and each preset therefore has cases in both halves. The legacy decoy
case (answered FAQ entries among man-page indexes, FAQ contents and changelogs) chose the earlier
defaults, so it is a tuning case whatever the rule says.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

PRESETS_SORTED = (
    "dates-and-time",
    "files-and-os",
    "networking",
    "numerical-arrays",
    "statistics",
    "text-processing",
)
DECOY_PRESETS = ("files-and-os", "networking", "statistics", "text-processing")
KINDS = ("standard", "unanswered", "index", "changelog", "boilerplate")
DECOY_KINDS = KINDS[1:]
DECOYS_PER_CASE = 560
VERSIONS = tuple(f"3.{m}" for m in range(14))
NEWS = Path("/usr/share/doc/python3.11/NEWS.gz")
LEGACY = "legacy-faq"


def split_of(preset: str, kind: str) -> str:
    """``"tuning"`` or ``"confirmation"`` by the fixed rule of the module docstring.

    >>> split_of("dates-and-time", "standard"), split_of("files-and-os", "standard")
    ('tuning', 'confirmation')
    >>> split_of("files-and-os", "unanswered"), split_of("networking", "unanswered")
    ('tuning', 'confirmation')
    """
    if kind == LEGACY:
        return "tuning"
    return "tuning" if (PRESETS_SORTED.index(preset) + KINDS.index(kind)) % 2 == 0 else "confirmation"


def family() -> list[tuple[str, str]]:
    """Every ``(preset, kind)`` case: the six standard cases, then the decoy presets x decoy kinds."""
    return [(p, "standard") for p in PRESETS_SORTED] + [(p, k) for p in DECOY_PRESETS for k in DECOY_KINDS]


def _summary(text: str) -> str:
    """The first sentence of a docstring's first paragraph, one line, without its final period."""
    para = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    para = re.sub(r"\s+", " ", para)
    first = re.split(r"(?<=[.!?])\s", para, maxsplit=1)[0]
    return first.rstrip(".").strip()


def _summaries(on_task: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(name, summary)`` of the on-task documents whose summary reads as a sentence (first chunks only)."""
    out = []
    for doc_id, text in on_task:
        if "#" in doc_id and not doc_id.endswith("#0"):
            continue
        s = _summary(text)
        if 4 <= len(s.split()) <= 30 and not s.startswith((">>>", "..", "-", "=")) and "->" not in s:
            out.append((doc_id.split("#", 1)[0], s))
    return out


def _chunks(lines: list[str], per_doc: int, sep: str = "\n") -> list[str]:
    return [sep.join(lines[i : i + per_doc]) for i in range(0, len(lines), per_doc)]


def mirrored(units: list[str], prefix: str, n: int = DECOYS_PER_CASE) -> list[tuple[str, str]]:
    """Each unit once per Python version, a version at a time, until ``n`` documents ``(id, text)``.

    >>> [t for _, t in mirrored(["How do I quote a string?", "An index line"], "decoy-x", n=3)]
    ['Python 3.0: How do I quote a string?', 'Python 3.0: An index line', 'Python 3.1: How do I quote a string?']
    """
    texts = [f"Python {v}: {u}" for v in VERSIONS for u in units][:n]
    return [(f"{prefix}#{k}", t) for k, t in enumerate(texts)]


VERBS = frozenset(
    "return compute create convert get set open read write encode decode compare copy move remove make parse "
    "format test check send receive generate draw calculate estimate split join change rename list find search "
    "match replace load dump serialize close connect bind accept wrap escape quote build construct evaluate "
    "fit apply add delete update sort count extract register handle process run start stop wait yield".split()
)


def unanswered(preset: str, on_task: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Questions in the reference set's style made from the summaries ("Return the ..." -> "How do I return the
    ...?"), one to a document, no answers."""
    qs = []
    for _, s in _summaries(on_task):
        verb, _, rest = s.partition(" ")
        base = verb.lower()
        base = base[:-1] if base.endswith("s") and base[:-1] in VERBS else base
        if rest and base in VERBS:
            qs.append(f"How do I {base} {rest}?")
    return mirrored(qs, f"decoy-unanswered-{preset}")


def index(preset: str, on_task: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An index: ``name -- summary`` lines, three to a document."""
    return mirrored(_chunks([f"{n} -- {s}" for n, s in _summaries(on_task)], 3), f"decoy-index-{preset}")


def changelog(preset: str, on_task: list[tuple[str, str]], modules: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Python's NEWS entries naming one of ``modules``, three to a document."""
    text = gzip.open(NEWS, "rt", errors="replace").read() if NEWS.exists() else ""
    entries = [re.sub(r"\s+", " ", e).strip() for e in re.split(r"\n(?=- )", text) if e.startswith("- ")]
    tops = sorted({m.split(".")[0] for m in modules if "." not in m or m.split(".")[0] not in ("numpy", "pandas")})
    pat = re.compile(r"\b(?:" + "|".join(re.escape(m) for m in tops) + r")\b") if tops else None
    hits = [e[:600] for e in entries if pat is not None and pat.search(e)]
    return mirrored(_chunks(hits[:600], 3, sep="\n\n"), f"decoy-changelog-{preset}")


BOILER = ("This page was generated automatically from the module source; edit the source, not this page. "
          "The text is distributed under the Python Software Foundation License. Report mistakes in the "
          "documentation on the issue tracker and include the page name.")


def boilerplate(preset: str, on_task: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Near-duplicates: each summary in the same generated-page boilerplate."""
    docs = [f"Reference page for {n.rsplit('.', 1)[-1]} ({s.lower()}). {BOILER}" for n, s in _summaries(on_task)]
    return mirrored(docs, f"decoy-boilerplate-{preset}")


MAKERS: dict[str, Callable[..., list[tuple[str, str]]]] = {
    "unanswered": unanswered,
    "index": index,
    "changelog": changelog,
    "boilerplate": boilerplate,
}


def make_decoys(
    preset: str, kind: str, on_task: list[tuple[str, str]], modules: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The decoy documents ``[(id, text)]`` of one case."""
    if kind == "changelog":
        return changelog(preset, on_task, modules)
    return MAKERS[kind](preset, on_task)
