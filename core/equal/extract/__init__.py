"""QA-pair extractors behind one protocol (see :mod:`core.equal.extract.base`)."""

from core.equal.extract.base import ExtractionResult, Extractor, QAPair

__all__ = ["ExtractionResult", "Extractor", "QAPair"]
