"""The Corpus map page's cluster link (``cluster=`` in the address, ``cm_cluster_link``): highlighted when the map has
the cluster, said when it has not (and said through the map's own rerun), replaced by a row picked in the cluster
table and dropped when that pick is cleared. Drives the page's session-state bookkeeping end to end (its decisions
are :func:`core.corpus.views.linked_cluster` and :func:`core.ui_state.kept_notes`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.viz.webgl_map import decode_payload
from tests.corpus._mapdata import topic_corpus

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "corpus_map.py")


@pytest.fixture()
def corpus_path(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    corpus, _ = topic_corpus(120, seed=5)
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)) + "\n")
    return path


def _page(path: Path, link: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = str(path)
    at.session_state["cm_cluster_link"] = link
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _highlighted(at: AppTest) -> tuple[list[str], int]:
    """The "Cluster N" lines under the table, and how many points the map highlights."""
    (element,) = at.get("bidi_component")
    _, sections = decode_payload(element.proto.bytes)
    return [m.value for m in at.markdown if m.value.startswith("**Cluster ")], len(sections.get("highlight", []))


def test_a_links_cluster_is_highlighted_until_a_row_is_picked_and_cleared(corpus_path):
    at = _page(corpus_path, 2)
    lines, n = _highlighted(at)
    assert len(lines) == 1 and lines[0].startswith("**Cluster 2**") and n > 0
    assert not [w for w in at.warning if "could not restore cluster" in w.value]
    table_key = next(k for k in at.session_state._state.filtered_state if str(k).startswith("cluster_table_"))
    at.session_state[table_key] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    lines, _ = _highlighted(at)
    assert len(lines) == 1 and not lines[0].startswith("**Cluster 2**"), lines  # the row picked wins
    at.session_state[table_key] = {"selection": {"rows": [], "columns": []}}
    at.run()
    assert _highlighted(at) == ([], 0)  # the pick cleared: the link's cluster does not come back


def test_a_links_missing_cluster_is_said_through_the_maps_own_rerun(corpus_path):
    at = _page(corpus_path, 99)
    said = [w.value for w in at.warning if "could not restore cluster 99" in w.value]
    assert said and "this map has clusters 0-" in said[0]
    assert _highlighted(at) == ([], 0)
    (element,) = at.get("bidi_component")
    header, _ = decode_payload(element.proto.bytes)
    at.session_state["corpus_map_webgl"] = {"have": header["v"]}  # the map's own first rerun: the note stays
    at.run()
    assert [w.value for w in at.warning if "could not restore cluster 99" in w.value] == said
    assert _highlighted(at) == ([], 0)
