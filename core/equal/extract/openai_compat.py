"""LLM extraction through any OpenAI-compatible ``/v1/chat/completions`` endpoint.

Works with vLLM, Ollama (``http://localhost:11434/v1``), the llama.cpp server and OpenAI,
over plain ``httpx`` (no ``openai`` package). It follows the paper's recipe (EQUAL, arXiv
2505.12250; MAmmoTH2's extract + refine): an *extract* pass that asks for the natural
question-answer pairs of a document as JSON, and an optional *refine* pass that fixes their
format, fills missing answers and corrects errors.

Robustness, in the order a request meets it:

- **Cache** (:class:`~core.equal.extract.cache.ExtractionCache`) by document content hash +
  model + prompt version: a document is never paid for twice (cached documents are counted in
  ``ExtractionResult.cached``, not ``calls``). Duplicate texts inside one batch are sent once.
- **Bounded concurrency**: at most ``concurrency`` requests in flight (a thread pool).
- **A total deadline per request**: ``timeout`` seconds from sending to the last byte, not per
  read: the answer is streamed and cut at the deadline, so a server that trickles one byte a
  second is given up on like a silent one. Answers over ``max_response_bytes`` are cut and
  fail; at most ``max_pairs_per_doc`` pairs are kept per document.
- **Cancel**: :meth:`OpenAIChatExtractor.extract` returns within about 0.1 s of ``cancel``
  being set (the Pause button, or :meth:`OpenAIChatExtractor.cancel`), and Ctrl-C
  (``KeyboardInterrupt``) leaves it within the same time: requests run on daemon threads that
  are abandoned, never waited for. Documents answered before that are cached as they finish;
  the others are listed in ``errors`` (``cancelled``), so a resumed run sends them again.
- **Timeouts and retries**: 429, 408 and 5xx answers, timeouts and dropped connections are
  retried up to ``max_retries`` times with exponential backoff and jitter,
  ``delay = min(backoff_max, backoff_base * 2**attempt) * U(0.5, 1.5)``, or the server's
  ``Retry-After`` (seconds or HTTP date, capped at ``backoff_max``) when it sends one. Other
  4xx answers (bad request, wrong key, unknown model) are not retried.
- **An unreachable endpoint** (connection refused, unknown host) is retried once; after that
  the rest of the batch fails at once with "Could not reach <url>: connection refused" in
  ``errors`` instead of waiting through every retry of every document.
- **Robust JSON parsing** of the model's answer (:func:`parse_pairs`): code fences, leading
  prose, trailing commas, a bare list, a single object, ``void``; an unparseable answer is
  asked again once, then recorded as an error. Nothing here raises out of :meth:`extract`.
- **Accounting**: tokens from the response's ``usage`` (estimated as characters / 4 when a
  server leaves it out; an answer cut for size counts ``max_tokens`` completion tokens, what
  the server may bill at most), ``cost = prompt_tokens / 1000 * price_per_1k_prompt +
  completion_tokens / 1000 * price_per_1k_completion``, summed over every answered request
  (retries after a malformed answer cost tokens too), failed documents included. Prices
  default to ``None`` (unknown: :attr:`OpenAIChatExtractor.prices_known` is false and the cost
  reads 0), taken from :class:`~core.settings.LLMSettings` when not given.

The API key travels only in the ``Authorization: Bearer`` header: it is masked in ``repr``,
never logged, never stored in the cache, and scrubbed from every error message together with
anything shaped like a credential (:func:`scrub_secrets`), before any snippet is cut.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.equal.extract.base import ExtractionResult, QAPair
from core.equal.extract.cache import CachedExtraction, ExtractionCache, KeyedCache
from core.settings import LLMSettings

__all__ = [
    "EXTRACT_PROMPT",
    "REFINE_PROMPT",
    "OpenAIChatExtractor",
    "OutputParseError",
    "chat_completions_url",
    "check_endpoint",
    "parse_pairs",
    "scrub_secrets",
]

logger = logging.getLogger(__name__)

EXTRACT_PROMPT = """You extract instruction-tuning data from documents.
Identify and extract the natural question-answer pairs that the document contains: a question \
that the text asks and answers, an exercise or problem with its solution, an FAQ entry, a \
documented function with what it does, its parameters, its return value or its usage example.
Ignore advertisements, navigation, markup and boilerplate. Do not invent questions or facts \
that are not in the document; keep answers complete (code included).
Answer with JSON only, exactly of the form {"pairs": [{"question": "...", "answer": "..."}]}.
If the document contains no natural question-answer pair, answer {"pairs": []}."""

REFINE_PROMPT = """You refine question-answer pairs that were extracted from a document.
Fix their format (each question complete and self-contained, answers without markup or \
boilerplate), fill in answers that are missing or cut off using the document, and correct \
errors against the document. Drop pairs that are not real question-answer pairs.
Answer with JSON only, exactly of the form {"pairs": [{"question": "...", "answer": "..."}]}."""

_RETRY_STATUSES = {408, 409, 425, 429}
#: Keyword settings that change an answer, besides the prompts and the input cut (see :func:`_cache_version`)
_ANSWER_SETTINGS = ("max_pairs_per_doc", "max_tokens", "temperature", "json_mode")
_QUESTION_KEYS = ("question", "q", "instruction", "prompt", "query", "problem")
_ANSWER_KEYS = ("answer", "a", "output", "response", "solution", "completion")
_LIST_KEYS = ("pairs", "qa_pairs", "qa", "items", "data", "results", "questions")
_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_EMPTY_WORDS = {"void", "none", "null", "no pairs", "[]", "{}", "n/a"}


class OutputParseError(ValueError):
    """The model's answer holds no usable JSON (the message says what was seen)."""


