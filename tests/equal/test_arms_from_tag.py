"""A run whose arms are only the clusters holding a tag's documents (ArmSpace.restricted_to, --arms-from-tag)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.corpus.load import load_corpus
from core.corpus.mapping import MapSettings, load_corpus_map
from core.corpus.tags import TagStore
from core.equal.__main__ import main
from core.equal.space import ArmSpace, ArmSpaceError
from core.equal.store import RunStore
from tests.corpus._mapdata import topic_corpus


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
