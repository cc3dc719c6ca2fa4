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
    """OpenAI-compatible endpoint settings. The key is never printed: ``repr`` masks it.

    ``price_in``/``price_out`` are the prices per 1,000 input (prompt) and output
    (completion) tokens, in any currency; a cost budget needs at least one of them.
    """

    base_url: str = ""
    model: str = ""
    api_key: str = ""
    price_in: float = 0.0
    price_out: float = 0.0

    def __post_init__(self) -> None:
        from core.validate import check_range

        check_range("price_in (per 1k input tokens)", self.price_in, lo=0)
        check_range("price_out (per 1k output tokens)", self.price_out, lo=0)

    def __repr__(self) -> str:  # never leak the key into logs or tracebacks
        masked = "***" if self.api_key else ""
        return (f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, api_key={masked!r}, "
                f"price_in={self.price_in!r}, price_out={self.price_out!r})")

    @property
    def priced(self) -> bool:
        return self.price_in > 0 or self.price_out > 0

    def price_options(self) -> dict[str, float]:
        """The extractor keyword options for these prices (``OpenAIChatExtractor``'s names)."""
        return {"price_per_1k_prompt": self.price_in, "price_per_1k_completion": self.price_out}

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    @classmethod
    def from_env(cls) -> LLMSettings:
        """Read ``EQUAL_LLM_BASE_URL``/``EQUAL_LLM_MODEL``/``EQUAL_LLM_API_KEY`` (falling back to ``OPENAI_*``) and
        the prices ``EQUAL_LLM_PRICE_IN``/``EQUAL_LLM_PRICE_OUT`` (per 1k tokens; a bad number is an error)."""
        env = os.environ
        return cls(
            base_url=env.get("EQUAL_LLM_BASE_URL") or env.get("OPENAI_BASE_URL") or "",
            model=env.get("EQUAL_LLM_MODEL") or env.get("OPENAI_MODEL") or "",
            api_key=env.get("EQUAL_LLM_API_KEY") or env.get("OPENAI_API_KEY") or "",
            price_in=env_float("EQUAL_LLM_PRICE_IN"),
            price_out=env_float("EQUAL_LLM_PRICE_OUT"),
        )


def env_float(name: str, default: float = 0.0) -> float:
    """``float($name)``, ``default`` when unset or empty; a value that is not a number raises a message naming it.

    >>> env_float("EQUALCTAR_NEVER_SET_IN_A_DOCTEST", 2.5)
    2.5
    """
    from core.validate import ValidationError

    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"environment variable {name} must be a number, got {text!r}") from None