# ----------------------------------------------------------------------------- parsing
def parse_pairs(content: str) -> list[tuple[str, str]]:
    """Read ``(question, answer)`` pairs from a model's answer, tolerating the usual mess.

    Accepts ``{"pairs": [...]}`` (or ``qa_pairs``/``items``/... or any single list value), a
    bare list of objects or of ``[question, answer]`` lists, a single ``{"question", "answer"}``
    object, JSON inside code fences or after leading prose, trailing commas, and the words
    ``void``/``none`` for "no pairs". Pairs keep empty answers (the refine pass fills them).

    Raises
    ------
    OutputParseError
        No JSON value could be read, or it has no question-answer shape.

    Examples
    --------
    >>> parse_pairs('Sure! ```json\\n{"pairs": [{"question": "Q?", "answer": "A",},]}\\n```')
    [('Q?', 'A')]
    >>> parse_pairs("void")
    []
    """
    text = (content or "").strip()
    if not text:
        raise OutputParseError("the model returned an empty answer")
    if text.lower().strip(" .\"'`") in _EMPTY_WORDS:
        return []
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        found, value = _decode_first_json(candidate)
        if found:
            return _pairs_from(value)
    raise OutputParseError(f"no JSON object or list in the model's answer (it starts {text[:60]!r})")


def _decode_first_json(text: str) -> tuple[bool, Any]:
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch in "{["][:20]
    for fix in (False, True):
        for start in starts:
            chunk = _TRAILING_COMMA.sub(r"\1", text[start:]) if fix else text[start:]
            try:
                value, _ = decoder.raw_decode(chunk)
            except json.JSONDecodeError:
                continue
            if isinstance(value, (dict, list)):
                return True, value
    return False, None


def _first(obj: dict, keys: Sequence[str]) -> Any:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def _pairs_from(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, dict):
        if not value:
            return []
        inner = _first(value, _LIST_KEYS)
        if isinstance(inner, list):
            return _pairs_from(inner)
        if _first(value, _QUESTION_KEYS) is not None:
            return _pairs_from([value])
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            return _pairs_from(lists[0])
        raise OutputParseError(f"JSON object without a 'pairs' list (keys: {sorted(value)[:6]})")
    if isinstance(value, list):
        pairs: list[tuple[str, str]] = []
        for item in value:
            if isinstance(item, dict):
                q, a = _first(item, _QUESTION_KEYS), _first(item, _ANSWER_KEYS)
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                q, a = item
            else:
                continue
            if q is None:
                continue
            pairs.append((_as_text(q), _as_text(a)))
        if value and not pairs:
            raise OutputParseError("JSON list without question-answer items")
        return pairs
    raise OutputParseError(f"JSON {type(value).__name__} is not a list of pairs")


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)


# ----------------------------------------------------------------------------- endpoint
def chat_completions_url(base_url: str) -> str:
    """The chat-completions URL for a base URL.

    ``http://h:8000`` -> ``http://h:8000/v1/chat/completions``; a base ending in ``/v1`` (the
    OpenAI convention, e.g. ``http://localhost:11434/v1``) gets ``/chat/completions``; a full
    ``.../chat/completions`` URL is kept.
    """
    base = base_url.strip().rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if re.search(r"/v\d+$", base):
        return base + "/chat/completions"
    return base + "/v1/chat/completions"


def _models_url(base_url: str) -> str:
    return chat_completions_url(base_url)[: -len("/chat/completions")] + "/models"


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in {"localhost", "127.0.0.1", "::1"} or host.startswith("127.")


def _validate_url(base_url: str) -> None:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"LLMSettings.base_url must be an http(s) URL, got {base_url!r}")


def _connect_reason(exc: Exception) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename" in text or "getaddrinfo" in text:
        return "host not found"
    if "unreachable" in text:
        return "network unreachable"
    return str(exc) or type(exc).__name__


def _client(settings: LLMSettings, timeout: float) -> httpx.Client:
    headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate"}  # both decoded bounded
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    return httpx.Client(
        headers=headers,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        trust_env=not _is_loopback(settings.base_url),  # a local server is never reached via a proxy
    )


#: what to do when the endpoint cannot be reached (said after the reason)
_CHECK_URL = "; check that the server is running and that the base URL (scheme, host, port, /v1) is right"


