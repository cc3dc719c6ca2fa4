"""Choosing the quality encoder's CPU variant: only one that measured close to fp32 is used, else fp32.

The model is a small deterministic stand-in (``_Model``); the variants are stand-ins that perturb its
vectors by a known amount, so each test knows whether the check must pass. The real MiniLM under bf16
is checked in the slow test at the end.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.corpus import variants
from core.corpus.encoders import SentenceEncoder, load_encoder, space_id
from core.corpus.variants import (
    FP32,
    MIN_COSINE,
    Variant,
    adopted_variant,
    cached_check,
    candidates,
    compare,
    describe_adoption,
    select_variant,
)

TEXTS = [f"document {i} about topic {i % 7} and detail {i % 11}" for i in range(64)]


class _Model:
    """Deterministic stand-in for a SentenceTransformer: a fixed random vector per text (unit rows)."""

    max_seq_length = 128

    def __init__(self, noise: float = 0.0, calls: list | None = None) -> None:
        self.noise, self.calls = noise, calls if calls is not None else []

    def get_embedding_dimension(self) -> int:
        return 32

    def encode(self, texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True):
        self.calls.append(len(texts))
        rows = []
        for t in texts:
            seed = int.from_bytes(t.encode()[-8:].rjust(8, b"\0"), "little") ^ len(t)
            v = np.random.default_rng(seed).normal(size=32)
            if self.noise:
                v = v + self.noise * np.random.default_rng(seed + 1).normal(size=32)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


class _Perturbing(Variant):
    """A variant whose model adds ``noise`` (relative) to every vector; needs the flag ``flag``."""

    def __init__(self, name: str, flag: str, noise: float) -> None:
        self.name, self.label, self.needs, self.noise = name, f"{name} stand-in", frozenset({flag}), noise
        self.prepared = 0

    def prepare(self, model):
        self.prepared += 1
        return _Model(self.noise, model.calls)


class _Broken(Variant):
    name, label, needs = "broken", "a kernel torch lacks", frozenset({"avx512_vnni"})

    def prepare(self, model):
        raise RuntimeError("no kernel for this CPU")


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Two stand-in variants (close: passes, noisy: fails) in place of bf16/int8, an empty cache folder."""
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path))
    monkeypatch.delenv(variants.ENV_VARIANT, raising=False)
    monkeypatch.setattr(variants, "cpu_features", lambda: frozenset({"amx_bf16", "avx512_vnni"}))
    close, noisy = _Perturbing("close", "amx_bf16", 0.02), _Perturbing("noisy", "avx512_vnni", 1.5)
    monkeypatch.setattr(variants, "VARIANTS", {"close": close, "noisy": noisy, "fp32": FP32})
    return close, noisy


def _encoder(calls=None) -> SentenceEncoder:
    return SentenceEncoder.around(_Model(calls=calls), "stand-in", device="cpu")


def test_candidates_follow_the_cpu_features(fake):
    close, noisy = fake
    assert candidates(frozenset()) == []
    assert candidates(frozenset({"avx512_vnni"})) == [noisy]
    assert candidates(frozenset({"amx_bf16", "avx512_vnni", "sse4_2"})) == [close, noisy]


def test_env_turns_the_variants_off(fake, monkeypatch):
    monkeypatch.setenv(variants.ENV_VARIANT, "fp32")
    enc = _encoder()
    assert candidates(frozenset({"amx_bf16"})) == []
    assert select_variant(enc, TEXTS, frozenset({"amx_bf16"})) is None
    assert enc.variant is FP32
    assert "EQUALCTAR_ENCODER_VARIANT=fp32" in describe_adoption(enc)


def test_a_passing_variant_is_adopted_and_remembered(fake):
    close, _ = fake
    enc = _encoder()
    verdict = select_variant(enc, TEXTS, frozenset({"amx_bf16", "avx512_vnni"}))
    assert verdict is not None and verdict.variant == "close" and verdict.passed
    assert verdict.cosine_mean >= MIN_COSINE and verdict.features == ("amx_bf16",)
    assert enc.variant is close and enc.space_id == enc.name == "stand-in"  # same space: the check passed
    # a later load reads the stored verdict without measuring
    calls: list[int] = []
    later = SentenceEncoder.around(_Model(calls=calls), "stand-in", device="cpu")
    assert later.variant is close and calls == []
    assert adopted_variant("stand-in", frozenset({"amx_bf16"}))[0] is close
    assert "in use" in describe_adoption(later)


def test_a_failing_variant_falls_back_to_fp32(fake, monkeypatch):
    close, noisy = fake
    monkeypatch.setattr(close, "noise", 1.5)  # both now far from fp32
    enc = _encoder()
    assert select_variant(enc, TEXTS, frozenset({"amx_bf16", "avx512_vnni"})) is None
    assert enc.variant is FP32 and enc.name == "stand-in"
    for name in ("close", "noisy"):
        verdict = cached_check("stand-in", name)
        assert verdict is not None and not verdict.passed and verdict.cosine_mean < MIN_COSINE
    assert adopted_variant("stand-in", frozenset({"amx_bf16", "avx512_vnni"}))[0] is FP32
    # the failed verdicts are remembered: a second selection measures nothing
    calls: list[int] = []
    again = SentenceEncoder.around(_Model(calls=calls), "stand-in", device="cpu")
    assert select_variant(again, TEXTS, frozenset({"amx_bf16", "avx512_vnni"})) is None and calls == []
    assert "not used" in describe_adoption(again, frozenset({"amx_bf16", "avx512_vnni"}))


