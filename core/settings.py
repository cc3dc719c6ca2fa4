"""Where the product keeps its caches and run stores, and how the LLM endpoint is configured.

Everything here reads the environment at call time, so tests can point the product at a
temporary folder with ``EQUALCTAR_HOME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def home_dir() -> Path:
    """Root folder for caches, run databases and exports (``$EQUALCTAR_HOME`` or ``~/.cache/equal-ctar``)."""
    root = os.environ.get("EQUALCTAR_HOME") or str(Path.home() / ".cache" / "equal-ctar")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(kind: str) -> Path:
    """A sub-folder of :func:`home_dir` for one kind of cached artefact (``embeddings``, ``maps``, ...)."""
    path = home_dir() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class LLMSettings:
    """OpenAI-compatible endpoint settings. The key is never printed: ``repr`` masks it."""

    base_url: str = ""
    model: str = ""
    api_key: str = ""

    def __repr__(self) -> str:  # never leak the key into logs or tracebacks
        masked = "***" if self.api_key else ""
        return f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, api_key={masked!r})"

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    @classmethod
    def from_env(cls) -> "LLMSettings":
        """Read ``EQUAL_LLM_BASE_URL``/``EQUAL_LLM_MODEL``/``EQUAL_LLM_API_KEY`` (falling back to ``OPENAI_*``)."""
        env = os.environ
        return cls(
            base_url=env.get("EQUAL_LLM_BASE_URL") or env.get("OPENAI_BASE_URL", ""),
            model=env.get("EQUAL_LLM_MODEL") or env.get("OPENAI_MODEL", ""),
            api_key=env.get("EQUAL_LLM_API_KEY") or env.get("OPENAI_API_KEY", ""),
        )


def data_dir(kind: str = "") -> Path:
    """Where optional real data sets live: ``$EQUALCTAR_DATA`` or ``<repo>/../shared/data`` (may not exist).

    ``kind`` names a sub-folder (``"ctar"``). Callers check the files they need and fall back
    (or skip, in tests) with a reason when they are absent.
    """
    root = os.environ.get("EQUALCTAR_DATA") or str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    path = Path(root).expanduser()
    return path / kind if kind else path