def check_endpoint(settings: LLMSettings, timeout: float = 5.0) -> tuple[bool, str]:
    """Ask the endpoint for its model list; return ``(ok, message)`` for the page to show.

    ``ok`` is false when nothing is configured, the server cannot be reached, rejects the key,
    or lists models without ``settings.model``. A server without ``/models`` counts as
    reachable (the model is then not checked). The key never appears in the message.
    """
    if not settings.configured:
        return False, ("No LLM endpoint configured: set the base URL and model "
                       "(EQUAL_LLM_BASE_URL and EQUAL_LLM_MODEL).")
    try:
        _validate_url(settings.base_url)
    except ValueError as exc:
        return False, str(exc)
    base = settings.base_url.strip().rstrip("/")
    url = _models_url(settings.base_url)
    try:
        with _client(settings, timeout) as client:
            resp = client.get(url)
    except httpx.TimeoutException:
        return False, f"{base} did not answer within {timeout:g} s; check that the server is running and not overloaded"
    except (httpx.ConnectError, httpx.NetworkError) as exc:
        return False, _redact(f"Could not reach {base}: {_connect_reason(exc)}{_CHECK_URL}", settings.api_key)
    except httpx.HTTPError as exc:
        return False, _redact(f"Could not reach {base}: {type(exc).__name__}{_CHECK_URL}", settings.api_key)
    if resp.status_code in (401, 403):
        return False, f"{base} rejected the API key (HTTP {resp.status_code}); check the key"
    if resp.status_code != 200:
        return True, f"{base} is reachable (HTTP {resp.status_code} on /models; model not checked)"
    try:
        ids = [str(m.get("id")) for m in resp.json().get("data", []) if isinstance(m, dict)]
    except (ValueError, AttributeError):
        return True, f"{base} is reachable (its /models answer is not JSON; model not checked)"
    if ids and settings.model not in ids:
        shown = ", ".join(ids[:8]) + (" ..." if len(ids) > 8 else "")
        return False, (f"{base} is reachable but does not serve model {settings.model!r} (it serves: {shown}); "
                       "name one of those as the model")
    return True, f"{base} is reachable and serves {settings.model!r}"


_SECRET_SHAPES = (
    # the value may follow an auth scheme ("Authorization: Bearer <token>"): the scheme is kept, the token scrubbed
    re.compile(r"(?i)\b(bearer|basic|token|api[_-]?key|authorization|secret|password)"
               r"(\s*[:=]?\s*(?:(?:bearer|basic|token)\s+)?)[\"']?[^\s\"',;]{6,}"),
    re.compile(r"\b(?:sk|pk|rk|ak|gh[pousr]|xox[abpr]|hf|key)[-_][A-Za-z0-9_\-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]+){0,2}"),  # JWT
    re.compile(r"\b[0-9a-fA-F]{24,}\b"),  # long hex runs
    re.compile(r"(?<![A-Za-z0-9+/_\-])(?=[A-Za-z0-9+/_\-]*[0-9])(?=[A-Za-z0-9+/_\-]*[A-Za-z])"
               r"[A-Za-z0-9+_\-][A-Za-z0-9+/_\-]{31,}={0,2}"),  # long base64 runs (a digit and a letter)
)


def scrub_secrets(text: str, secret: str = "") -> str:
    """``text`` without ``secret`` (as sent, JSON-escaped or URL-encoded, and any piece of 6+ of its characters: an
    echo that was cut, or split by an escaped character) or anything shaped like a credential: ``sk-...``-style
    keys, bearer/basic tokens, JWTs, hex runs of 24+ and base64 runs of 32+ characters become ``***``.

    >>> scrub_secrets("bad key sk-abcdefghijklmnop; Authorization: Bearer abc.def.ghi123")
    'bad key ***; Authorization: Bearer ***'
    >>> scrub_secrets('{"message": "Incorrect API key provided: Kx9\\/mQ2+vL7wR"}', "Kx9/mQ2+vL7wR")
    '{"message": "Incorrect API key provided: ***"}'
    """
    text = str(text)
    if secret and len(secret) >= 4:
        for form in (secret, json.dumps(secret)[1:-1].replace("/", "\\/"), json.dumps(secret)[1:-1],
                     urllib.parse.quote(secret, safe="")):
            text = text.replace(form, "***")
        text = _without_pieces(text, secret)
    for pattern in _SECRET_SHAPES:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
        else:
            text = pattern.sub("***", text)
    return text


def _without_pieces(text: str, secret: str, shortest: int = 6) -> str:
    """``text`` with every run of ``shortest`` or more consecutive characters of ``secret`` as ``***``, longest
    first (``secret``'s length squared substrings at most: a key is short)."""
    for n in range(len(secret), shortest - 1, -1):
        for start in range(len(secret) - n + 1):
            piece = secret[start:start + n]
            if piece in text:
                text = text.replace(piece, "***")
    return text


def _redact(text: str, secret: str) -> str:
    return scrub_secrets(text, secret)


# ----------------------------------------------------------------------------- extractor
class _Failed(Exception):
    """A request that failed for good; the message is safe to show (no key)."""


class _Malformed(Exception):
    """An answered request whose body or content could not be parsed."""


@dataclass
class _Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    retries: int = 0


@dataclass
class _Outcome:
    pairs: list[tuple[str, str]] = field(default_factory=list)
    usage: _Usage = field(default_factory=_Usage)
    error: str | None = None
    cacheable: bool = True


