"""The ridge map from the static tier into MiniLM's space, and the large index built through it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.corpus.align import AlignedEncoder, Alignment, describe_alignment, fit_alignment
from core.corpus.encoders import STATIC_MODEL, HashingEncoder, load_encoder, static_model_ready
from core.corpus.stream import LargeIndexConfig, _Reservoir, index_large_corpus


def _two_spaces(n=600, seed=0):
    """``x`` and a noisy linear image ``y`` of it whose neighbour order differs from x's."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 16)).astype(np.float32)
    a = rng.normal(size=(16, 24)).astype(np.float32) * np.linspace(0.1, 3.0, 24, dtype=np.float32)
    return x, x @ a + 0.05 * rng.normal(size=(n, 24)).astype(np.float32)


def test_the_map_is_measured_on_documents_it_did_not_see_and_beats_the_raw_space():
    x, y = _two_spaces()
    alignment, report = fit_alignment(x, y, "src", "ref", seed=1)
    assert report["held_out"] == 150 and report["docs"] == 600
    assert report["recall_aligned"] > 0.8 > report["recall_static"]
    assert report["ari_aligned"] > report["ari_static"]
    assert alignment.apply(x).shape == (600, 24)
    assert describe_alignment({"error": "no model"}) == "not aligned to MiniLM (no model)"


def test_a_saved_map_reads_back_the_same_and_its_space_id_names_the_map(tmp_path):
    x, y = _two_spaces()
    alignment, _ = fit_alignment(x, y, "src", "ref")
    alignment.save(tmp_path / "a.npz")
    back = Alignment.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(back.apply(x[:5]), alignment.apply(x[:5]))
    assert back.space_id == alignment.space_id and alignment.space_id.startswith("src>ridge-")
    other, _ = fit_alignment(x, y[::-1].copy(), "src", "ref")
    assert other.space_id != alignment.space_id  # another map, another space: never mixed


def test_too_few_documents_or_mismatched_rows_are_refused_with_the_reason():
    x, y = _two_spaces(30)
    with pytest.raises(ValueError, match="at least 40"):
        fit_alignment(x, y, "src", "ref")
    with pytest.raises(ValueError, match="same documents"):
        fit_alignment(x[:20], y, "src", "ref")
    with pytest.raises(ValueError, match="align_docs"):
        LargeIndexConfig(align_docs=10)


def test_the_reservoir_is_a_seeded_uniform_sample_of_the_stream():
    texts = [f"t{i}" for i in range(20_000)]

    def sample(seed, chunk):
        r = _Reservoir(500, seed)
        for s in range(0, len(texts), chunk):
            r.add(texts[s:s + chunk])
        return r

    a = sample(3, 1000)
    assert len(a.texts) == 500 == len(set(a.texts)) and a.seen == 20_000
    assert a.texts == sample(3, 1000).texts and a.texts != sample(4, 1000).texts
    positions = np.array([int(t[1:]) for t in a.texts])
    assert 8_500 < positions.mean() < 11_500  # uniform over the whole stream, not its head
    assert (positions >= 10_000).sum() > 200


def _write(path, texts):
    path.write_text("\n".join(json.dumps({"id": f"d{i}", "text": t}) for i, t in enumerate(texts)) + "\n")
    return path


def test_an_unloadable_reference_leaves_a_complete_unaligned_index_that_says_why(tmp_path):
    path = _write(tmp_path / "c.jsonl", [f"document {i} about {('files', 'sockets', 'dates')[i % 3]}"
                                         for i in range(300)])
    config = LargeIndexConfig(k=3, layout_sample=100, align_docs=100, align_encoder=str(tmp_path / "no-model"))
    lmap = index_large_corpus(path, config, encoder=HashingEncoder(32))
    assert "no-model" in lmap.meta["alignment"]["error"]
    assert lmap.embeddings.shape == (300, 32) and not (lmap.folder / "align.npz").exists()
    assert not (lmap.folder / "static.bin").exists()
    assert lmap.space_id == "hashing-32" and lmap.query_encoder(HashingEncoder(32)).name == "hashing-32"


def test_aligning_to_another_space_maps_every_row_and_queries_alike(tmp_path):
    """A reference that loads fast (hashing-64) stands in for MiniLM: every row lands in its space, and a
    query encoded by ``query_encoder`` finds its own document."""
    texts = [f"document {i} about {('files', 'sockets', 'dates', 'colours')[i % 4]} and {i % 7} things"
             for i in range(2_000)]
    path = _write(tmp_path / "c.jsonl", texts)
    config = LargeIndexConfig(k=4, layout_sample=200, chunk_size=300, align_docs=400, align_encoder="hashing-64")
    lmap = index_large_corpus(path, config, encoder=HashingEncoder(32))
    meta = lmap.meta
    assert meta["alignment"]["docs"] == 400 and meta["alignment"]["reference"] == "hashing-64"
    assert meta["base_encoder"] == "hashing-32" and meta["encoder"] == "hashing-32+ridge"
    assert lmap.embeddings.shape == (2_000, 64) and "ridge-" in lmap.space_id
    enc = lmap.query_encoder(HashingEncoder(32))
    assert isinstance(enc, AlignedEncoder) and enc.space_id == lmap.space_id
    rows = np.array([0, 299, 300, 1_999])
    np.testing.assert_allclose(np.asarray(lmap.embeddings[rows], dtype=np.float32), enc.encode(lmap.texts(rows)),
                               atol=2e-3)  # float16
    hits = lmap.search(enc.encode([texts[1234]])[0], top_n=5)
    assert hits["score"].iloc[0] > 0.99


def test_the_large_corpus_page_says_the_map_is_aligned_and_searches_in_the_aligned_space(tmp_path, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    texts = [f"notes on {('files', 'sockets', 'dates', 'colours')[i % 4]} number {i}" for i in range(600)]
    path = _write(tmp_path / "c.jsonl", texts)
    index_large_corpus(path, LargeIndexConfig(k=4, layout_sample=200, align_docs=200, align_encoder="hashing-64"),
                       encoder=HashingEncoder(32))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "pages" / "large_map.py"), default_timeout=120)
    at.session_state["lm_path"] = str(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("aligned to hashing-64 by a ridge map fitted on 200 documents" in c.value for c in at.caption)
    at.text_input(key="lm_query").set_value("notes on sockets number 5").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) > 0


@pytest.mark.slow
@pytest.mark.skipif(not static_model_ready(), reason="the static tier is built by make setup (python -m core.corpus "
                                                     "distill --setup)")
def test_on_real_documents_the_map_brings_the_static_tier_closer_to_minilm(tmp_path):
    """Real static tier, real MiniLM, real documents: on held-out documents the aligned vectors share
    more nearest neighbours with MiniLM than the static ones do."""
    from core.corpus.builtin import load_builtin_corpus

    corpus = load_builtin_corpus(limit=700)
    path = _write(tmp_path / "real.jsonl", list(corpus.texts))
    config = LargeIndexConfig(k=12, layout_sample=200, align_docs=600)
    lmap = index_large_corpus(path, config, encoder=load_encoder(STATIC_MODEL))
    fitted = lmap.meta["alignment"]
    assert "error" not in fitted, fitted
    assert fitted["recall_aligned"] > fitted["recall_static"] + 0.03, fitted
    assert lmap.embeddings.shape[1] == 384  # MiniLM's dimension
