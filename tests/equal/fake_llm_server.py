"""A real, scriptable OpenAI-compatible chat server on 127.0.0.1 for extractor tests.

``FakeLLMServer`` runs ``http.server.ThreadingHTTPServer`` on port 0 in a thread and speaks
``POST /v1/chat/completions`` and ``GET /v1/models``. Each chat request takes the next
scripted action (``enqueue``), else the default: a good answer derived from the document
(one pair per non-empty line that starts with ``FACT``; no pairs otherwise). It records
every request (path, headers, JSON body) and the most requests it ever had in flight at once.

Actions: :class:`Good` (pairs or raw content, with or without ``usage``), :class:`Status`
(an error status, optional ``Retry-After``), :class:`Slow` (sleep, then answer: beyond the
client's timeout it is a timeout), :class:`Malformed` (200 with unparseable content) and
:class:`BadBody` (200 whose body is not JSON).
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Good:
    """200 with ``{"pairs": pairs}`` (or ``content`` verbatim); ``pairs=None`` derives them."""

    pairs: list[dict] | None = None
    content: str | None = None
    usage: bool = True


@dataclass(frozen=True)
class Status:
    code: int
    retry_after: str | None = None
    body: str = '{"error": {"message": "scripted failure"}}'


@dataclass(frozen=True)
class Slow:
    seconds: float
    then: Any = field(default_factory=Good)


@dataclass(frozen=True)
class Malformed:
    content: str = "Sure! Here are the pairs: {question: oops"


@dataclass(frozen=True)
class BadBody:
    body: str = "<html>502 Bad Gateway</html>"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict | None
    started: float
    finished: float = 0.0


_DOC = re.compile(r"Document:\n<<<\n(.*?)\n>>>", re.DOTALL)


def document_of(body: dict) -> str:
    """The document text inside a recorded chat request (the user message's ``<<< >>>``)."""
    user = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    match = _DOC.search(user[-1]) if user else None
    return match.group(1) if match else ""


def derived_pairs(body: dict) -> list[dict]:
    """Default answer: one pair per ``FACT <x>`` line of the document; refine upper-cases answers."""
    doc = document_of(body)
    refine = any(
        "refine" in m.get("content", "").lower() for m in body.get("messages", []) if m.get("role") == "system"
    )
    pairs = []
    for line in doc.splitlines():
        if line.startswith("FACT "):
            fact = line[5:].strip()
            pairs.append({"question": f"What is {fact.split()[0]}?", "answer": fact.upper() if refine else fact})
    return pairs


class FakeLLMServer:
    """Scriptable chat-completions server (see module docstring). Use as a context manager."""

    def __init__(self, delay: float = 0.0, models: tuple[str, ...] = ("fake-model",)) -> None:
        self.delay = delay
        self.models = models
        self.script: collections.deque = collections.deque()
        self.responder: Callable[[dict], Any] = lambda body: Good()
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.usage_sent = {"prompt_tokens": 0, "completion_tokens": 0}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def enqueue(self, *actions: Any) -> None:
        with self._lock:
            self.script.extend(actions)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> FakeLLMServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send(self, code: int, body: str, headers: dict[str, str] | None = None) -> None:
                data = body.encode("utf-8")
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to deliver

            def do_GET(self) -> None:
                server._record(self.path, dict(self.headers), None)
                if self.path.rstrip("/").endswith("/models"):
                    self._send(
                        200,
                        json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}),
                    )
                else:
                    self._send(404, '{"error": "not found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                record = server._record(self.path, dict(self.headers), body)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    code, text, headers = server._answer(body or {})
                    self._send(code, text, headers)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                    record.finished = time.monotonic()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals
    def _record(self, path: str, headers: dict, body: dict | None) -> Recorded:
        rec = Recorded(
            path=path, headers={k.lower(): v for k, v in headers.items()}, body=body, started=time.monotonic()
        )
        with self._lock:
            self.requests.append(rec)
        return rec

    def _answer(self, body: dict) -> tuple[int, str, dict[str, str]]:
        with self._lock:
            action = self.script.popleft() if self.script else None
        if action is None:
            action = self.responder(body)
        if isinstance(action, Slow):
            time.sleep(action.seconds)
            action = action.then
        if isinstance(action, Status):
            headers = {"Retry-After": action.retry_after} if action.retry_after is not None else {}
            return action.code, action.body, headers
        if isinstance(action, BadBody):
            return 200, action.body, {}
        if isinstance(action, Malformed):
            return 200, self._completion(body, action.content, usage=True), {}
        assert isinstance(action, Good), f"unknown action {action!r}"
        content = action.content
        if content is None:
            pairs = action.pairs if action.pairs is not None else derived_pairs(body)
            content = json.dumps({"pairs": pairs})
        return 200, self._completion(body, content, usage=action.usage), {}

    def _completion(self, body: dict, content: str, usage: bool) -> str:
        out: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        }
        if usage:
            prompt = sum(len(m.get("content", "").split()) for m in body.get("messages", []))
            completion = len(content.split())
            out["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            with self._lock:
                self.usage_sent["prompt_tokens"] += prompt
                self.usage_sent["completion_tokens"] += completion
        return json.dumps(out)