_CANCELLED = "cancelled before an answer arrived (not charged beyond what the server billed; sent again on resume)"


class _AnyEvent:
    """Set when any of its events is set (the extractor's own and the caller's)."""

    def __init__(self, *events: threading.Event | None) -> None:
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    def set(self) -> None:
        self.events[0].set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking within 0.05 s of a set event; return whether one is set."""
        end = time.monotonic() + max(0.0, seconds)
        while not self.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.events[0].wait(min(left, 0.05))
        return True


def _deadline_watchdog(resp: httpx.Response, seconds: float) -> threading.Timer | None:
    """Shut the response's socket down after ``seconds`` (``None`` when the socket is not reachable)."""
    import socket

    try:
        sock = resp.extensions["network_stream"].get_extra_info("socket")
    except Exception:
        sock = None
    if sock is None:
        return None

    def fire() -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    timer = threading.Timer(max(0.0, seconds), fire)
    timer.daemon = True
    timer.start()
    return timer


def _close_later(client: httpx.Client, seconds: float) -> None:
    time.sleep(seconds)
    try:
        client.close()
    except Exception:  # pragma: no cover - closing an abandoned client is best effort
        pass


class _Batch:
    """State shared by the worker threads of one :meth:`OpenAIChatExtractor.extract` call."""

    def __init__(self, client: httpx.Client, stop: _AnyEvent | None = None) -> None:
        self.client = client
        self.unreachable: str | None = None
        self.lock = threading.Lock()
        self.stop = stop if stop is not None else _AnyEvent(threading.Event())
        self.abandoned = False


class _TooLarge(Exception):
    """An answer longer than ``max_response_bytes``."""


def _check_counts(**counts: tuple[Any, int]) -> None:
    """Each ``name=(value, low)`` is a whole number ``>= low``."""
    for pname, (value, low) in counts.items():
        if int(value) != value or value < low:
            raise ValueError(f"OpenAIChatExtractor: {pname} must be an integer >= {low}, got {value!r}")


def _check_positive(**values: Any) -> None:
    for pname, value in values.items():
        if not value > 0:
            raise ValueError(f"OpenAIChatExtractor: {pname} must be > 0, got {value!r}")


def _check_non_negative(**values: Any) -> None:
    """Each value a finite number ``>= 0``; an unset (``None``) price is allowed (cost then reads 0)."""
    for pname, value in values.items():
        if value is None and pname.startswith("price"):
            continue
        if not (isinstance(value, (int, float)) and value >= 0 and value != float("inf")):
            raise ValueError(f"OpenAIChatExtractor: {pname} must be a finite number >= 0, got {value!r}")


