"""benchmarks/bench_load.py's clients against a real app server: two sessions each get the map and an answer.

The server is the tests' one (``tests._app_server.serve_app``: the hashing encoder and 600 built-in
documents, so no model loads); the clients are the bench's own, Streamlit's websocket spoken directly.
No time is asserted: timing is the bench's business.
"""

from __future__ import annotations

import pytest

from tests._app_server import serve_app
from tests._benchmarks import load_benchmark


def _bench():
    return load_benchmark("bench_load")


@pytest.mark.slow  # ~20 s: a real server starts and builds its first map
def test_two_sessions_get_the_map_and_their_matches_without_errors(tmp_path):
    bench = _bench()
    held: list[int] = []
    with serve_app(tmp_path) as (url, _):
        results = bench.run_sessions(url, 2, timeout_s=90.0, while_open=lambda: held.append(1))
    assert held == [1]  # the measurement ran while both were connected
    assert [r.errors for r in results] == [[], []]
    assert all(r.open_s is not None and r.map_bytes > 10_000 for r in results)  # the map's chart arrived
    assert all(r.search_s is not None for r in results)  # and the search panel listed matches


def test_an_exception_on_the_page_counts_as_an_error():
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    bench = _bench()
    result = bench.SessionResult(0)
    session = bench.StreamlitSession("http://127.0.0.1:1", result, 1.0)
    msg = ForwardMsg()
    msg.delta.new_element.exception.type = "ValueError"
    msg.delta.new_element.exception.message = "boom"
    assert session._process(msg.SerializeToString()) is None
    done = ForwardMsg()
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    assert session._process(done.SerializeToString()) == ForwardMsg.FINISHED_SUCCESSFULLY
    assert result.errors == ["exception: ValueError: boom"] and not result.ok
