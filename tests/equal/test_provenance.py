"""Run provenance: a run records what it was made with; reopening with anything else is refused, naming it."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup  # noqa: E402

from core.corpus.encoders import HashingEncoder  # noqa: E402
from core.equal.provenance import RunProvenance, diff_provenance  # noqa: E402
from core.equal.reference import ReferenceSet, load_reference  # noqa: E402
from core.equal.reopen import recorded_inputs, reopen_recorded  # noqa: E402
from core.equal.run import BanditRun, RunConfigError, encoder_embedder  # noqa: E402
from core.equal.space import ArmSpace  # noqa: E402
from core.equal.store import RunStore, RunStoreError  # noqa: E402


@pytest.fixture()
def world(tmp_path, monkeypatch):
    """The small test corpus embedded by a real (hashing) encoder through the text cache, as the page does."""
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    ids, texts, labels, _, ext, _, config = make_setup()
    enc = HashingEncoder(64)
    embed = encoder_embedder(enc)
    space = ArmSpace(ids, texts, labels, doc_emb=enc.encode(texts), encoder=enc.name)
    return space, ext, embed, config, RunStore(tmp_path / "runs.sqlite")


def _start(world, ref_name: str, run_id: str, rounds: int = 3) -> BanditRun:
    space, ext, embed, config, store = world
    ref = load_reference(ref_name)
    run = BanditRun(config, space, embed(ref.texts()), ext, embed, store=store, run_id=run_id,
                    provenance=RunProvenance.build(space, ref, ext))
    return run.run_until_done(max_rounds=rounds)


def test_reopening_with_another_reference_set_is_refused_naming_both(world):
    space, ext, embed, _, store = world
    _start(world, "numerical-arrays", "a")
    other = load_reference("statistics")
    with pytest.raises(RunStoreError) as info:
        BanditRun.resume(store, "a", space, embed(other.texts()), ext, embed,
                         provenance=RunProvenance.build(space, other, ext))
    msg = str(info.value)
    recorded = recorded_inputs(store, "a").provenance
    assert "reference set differs" in msg and "'numerical-arrays'" in msg and "'statistics'" in msg
    assert recorded.reference_sha in msg
    assert recorded.reference_sha != RunProvenance.build(reference=other).reference_sha


def test_reopening_with_another_encoder_or_extractor_settings_is_refused(world):
    space, ext, embed, _, store = world
    _start(world, "numerical-arrays", "a")
    ref = load_reference("numerical-arrays")
    wide = ArmSpace(space.doc_ids, space.texts, space.labels, doc_emb=HashingEncoder(32).encode(list(space.texts)),
                    encoder="hashing-32")
    with pytest.raises(RunStoreError, match="embedding space differs"):
        BanditRun.resume(store, "a", wide, embed(ref.texts()), ext, embed,
                         provenance=RunProvenance.build(wide, ref, ext))
    from core.equal.extract.rules import RuleConfig, RuleExtractor

    strict = RuleExtractor(RuleConfig(max_answer_chars=50))
    with pytest.raises(RunStoreError, match="extractor differs"):
        BanditRun.resume(store, "a", space, embed(ref.texts()), strict, embed,
                         provenance=RunProvenance.build(space, ref, strict))


def test_two_runs_with_different_reference_sets_reopen_each_with_its_own(world):
    space, _, embed, _, store = world
    a, b = _start(world, "numerical-arrays", "a"), _start(world, "statistics", "b")
    # the page passes whatever D_r the session has selected; each run must still use its own
    session_ref = load_reference("statistics")
    again_a = reopen_recorded(store, "a", space, embed, fallback_reference=session_ref)
    again_b = reopen_recorded(store, "b", space, embed, fallback_reference=session_ref)
    for old, new in ((a, again_a), (b, again_b)):
        assert new.rounds_frame().drop(columns="run").equals(old.rounds_frame().drop(columns="run"))
        np.testing.assert_array_equal(new.reference, old.reference)
    assert recorded_inputs(store, "a").reference.name == "numerical-arrays"


def test_old_run_without_provenance_still_opens_and_says_what_is_unknown(world, tmp_path):
    space, ext, embed, _, store = world
    ref = load_reference("numerical-arrays")
    run = _start(world, "numerical-arrays", "old")
    with sqlite3.connect(store.path) as conn:  # as a run stored before provenance was recorded
        conn.execute("UPDATE runs SET provenance=NULL WHERE run_id='old'")
    again = BanditRun.resume(store, "old", space, embed(ref.texts()), ext, embed,
                             provenance=RunProvenance.build(space, ref, ext))
    assert set(again.unknown_inputs) == {"encoder and embedding space", "reference set", "extractor settings"}
    assert again.rounds_frame().drop(columns="run").equals(run.rounds_frame().drop(columns="run"))
    with pytest.raises(RunStoreError, match="pass the reference set"):
        reopen_recorded(store, "old", space, embed)
    assert reopen_recorded(store, "old", space, embed, fallback_reference=ref).round == run.round


def test_embedding_pairs_with_another_encoder_than_the_map_is_refused(world):
    space, ext, _, config, _ = world

    class SameDimOtherModel(HashingEncoder):  # same dimension: the silent case
        def __init__(self) -> None:
            super().__init__(64)
            self.name = "another-model"

    other = encoder_embedder(SameDimOtherModel())
    ref = other(load_reference("numerical-arrays").texts())
    with pytest.raises(RunConfigError, match="'another-model'.*'hashing-64'"):
        BanditRun(config, space, ref, ext, other)
    assert BanditRun(config, space, ref, ext, encoder_embedder(HashingEncoder(64))).k == 5  # same encoder: fine


def test_diff_provenance_names_every_difference_and_skips_unknowns():
    a = RunProvenance(encoder="m1", space_id="s1", reference_name="x", reference_sha="1", extractor={"kind": "rules"})
    b = RunProvenance(encoder="m2", space_id="s2", reference_name="y", reference_sha="2", extractor={"kind": "openai"})
    assert len(diff_provenance(a, b)) == 3
    assert diff_provenance(a, RunProvenance()) == []  # nothing known on one side: nothing to compare
    ref = ReferenceSet("r", ("q",), ("a",))
    assert RunProvenance.from_dict(RunProvenance.build(reference=ref).to_dict()).reference_set() == ref


def test_extractor_settings_never_record_the_key():
    from core.equal.provenance import extractor_settings
    from core.settings import LLMSettings

    class Endpoint:
        name = "openai"
        settings = LLMSettings("http://127.0.0.1:9", "m", "sk-secret-123456")
        refine = False

    rec = extractor_settings(Endpoint())
    assert rec["model"] == "m" and "sk-secret" not in repr(rec)


def test_a_run_stored_before_the_one_space_id_reopens_and_resumes(world, tmp_path):
    """tests/equal/fixtures/run_store_before_space_id.sqlite was written by the code before EncoderSpec: the same
    world, 3 rounds, its space recorded as the sha256 id ``fa81b7f6d0b46d87``. It reopens in today's space id."""
    import shutil

    space, ext, embed, _, _ = world
    path = tmp_path / "old.sqlite"
    shutil.copy(Path(__file__).parent / "fixtures" / "run_store_before_space_id.sqlite", path)
    with sqlite3.connect(path) as conn:
        raw = conn.execute("SELECT provenance FROM runs WHERE run_id='old-space-id'").fetchone()[0]
    assert '"space_id": "fa81b7f6d0b46d87"' in raw  # the old form, as stored
    store = RunStore(path)
    recorded = recorded_inputs(store, "old-space-id")
    assert recorded.provenance.space_id == space.space_id == "hashing-64" and recorded.unknown == []
    ref = load_reference("numerical-arrays")
    again = reopen_recorded(store, "old-space-id", space, embed)
    assert again.round == 3 and again.provenance.space_id == "hashing-64"
    assert again.run_until_done(max_rounds=2).round == 5  # and it plays on
    wide = ArmSpace(space.doc_ids, space.texts, space.labels, doc_emb=HashingEncoder(32).encode(list(space.texts)),
                    encoder="hashing-32")
    with pytest.raises(RunStoreError, match="embedding space differs.*hashing-64.*hashing-32"):
        BanditRun.resume(store, "old-space-id", wide, embed(ref.texts()), ext, embed,
                         provenance=RunProvenance.build(wide, ref, ext))


