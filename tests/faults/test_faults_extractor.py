"""Fault injection against the LLM extractor: a hostile endpoint, cancels and Ctrl-C.

Each test replays a probe of issue #15 that failed before: a trickling answer outlived its
timeout (73 s for timeout=2 s), Ctrl-C was ignored while an endpoint hung (exit 307 s after
SIGINT), an echoed key leaked through the 200-character error snippet, a 200k-pair answer was
stored whole, and prices could not be set (cost 0.0 whatever was billed).

The time bounds below are behaviour, not performance: the failure modes take minutes (a
trickle read to its end, a hang until the server gives up), so each bound leaves a wide margin
on a loaded machine (measured here: 1.0 s for the 1 s deadline, 0.3-0.4 s for cancel and Ctrl-C).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from core.equal.extract.openai_compat import OpenAIChatExtractor, scrub_secrets
from core.settings import LLMSettings
from tests.faults.hostile_llm import HostileLLM

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-THIS1is2the3secret4key5abcdef"
DOC = [("d1", "FACT one document with some text")]


def _extractor(server: HostileLLM, **options) -> OpenAIChatExtractor:
    options.setdefault("use_cache", False)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_max", 0.05)
    return OpenAIChatExtractor(LLMSettings(base_url=server.base_url, model="m", api_key=KEY), **options)


def test_trickling_answer_is_cut_at_the_total_deadline() -> None:
    with HostileLLM("trickle", interval=0.05) as server:  # ~4 kB at 20 B/s: minutes if read to the end
        ex = _extractor(server, timeout=1.0, max_retries=0)
        start = time.monotonic()
        result = ex.extract(DOC)
        elapsed = time.monotonic() - start
    assert elapsed < 6, f"a 1 s deadline took {elapsed:.1f} s"  # read to the end: ~200 s
    assert result.pairs == [] and len(result.errors) == 1
    assert "within 1 s" in result.errors[0][1]


def test_cancel_returns_within_a_second_and_loses_nothing() -> None:
    with HostileLLM("hang") as server:
        ex = _extractor(server, timeout=60.0, max_retries=0, concurrency=2)
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        start = time.monotonic()
        result = ex.extract([("a", "text a"), ("b", "text b"), ("c", "text c")], cancel=cancel)
        elapsed = time.monotonic() - start
    assert elapsed < 4, f"cancel took {elapsed:.1f} s"  # without cancel: 60 s per document
    assert result.cancelled
    assert sorted(d for d, _ in result.errors) == ["a", "b", "c"]  # every document listed: a resume sends it again
    assert all("cancelled" in msg for _, msg in result.errors)


def test_extractor_cancel_method_from_another_thread() -> None:
    with HostileLLM("hang") as server:
        ex = _extractor(server, timeout=60.0, max_retries=0)
        threading.Timer(0.3, ex.cancel).start()
        start = time.monotonic()
        result = ex.extract(DOC)
        assert time.monotonic() - start < 4
        assert result.cancelled
        with HostileLLM("good") as good:  # the next call runs again (the cancel is per call)
            ex2 = _extractor(good, timeout=5.0)
            ex2.cancel()
            assert ex2.extract(DOC).pairs


def test_ctrl_c_interrupts_a_hanging_call_within_a_second() -> None:
    with HostileLLM("hang") as server:
        script = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            from core.equal.extract.openai_compat import OpenAIChatExtractor
            from core.settings import LLMSettings
            ex = OpenAIChatExtractor(LLMSettings(base_url={server.base_url!r}, model="m"), timeout=120,
                                     max_retries=0, use_cache=False)
            print("calling", flush=True)
            try:
                ex.extract([("d", "text")])
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                sys.exit(130)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "calling"
            deadline = time.monotonic() + 10
            while server.requests == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=10)
            elapsed = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 130 and elapsed < 5, f"exit {code} {elapsed:.1f} s after SIGINT"  # else 120 s


def test_echoed_key_and_secret_shaped_text_never_reach_errors(caplog) -> None:
    for status in (500, 400):
        with HostileLLM("echo_key", status=status) as server:
            result = _extractor(server, timeout=5.0, max_retries=1).extract(DOC)
        text = " ".join(m for _, m in result.errors) + caplog.text
        assert result.errors
        for secret in (KEY, KEY[:13], KEY[3:20], "sk-proj-A1b2C3d4E5f6G7h8I9j0", "ghp_0123456789abcdefABCDEF",
                       "deadbeefdeadbeefdeadbeefdeadbeef", "c2VjcmV0LXNlc3Npb24tdG9rZW4tMTIzNDU2Nzg5MA=="):
            assert secret not in text, f"{secret[:6]}... leaked (HTTP {status})"


def test_a_key_echoed_with_escaped_characters_never_reaches_errors(caplog) -> None:
    """A server that writes JSON as PHP does quotes ``/`` as ``\\/``: a 32-character base64 key echoed so was shown
    whole (its pieces were neither the key, nor a cut start of it, nor a 32+ character base64 run)."""
    key = "Kx9/mQ2+vL7wR4tZp8nB3cJ6hF1dS5gA"
    for status in (500, 400):
        with HostileLLM("echo_key_json", status=status) as server:
            result = OpenAIChatExtractor(LLMSettings(base_url=server.base_url, model="m", api_key=key),
                                         use_cache=False, max_retries=0, timeout=5.0).extract(DOC)
        text = " ".join(m for _, m in result.errors) + caplog.text
        assert "Incorrect API key provided" in text  # the server's message is kept
        shown = [key[i:i + 6] for i in range(len(key) - 5) if key[i:i + 6] in text]
        assert shown == [], f"pieces of the key were shown (HTTP {status}): {shown}"
    assert scrub_secrets("key: " + urllib.parse.quote(key, safe=""), key) == "key: ***"  # URL-encoded


def test_scrub_keeps_ordinary_text() -> None:
    plain = "HTTP 500 from http://127.0.0.1:8000/v1/chat/completions: model overloaded, try later"
    assert scrub_secrets(plain) == plain
    assert scrub_secrets("x " + KEY[:10] + " y", KEY) == "x *** y"  # a cut echo of the key


def test_huge_answer_is_refused_by_size_and_pairs_are_capped() -> None:
    with HostileLLM("huge", n_pairs=200_000) as server:  # ~8 MB of JSON
        result = _extractor(server, timeout=20.0, max_retries=0, price_per_1k_prompt=1.0,
                            price_per_1k_completion=2.0).extract(DOC)
    assert result.pairs == [] and "larger than" in result.errors[0][1]
    assert result.completion_tokens == 1024 and result.cost > 0  # billed at most max_tokens: counted
    with HostileLLM("huge", n_pairs=5_000) as server:  # within the byte cap, over the pair cap
        result = _extractor(server, timeout=20.0, max_retries=0, max_pairs_per_doc=50).extract(DOC)
    assert len(result.pairs) == 50 and not result.errors


def test_prices_unknown_by_default_and_failed_documents_cost_what_was_billed() -> None:
    with HostileLLM("malformed") as server:
        unknown = _extractor(server, timeout=5.0)
        assert not unknown.prices_known
        priced = _extractor(server, timeout=5.0, price_per_1k_prompt=1.0, price_per_1k_completion=2.0)
        assert priced.prices_known
        result = priced.extract(DOC)
    assert [d for d, _ in result.errors] == ["d1"] and result.pairs == []
    # asked twice (malformed, then again), each answer billed 300 prompt + 20 completion tokens
    assert result.prompt_tokens == 600 and result.completion_tokens == 40
    assert result.cost == pytest.approx(0.6 + 0.08)
    from_settings = OpenAIChatExtractor(LLMSettings(base_url="http://127.0.0.1:9/v1", model="m",
                                                    price_per_1k_prompt=0.5, price_per_1k_completion=1.5),
                                        use_cache=False)
    assert from_settings.prices_known and from_settings.estimate_cost(1000, 1000) == pytest.approx(2.0)


def test_prices_from_env_are_parsed_strictly(monkeypatch) -> None:
    monkeypatch.setenv("EQUAL_LLM_PRICE_PER_1K_PROMPT", "0.15")
    monkeypatch.setenv("EQUAL_LLM_PRICE_PER_1K_COMPLETION", "0.6")
    settings = LLMSettings.from_env()
    assert settings.price_per_1k_prompt == 0.15 and settings.prices_known
    monkeypatch.setenv("EQUAL_LLM_PRICE_PER_1K_COMPLETION", "cheap")
    with pytest.raises(ValueError, match="EQUAL_LLM_PRICE_PER_1K_COMPLETION"):
        LLMSettings.from_env()
    with pytest.raises(ValueError, match="price_per_1k_prompt"):
        OpenAIChatExtractor(LLMSettings(base_url="http://h/v1", model="m"), price_per_1k_prompt=float("nan"),
                            use_cache=False)


def test_always_500_fails_every_document_without_crashing() -> None:
    with HostileLLM("always500") as server:
        result = _extractor(server, timeout=5.0, max_retries=2).extract([("a", "x"), ("b", "y")])
        assert server.requests == 6
    assert sorted(d for d, _ in result.errors) == ["a", "b"] and result.calls == 2
    assert all("HTTP 500" in m and "gave up after 3 attempts" in m for _, m in result.errors)
