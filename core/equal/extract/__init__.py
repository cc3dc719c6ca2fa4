"""QA-pair extractors behind one protocol (see :mod:`core.equal.extract.base`).

``make_extractor("rules")`` (the default) gives the deterministic offline
:class:`~core.equal.extract.rules.RuleExtractor`; ``make_extractor("openai", settings)``
gives the :class:`~core.equal.extract.openai_compat.OpenAIChatExtractor` for any
OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, OpenAI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.equal.choices import ExtractorKind, values
from core.equal.extract.base import ExtractionResult, Extractor, QAPair

if TYPE_CHECKING:
    from core.settings import LLMSettings

__all__ = ["EXTRACTOR_ALIASES", "EXTRACTOR_KINDS", "ExtractionResult", "Extractor", "QAPair", "make_checked_extractor",
           "make_extractor"]

EXTRACTOR_KINDS = values(ExtractorKind)
EXTRACTOR_ALIASES = _ALIASES = {"rules": "rules", "rule": "rules", "openai": "openai", "llm": "openai",
                                "openai-compatible": "openai", "openai_compat": "openai"}  # what stored runs may say


def make_extractor(kind: str = "rules", settings: LLMSettings | None = None, **options) -> Extractor:
    """Build an extractor by kind.

    Parameters
    ----------
    kind : {"rules", "openai"}
        ``"rules"``: :class:`RuleExtractor` (options: ``config=RuleConfig(...)``).
        ``"openai"`` (aliases ``"llm"``, ``"openai-compatible"``): :class:`OpenAIChatExtractor`
        (options: ``concurrency``, ``timeout``, ``max_retries``, ``refine``, prices, ``cache``...).
    settings : LLMSettings, optional
        Endpoint for ``"openai"``; defaults to :meth:`LLMSettings.from_env`.

    Raises
    ------
    ValueError
        Unknown ``kind``, or ``"openai"`` without a configured endpoint (``base_url`` and ``model``).
    """
    key = _ALIASES.get(str(kind).strip().lower())
    if key is None:
        raise ValueError(f"make_extractor: unknown kind {kind!r}; choose one of {EXTRACTOR_KINDS}")
    if key == "rules":
        from core.equal.extract.rules import RuleExtractor

        return RuleExtractor(**options)
    from core.equal.extract.openai_compat import OpenAIChatExtractor
    from core.settings import LLMSettings as _LLMSettings

    settings = settings if settings is not None else _LLMSettings.from_env()
    if not settings.configured:
        raise ValueError(
            "make_extractor('openai'): settings.base_url and settings.model are required "
            "(or set EQUAL_LLM_BASE_URL and EQUAL_LLM_MODEL)"
        )
    return OpenAIChatExtractor(settings, **options)


def make_checked_extractor(kind: str = "rules", settings: LLMSettings | None = None, **options) -> Extractor:
    """:func:`make_extractor`, and for an endpoint extractor a check that it answers before any work is done.

    Raises
    ------
    ValueError
        As :func:`make_extractor`, or the endpoint cannot be reached, rejects the key or lacks
        the model (the message names the cause, never the key).
    """
    extractor = make_extractor(kind, settings, **options)
    if _ALIASES.get(str(kind).strip().lower()) == "openai":
        from core.equal.extract.openai_compat import OpenAIChatExtractor, check_endpoint

        assert isinstance(extractor, OpenAIChatExtractor)  # what make_extractor builds for "openai"
        ok, message = check_endpoint(extractor.settings)
        if not ok:
            raise ValueError(message)
    return extractor
