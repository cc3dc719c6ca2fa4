"""The OpenAI-compatible extractor against a real local HTTP server that injects failures."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from core.equal.extract import make_extractor
from core.equal.extract.cache import CachedExtraction, ExtractionCache, content_key
from core.equal.extract.openai_compat import (
    OpenAIChatExtractor,
    OutputParseError,
    chat_completions_url,
    check_endpoint,
    parse_pairs,
)
from core.settings import LLMSettings
from tests.equal.fake_llm_server import BadBody, FakeLLMServer, Good, Malformed, Slow, Status

KEY = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture()
def server():
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture()
def cache(tmp_path):
    c = ExtractionCache(tmp_path / "extractions.sqlite")
    yield c
    c.close()


def _extractor(server, cache, **options) -> OpenAIChatExtractor:
    settings = LLMSettings(base_url=server.base_url, model="fake-model", api_key=KEY)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("timeout", 5.0)
    return OpenAIChatExtractor(settings, cache=cache, **options)


DOCS = [
    ("d1", "FACT alpha is the first letter\nsome boilerplate"),
    ("d2", "an advert with nothing to extract"),
    ("d3", "FACT beta is second\nFACT gamma is third"),
]


def test_happy_path_pairs_provenance_and_bearer_header(server, cache):
    result = _extractor(server, cache).extract(DOCS)
    assert result.errors == []
    assert [(p.doc_id, p.question, p.answer) for p in result.pairs] == [
        ("d1", "What is alpha?", "alpha is the first letter"),
        ("d3", "What is beta?", "beta is second"),
        ("d3", "What is gamma?", "gamma is third"),
    ]
    assert all(p.extractor == "openai" for p in result.pairs)
    assert result.calls == 3 and result.cached == 0 and result.requests == 3 and result.retries == 0
    reqs = server.chat_requests
    assert len(reqs) == 3
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in reqs)
    assert all(r.body["model"] == "fake-model" for r in reqs)
    system = reqs[0].body["messages"][0]["content"].lower()
    assert "question-answer pairs" in system and "advertisements" in system and '"pairs"' in system


def test_token_and_cost_accounting_sums(server, cache):
    ex = _extractor(server, cache, price_per_1k_prompt=0.5, price_per_1k_completion=2.0)
    result = ex.extract(DOCS)
    sent = server.usage_sent
    assert sent["prompt_tokens"] > 0 and sent["completion_tokens"] > 0
    assert result.prompt_tokens == sent["prompt_tokens"]
    assert result.completion_tokens == sent["completion_tokens"]
    expected = sent["prompt_tokens"] / 1000 * 0.5 + sent["completion_tokens"] / 1000 * 2.0
    assert result.cost == pytest.approx(expected)


def test_tokens_estimated_when_usage_is_missing(server, cache):
    server.enqueue(Good(pairs=[{"question": "Q?", "answer": "A"}], usage=False))
    result = _extractor(server, cache).extract([("d", "FACT x")])
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert server.usage_sent == {"prompt_tokens": 0, "completion_tokens": 0}


def test_429_with_retry_after_is_honoured(server, cache):
    server.enqueue(Status(429, retry_after="1"))
    start = time.monotonic()
    result = _extractor(server, cache).extract([("d1", DOCS[0][1])])
    assert time.monotonic() - start >= 0.9  # waited what the server asked, not 0.01 s
    assert result.errors == [] and len(result.pairs) == 1
    assert len(server.chat_requests) == 2 and result.retries == 1 and result.calls == 1


@pytest.mark.parametrize("failure", [Status(500), Status(503), BadBody(), Malformed()])
def test_each_transient_failure_recovers_by_retry(server, cache, failure):
    server.enqueue(failure)
    result = _extractor(server, cache).extract([("d3", DOCS[2][1])])
    assert result.errors == []
    assert [p.question for p in result.pairs] == ["What is beta?", "What is gamma?"]
    assert len(server.chat_requests) == 2 and result.retries == 1


def test_timeout_recovers_by_retry(server, cache):
    server.enqueue(Slow(2.0))
    result = _extractor(server, cache, timeout=0.5).extract([("d1", DOCS[0][1])])
    assert result.errors == [] and len(result.pairs) == 1
    assert len(server.chat_requests) == 2


def test_persistent_500_records_error_without_crashing(server, cache):
    server.responder = lambda body: Status(500)
    result = _extractor(server, cache, max_retries=2).extract(DOCS[:2])
    assert result.pairs == []
    assert [d for d, _ in result.errors] == ["d1", "d2"]
    assert all("HTTP 500" in msg and "3 attempts" in msg for _, msg in result.errors)
    assert len(server.chat_requests) == 6 and result.calls == 2
    assert len(cache) == 0  # failures are not cached: a later run tries again


def test_persistent_malformed_answer_retried_once_then_error(server, cache):
    server.responder = lambda body: Malformed("I cannot produce JSON today")
    result = _extractor(server, cache).extract([("d1", DOCS[0][1])])
    assert result.pairs == [] and len(server.chat_requests) == 2
    assert len(result.errors) == 1 and "malformed" in result.errors[0][1]


def test_client_errors_are_not_retried(server, cache):
    server.enqueue(Status(400, body='{"error": "bad model"}'))
    result = _extractor(server, cache).extract([("d1", DOCS[0][1])])
    assert len(server.chat_requests) == 1 and "HTTP 400" in result.errors[0][1]


def test_cache_prevents_paying_twice(server, cache):
    first = _extractor(server, cache).extract(DOCS)
    assert first.calls == 3 and len(server.chat_requests) == 3
    # same texts under other ids, and a new extractor object on the same cache file
    again = _extractor(server, ExtractionCache(cache.path)).extract(
        [("copy-" + d, t) for d, t in DOCS] + [("d4", "FACT delta is new")]
    )
    assert again.calls == 1 and again.cached == 3
    assert len(server.chat_requests) == 4
    assert {p.doc_id for p in again.pairs} == {"copy-d1", "copy-d3", "d4"}
    assert again.prompt_tokens < first.prompt_tokens  # only the new document was paid for


@pytest.mark.parametrize("options", [{"max_pairs_per_doc": 1}, {"temperature": 1.0}, {"max_tokens": 64},
                                     {"json_mode": True}])
def test_an_answer_made_under_other_settings_is_not_served_from_the_cache(server, cache, options):
    """Settings that change the answer are in the cache key; the defaults' key is the one made before they were."""
    doc = [("d", "\n".join(f"FACT item {i} is number {i}" for i in range(5)))]
    other = _extractor(server, cache, **options).extract(doc)
    default = _extractor(server, cache).extract(doc)
    assert other.calls == default.calls == 1 and len(server.chat_requests) == 2
    assert len(default.pairs) == 5 and len(other.pairs) == (1 if "max_pairs_per_doc" in options else 5)
    again = _extractor(server, cache, **options).extract(doc)
    assert again.cached == 1 and [p.question for p in again.pairs] == [p.question for p in other.pairs]


