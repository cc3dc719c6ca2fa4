"""Warm-up -> re-map -> what changed: the flow's wiring (stubbed warm-up), the CLI, and a real run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from core.corpus.embed import embed_texts
from core.corpus.encoders import HashingEncoder
from core.corpus.load import Corpus
from core.corpus.mapping import MapSettings, build_corpus_map
from core.equal.__main__ import main
from core.equal.extract.rules import RuleExtractor
from core.equal.reference import parse_reference
from core.equal.reward import OTReward
from core.equal.warmup import WarmupConfig, WarmupError, WarmupResult, compare_clusterings
from core.equal.warmup_report import (
    REPORT_FILE,
    STAGES,
    describe_training,
    find_warmup_reports,
    load_warmup_report,
    summarize_warmup,
    warm_up_and_compare,
)
from tests.corpus._mapdata import TOPICS

REFERENCE = parse_reference(
    "\n".join(
        json.dumps({"question": f"How do I {a} a {b}?", "answer": f"Use {a} with {b}."})
        for a, b in [("read", "file"), ("open", "path"), ("write", "bytes")]
    ),
    "files",
)


def _corpus(n: int = 40) -> Corpus:
    """Documents of four word topics; two in three carry a Q/A pair about their topic."""
    rng = np.random.default_rng(3)
    texts = []
    for i in range(n):
        words = TOPICS[i % 4]
        text = " ".join(rng.choice(words, 12)) + f" note{i}."
        if i % 3:
            text += (
                f"\n\nQ: How do I use {words[i % 8]} here?\nA: Combine {words[(i + 1) % 8]} with {words[(i + 2) % 8]}."
            )
        texts.append(text)
    ids = tuple(f"d{i}" for i in range(n))
    return Corpus(ids, tuple(texts), ids, name="qa-topics")


def _stub_warmup(sample: list[int], model_dir: Path, calls: list):
    """A warm-up that extracts ``sample`` for real, fails one document, and trains nothing."""

    def run(corpus, base_model, extractor, config, out_dir, progress):
        calls.append((base_model, config, out_dir))
        ids = [corpus.ids[i] for i in sample]
        extraction = extractor.extract([(corpus.ids[i], corpus.texts[i]) for i in sample])
        extraction.errors.append((ids[-1], "timeout"))
        for stage in ("extract", "train", "save"):
            progress(stage, 1, 1)
        model_dir.mkdir(parents=True, exist_ok=True)
        return WarmupResult(
            model_path=str(model_dir),
            n_train_pairs=len(extraction.pairs),
            seconds=0.1,
            loss_history=[3.0, 2.0, 1.0],
            n_docs_sampled=len(sample),
            n_docs_with_pairs=5,
            sampled_ids=ids,
            pairs=extraction.pairs,
            extraction=extraction,
            eval_loss_before=2.5,
            eval_loss_after=1.5,
        )

    return run


def test_flow_wires_rewards_labels_and_report(tmp_path):
    corpus = _corpus(40)
    sample = [0, 1, 2, 4, 5, 9, 10, 13]  # 0 and 9 carry no pair; 13 "fails"
    calls: list = []
    stages: list[tuple[str, float]] = []
    settings = MapSettings(encoder_name="ignored", k=4, seed=5, umap_neighbors=5)
    warm = HashingEncoder(32)
    out = warm_up_and_compare(
        corpus,
        "hashing-64",
        RuleExtractor(),
        WarmupConfig(sample_share=0.2),
        settings,
        REFERENCE,
        out_dir=tmp_path / "model",
        progress=lambda s, f: stages.append((s, f)),
        warmup_fn=_stub_warmup(sample, tmp_path / "model", calls),
        load_warm=lambda path: warm,
    )
    assert calls == [("hashing-64", WarmupConfig(sample_share=0.2), tmp_path / "model")]

    # labels: the base map with the base encoder, the warm map with the loaded warm model, same k/seed
    base_map = build_corpus_map(corpus, MapSettings(encoder_name="hashing-64", k=4, seed=5, umap_neighbors=5))
    np.testing.assert_array_equal(out.labels_before, base_map.labels)
    warm_map = build_corpus_map(corpus, out.settings_after, encoder=warm, use_cache=False)
    np.testing.assert_array_equal(out.labels_after, warm_map.labels)
    assert out.settings_after.encoder_name == str(tmp_path / "model") and out.settings_after.k == 4

    # rewards: OT of each sampled document's own pairs vs D_r (base encoder), 0 when it yields
    # nothing, NaN outside the sample and for the failed extraction
    base = HashingEncoder(64)
    ref = embed_texts(REFERENCE.texts(), base)
    ot = OTReward()
    pairs = out.warmup.extraction.pairs
    for i in range(len(corpus)):
        mine = [p.as_text() for p in pairs if p.doc_id == corpus.ids[i]]
        if i not in sample or i == 13:
            assert math.isnan(out.rewards[i]), i
        elif not mine:
            assert out.rewards[i] == 0.0, i
        else:
            assert out.rewards[i] == pytest.approx(ot.calc(embed_texts(mine, base), ref)), i
    assert {0, 9} <= {i for i in sample if not any(p.doc_id == corpus.ids[i] for p in pairs)}
    assert np.isfinite(out.rewards).sum() == len(sample) - 1

    # report: compare_clusterings of exactly these, plus the training summary, saved as JSON
    expected = compare_clusterings(out.labels_before, out.labels_after, out.rewards)
    for key, value in expected.items():
        assert out.report[key] == pytest.approx(value, nan_ok=True), key
    assert out.report["train_loss_start"] == 3.0 and out.report["train_loss_end"] == 1.0
    saved = load_warmup_report(tmp_path / "model")
    assert saved is not None and out.report_path == str(tmp_path / "model" / REPORT_FILE)
    assert saved["ari"] == pytest.approx(out.report["ari"]) and saved["reference"] == "files"
    assert saved["corpus_hash"] == corpus.content_hash and saved["k"] == 4
    assert [r["model_path"] for r in find_warmup_reports(corpus.content_hash, tmp_path)] == [str(tmp_path / "model")]
    assert find_warmup_reports("other-corpus", tmp_path) == []

    table = summarize_warmup(saved)
    assert list(table.columns) == ["measure", "before", "after", "change"]
    row = table[table["measure"].str.startswith("Within-cluster reward spread")].iloc[0]
    assert row["before"] == pytest.approx(expected["spread_before"], nan_ok=True)

    seen = [s for s, _ in stages]
    assert set(seen) <= set(STAGES)
    assert {"base map", "extract", "train", "save", "warm map", "reward"} <= set(seen)
    assert all(0.0 <= f <= 1.0 for _, f in stages)
    assert seen.index("base map") < seen.index("extract") < seen.index("warm map") < seen.index("reward")


def test_the_report_says_which_documents_the_alignment_was_measured_on():
    record = {"eval_loss_before": 2.0, "eval_loss_after": 1.0, "recall_at_1_before": 0.5, "recall_at_1_after": 0.75}
    held = summarize_warmup({**record, "n_docs_held_out": 8})["measure"].tolist()
    assert "InfoNCE on 8 documents held out of training, one QA pair each" in held[1] and "8 documents held" in held[2]
    old = summarize_warmup(record)["measure"].tolist()  # saved before documents were held out: said as it was
    assert "on documents trained on" in old[1] and "on documents trained on" in old[2]
    assert "held out" in describe_training({"n_train_pairs": 9, "n_docs_with_pairs": 7, "n_docs_sampled": 9,
                                            "n_docs_held_out": 2})


def test_flow_refuses_the_hashing_encoder_before_any_work(tmp_path):
    with pytest.raises(WarmupError, match="base_model='hashing'"):
        warm_up_and_compare(
            _corpus(10), "hashing", RuleExtractor(), WarmupConfig(), MapSettings(k=2), REFERENCE, out_dir=tmp_path
        )
    assert not list(tmp_path.iterdir())


def test_flow_refuses_more_clusters_than_documents(tmp_path):
    with pytest.raises(ValueError, match="k=50"):
        warm_up_and_compare(
            _corpus(10),
            "hashing-64",
            RuleExtractor(),
            WarmupConfig(),
            MapSettings(k=50),
            REFERENCE,
            warmup_fn=lambda *a: pytest.fail("must not run"),
        )


def _write(tmp_path: Path, n: int) -> Path:
    corpus = _corpus(n)
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)) + "\n")
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--encoder", "hashing"], "hashing test encoder"),
        (["--batch-size", "1"], "batch_size"),
        (["--reference", "no-such-preset"], "no-such-preset"),
        (["--extractor", "nope"], "unknown kind 'nope'"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, extra, message):
    path = _write(tmp_path, 12)
    assert main(["warmup", "--corpus", str(path), "--encoder", "some-model", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err


def test_cli_bad_share_and_missing_corpus(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["warmup", "--corpus", "builtin", "--share", "0"])
    assert exc.value.code == 2 and "--share: must be in (0, 1]" in capsys.readouterr().err
    assert main(["warmup", "--corpus", str(tmp_path / "missing.jsonl"), "--encoder", "some-model"]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_warms_up_the_packaged_model(tmp_path, capsys):
    path = _write(tmp_path, 36)
    out_dir = tmp_path / "warm"
    rc = main(
        [
            "warmup",
            "--corpus",
            str(path),
            "--share",
            "0.5",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--k",
            "4",
            "--seed",
            "3",
            "--reference",
            "files-and-os",
            "--out",
            str(out_dir),
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert (out_dir / "config.json").is_file() and (out_dir / "warmup.json").is_file()
    assert f"saved the warmed-up encoder to {out_dir}" in captured.out
    assert "ARI" in captured.out and "Within-cluster reward spread" in captured.out
    report = json.loads((out_dir / REPORT_FILE).read_text())
    assert {"ari", "nmi", "spread_before", "spread_after", "explained_before", "explained_after"} <= set(report)
    assert report["n_scored"] == 18 and report["n_train_pairs"] >= 6 and report["n_docs_held_out"] >= 2
    assert f"{report['n_docs_held_out']} more held out of training" in captured.out
    assert report["train_loss_start"] is not None and report["k"] == 4
    for stage in ("base map", "extract", "train", "save", "warm map", "reward"):  # tqdm bars on stderr
        assert stage in captured.err, stage
