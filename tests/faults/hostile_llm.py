"""An adversarial OpenAI-compatible endpoint on 127.0.0.1, for the fault-injection suite.

Each mode is one misbehaviour a real endpoint (or an attacker who controls one) can show:

``trickle``   200 headers at once, then the body one byte every ``interval`` seconds
``hang``      accepts the request, never answers (until the server stops)
``always500`` 500 with a JSON error body, every time
``echo_key``  401/500 whose body echoes the Authorization header and other secret-shaped text
``echo_key_json`` 401/500 whose JSON body quotes the key as PHP's ``json_encode`` writes it (``/`` as ``\\/``)
``huge``      200 with ``n_pairs`` pairs in one answer (``usage`` included)
``malformed`` 200 with ``usage`` but content that is not JSON (billed, unusable)
``good``      200 with one pair

It counts requests, and ``stop()`` ends hanging handlers, so tests stay fast.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HostileLLM:
    def __init__(self, mode: str, *, interval: float = 0.25, n_pairs: int = 200_000, status: int = 500) -> None:
        self.mode = mode
        self.interval = interval
        self.n_pairs = n_pairs
        self.status = status
        self.requests = 0
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _body(self, payload: dict) -> bytes:
        return json.dumps(payload).encode()

    def _completion(self, content: str, prompt_tokens: int = 100, completion_tokens: int = 50) -> bytes:
        return self._body({"choices": [{"message": {"role": "assistant", "content": content}}],
                           "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}})

    def start(self) -> HostileLLM:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, owner._body({"data": [{"id": "m"}]}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                owner.requests += 1
                mode = owner.mode
                try:
                    if mode == "trickle":
                        data = owner._completion('{"pairs": [{"question": "Q?", "answer": "A"}]}') + b" " * 4096
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        for i in range(len(data)):
                            if owner._stop.wait(owner.interval):
                                return
                            self.wfile.write(data[i : i + 1])
                            self.wfile.flush()
                    elif mode == "hang":
                        owner._stop.wait(120)
                    elif mode == "always500":
                        self._send(500, owner._body({"error": {"message": "internal error"}}))
                    elif mode == "echo_key":
                        auth = self.headers.get("Authorization", "")
                        body = (f"invalid credentials {auth} (key {auth.removeprefix('Bearer ')}); other tokens seen: "
                                "sk-proj-A1b2C3d4E5f6G7h8I9j0 token=ghp_0123456789abcdefABCDEF "
                                "deadbeefdeadbeefdeadbeefdeadbeef "
                                "c2VjcmV0LXNlc3Npb24tdG9rZW4tMTIzNDU2Nzg5MA==")
                        self._send(owner.status, body.encode())
                    elif mode == "echo_key_json":
                        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                        body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}})
                        self._send(owner.status, body.replace("/", "\\/").encode())
                    elif mode == "huge":
                        pairs = [{"question": f"Question {i}?", "answer": f"Answer {i}"} for i in range(owner.n_pairs)]
                        self._send(200, owner._completion(json.dumps({"pairs": pairs}), completion_tokens=1024))
                    elif mode == "malformed":
                        self._send(200, owner._completion("not json at all", prompt_tokens=300, completion_tokens=20))
                    else:
                        self._send(200, owner._completion('{"pairs": [{"question": "Q?", "answer": "A"}]}'))
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> HostileLLM:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # a standalone endpoint for the Ctrl-C test: prints its URL, serves until killed
    import sys

    server = HostileLLM(sys.argv[1] if len(sys.argv) > 1 else "hang").start()
    print(server.base_url, flush=True)
    while True:
        time.sleep(1)
