"""The ray engine against the local one on the same small corpus: same embeddings, clusters and pairs;
a worker killed mid-job loses nothing; requests to an endpoint stay bounded."""

from __future__ import annotations

import numpy as np
import pytest

from core.corpus.embed import corpus_embedding_path, embed_corpus, embedding_provenance
from core.corpus.encoders import HashingEncoder
from core.corpus.mapping import MapSettings, build_corpus_map, load_corpus_map
from core.engine.local import ExtractorSpec, extract_all_local
from core.engine.sink import PairSink
from core.settings import LLMSettings
from tests.corpus._mapdata import topic_corpus
from tests.engine._engine_data import CrashOnce, qa_corpus
from tests.equal.fake_llm_server import FakeLLMServer

ray_engine = pytest.importorskip("core.engine.ray_engine")
pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt (make test does)")
RayConfig = ray_engine.RayConfig


def _docs(corpus):
    return list(zip(corpus.ids, corpus.texts))


def test_ray_embeddings_equal_local_and_land_in_the_apps_cache(ray_cluster):
    corpus, _ = topic_corpus(120, seed=21)
    encoder = HashingEncoder(48)
    local = np.array(embed_corpus(corpus, encoder, use_cache=False))
    path = corpus_embedding_path(corpus, encoder)
    assert not path.exists()
    emb = ray_engine.embed_corpus_ray(corpus, encoder, RayConfig(workers=2), batch_size=16)
    assert path.exists() and emb.shape == (120, 48)
    np.testing.assert_allclose(np.asarray(emb), local, atol=1e-6)
    info = embedding_provenance(corpus, encoder)
    assert info["engine"] == "ray" and info["workers"] == 2
    # the app's path now reads the cache: embed_corpus returns it memory-mapped, recomputing nothing
    cached = embed_corpus(corpus, encoder)
    assert isinstance(cached, np.memmap)
    np.testing.assert_array_equal(np.asarray(cached), np.asarray(emb))


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_batches_are_the_local_encoders_batches(ray_cluster, workers):
    """The local encoder batches longest first over the whole corpus; Ray must hand its actors the same batches
    (in corpus order each batch pads to its longest text: ~25% more work on the built-in corpus)."""
    from core.corpus.encoders import longest_first
    from tests.engine._engine_data import BatchOf

    corpus, _ = topic_corpus(150, seed=23)
    lengths = np.array([len(t) for t in corpus.texts])
    assert len(set(lengths.tolist())) > 20  # lengths vary, so the order matters
    ds = ray_engine._embedding_dataset(ray_cluster, corpus, "hashing-8", 16, workers, 0.0, fn=BatchOf)
    groups: dict[int, list[int]] = {}
    for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for row, first in zip(out["row"].tolist(), out["batch_of"].tolist()):
            groups.setdefault(first, []).append(row)
    order = longest_first(corpus.texts)
    local = sorted(sorted(order[s : s + 16].tolist()) for s in range(0, 150, 16))
    assert sorted(sorted(g) for g in groups.values()) == local


def test_map_built_on_ray_embeddings_has_the_same_clusters_and_says_ray(ray_cluster):
    corpus, _ = topic_corpus(160, seed=22)
    settings = MapSettings(encoder_name="hashing-64", k=4, seed=3, umap_neighbors=10)
    local_map = build_corpus_map(corpus, settings, encoder=HashingEncoder(64), use_cache=False)
    assert local_map.engine == "local"
    ray_engine.embed_corpus_ray(corpus, HashingEncoder(64), RayConfig(workers=2), batch_size=32)
    ray_map = build_corpus_map(corpus, settings, encoder=HashingEncoder(64))
    assert ray_map.engine == "ray"
    np.testing.assert_array_equal(np.asarray(ray_map.labels), np.asarray(local_map.labels))
    np.testing.assert_allclose(np.asarray(ray_map.centroids), np.asarray(local_map.centroids), atol=1e-5)
    reopened = load_corpus_map(corpus, settings)
    assert reopened is not None and reopened.engine == "ray"


WARM_CHILD = """
import json
from core.engine.ray_engine import RayConfig, ensure_ray, shutdown_ray
from tests.engine._engine_data import worker_state
ray = ensure_ray(RayConfig(num_cpus=2))
task = ray.remote(num_cpus=1)(worker_state)
print(json.dumps(ray.get([task.remote() for _ in range(2)])))
shutdown_ray()
"""


