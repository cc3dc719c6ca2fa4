"""The Large corpus page's sample: the built-in documents recombined, written once into the cache, reused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.access import is_under_roots
from core.corpus.stream import sample_corpus

ROOT = Path(__file__).resolve().parents[2]


def test_the_sample_corpus_is_written_once_under_the_cache_and_reused(product_home) -> None:
    path = sample_corpus(300, seed=1)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300 and all(json.loads(line)["text"].strip() for line in lines)
    assert is_under_roots(path)  # the page may open it: it lies in the cache, under the allowed folders
    stamp = path.stat().st_mtime_ns
    assert sample_corpus(300, seed=1) == path and path.stat().st_mtime_ns == stamp  # reused, not rewritten


@pytest.mark.slow
def test_the_large_corpus_page_without_an_index_builds_the_sample_in_one_click(product_home, monkeypatch) -> None:
    """Issue #24: a newcomer without an index saw a command and an empty page."""
    import core.corpus.stream as stream

    monkeypatch.setattr(stream, "SAMPLE_DOCS", 400)  # the page's 100,000, at test size
    at = AppTest.from_file(str(ROOT / "pages" / "large_map.py"), default_timeout=600)
    at.run()
    assert not at.exception
    assert any("To try it now" in i.value for i in at.info)
    at.button(key="lm_sample").click().run()
    assert not at.exception, [e.value for e in at.exception]
    for _ in range(600):  # a bound on reruns, not time: each run of the polled job (pages/_lib/jobs.py) advances it
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if at.text_input(key="lm_path").value:
            break
    at.run()
    assert at.text_input(key="lm_path").value == str(stream.sample_corpus())
    drawn = [c.value for c in at.caption if " drawn)" in c.value]  # the map of the sample index is open
    assert drawn and int(drawn[0].split(" documents")[0].replace(",", "")) >= 400, drawn