def test_the_map_and_the_run_name_one_space_alike():
    """One space id: the map's (core.corpus.encoders.space_id) is the one a run records (ArmSpace.space_id)."""
    from core.corpus.encoders import EncoderSpec, Tier, space_id

    enc = HashingEncoder(64)
    texts = ["a b", "b c", "c d"]
    arms = ArmSpace(["1", "2", "3"], texts, [0, 0, 1], doc_emb=enc.encode(texts), encoder="hashing-64")
    assert arms.space_id == space_id("hashing-64") == enc.space_id
    assert space_id("all-MiniLM-L6-v2") == "all-MiniLM-L6-v2" != space_id("hashing")
    spec = EncoderSpec.of("static-minilm:/models/static-minilm-pca64")
    assert spec.tier is Tier.STATIC and spec.space_id == "static-minilm/static-minilm-pca64" and not spec.fine_tunable


def test_an_endpoint_that_keeps_fewer_pairs_per_document_is_another_extractor():
    from core.equal.extract.openai_compat import OpenAIChatExtractor
    from core.equal.provenance import extractor_settings
    from core.settings import LLMSettings

    settings = LLMSettings("http://127.0.0.1:9", "m", "")
    one, many = (OpenAIChatExtractor(settings, max_pairs_per_doc=n, use_cache=False) for n in (1, 64))
    recorded, given = (RunProvenance(extractor=extractor_settings(e)) for e in (one, many))
    assert diff_provenance(recorded, given) == ["extractor differs (max_pairs_per_doc: 1 -> 64)"]


def test_a_refused_reopen_names_the_presets_as_the_page_offers_them(world):
    """The Bandit page reopens a run that recorded only its reference set's hash with the page's reference set; the
    refusal named the presets by slug ('numerical-arrays'), where the page's box says "Numerical arrays"."""
    from core.equal.reference import preset_label

    space, ext, embed, _, store = world
    _start(world, "numerical-arrays", "a")
    with sqlite3.connect(store.path) as conn:  # as a run stored when only the reference set's hash was recorded
        conn.execute("UPDATE runs SET provenance=json_set(provenance, '$.reference_examples', json('[]'))")
    statistics = load_reference("statistics")
    with pytest.raises(RunStoreError) as page:
        reopen_recorded(store, "a", space, embed, ext, fallback_reference=statistics, reference_label=preset_label)
    assert '"Numerical arrays"' in str(page.value) and '"Statistics"' in str(page.value), str(page.value)
    assert "numerical-arrays" not in str(page.value)
    with pytest.raises(RunStoreError) as cli:  # the command line (no label) keeps the slugs it takes
        reopen_recorded(store, "a", space, embed, ext, fallback_reference=statistics)
    assert "'numerical-arrays'" in str(cli.value) and "'statistics'" in str(cli.value)