@pytest.mark.slow
def test_a_local_ray_is_ready_with_one_worker_per_cpu_running_the_engine():
    """The first job on a fresh local Ray waits for no worker process and no import (a fresh process costs seconds
    on a busy machine: most of a short extraction job). Run in a child so that its Ray is a fresh one."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    run = subprocess.run([sys.executable, "-c", WARM_CHILD], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    states = json.loads(run.stdout.strip().splitlines()[-1])
    assert len({pid for pid, _ in states}) == 2  # two workers at once
    assert all(imported for _, imported in states)


def test_ray_extract_all_gives_the_same_pairs_as_local(ray_cluster, tmp_path):
    docs = _docs(qa_corpus(45, seed=1))
    local = PairSink(tmp_path / "local.sqlite")
    extract_all_local(docs, ExtractorSpec("rules"), local, batch_docs=5)
    sink = PairSink(tmp_path / "ray.sqlite")
    report = ray_engine.extract_all_ray(docs, ExtractorSpec("rules"), sink, RayConfig(workers=2), batch_docs=5)
    assert report.engine == "ray" and report.task_retries == 0 and report.batches_run == 9
    assert len(sink.pairs_frame()) > 40
    assert sink.pairs_frame().equals(local.pairs_frame())
    assert sink.totals().docs_done == 45 and sink.totals().engines == ("ray",)
    again = ray_engine.extract_all_ray(docs, ExtractorSpec("rules"), sink, RayConfig(workers=2), batch_docs=5)
    assert again.docs_skipped == 45 and again.batches_run == 0  # nothing redone


def test_worker_killed_mid_job_loses_nothing_and_doubles_nothing(ray_cluster, tmp_path):
    docs = _docs(qa_corpus(40, seed=2))
    local = PairSink(tmp_path / "local.sqlite")
    extract_all_local(docs, ExtractorSpec("rules"), local, batch_docs=4)
    marker = tmp_path / "crashed"
    sink = PairSink(tmp_path / "ray.sqlite")
    report = ray_engine.extract_all_ray(docs, CrashOnce("d021", str(marker)), sink, RayConfig(workers=2), batch_docs=4)
    assert marker.exists(), "the worker never crashed: the test did not test anything"
    assert report.task_retries == 1
    frame = sink.pairs_frame()
    assert frame.duplicated(["doc_id", "pair_index"]).sum() == 0
    assert frame.equals(local.pairs_frame())
    totals = sink.totals()
    assert totals.docs_done == 40 and totals.calls == 40 and totals.batches == 10 and totals.task_attempts == 11


def test_batch_whose_worker_always_dies_is_recorded_failed_then_a_rerun_completes(ray_cluster, tmp_path):
    docs = _docs(qa_corpus(12, seed=3))
    sink = PairSink(tmp_path / "ray.sqlite")
    report = ray_engine.extract_all_ray(docs, CrashOnce("d005", str(tmp_path / "m"), always=True), sink,
                                        RayConfig(workers=2), batch_docs=4, max_attempts=2)
    assert report.task_retries == 2
    failed = sink.failures_frame()
    assert list(failed.doc_id) == ["d004", "d005", "d006", "d007"]
    assert "worker failed 2 times" in failed.error.iloc[0]
    rerun = ray_engine.extract_all_ray(docs, ExtractorSpec("rules"), sink, RayConfig(workers=2), batch_docs=4)
    assert rerun.docs_skipped == 8 and sink.totals().docs_done == 12 and sink.failures_frame().empty
    local = PairSink(tmp_path / "local.sqlite")
    extract_all_local(docs, ExtractorSpec("rules"), local, batch_docs=4)
    assert sink.pairs_frame().equals(local.pairs_frame())


def test_llm_extraction_on_ray_bounded_per_endpoint_with_accounting_merged(ray_cluster, tmp_path):
    docs = _docs(qa_corpus(24, seed=4))
    with FakeLLMServer(delay=0.05) as server:
        spec = ExtractorSpec("openai", LLMSettings(server.base_url, "fake-model"),
                             {"use_cache": False, "concurrency": 8, "max_retries": 2})
        local = PairSink(tmp_path / "local.sqlite")
        extract_all_local(docs, spec, local, batch_docs=6)
        sent_local = dict(server.usage_sent)
        server.max_in_flight = 0
        sink = PairSink(tmp_path / "ray.sqlite")
        report = ray_engine.extract_all_ray(docs, spec, sink, RayConfig(workers=2), batch_docs=6, max_in_flight=3)
        assert 1 <= server.max_in_flight <= 3
        sent_ray = {k: server.usage_sent[k] - sent_local[k] for k in sent_local}
    assert report.totals.docs_done == 24 and report.totals.docs_failed == 0
    assert len(sink.pairs_frame()) == 16  # one FACT line in two of three documents
    assert sink.pairs_frame().drop(columns="extractor").equals(local.pairs_frame().drop(columns="extractor"))
    t = sink.totals()
    assert t.calls == 24 and t.requests == 24
    assert (t.prompt_tokens, t.completion_tokens) == (sent_ray["prompt_tokens"], sent_ray["completion_tokens"])


@pytest.mark.slow
def test_real_minilm_on_ray_matches_local(ray_cluster):
    from core.corpus.encoders import load_encoder

    corpus = qa_corpus(20, seed=5)
    encoder = load_encoder()
    local = np.array(embed_corpus(corpus, encoder, use_cache=False))
    emb = ray_engine.embed_corpus_ray(corpus, encoder, RayConfig(workers=2), batch_size=8)
    assert emb.shape == (20, 384)
    np.testing.assert_allclose(np.asarray(emb), local, atol=1e-5)


def test_bandit_pulls_served_by_the_ray_pool_give_the_same_run(ray_cluster, tmp_path):
    from dataclasses import replace

    from core.equal.run import BanditRun
    from tests.equal.crash_run import make_setup, make_space

    ids, texts, labels, ref, rules, embed, config = make_setup()
    config = replace(config, budget=0.3)
    space = make_space(ids, texts, labels, embed)
    local = BanditRun(config, space, ref, rules, embed).run_until_done()
    with ray_engine.RayExtractorPool(CrashOnce("*", str(tmp_path / "m")), RayConfig(workers=2)) as pool:
        assert pool.name == "rules"
        served = BanditRun(config, space, ref, pool, embed).run_until_done()
        crashed = pool.task_retries
    assert served.pulls_frame().equals(local.pulls_frame())
    assert served.pairs_frame().equals(local.pairs_frame())
    assert (tmp_path / "m").exists() and crashed >= 1  # the first pull's worker died; the run did not notice


def test_pool_merges_chunks_in_order_with_the_accounting(ray_cluster):
    from core.equal.extract.rules import RuleExtractor

    docs = _docs(qa_corpus(17, seed=8))
    direct = RuleExtractor().extract(docs)
    with ray_engine.RayExtractorPool(ExtractorSpec("rules"), RayConfig(workers=2)) as pool:
        merged = pool.extract(docs)
    assert merged.pairs == direct.pairs and merged.calls == direct.calls == 17 and merged.errors == []