def test_a_default_extractor_still_reads_the_keys_made_before_the_settings_were_keyed(server, cache):
    plain = _extractor(server, cache)
    key = content_key("FACT old is cached", "fake-model", plain.prompt_version)  # the key's shape until now
    cache.put(key, CachedExtraction((("What is old?", "cached"),), 10, 5, 0.0), model="fake-model")
    result = plain.extract([("d", "FACT old is cached")])
    assert result.cached == 1 and result.calls == 0 and [p.answer for p in result.pairs] == ["cached"]


def test_duplicate_texts_in_one_batch_are_sent_once(server, cache):
    result = _extractor(server, cache).extract([("a", "FACT one"), ("b", "FACT one")])
    assert len(server.chat_requests) == 1
    assert result.calls == 1 and result.cached == 1
    assert [p.doc_id for p in result.pairs] == ["a", "b"]


def test_concurrency_bound_is_respected(cache):
    with FakeLLMServer(delay=0.15) as srv:
        docs = [(f"d{i}", f"FACT item{i} number {i}") for i in range(12)]
        result = _extractor(srv, cache, concurrency=3).extract(docs)
        assert result.errors == [] and len(result.pairs) == 12
        assert srv.max_in_flight == 3  # parallel, but never above the bound
        assert [p.doc_id for p in result.pairs] == [d for d, _ in docs]  # input order kept