def test_a_cpu_without_the_feature_never_runs_the_variant(fake):
    close, noisy = fake
    calls: list[int] = []
    enc = _encoder(calls)
    assert select_variant(enc, TEXTS, frozenset({"avx2"})) is None
    assert close.prepared == noisy.prepared == 0 and calls == []
    assert "none of the features" in describe_adoption(enc, frozenset({"avx2"}))


def test_verdicts_are_per_cpu(fake):
    select_variant(_encoder(), TEXTS, frozenset({"amx_bf16"}))
    assert cached_check("stand-in", "close") is not None
    assert cached_check("stand-in", "close", cpu="another CPU|amx_bf16|torch 0") is None
    assert cached_check("another-model", "close") is None


def test_a_variant_that_cannot_run_is_skipped(fake, monkeypatch, capsys):
    close, _ = fake
    monkeypatch.setattr(variants, "VARIANTS", {"broken": _Broken(), "close": close, "fp32": FP32})
    enc = _encoder()
    verdict = select_variant(enc, TEXTS, frozenset({"amx_bf16", "avx512_vnni"}))
    assert verdict is not None and verdict.variant == "close"
    assert "broken could not run: no kernel" in capsys.readouterr().err


def test_a_forced_unchecked_variant_gets_its_own_space(fake):
    enc = SentenceEncoder.around(_Model(), "stand-in", device="cpu", variant="noisy")
    assert enc.variant.name == "noisy" and enc.name == enc.space_id == "stand-in@noisy"
    assert space_id(enc.name) == "stand-in@noisy"
    enc.run_as(FP32)
    assert enc.name == "stand-in"
    with pytest.raises(ValueError, match="Unknown encoder variant 'fast'"):
        SentenceEncoder.around(_Model(), "stand-in", variant="fast")
    with pytest.raises(ValueError, match="Unknown encoder variant 'fast'"):
        SentenceEncoder("stand-in", variant="fast")


def test_not_on_cpu_no_variant(fake):
    select_variant(_encoder(), TEXTS, frozenset({"amx_bf16"}))  # a passing verdict exists
    gpu = SentenceEncoder.around(_Model(), "stand-in", device="cuda")
    assert gpu.variant is FP32 and "on cuda" in describe_adoption(gpu)


def test_compare_measures_cosine_and_recall():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(100, 16)).astype(np.float32)
    same = compare("m", FP32, ref, ref * 3.0, speedup=1.0)  # scale does not matter: rows are normalised
    assert same.cosine_mean == pytest.approx(1.0, abs=1e-6) and same.recall_at_10 == 1.0 and same.passed
    other = compare("m", FP32, ref, rng.normal(size=(100, 16)), speedup=2.0)
    assert abs(other.cosine_mean) < 0.2 and other.recall_at_10 < 0.5 and not other.passed


def test_load_encoder_reads_a_variant_suffix(monkeypatch):
    seen = {}

    class _Recording:
        def __init__(self, model, variant="auto"):
            seen.update(model=model, variant=variant)

    monkeypatch.setattr("core.corpus.encoders.SentenceEncoder", _Recording)
    load_encoder("some/model@bf16")
    assert seen == {"model": "some/model", "variant": "bf16"}
    load_encoder("a@b/model")  # '@' inside a path that is no variant's name stays part of the path
    assert seen == {"model": "a@b/model", "variant": "auto"}


@pytest.mark.slow
def test_real_minilm_bf16_is_close_to_fp32(tmp_path, monkeypatch):
    """The packaged MiniLM under bf16 autocast against fp32 on a sample of the built-in corpus."""
    monkeypatch.delenv(variants.ENV_VARIANT, raising=False)
    bf16 = variants.Bf16Autocast()
    if not bf16.usable(variants.cpu_features()):
        pytest.skip("this CPU has neither AMX nor AVX-512 BF16")
    from core.corpus.builtin import load_builtin_corpus

    texts = load_builtin_corpus(limit=96).texts
    enc = SentenceEncoder(device="cpu", variant="fp32")
    verdict = variants.check_variant(enc, bf16, texts, use_cache=False)
    assert verdict.cosine_mean >= 0.99 and verdict.cosine_min >= 0.98
    assert verdict.recall_at_10 >= 0.95 and verdict.passed
    assert enc.variant is FP32  # the check leaves the encoder as it was


@pytest.mark.parametrize("close_noise, expected", [(0.02, "close stand-in on AMX_BF16 (in use"),
                                                   (1.5, "fp32 torch; close stand-in on AMX_BF16 (not used")])
def test_the_upgrade_worker_checks_on_its_corpus_and_names_the_variant(fake, monkeypatch, close_noise, expected):
    import core.corpus.encoders as encoders
    from core.corpus.upgrade import ensure_upgrade, run_worker
    from tests.corpus._mapdata import topic_corpus

    close, _ = fake
    monkeypatch.setattr(close, "noise", close_noise)
    corpus, _ = topic_corpus(150, seed=5)
    job = ensure_upgrade(corpus, "stand-in", chunk=32, start=False)
    used = []
    monkeypatch.setattr(encoders, "load_encoder", lambda name: used.append(_encoder()) or used[-1])
    assert run_worker(job.folder) == 0
    status = job.status()
    assert status["state"] == "done" and expected in status["variant"]
    assert used[0].variant.name == ("close" if close_noise < 0.1 else "fp32")
    verdict = cached_check("stand-in", "close")
    assert verdict is not None and verdict.n_sample == 150  # the sample: this corpus's documents (all 150 here)
