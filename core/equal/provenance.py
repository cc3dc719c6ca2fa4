"""What a run was made with, recorded beside it, so it can be reopened exactly (or refused, naming the difference).

A :class:`RunProvenance` holds the embedding space (encoder name and
:func:`~core.corpus.encoders.space_id`), the reference set ``D_r`` (name, content hash and
its examples, so a run can be reopened with *its own* ``D_r`` even when it was an upload), and
the extractor (kind and the settings that change its output; never the API key). The policy
and its parameters are in the run's :class:`~core.equal.run.RunConfig`.

:func:`diff_provenance` lists every difference as a sentence, e.g.
``reference set differs: run used 'numerical-arrays' (sha 1a2b3c4d5e6f), you passed 'statistics' (sha 9f8e7d6c5b4a)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.corpus.encoders import EncoderSpec, space_id

if TYPE_CHECKING:
    from core.equal.extract.base import Extractor
    from core.equal.reference import ReferenceSet
    from core.equal.space import ArmSpace

# extractor attributes that change what it extracts (recorded and compared); prices change only the
# accounting and are recorded apart
_EXTRACTOR_FIELDS = ("refine", "max_doc_chars", "max_pairs_per_doc", "max_tokens", "temperature", "json_mode",
                     "prompt_version")
_PRICE_FIELDS = ("price_per_1k_prompt", "price_per_1k_completion")


def reference_sha(questions: Sequence[str], answers: Sequence[str]) -> str:
    """Content hash of a reference set (its questions and answers, in order), 12 hex digits.

    >>> reference_sha(["q1"], ["a1"]) == reference_sha(["q1"], ["a1"])
    True
    >>> reference_sha(["q1"], ["a1"]) == reference_sha(["q1"], ["a2"])
    False
    """
    h = hashlib.sha256()
    for q, a in zip(questions, answers):
        h.update(q.encode("utf-8", "replace") + b"\x00" + a.encode("utf-8", "replace") + b"\x01")
    return h.hexdigest()[:12]


def extractor_settings(extractor: Extractor) -> dict[str, Any]:
    """The extractor's kind and the settings that change its output (never the API key)."""
    out: dict[str, Any] = {"kind": str(getattr(extractor, "name", type(extractor).__name__))}
    config = getattr(extractor, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        out["config"] = json.loads(json.dumps(dataclasses.asdict(config), default=str))
    settings = getattr(extractor, "settings", None)
    if settings is not None:
        out["base_url"] = str(getattr(settings, "base_url", ""))
        out["model"] = str(getattr(settings, "model", ""))
    for name in _EXTRACTOR_FIELDS:
        if hasattr(extractor, name):
            out[name] = getattr(extractor, name)
    return out


def extractor_prices(extractor: Extractor) -> tuple[float | None, float | None] | None:
    """``(price per 1k prompt tokens, per 1k completion tokens)`` when the extractor is priced (a price may be
    ``None``: unknown), else ``None`` (an extractor without prices, e.g. the rule extractor or a test fake)."""
    if not all(hasattr(extractor, n) for n in _PRICE_FIELDS):
        return None
    values = [getattr(extractor, n) for n in _PRICE_FIELDS]
    return (None if values[0] is None else float(values[0]), None if values[1] is None else float(values[1]))


@dataclass(frozen=True)
class RunProvenance:
    """The inputs of a run besides its config (see the module docstring). "" / {} mean "not recorded"."""

    encoder: str = ""
    space_id: str = ""
    reference_name: str = ""
    reference_sha: str = ""
    reference_examples: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    extractor: Mapping[str, Any] = field(default_factory=dict)
    arm_clusters: tuple[int, ...] = ()  # the map cluster of each arm when they are renumbered (ArmSpace.clusters)

    @classmethod
    def build(cls, space: ArmSpace | None = None, reference: ReferenceSet | None = None,
              extractor: Extractor | None = None) -> RunProvenance:
        """Provenance from the run's inputs (any of them may be omitted: it is then "not recorded")."""
        examples = tuple(zip(reference.questions, reference.answers)) if reference is not None else ()
        return cls(encoder=space.encoder if space is not None else "",
                   space_id=space.space_id if space is not None else "",
                   reference_name=reference.name if reference is not None else "",
                   reference_sha=reference_sha(reference.questions, reference.answers) if reference is not None else "",
                   reference_examples=examples,
                   extractor=extractor_settings(extractor) if extractor is not None else {},
                   arm_clusters=() if space is None or space.clusters is None else tuple(map(int, space.clusters)))

    def to_dict(self) -> dict[str, Any]:
        out = {"encoder": self.encoder, "space_id": self.space_id, "reference_name": self.reference_name,
               "reference_sha": self.reference_sha, "reference_examples": [list(x) for x in self.reference_examples],
               "extractor": dict(self.extractor)}
        return out | ({"arm_clusters": list(self.arm_clusters)} if self.arm_clusters else {})

    def cluster_of(self, arms: Sequence[int]) -> list[int]:
        """The corpus map's cluster of each of ``arms`` (the arms themselves when they were not renumbered, or the
        run was stored before the renumbering was recorded).

        >>> RunProvenance(arm_clusters=(2, 5)).cluster_of([1, 0]), RunProvenance().cluster_of([1, 0])
        ([5, 2], [1, 0])
        """
        if not self.arm_clusters:
            return [int(a) for a in arms]
        return [self.arm_clusters[int(a)] for a in arms]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> RunProvenance:
        d = dict(d or {})
        encoder = d.get("encoder", "")
        return cls(encoder=encoder, space_id=migrate_space_id(encoder, d.get("space_id", "")),
                   reference_name=d.get("reference_name", ""), reference_sha=d.get("reference_sha", ""),
                   reference_examples=tuple((str(q), str(a)) for q, a in d.get("reference_examples", [])),
                   extractor=dict(d.get("extractor", {})),
                   arm_clusters=tuple(int(c) for c in d.get("arm_clusters", ())))

    @property
    def unknown(self) -> list[str]:
        """The inputs this record does not know (a run stored before provenance was recorded knows none)."""
        missing = []
        if not self.space_id:
            missing.append("encoder and embedding space")
        if not self.reference_sha:
            missing.append("reference set")
        if not self.extractor:
            missing.append("extractor settings")
        return missing

    def reference_set(self) -> ReferenceSet | None:
        """The recorded ``D_r`` as a :class:`~core.equal.reference.ReferenceSet` (``None`` if not recorded)."""
        if not self.reference_examples:
            return None
        from core.equal.reference import ReferenceSet

        return ReferenceSet(self.reference_name or "recorded", tuple(q for q, _ in self.reference_examples),
                            tuple(a for _, a in self.reference_examples))


def legacy_space_id(encoder: str, dim: int) -> str:
    """The space id that runs stored before the one space id recorded: 16 hex digits of the sha256 of the
    canonical encoder name and the dimension. Kept only to read those runs (:func:`migrate_space_id`)."""
    payload = f"{EncoderSpec.of(encoder, dim).name}\x00{int(dim)}"
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


_LEGACY_ID = re.compile(r"[0-9a-f]{16}")
_LEGACY_MAX_DIM = 8192


def migrate_space_id(encoder: str, recorded: str) -> str:
    """``recorded`` in today's form: a legacy id (:func:`legacy_space_id`) that is indeed the hash of ``encoder``
    at some dimension becomes :func:`core.corpus.encoders.space_id` of ``encoder``; anything else is kept.

    >>> migrate_space_id("hashing-64", legacy_space_id("hashing-64", 64))
    'hashing-64'
    >>> migrate_space_id("hashing-64", legacy_space_id("hashing-32", 32)) == legacy_space_id("hashing-32", 32)
    True
    """
    if not encoder or not _LEGACY_ID.fullmatch(recorded or ""):
        return recorded
    if any(legacy_space_id(encoder, dim) == recorded for dim in range(1, _LEGACY_MAX_DIM + 1)):
        return space_id(encoder)
    return recorded


def diff_provenance(recorded: RunProvenance, given: RunProvenance,
                    reference_label: Callable[[str], str] | None = None) -> list[str]:
    """One sentence per input that differs; inputs unknown on either side are not compared. A reference set is named
    as ``reference_label`` says it, quoted (a page: a preset in words, as its box offers it), else by its name.

    >>> a = RunProvenance(reference_name="numerical-arrays", reference_sha="1a2b")
    >>> diff_provenance(a, b := RunProvenance(reference_name="statistics", reference_sha="9f"))
    ["reference set differs: run used 'numerical-arrays' (sha 1a2b), you passed 'statistics' (sha 9f)"]
    >>> diff_provenance(a, b, reference_label=str.upper)
    ['reference set differs: run used "NUMERICAL-ARRAYS" (sha 1a2b), you passed "STATISTICS" (sha 9f)']
    """
    def named(name: str) -> str:
        return repr(name) if reference_label is None else f'"{reference_label(name)}"'

    out = []
    if recorded.space_id and given.space_id and recorded.space_id != given.space_id:
        out.append(f"embedding space differs: run used encoder {recorded.encoder!r} (space {recorded.space_id}), "
                   f"you passed {given.encoder!r} (space {given.space_id})")
    if recorded.reference_sha and given.reference_sha and recorded.reference_sha != given.reference_sha:
        out.append(f"reference set differs: run used {named(recorded.reference_name)} (sha {recorded.reference_sha}), "
                   f"you passed {named(given.reference_name)} (sha {given.reference_sha})")
    if recorded.extractor and given.extractor:
        keys = sorted(set(recorded.extractor) & set(given.extractor))  # a setting known on one side only: unknown
        changed = [k for k in keys if recorded.extractor.get(k) != given.extractor.get(k)]
        if changed:
            parts = ", ".join(f"{k}: {recorded.extractor.get(k)!r} -> {given.extractor.get(k)!r}" for k in changed)
            out.append(f"extractor differs ({parts})")
    return out


def diff_configs(recorded: Mapping[str, Any], given: Mapping[str, Any],
                 fields: Sequence[str] | None = None) -> list[str]:
    """One sentence per config field (of ``fields``, default all in ``given``) whose value differs.

    >>> diff_configs({"seed": 0, "budget": 0.05}, {"seed": 5})
    ['seed differs: run used 0, you passed 5']
    """
    names = list(fields) if fields is not None else list(given)
    return [f"{k} differs: run used {recorded.get(k)!r}, you passed {given.get(k)!r}"
            for k in names if recorded.get(k) != given.get(k)]
