"""Where the product keeps its caches and run stores, how the LLM endpoint is configured, and the app's
built-in corpus size (``EQUALCTAR_BUILTIN_LIMIT``).

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


BUILTIN_LIMIT_ENV = "EQUALCTAR_BUILTIN_LIMIT"
#: the sizes the app's "Documents to use" box accepts (the sidebar draws it with this range)
BUILTIN_LIMIT_MIN, BUILTIN_LIMIT_MAX = 100, 50_000


@dataclass(frozen=True)
class EnvLimit:
    """A document count read from the environment: ``value`` is ``None`` for all documents; ``note`` says, naming
    the variable, why ``value`` is not what was set (clamped into range, or not a number); blank when it is."""

    value: int | None
    note: str = ""


def parse_builtin_limit(raw: str | None) -> EnvLimit:
    """``EQUALCTAR_BUILTIN_LIMIT``'s text as the app's built-in corpus size, clamped into
    ``[BUILTIN_LIMIT_MIN, BUILTIN_LIMIT_MAX]``; unset or blank: all documents. Never raises: a value
    that is not a whole number falls back to all documents, with a note that names the variable.

    >>> parse_builtin_limit("600"), parse_builtin_limit(None)
    (EnvLimit(value=600, note=''), EnvLimit(value=None, note=''))
    >>> parse_builtin_limit("50").note
    'EQUALCTAR_BUILTIN_LIMIT=50 is below the smallest size, 100: using 100 documents.'
    >>> parse_builtin_limit("60000").value
    50000
    >>> parse_builtin_limit("abc")
    EnvLimit(value=None, note="EQUALCTAR_BUILTIN_LIMIT must be a whole number of documents (100 to 50,000), \
got 'abc': using all of the built-in corpus.")
    """
    text = (raw or "").strip()
    if not text:
        return EnvLimit(None)
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        return EnvLimit(None, f"{BUILTIN_LIMIT_ENV} must be a whole number of documents ({BUILTIN_LIMIT_MIN} to "
                              f"{BUILTIN_LIMIT_MAX:,}), got {text!r}: using all of the built-in corpus.")
    if value < BUILTIN_LIMIT_MIN:
        return EnvLimit(BUILTIN_LIMIT_MIN, f"{BUILTIN_LIMIT_ENV}={text} is below the smallest size, "
                                           f"{BUILTIN_LIMIT_MIN}: using {BUILTIN_LIMIT_MIN} documents.")
    if value > BUILTIN_LIMIT_MAX:
        return EnvLimit(BUILTIN_LIMIT_MAX, f"{BUILTIN_LIMIT_ENV}={text} is above the largest size, "
                                           f"{BUILTIN_LIMIT_MAX:,}: using {BUILTIN_LIMIT_MAX:,} documents.")
    return EnvLimit(value)


def builtin_limit_setting() -> EnvLimit:
    """The app's default built-in corpus size from ``EQUALCTAR_BUILTIN_LIMIT`` (:func:`parse_builtin_limit`).
    The app alone reads it; the command line takes ``--limit``."""
    return parse_builtin_limit(os.environ.get(BUILTIN_LIMIT_ENV))


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
    def typed(cls, base_url: str, model: str, api_key: str) -> LLMSettings | None:
        """What a page's endpoint boxes name: ``None`` when all three are blank (then the environment's endpoint,
        key and prices are used as a whole, :meth:`from_env`); else only what was typed, so a typed address never
        receives the environment's key.

        >>> LLMSettings.typed(" ", "", "") is None, LLMSettings.typed("http://h/v1 ", "m", "").base_url
        (True, 'http://h/v1')
        """
        if not (base_url.strip() or model.strip() or api_key):
            return None
        return cls(base_url.strip(), model.strip(), api_key)

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


def data_dir(kind: str = "") -> Path:
    """Where optional real data sets live: ``$EQUALCTAR_DATA`` or ``<repo>/../shared/data`` (may not exist).

    ``kind`` names a sub-folder (``"ctar"``). Callers check the files they need and fall back
    (or skip, in tests) with a reason when they are absent.
    """
    root = os.environ.get("EQUALCTAR_DATA") or str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    path = Path(root).expanduser()
    return path / kind if kind else path
