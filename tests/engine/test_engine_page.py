"""The Corpus map page opens a map whose embeddings the ray engine wrote, and says so."""

from __future__ import annotations

import json
from pathlib import Path

from core.corpus.encoders import load_encoder
from core.corpus.load import load_corpus
from tests.corpus._mapdata import topic_corpus

ROOT = Path(__file__).resolve().parents[2]


def test_page_reads_ray_embeddings_from_the_cache_and_names_the_engine(ray_cluster, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core.engine.ray_engine import RayConfig, embed_corpus_ray

    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    corpus, _ = topic_corpus(90, seed=31)
    path = tmp_path / "ray.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(corpus.ids, corpus.texts)))
    loaded, _ = load_corpus(str(path))  # exactly what the page loads
    embed_corpus_ray(loaded, load_encoder("hashing"), RayConfig(workers=2), batch_size=16)
    at = AppTest.from_file(str(ROOT / "pages" / "corpus_map.py"), default_timeout=180)
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = str(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    assert any("90 documents" in c and "embedded by the ray engine" in c for c in captions), captions
