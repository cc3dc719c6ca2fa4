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


def _price(name: str) -> float | None:
    """A price from the environment: unset or blank is ``None`` (unknown); else a finite number >= 0."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a price per 1,000 tokens (a number >= 0), got {raw!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise ValueError(f"{name} must be a finite number >= 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class LLMSettings:
    """OpenAI-compatible endpoint settings. The key is never printed: ``repr`` masks it.

    Prices are per 1,000 input (prompt) and output (completion) tokens; ``None`` means unknown
    (a cost budget cannot be enforced and must be refused).
    """

    base_url: str = ""
    model: str = ""
    api_key: str = ""
    price_per_1k_prompt: float | None = None
    price_per_1k_completion: float | None = None

    def __repr__(self) -> str:  # never leak the key into logs or tracebacks
        masked = "***" if self.api_key else ""
        return (f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, api_key={masked!r}, "
                f"price_per_1k_prompt={self.price_per_1k_prompt!r}, "
                f"price_per_1k_completion={self.price_per_1k_completion!r})")

    @property
    def prices_known(self) -> bool:
        return self.price_per_1k_prompt is not None and self.price_per_1k_completion is not None

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    @classmethod
    def from_env(cls) -> LLMSettings:
        """Read ``EQUAL_LLM_BASE_URL``/``EQUAL_LLM_MODEL``/``EQUAL_LLM_API_KEY`` (falling back to ``OPENAI_*``)
        and the prices ``EQUAL_LLM_PRICE_PER_1K_PROMPT``/``EQUAL_LLM_PRICE_PER_1K_COMPLETION``."""
        env = os.environ
        return cls(
            base_url=env.get("EQUAL_LLM_BASE_URL") or env.get("OPENAI_BASE_URL") or "",
            model=env.get("EQUAL_LLM_MODEL") or env.get("OPENAI_MODEL") or "",
            api_key=env.get("EQUAL_LLM_API_KEY") or env.get("OPENAI_API_KEY") or "",
            price_per_1k_prompt=_price("EQUAL_LLM_PRICE_PER_1K_PROMPT"),
            price_per_1k_completion=_price("EQUAL_LLM_PRICE_PER_1K_COMPLETION"),
        )
