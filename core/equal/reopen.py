"""Reopen a stored run with the inputs it recorded (its own ``D_r``, extractor and embedding space).

:func:`recorded_inputs` says what a run was made with (and what an old run did not record);
:func:`reopen_recorded` resumes it with those inputs, so two runs made with different reference
sets can be compared side by side, each against its own ``D_r``; :func:`reopen_with_reference` also returns that
``D_r``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.equal.config import RunConfig
from core.equal.extract.base import ExtractionResult, Extractor
from core.equal.provenance import RunProvenance, diff_provenance
from core.equal.reference import ReferenceSet
from core.equal.run import BanditRun, EmbedFn
from core.equal.space import ArmSpace
from core.equal.store import Recorder, RunStoreError
from core.settings import LLMSettings


@dataclass(frozen=True)
class RecordedInputs:
    """What a stored run was made with: its config, provenance, ``D_r`` (when recorded) and what is unknown."""

    run_id: str
    name: str
    status: str
    config: RunConfig
    provenance: RunProvenance
    unknown: list[str]

    @property
    def reference(self) -> ReferenceSet | None:
        return self.provenance.reference_set()


def recorded_inputs(store: Recorder, run_id: str) -> RecordedInputs:
    """The inputs recorded with ``run_id`` (for "reopen with the recorded inputs").

    ``unknown`` lists what an old run did not record.
    """
    stored = store.load_run(run_id)
    prov = RunProvenance.from_dict(stored.provenance)
    return RecordedInputs(run_id, stored.name, stored.status, RunConfig.from_dict(stored.config), prov, prov.unknown)


class OtherMapError(RunStoreError):
    """A stored run made on another encoder's map than the one given; ``encoder`` names the run's (the static tier's
    while a fresh install upgrades its map to MiniLM, say), so a page can say which choice brings it back."""

    def __init__(self, message: str, encoder: str) -> None:
        super().__init__(message)
        self.encoder = encoder


class _ReadOnlyExtractor:
    """Stands in for the recorded extractor when a run is reopened only to be looked at or compared."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.name = str(settings.get("kind", "unknown"))
        self.config = None
        self.made_with = (f"the endpoint {settings.get('base_url') or '(none recorded)'}, model "
                          f"{settings.get('model') or '(none recorded)'}" if self.name == "openai" else "")

    def extract(self, docs: Sequence[tuple[str, str]]) -> ExtractionResult:
        if self.made_with:  # an endpoint run: what to set so that it continues
            raise RunStoreError(f"this run was reopened to look at only: it was made with {self.made_with}. Set that "
                                "Base URL and Model under More settings (or in the environment), then pick the run "
                                "again under Stored runs to continue it")
        raise RunStoreError("this run was reopened read-only (to look at or compare); reopen it with its extractor "
                            "to continue it")


def _endpoint_extractor(recorded: Mapping[str, Any], endpoint: LLMSettings | None) -> Extractor | None:
    """The extractor an endpoint run continues with once reopened: ``endpoint`` (``None``: the environment's) when
    it is the endpoint the run was made with (the same address and model; the key is never recorded), else ``None``
    (the run is reopened to look at only, and says what to set to continue it)."""
    from core.equal.extract import make_extractor

    if recorded.get("kind") != "openai":
        return None
    endpoint = endpoint if endpoint is not None else LLMSettings.from_env()
    if (endpoint.base_url.rstrip("/"), endpoint.model) != (str(recorded.get("base_url", "")).rstrip("/"),
                                                          str(recorded.get("model", ""))):
        return None
    try:
        return make_extractor("openai", endpoint)
    except ValueError:  # an endpoint the extractor refuses: looked at only
        return None


def reopen_recorded(store: Recorder, run_id: str, space: ArmSpace, embed: EmbedFn, extractor: Extractor | None = None,
                    fallback_reference: ReferenceSet | None = None,
                    reference_label: Callable[[str], str] | None = None) -> BanditRun:
    """Reopen ``run_id`` with ITS OWN recorded ``D_r``: :func:`reopen_with_reference` without the reference set."""
    return reopen_with_reference(store, run_id, space, embed, extractor, fallback_reference, reference_label)[0]


def reopen_with_reference(store: Recorder, run_id: str, space: ArmSpace, embed: EmbedFn,
                          extractor: Extractor | None = None,
                          fallback_reference: ReferenceSet | None = None,
                          reference_label: Callable[[str], str] | None = None,
                          endpoint: LLMSettings | None = None) -> tuple[BanditRun, ReferenceSet]:
    """Reopen ``run_id`` with ITS OWN recorded ``D_r`` (embedded with ``embed``), checked against ``space``; returns
    the run and that reference set (what its export is decontaminated against, not the page's current choice).

    ``extractor`` defaults to the rule extractor for a rules run; for an endpoint run to ``endpoint`` (``None``:
    the environment's) when it is the address and model the run was made with, so the run continues (Resume), else
    to a read-only stand-in (enough to look at or compare the run; continuing it says what to set).
    ``fallback_reference`` (a ReferenceSet) is used for an old run that did not record its ``D_r``; without one such
    a run is refused.
    Two runs made with different reference sets can so be compared side by side. A refusal names a reference set
    as ``reference_label`` says it (a page: :func:`core.equal.reference.preset_label`), else by its name. A run made
    on another encoder's map raises :class:`OtherMapError` naming that encoder.
    """
    rec = recorded_inputs(store, run_id)
    ref = rec.reference or fallback_reference
    if ref is None:
        raise RunStoreError(f"run {run_id!r} was stored before reference sets were recorded: pass the reference "
                            "set it was made with")
    kind = str(rec.provenance.extractor.get("kind", rec.config.extractor))
    if extractor is None:
        if kind == "rules":
            from core.equal.extract.rules import RuleConfig, RuleExtractor

            cfg = rec.provenance.extractor.get("config")
            extractor = RuleExtractor(RuleConfig(**cfg)) if cfg else RuleExtractor()
        else:
            live = _endpoint_extractor(rec.provenance.extractor, endpoint)
            # the page's endpoint continues the run unless another recorded setting of it differs (its prices)
            extractor = live if live is not None and not diff_provenance(
                rec.provenance, RunProvenance.build(space, ref, live)) else _ReadOnlyExtractor(
                rec.provenance.extractor)  # type: ignore[assignment]
    return _resume(store, rec, space, embed, extractor, ref, reference_label), ref


def _resume(store: Recorder, rec: RecordedInputs, space: ArmSpace, embed: EmbedFn, extractor: Extractor,
            ref: ReferenceSet, reference_label: Callable[[str], str] | None) -> BanditRun:
    """The run ``rec`` resumed with ``extractor`` and ``ref``, refused on another encoder's map
    (:class:`OtherMapError`)."""
    run_id = rec.run_id
    given = RunProvenance.build(space, ref, extractor)
    made_on, this = rec.provenance, given
    if made_on.space_id and this.space_id and made_on.space_id != this.space_id:  # said in words, not as a diff
        raise OtherMapError(f"run {rec.name or run_id} ({run_id}) was made on the map of encoder {made_on.encoder!r}, "
                            f"and this map is of {this.encoder!r}: it reopens only on its own encoder's map",
                            made_on.encoder)
    if isinstance(extractor, _ReadOnlyExtractor):
        given = replace(given, extractor={})
    return BanditRun.resume(store, run_id, space, embed(ref.texts()), extractor, embed, provenance=given,
                            reference_label=reference_label)