class _ChatTransport:
    """The HTTP side of one chat completion: retries with backoff, a total deadline, a size cap, usage.

    Built once by :class:`OpenAIChatExtractor` from its (checked) settings; ``post`` is called from
    its worker threads and shares nothing between calls but the random source of the backoff jitter.
    """

    def __init__(self, settings: LLMSettings, url: str, *, timeout: float, max_retries: int, max_tokens: int,
                 temperature: float, json_mode: bool, backoff_base: float, backoff_max: float,
                 max_response_bytes: int) -> None:
        self.settings, self.url, self.timeout, self.max_retries = settings, url, timeout, max_retries
        self.max_tokens, self.temperature, self.json_mode = max_tokens, temperature, json_mode
        self.backoff_base, self.backoff_max, self.max_response_bytes = backoff_base, backoff_max, max_response_bytes
        self._rng = random.Random()

    def post(self, messages: list[dict], doc_id: str, batch: _Batch, usage: _Usage) -> str:
        """POST with retries; return the message content, or raise ``_Failed``/``_Malformed``."""
        body: dict[str, Any] = {"model": self.settings.model, "messages": messages,
                                "temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        key = self.settings.api_key
        connect_failures = 0
        for attempt in range(self.max_retries + 1):
            if batch.unreachable is not None:
                raise _Failed(batch.unreachable)
            if batch.stop.is_set():
                raise _Failed(_CANCELLED)
            wait: float | None = None
            logger.debug("POST %s model=%s doc=%s attempt=%d", self.url, self.settings.model, doc_id, attempt + 1)
            try:
                status, headers, raw = self._request(batch, body)
            except _TooLarge:
                usage.requests += 1
                usage.prompt_tokens += _estimate_tokens("".join(m["content"] for m in messages))
                usage.completion_tokens += self.max_tokens  # what the server may bill at most
                raise _Failed(f"the answer from {self.url} is larger than {self.max_response_bytes:,} bytes; "
                              "cut and dropped") from None
            except httpx.TimeoutException:
                if batch.stop.is_set():
                    raise _Failed(_CANCELLED) from None
                problem = f"no complete answer from {self.url} within {self.timeout:g} s"
            except httpx.ConnectError as exc:
                problem = _redact(f"Could not reach {self.url}: {_connect_reason(exc)}", key)
                connect_failures += 1
                if connect_failures >= 2:
                    with batch.lock:
                        batch.unreachable = problem
                    raise _Failed(problem) from exc
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: the client closed under us
                if batch.stop.is_set():
                    raise _Failed(_CANCELLED) from None
                problem = _redact(f"request to {self.url} failed: {type(exc).__name__}: {exc}", key)
            else:
                usage.requests += 1
                if status == 200:
                    return self._read_content(raw, messages, usage)
                text = raw.decode("utf-8", "replace")
                snippet = _redact(text, key).strip()[:200]  # scrub the whole body, then cut
                problem = f"HTTP {status} from {self.url}: {snippet}"
                if status in (401, 403):
                    raise _Failed(f"{self.url} rejected the API key (HTTP {status})")
                if status not in _RETRY_STATUSES and status < 500:
                    raise _Failed(problem)
                wait = _retry_after_value(headers.get("retry-after"))
            if attempt == self.max_retries:
                raise _Failed(f"{problem} (gave up after {attempt + 1} attempts)")
            wait = self._backoff(attempt, wait)
            usage.retries += 1
            logger.warning("%s for %s; retry %d/%d in %.2f s", problem, doc_id, attempt + 1,
                           self.max_retries, wait)
            if batch.stop.wait(wait):
                raise _Failed(_CANCELLED)
        raise _Failed("unreachable")  # pragma: no cover - the loop always returns or raises

    def _backoff(self, attempt: int, asked: float | None) -> float:
        """Seconds before the next try: the server's ``Retry-After`` if it sent one, else
        ``backoff_base * 2^attempt`` with +-50 % jitter; never over ``backoff_max``."""
        if asked is None:
            asked = min(self.backoff_max, self.backoff_base * 2.0**attempt) * self._rng.uniform(0.5, 1.5)
        return min(asked, self.backoff_max)

    def _request(self, batch: _Batch, body: dict) -> tuple[int, httpx.Headers, bytes]:
        """One POST, streamed, under a total deadline of ``timeout`` seconds (not per read) and
        ``max_response_bytes``; a set stop event ends it at the next chunk.

        Raises ``httpx.TimeoutException`` at the deadline, :class:`_TooLarge` past the size.
        """
        deadline = time.monotonic() + self.timeout
        # each read waits at most until the deadline; the loop below cuts a trickle there too
        per_read = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        with batch.client.stream("POST", self.url, json=body, timeout=per_read) as resp:
            # headers came within the deadline; a blocked body read is woken at the deadline by
            # shutting the socket down (a read timeout alone restarts with every byte of a trickle)
            watchdog = _deadline_watchdog(resp, deadline - time.monotonic())
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise _TooLarge()
                    if batch.stop.is_set():
                        raise httpx.ReadTimeout("cancelled")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout(f"total deadline of {self.timeout:g} s passed")
            except httpx.HTTPError:
                if time.monotonic() >= deadline - 0.01:
                    raise httpx.ReadTimeout(f"total deadline of {self.timeout:g} s passed") from None
                raise
            finally:
                if watchdog is not None:
                    watchdog.cancel()
            raw = b"".join(chunks)
            encoding = resp.headers.get("content-encoding", "").lower()
            if encoding in ("gzip", "deflate", "br", "zstd") and raw:
                raw = _decode_bounded(raw, encoding, self.max_response_bytes)
            return resp.status_code, resp.headers, raw

    def _read_content(self, raw: bytes, messages: list[dict], usage: _Usage) -> str:
        try:
            data = json.loads(raw.decode("utf-8", "replace"))
            content = data["choices"][0]["message"]["content"] or ""
            if not isinstance(content, str):
                raise TypeError("content is not text")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            usage.prompt_tokens += _estimate_tokens("".join(m["content"] for m in messages))
            raise _Malformed(f"the response body is not a chat completion ({type(exc).__name__})") from None
        reported = data.get("usage") if isinstance(data, dict) else None
        if isinstance(reported, dict) and "prompt_tokens" in reported:
            usage.prompt_tokens += _as_count(reported.get("prompt_tokens"))
            usage.completion_tokens += _as_count(reported.get("completion_tokens"))
        else:
            usage.prompt_tokens += _estimate_tokens("".join(m["content"] for m in messages))
            usage.completion_tokens += _estimate_tokens(content)
        return content


def _run_pending(pending: list[tuple[str, str, str]], batch: _Batch, outcomes: dict[str, _Outcome], fresh: set[str],
                 concurrency: int, extract_one: Callable[[str, str, _Batch], _Outcome],
                 store: Callable[[str, _Outcome], None]) -> None:
    """Run the uncached documents on at most ``concurrency`` daemon threads; poll every 0.1 s for
    cancel, so neither a Pause nor Ctrl-C waits for a hanging endpoint."""
    import queue

    todo = list(pending)
    done: queue.Queue[tuple[str, _Outcome]] = queue.Queue()
    running: set[str] = set()

    def work(doc_id: str, text: str, key: str) -> None:
        done.put((key, extract_one(doc_id, text, batch)))

    def launch() -> None:
        while todo and len(running) < concurrency and not batch.stop.is_set():
            doc_id, text, key = todo.pop(0)
            running.add(key)
            threading.Thread(target=work, args=(doc_id, text, key), daemon=True,
                             name=f"llm-extract-{doc_id[:20]}").start()

    try:
        launch()
        while running:
            try:
                key, outcome = done.get(timeout=0.1)
            except queue.Empty:
                if batch.stop.is_set():
                    break
                continue
            running.discard(key)
            outcomes[key] = outcome
            fresh.add(key)
            store(key, outcome)  # as each answer lands: an interrupt loses nothing paid for
            launch()
    except BaseException:  # KeyboardInterrupt: stop the others and leave now
        batch.stop.set()
        batch.abandoned = bool(running)
        raise
    batch.abandoned = bool(running)
    for _, _, key in pending:
        if key not in outcomes:
            outcomes[key] = _Outcome(error=_CANCELLED, cacheable=False)
            fresh.add(key)


def _tally(keyed: list[tuple[str, str, str]], outcomes: dict[str, _Outcome], fresh: set[str], extractor: str,
           cost: Callable[[int, int], float]) -> ExtractionResult:
    """One result in document order: a text answered in this call counts its call and cost once."""
    result = ExtractionResult()
    first_seen: set[str] = set()
    for doc_id, _, key in keyed:
        outcome = outcomes[key]
        if key in fresh and key not in first_seen:
            first_seen.add(key)
            if outcome.error != _CANCELLED or outcome.usage.requests:
                result.calls += 1
            u = outcome.usage
            result.prompt_tokens += u.prompt_tokens
            result.completion_tokens += u.completion_tokens
            result.requests += u.requests
            result.retries += u.retries
            result.cost += cost(u.prompt_tokens, u.completion_tokens)
        else:
            result.cached += 1
        if outcome.error is not None:
            result.errors.append((doc_id, outcome.error))
            if outcome.error == _CANCELLED:
                result.cancelled = True
        result.pairs.extend(QAPair(question=q, answer=a, doc_id=doc_id, extractor=extractor)
                            for q, a in outcome.pairs if q and a)
    return result


def _or_setting(price: float | None, settings: LLMSettings, name: str) -> float | None:
    """``price`` as given, else the settings' price of that name (``None``: unknown)."""
    return getattr(settings, name, None) if price is None else price


def _cache_version(extractor: OpenAIChatExtractor) -> str:
    """The version in ``extractor``'s cache keys: its ``prompt_version`` plus each of :data:`_ANSWER_SETTINGS` not
    at its default, so an answer made under other settings (cut to fewer pairs, sampled at another temperature...)
    is never served, while the keys made at the defaults before these settings were named still hit."""
    defaults = type(extractor).__init__.__kwdefaults__ or {}
    changed = [f"{name}={getattr(extractor, name)!r}" for name in _ANSWER_SETTINGS
               if getattr(extractor, name) != defaults[name]]
    return ":".join([extractor.prompt_version, *changed])


def _kept_by(extractor: OpenAIChatExtractor) -> KeyedCache:
    """``extractor``'s entries in its cache: keyed by its model and :func:`_cache_version`."""
    return KeyedCache(extractor._cache, extractor.settings.model, _cache_version(extractor))


def _split_cached(keyed: list[tuple[str, str, str]],
                  kept: KeyedCache) -> tuple[dict[str, _Outcome], list[tuple[str, str, str]]]:
    """``(outcomes of the keys found in the cache, documents to send)``; one document per distinct key."""
    outcomes: dict[str, _Outcome] = {}
    pending: list[tuple[str, str, str]] = []
    pending_keys: set[str] = set()
    for doc_id, text, key in keyed:
        if key in outcomes or key in pending_keys:
            continue
        hit = kept.get(key)
        if hit is not None:
            outcomes[key] = _Outcome(pairs=list(hit.pairs))
        else:
            pending.append((doc_id, text, key))
            pending_keys.add(key)
    return outcomes, pending


def _on_a_client(settings: LLMSettings, timeout: float, stop: _AnyEvent, run: Callable[[_Batch], None]) -> None:
    """``run(batch)`` on a fresh HTTP client, closed after; when threads were abandoned still reading, closed
    later on a daemon thread (they fail on a closed client instead of hanging)."""
    client = _client(settings, timeout)
    batch = _Batch(client, stop)
    try:
        run(batch)
    finally:
        if batch.abandoned:
            threading.Thread(target=_close_later, args=(client, timeout + 1.0), daemon=True).start()
        else:
            client.close()


def _extract_messages(document: str) -> list[dict]:
    return [{"role": "system", "content": EXTRACT_PROMPT},
            {"role": "user", "content": f"Document:\n<<<\n{document}\n>>>"}]


def _refine_messages(document: str, pairs: list[tuple[str, str]]) -> list[dict]:
    shown = json.dumps({"pairs": [{"question": q, "answer": a} for q, a in pairs]}, ensure_ascii=False)
    return [{"role": "system", "content": REFINE_PROMPT},
            {"role": "user", "content": f"Document:\n<<<\n{document}\n>>>\n\nExtracted pairs:\n{shown}"}]


class OpenAIChatExtractor:
    """Extract QA pairs with an LLM behind an OpenAI-compatible chat endpoint.

    Parameters
    ----------
    settings : LLMSettings
        ``base_url`` (e.g. ``http://localhost:8000/v1``), ``model``, optional ``api_key``.
    concurrency : int
        Maximum requests in flight.
    timeout : float
        Seconds per request (read timeout; connect timeout ``min(timeout, 10)``).
    max_retries : int
        Retries after a 429/5xx/timeout/dropped connection (so at most ``max_retries + 1`` tries).
    refine : bool
        Run the refine pass on every document that yielded pairs (a second request). A refine pass that
        fails keeps the extract pass's pairs: the document is read, not failed (a warning is logged, and the
        answer is not cached, so a later run refines it).
    price_per_1k_prompt, price_per_1k_completion : float or None
        Prices per 1,000 input/output tokens, for ``ExtractionResult.cost``; ``None`` takes
        ``settings``' prices, and when those are ``None`` too the price is unknown (cost 0,
        :attr:`prices_known` false: a cost budget must then be refused by the caller).
    cache : ExtractionCache, optional
        Default: the on-disk cache under ``cache_dir("extractions")``; ``use_cache=False``
        turns caching off.
    max_doc_chars : int
        Documents are cut to this many characters before sending (part of the cache key, as are ``max_tokens``,
        ``temperature``, ``json_mode`` and ``max_pairs_per_doc`` when not at their defaults: :func:`_cache_version`).
    max_tokens : int
        ``max_tokens`` of each completion.
    temperature : float
        Sampling temperature (0: as deterministic as the server allows).
    json_mode : bool
        Send ``response_format={"type": "json_object"}`` (servers that support it).
    backoff_base, backoff_max : float
        Seconds: the first retry waits about ``backoff_base``, no wait exceeds ``backoff_max``.
    max_pairs_per_doc : int
        Pairs kept per document (an answer with more is cut, with a note in the log).
    max_response_bytes : int
        Largest answer body read; a longer one is cut and the document fails.
    """

    name = "openai"

    def __init__(
        self,
        settings: LLMSettings,
        concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 4,
        refine: bool = False,
        price_per_1k_prompt: float | None = None,
        price_per_1k_completion: float | None = None,
        cache: ExtractionCache | None = None,
        *,
        use_cache: bool = True,
        max_doc_chars: int = 12_000,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        json_mode: bool = False,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_pairs_per_doc: int = 64,
        max_response_bytes: int = 2_000_000,
    ) -> None:
        if not settings.base_url or not settings.model:
            raise ValueError("OpenAIChatExtractor: settings.base_url and settings.model are required")
        _validate_url(settings.base_url)
        _check_counts(concurrency=(concurrency, 1), max_retries=(max_retries, 0), max_doc_chars=(max_doc_chars, 100),
                      max_tokens=(max_tokens, 1), max_pairs_per_doc=(max_pairs_per_doc, 1),
                      max_response_bytes=(max_response_bytes, 1024))
        _check_positive(timeout=timeout, backoff_max=backoff_max)
        price_per_1k_prompt = _or_setting(price_per_1k_prompt, settings, "price_per_1k_prompt")
        price_per_1k_completion = _or_setting(price_per_1k_completion, settings, "price_per_1k_completion")
        _check_non_negative(price_per_1k_prompt=price_per_1k_prompt, temperature=temperature,
                            price_per_1k_completion=price_per_1k_completion, backoff_base=backoff_base)
        self.settings = settings
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.refine = bool(refine)
        self.price_per_1k_prompt = None if price_per_1k_prompt is None else float(price_per_1k_prompt)
        self.price_per_1k_completion = None if price_per_1k_completion is None else float(price_per_1k_completion)
        self.max_pairs_per_doc = int(max_pairs_per_doc)
        self.max_response_bytes = int(max_response_bytes)
        self._cancel = threading.Event()
        self.max_doc_chars = int(max_doc_chars)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.json_mode = bool(json_mode)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.url = chat_completions_url(settings.base_url)
        self._cache = (cache if cache is not None else ExtractionCache()) if use_cache else None
        self._transport = _ChatTransport(
            settings, self.url, timeout=self.timeout, max_retries=self.max_retries, max_tokens=self.max_tokens,
            temperature=self.temperature, json_mode=self.json_mode, backoff_base=self.backoff_base,
            backoff_max=self.backoff_max, max_response_bytes=self.max_response_bytes)

    def __repr__(self) -> str:
        return (f"OpenAIChatExtractor(settings={self.settings!r}, concurrency={self.concurrency}, "
                f"refine={self.refine}, prompt_version={self.prompt_version!r})")

    @property
    def prompt_version(self) -> str:
        """Names the prompts and input cut; part of the cache key, so a prompt change re-extracts."""
        digest = hashlib.sha256((EXTRACT_PROMPT + (REFINE_PROMPT if self.refine else "")).encode()).hexdigest()
        return f"extract-v1{'+refine-v1' if self.refine else ''}:{digest[:10]}:chars{self.max_doc_chars}"

    @property
    def prices_known(self) -> bool:
        """Both prices are set (else ``cost`` reads 0 and means "unknown")."""
        return self.price_per_1k_prompt is not None and self.price_per_1k_completion is not None

    def estimate_cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """``prompt/1000 * price_prompt + completion/1000 * price_completion`` (an unknown price counts 0)."""
        return (prompt_tokens / 1000.0 * (self.price_per_1k_prompt or 0.0)
                + completion_tokens / 1000.0 * (self.price_per_1k_completion or 0.0))

    def is_cached(self, text: str) -> bool:
        """Whether ``text``'s extraction is in the cache (extracting it again costs no call)."""
        return _kept_by(self).has(text[: self.max_doc_chars])

    def cancel(self) -> None:
        """Make a running :meth:`extract` (any thread) return within about 0.1 s; later calls run again."""
        self._cancel.set()

    # ------------------------------------------------------------------------- public
    def extract(self, docs: Sequence[tuple[str, str]], cancel: threading.Event | None = None) -> ExtractionResult:
        """Extract every document (cache first, then the endpoint); never raises for a document.

        ``calls`` counts documents sent to the endpoint (failed ones included), ``cached``
        documents served from the cache or duplicating a text earlier in the batch. Setting
        ``cancel`` (or calling :meth:`cancel`) returns within about 0.1 s: documents without an
        answer yet get a ``cancelled`` error and ``result.cancelled`` is true. A
        ``KeyboardInterrupt`` leaves just as fast (answers that arrived are already cached).
        """
        self._cancel.clear()
        stop = _AnyEvent(self._cancel, cancel)
        docs = [(str(d), t if isinstance(t, str) else "") for d, t in docs]
        kept = _kept_by(self)
        keyed = [(doc_id, text, kept.key(text[: self.max_doc_chars])) for doc_id, text in docs]
        outcomes, pending = _split_cached(keyed, kept)
        fresh: set[str] = set()
        if pending:
            _on_a_client(self.settings, self.timeout, stop, lambda batch: _run_pending(
                pending, batch, outcomes, fresh, self.concurrency, self._extract_one,
            lambda key, outcome: self._store(kept, key, outcome)))
        return _tally(keyed, outcomes, fresh, self.name, self.estimate_cost)

    def _store(self, kept: KeyedCache, key: str, outcome: _Outcome) -> None:
        if outcome.error is None and outcome.cacheable:
            u = outcome.usage
            kept.put([(key, CachedExtraction(tuple(outcome.pairs), u.prompt_tokens, u.completion_tokens,
                                             self.estimate_cost(u.prompt_tokens, u.completion_tokens)))])

    # ------------------------------------------------------------------------- per document
    def _extract_one(self, doc_id: str, text: str, batch: _Batch) -> _Outcome:
        outcome = _Outcome()
        document = text[: self.max_doc_chars]
        try:
            pairs = self._chat_pairs(_extract_messages(document), doc_id, batch,
                                     outcome.usage)[: self.max_pairs_per_doc * 4]
            if self.refine and pairs:
                pairs = pairs[: self.max_pairs_per_doc]
                try:
                    pairs = self._chat_pairs(_refine_messages(document, pairs), doc_id, batch, outcome.usage)
                except _Failed as exc:  # the document was read: it is done with the extract pass's pairs, not failed
                    logger.warning("%s: refine pass failed, kept the extract pass's pairs: %s", doc_id, exc)
                    outcome.cacheable = False  # a later run refines it
            kept = [(q, a) for q, a in pairs if q and a]
            if len(kept) > self.max_pairs_per_doc:
                logger.warning("%s: %d pairs in the answer, kept the first %d (max_pairs_per_doc)",
                               doc_id, len(kept), self.max_pairs_per_doc)
                kept = kept[: self.max_pairs_per_doc]
            outcome.pairs = kept
        except _Failed as exc:
            outcome.error = str(exc)
            outcome.cacheable = False
        except Exception as exc:  # never crash a batch on one document
            outcome.error = _redact(f"unexpected {type(exc).__name__}: {exc}", self.settings.api_key)
        if outcome.error is not None:
            logger.warning("extraction of %s failed: %s", doc_id, outcome.error)
        return outcome

    def _chat_pairs(self, messages: list[dict], doc_id: str, batch: _Batch, usage: _Usage) -> list[tuple[str, str]]:
        """One chat request whose answer must parse; a malformed answer is asked again once."""
        problem = ""
        for attempt in range(2):
            try:
                content = self._transport.post(messages, doc_id, batch, usage)
                return parse_pairs(content)
            except (_Malformed, OutputParseError) as exc:
                problem = _redact(str(exc), self.settings.api_key)
                if attempt == 0 and not batch.stop.is_set():
                    usage.retries += 1
                    logger.info("malformed answer for %s (%s); asking again", doc_id, problem)
        raise _Failed(f"malformed answer twice from {self.url}: {problem}")

def _as_count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _decode_bounded(raw: bytes, encoding: str, limit: int) -> bytes:
    """Decompress a gzip/deflate body without letting it expand past ``limit`` bytes."""
    import zlib

    if encoding not in ("gzip", "deflate"):
        raise _TooLarge()  # br/zstd: not requested by this client; refuse rather than guess
    d = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    out = d.decompress(raw, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise _TooLarge()
    return out


def _retry_after_value(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _estimate_tokens(text: str) -> int:
    """About four characters per token (OpenAI's rule of thumb for English)."""
    return (len(text) + 3) // 4