def test_refine_pass_runs_on_documents_with_pairs(server, cache):
    result = _extractor(server, cache, refine=True).extract(DOCS)
    assert [p.answer for p in result.pairs] == ["ALPHA IS THE FIRST LETTER", "BETA IS SECOND", "GAMMA IS THIRD"]
    systems = [r.body["messages"][0]["content"] for r in server.chat_requests]
    assert sum("refine" in s.lower() for s in systems) == 2  # d2 had no pairs: no refine call
    assert result.calls == 3 and result.requests == 5


def test_unreachable_endpoint_gives_clear_error_fast(cache):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    settings = LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key=KEY)
    ex = OpenAIChatExtractor(settings, cache=cache, backoff_base=0.01, max_retries=4)
    start = time.monotonic()
    result = ex.extract([(f"d{i}", f"text {i}") for i in range(8)])
    assert time.monotonic() - start < 5
    assert len(result.errors) == 8 and result.pairs == []
    assert all(f"Could not reach http://127.0.0.1:{port}" in m and "connection refused" in m
               for _, m in result.errors)
    ok, message = check_endpoint(settings)
    # and what to do (the Bandit page read "Cannot start: Could not reach …: connection refused" and no more)
    assert not ok and message == (f"Could not reach http://127.0.0.1:{port}/v1: connection refused; check that the "
                                  "server is running and that the base URL (scheme, host, port, /v1) is right")


def test_check_endpoint_on_live_server(server):
    ok, message = check_endpoint(LLMSettings(base_url=server.base_url, model="fake-model", api_key=KEY))
    assert ok and "fake-model" in message
    ok, message = check_endpoint(LLMSettings(base_url=server.base_url, model="other"))
    assert not ok and "does not serve model 'other'" in message and message.endswith("name one of those as the model")
    ok, message = check_endpoint(LLMSettings())
    assert not ok and "No LLM endpoint configured" in message


def test_key_never_in_logs_errors_repr_or_cache(server, cache, caplog):
    server.enqueue(Status(500, body=f'{{"error": "echoing your key {KEY}"}}'), Status(500), Status(500))
    server.enqueue(Status(429, retry_after="0"))
    ex = _extractor(server, cache, max_retries=2, concurrency=1)  # the three 500s all hit d1
    with caplog.at_level(logging.DEBUG):
        result = ex.extract(DOCS)
        check_endpoint(ex.settings)
    assert [d for d, _ in result.errors] == ["d1"] and "HTTP 500" in result.errors[0][1]
    texts = [caplog.text, repr(ex), str(ex), repr(ex.settings), repr(result), str(result.errors)]
    for text in texts:
        assert KEY not in text
    assert KEY.encode() not in cache.path.read_bytes()
    assert "***" in repr(ex.settings)
    with pytest.raises(ValueError) as err:
        OpenAIChatExtractor(LLMSettings(base_url="ftp://x", model="m", api_key=KEY), cache=cache)
    assert KEY not in str(err.value) and KEY not in repr(err.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"pairs": [{"question": "Q?", "answer": "A"}]}', [("Q?", "A")]),
        ('```json\n{"pairs": [{"question": "Q?", "answer": "A"}]}\n```', [("Q?", "A")]),
        ('Here you go:\n{"pairs": [{"question": "Q?", "answer": "A"},]}', [("Q?", "A")]),
        ('[{"question": "Q1?", "answer": "A1"}, {"q": "Q2?", "a": "A2"}]', [("Q1?", "A1"), ("Q2?", "A2")]),
        ('{"question": "Q?", "answer": "A"}', [("Q?", "A")]),
        ('{"qa_pairs": [["Q?", "A"]]}', [("Q?", "A")]),
        ('{"pairs": []}', []),
        ("void", []),
    ],
)
def test_parse_pairs_tolerates_common_shapes(content, expected):
    assert parse_pairs(content) == expected


