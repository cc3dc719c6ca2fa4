"""A run whose arms are only the clusters holding a tag's documents (ArmSpace.restricted_to, --arms-from-tag)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.corpus.load import load_corpus
from core.corpus.mapping import MapSettings, load_corpus_map
from core.corpus.tags import TagStore
from core.equal.__main__ import main
from core.equal.export import export_pairs
from core.equal.run import BanditRun
from core.equal.space import ArmSpace, ArmSpaceError
from core.equal.store import RunStore
from tests.corpus._mapdata import topic_corpus

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup  # noqa: E402


def _space() -> ArmSpace:
    labels = np.array([0, 1, 2, 3, 1, 3, 0, 2])
    neighbours = np.eye(4, dtype=bool) | np.eye(4, k=1, dtype=bool)
    emb = np.arange(16, dtype=np.float32).reshape(8, 2)
    return ArmSpace([f"d{i}" for i in range(8)], [f"text {i}" for i in range(8)], labels, neighbours=neighbours,
                    k=4, doc_emb=emb, encoder="hashing-2")


def test_the_restricted_space_keeps_every_document_of_the_tagged_clusters_and_only_those():
    space = _space()
    arms, clusters = space.restricted_to(["d3", "d1", "d5"])  # clusters 3, 1, 3
    assert clusters.tolist() == [1, 3] and arms.k == 2
    assert arms.doc_ids == ["d1", "d3", "d4", "d5"] and arms.texts == ["text 1", "text 3", "text 4", "text 5"]
    assert arms.labels.tolist() == [0, 1, 0, 1]  # map cluster 1 is arm 0, cluster 3 is arm 1
    np.testing.assert_array_equal(arms.doc_emb, space.doc_emb[[1, 3, 4, 5]])
    np.testing.assert_array_equal(arms.neighbours, space.neighbours[np.ix_([1, 3], [1, 3])])
    assert arms.encoder == space.encoder and arms.fingerprint != space.fingerprint


def test_an_empty_tag_or_one_from_another_corpus_is_refused_by_name():
    with pytest.raises(ArmSpaceError, match="empty"):
        _space().restricted_to([])
    with pytest.raises(ArmSpaceError, match="'x9'.*another corpus"):
        _space().restricted_to(["d1", "x9"])


def test_cli_run_pulls_only_from_the_tagged_clusters(tmp_path, capsys):
    corpus, _ = topic_corpus(40, seed=8)
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)) + "\n")
    store = tmp_path / "runs.sqlite"
    args = ["run", "--corpus", str(path), "--k", "4", "--encoder", "hashing-64", "--quiet", "--reference",
            "statistics", "--store", str(store), "--budget", "0.5"]
    assert main([*args, "--arms-from-tag", "missing"]) == 2
    assert "no tag 'missing'" in capsys.readouterr().err  # the map is built on the way: read it back below
    loaded, _ = load_corpus(path)
    cmap = load_corpus_map(loaded, MapSettings(encoder_name="hashing-64", k=4, seed=42))
    assert cmap is not None
    tagged = [cmap.corpus.ids[i] for i in np.flatnonzero(cmap.labels == cmap.labels[0])[:3]]
    TagStore(loaded.content_hash).save("one cluster", tagged, known=cmap.corpus.ids)
    capsys.readouterr()

    assert main([*args, "--arms-from-tag", "one cluster"]) == 0
    assert "arms: the 1 clusters holding tag 'one cluster'" in capsys.readouterr().err
    run = RunStore(store).load_run(RunStore(store).list_runs().loc[0, "run_id"])
    in_cluster = {cmap.corpus.ids[i] for i in np.flatnonzero(cmap.labels == cmap.labels[0])}
    assert run.n_docs == len(in_cluster)
    pulled = {d for ids in run.pulls["doc_ids"] for d in (json.loads(ids) if isinstance(ids, str) else ids)}
    assert pulled and pulled <= in_cluster


def _exported_clusters(data: bytes) -> list[tuple[str, int]]:
    rows = [json.loads(line)["provenance"] for line in data.decode().splitlines()]
    return [(r["doc_id"], r["cluster"]) for r in rows]


def test_a_run_on_a_tags_clusters_exports_each_pair_with_its_map_cluster():
    world = make_setup(n_per_topic=10, n_noise=5)
    space = world.space()
    arms, clusters = space.restricted_to(["socket.doc0", "array.doc1"])
    assert clusters.tolist() == [2, 3] and arms.clusters.tolist() == [2, 3]  # arms 0 and 1
    assert arms.restricted_to(["array.doc1"])[0].clusters.tolist() == [3]  # restricted twice: still the map's
    run = BanditRun(replace(world.config, budget=1.0, batch_arms=1), arms, world.reference, world.extractor,
                    world.embed).run_until_done()
    out = _exported_clusters(export_pairs(run.pairs_frame(), ["unrelated"], decontaminate=False).data)
    map_cluster = dict(zip(space.doc_ids, space.labels.tolist()))
    assert {c for _, c in out} == {2, 3} and all(c == map_cluster[d] for d, c in out)


def test_cli_export_of_a_run_on_a_tags_clusters_names_the_map_clusters(tmp_path):
    world = make_setup(n_per_topic=6, n_noise=6)  # documents with Q:/A: pairs the rule extractor reads
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(world.ids, world.texts)) + "\n")
    store, out = tmp_path / "runs.sqlite", tmp_path / "d_e.jsonl"
    args = ["run", "--corpus", str(path), "--k", "5", "--encoder", "hashing-64", "--quiet", "--reference",
            "statistics", "--store", str(store), "--budget", "1.0"]
    assert main([*args, "--arms-from-tag", "missing"]) == 2  # builds the map on the way
    loaded, _ = load_corpus(path)
    cmap = load_corpus_map(loaded, MapSettings(encoder_name="hashing-64", k=5, seed=42))
    assert cmap is not None
    label = dict(zip(cmap.corpus.ids, cmap.labels.tolist()))
    last = max(c for d, c in label.items() if not d.startswith("noise"))  # a cluster with pairs, numbered > 0
    assert last > 0
    TagStore(loaded.content_hash).save("last", [d for d, c in label.items() if c == last][:1], known=cmap.corpus.ids)
    assert main([*args, "--arms-from-tag", "last"]) == 0
    run_id = RunStore(store).list_runs().loc[0, "run_id"]
    assert main(["export", run_id, "--reference", "numerical-arrays", "--ngram", "50", "--out", str(out),
                 "--store", str(store)]) == 0  # read from the store alone: the arm's map cluster was recorded
    rows = _exported_clusters(out.read_bytes())
    assert rows and all(c == last == label[d] for d, c in rows)