@pytest.mark.parametrize("content", ["", "no json here", '{"pairs": "nope", "other": 1}', "[1, 2, 3]"])
def test_parse_pairs_rejects_garbage(content):
    with pytest.raises(OutputParseError):
        parse_pairs(content)


def test_urls_and_validation():
    assert chat_completions_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_completions_url("http://localhost:11434/v1/") == "http://localhost:11434/v1/chat/completions"
    assert chat_completions_url("https://x/v1/chat/completions") == "https://x/v1/chat/completions"
    with pytest.raises(ValueError, match="concurrency"):
        OpenAIChatExtractor(LLMSettings(base_url="http://h", model="m"), concurrency=0, use_cache=False)
    with pytest.raises(ValueError, match="base_url"):
        make_extractor("openai", LLMSettings())
    with pytest.raises(ValueError, match="unknown kind"):
        make_extractor("gpt")
    ex = make_extractor("llm", LLMSettings(base_url="http://h", model="m"), use_cache=False)
    assert isinstance(ex, OpenAIChatExtractor)


def test_refine_failure_keeps_extracted_pairs_and_is_not_cached(server, cache, caplog):
    server.enqueue(Good(pairs=[{"question": "Q?", "answer": "A"}, {"question": "Open?", "answer": ""}]),
                   Status(400))
    result = _extractor(server, cache, refine=True).extract([("d1", "FACT z")])
    assert [(p.question, p.answer) for p in result.pairs] == [("Q?", "A")]  # empty answer dropped
    assert result.errors == []  # the document was read: a run counts it done, once, and does not read it again
    assert "refine pass failed" in caplog.text
    assert len(cache) == 0  # a later run refines it


def test_a_run_counts_the_pairs_of_a_document_whose_refine_pass_failed_once(server, cache):
    import numpy as np

    from core.corpus.encoders import HashingEncoder
    from core.equal.run import BanditRun, RunConfig, cached_embedder
    from core.equal.space import ArmSpace

    enc = HashingEncoder(64)
    embed = cached_embedder(enc.encode)
    ids, texts = [f"d{i}" for i in range(4)], [f"FACT item{i} is value number {i}" for i in range(4)]
    space = ArmSpace(ids, texts, np.array([0, 0, 1, 1]), doc_emb=embed(texts))
    server.enqueue(Good(), Status(400))  # the first document: extracted, then its refine pass is refused
    config = RunConfig(policy="all", batch_arms=1, docs_per_pull=2, budget=1.0, extractor="openai")
    run = BanditRun(config, space, enc.encode(["What is item1? item1 is value number 1"]),
                    _extractor(server, cache, refine=True, concurrency=1), embed).run_until_done()
    per_doc = run.pairs_frame()["doc_id"].value_counts()
    assert run.docs_done == 4 and per_doc.max() == 1 and run.pulls_frame()["n_failed"].sum() == 0


def test_a_cache_that_cannot_be_read_or_written_costs_calls_never_the_batch(server, tmp_path, caplog):
    broken = ExtractionCache(tmp_path / "gone.sqlite")
    broken.close()  # every read and write now raises
    with caplog.at_level(logging.WARNING, logger="core.equal.extract.cache"):
        result = _extractor(server, broken).extract(DOCS)
    assert result.errors == [] and result.calls == 3 and len(result.pairs) == 3
    assert "treating as a miss" in caplog.text and "results kept" in caplog.text


def test_cache_is_thread_safe_and_persistent(tmp_path):
    import threading

    from core.equal.extract.cache import CachedExtraction, content_key

    path = tmp_path / "c.sqlite"
    shared = ExtractionCache(path)
    keys = [content_key(f"doc {i}", "m", "v1") for i in range(200)]

    def work(part: int) -> None:
        for i in range(part, 200, 4):
            shared.put(keys[i], CachedExtraction(((f"q{i}", f"a{i}"),), i, 1, 0.5))
            assert shared.get(keys[i]).pairs == ((f"q{i}", f"a{i}"),)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared.close()
    reopened = ExtractionCache(path)
    assert len(reopened) == 200 and reopened.get(keys[7]).prompt_tokens == 7
    assert content_key("doc 7", "m", "v2") not in reopened  # prompt version is part of the key
