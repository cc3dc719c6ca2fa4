"""Faster CPU variants of the quality encoder, used only once they measure as the same space as fp32.

A :class:`Variant` is a way of running the sentence-transformers model on a CPU: ``fp32`` (torch
as loaded, the reference), ``bf16`` (``torch.autocast("cpu", dtype=torch.bfloat16)``: oneDNN runs
the matrix products in bfloat16 on AMX tiles or AVX-512 BF16, accumulating in fp32) and ``int8``
(``torch.ao.quantization.quantize_dynamic`` of every ``Linear`` layer, per-channel weights,
activations quantised per batch; fbgemm/oneDNN kernels use AVX-512 VNNI). Each names the CPU
features it needs (any one suffices); a CPU without them never runs it.

A variant is *adopted* only after :func:`check_variant` measured it against fp32 on a sample of a
corpus (cosine of each text's two vectors, mean >= :data:`MIN_COSINE`; neighbour recall@10 within
the sample, :func:`core.corpus.tiers.neighbour_recall`, >= :data:`MIN_RECALL`). The verdict is cached
as JSON under ``cache_dir("variants")``, keyed by model, variant and CPU (model name, the relevant
feature flags and the torch version), so it is measured once: the background upgrade worker
(:mod:`core.corpus.upgrade`) measures it on the corpus it embeds, and every later load of the
encoder reads the verdict (:func:`adopted_variant`) and runs the fastest variant that passed,
else fp32. Vectors of a passing variant live in the model's own embedding space (that is what the
check measures); a variant forced without a passing check gets its own space id (see
:class:`core.corpus.encoders.SentenceEncoder`), so its vectors never mix with fp32 ones in a cache.

On this project's development machine (Xeon with AMX, 2 cores) bf16 measured ~2.7x the fp32
texts/s at cosine 0.99998 and recall@10 0.99; per-channel dynamic int8 measured cosine 0.976 and
recall@10 0.84, so it fails the check and is never adopted there (``benchmarks/bench_encoders.py``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.corpus.tiers import neighbour_recall, unit_rows
from core.disk import write_atomic
from core.settings import cache_dir

MIN_COSINE = 0.99  # mean cosine of a text's variant vector to its fp32 vector
MIN_RECALL = 0.95  # neighbour recall@10 of the variant's space against fp32's, within the sample
CHECK_SAMPLE = 256  # texts in a check (~10 s of fp32 MiniLM on 2 idle cores)
ENV_VARIANT = "EQUALCTAR_ENCODER_VARIANT"  # "fp32" turns the fast variants off
_FLAGS = ("amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx_vnni")


class Variant:
    """One way to run a sentence-transformers model on a CPU (a strategy; see the module docstring).

    ``needs``: CPU feature flags (``/proc/cpuinfo`` names), any one of which lets it run; empty for
    every CPU. ``prepare(model)`` returns the model to run (the same object or a changed copy);
    ``running()`` is the context every forward pass runs in.
    """

    name = "fp32"
    label = "fp32 torch"
    needs: frozenset[str] = frozenset()

    def prepare(self, model: Any) -> Any:
        return model

    def running(self) -> AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def usable(self, features: frozenset[str]) -> bool:
        """Whether a CPU with ``features`` can run it."""
        return not self.needs or bool(self.needs & features)

    def features_used(self, features: frozenset[str]) -> list[str]:
        """The flags of ``features`` this variant relies on, for a caption (``[]`` for fp32)."""
        return sorted(self.needs & features)


class Bf16Autocast(Variant):
    """bfloat16 matrix products under ``torch.autocast`` (weights stay fp32; oneDNN uses AMX when present)."""

    name = "bf16"
    label = "bf16 autocast"
    needs = frozenset({"amx_bf16", "avx512_bf16"})

    def running(self) -> AbstractContextManager[Any]:
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)


class Int8Dynamic(Variant):
    """Dynamic int8 quantisation of every ``Linear`` layer (per-channel weights; VNNI kernels)."""

    name = "int8"
    label = "int8 dynamic quantisation"
    needs = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})

    def prepare(self, model: Any) -> Any:
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear: per_channel_dynamic_qconfig},
                                dtype=torch.qint8)


FP32 = Variant()
VARIANTS: dict[str, Variant] = {v.name: v for v in (Bf16Autocast(), Int8Dynamic(), FP32)}  # fastest first


@functools.lru_cache(maxsize=1)
def cpu_features() -> frozenset[str]:
    """The CPU's flags among those the variants need (``/proc/cpuinfo``; else what torch detects)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split()) & frozenset(_FLAGS)
    except OSError:
        pass
    try:  # not Linux: torch's own detection (coarser names mapped onto the flags)
        import torch.cpu as tcpu

        found = {"avx512_bf16": tcpu._is_avx512_bf16_supported(), "avx512_vnni": tcpu._is_vnni_supported(),
                 "amx_bf16": tcpu._is_amx_tile_supported() and tcpu._is_avx512_bf16_supported()}
        return frozenset(k for k, ok in found.items() if ok)
    except (ImportError, AttributeError, RuntimeError):
        return frozenset()


@functools.lru_cache(maxsize=1)
def cpu_signature() -> str:
    """What a verdict depends on besides the model and the variant: CPU model, its flags, torch's version."""
    import torch

    model = ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    return f"{model}|{','.join(sorted(cpu_features()))}|torch {torch.__version__}"


@dataclass(frozen=True)
class VariantCheck:
    """A variant measured against fp32 on ``n_sample`` texts of one model on one CPU.

    ``cosine_mean``/``cosine_min`` over the texts of ``cos(v_variant, v_fp32)``; ``recall_at_10``
    as in :func:`core.corpus.tiers.neighbour_recall`; ``speedup`` = variant texts/s / fp32 texts/s
    on the sample (one timing each, so noisy on a busy machine; the benchmark measures it properly).
    """

    model: str
    variant: str
    cpu: str
    n_sample: int
    cosine_mean: float
    cosine_min: float
    recall_at_10: float
    speedup: float
    features: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.cosine_mean >= MIN_COSINE and self.recall_at_10 >= MIN_RECALL

    def describe(self) -> str:
        """One caption fragment: the variant, its CPU features and its agreement with fp32."""
        label = VARIANTS[self.variant].label if self.variant in VARIANTS else self.variant
        used = f" on {', '.join(f.upper() for f in self.features)}" if self.features else ""
        verdict = "in use" if self.passed else "not used"
        return (f"{label}{used} ({verdict}: cosine to fp32 {self.cosine_mean:.4f}, neighbour recall@10 "
                f"{self.recall_at_10:.2f} on {self.n_sample:,} texts, {self.speedup:.1f}x fp32)")


def _verdict_path(model: str, variant: str, cpu: str) -> Path:
    key = hashlib.sha256(f"{model}|{variant}|{cpu}".encode()).hexdigest()[:24]
    return cache_dir("variants") / f"{key}.json"


def cached_check(model: str, variant: str, cpu: str | None = None) -> VariantCheck | None:
    """The stored verdict of ``variant`` for ``model`` on this CPU, or ``None`` (never measured, or unreadable)."""
    path = _verdict_path(model, variant, cpu or cpu_signature())
    try:
        data = json.loads(path.read_text())
        data["features"] = tuple(data.get("features", ()))
        return VariantCheck(**data)
    except (OSError, ValueError, TypeError):
        return None


def compare(model: str, variant: Variant, reference: NDArray[np.float32], vectors: NDArray[np.float32],
            speedup: float, features: frozenset[str] = frozenset()) -> VariantCheck:
    """The verdict for ``vectors (n, d)`` of a variant against ``reference (n, d)`` (fp32) of the same texts."""
    ref, vec = unit_rows(reference), unit_rows(vectors)
    cos = np.sum(ref * vec, axis=1)
    return VariantCheck(model, variant.name, cpu_signature(), len(ref), float(cos.mean()), float(cos.min()),
                        float(neighbour_recall(vec, ref)), float(speedup),
                        tuple(variant.features_used(features)))


def _timed(encode: Callable[[list[str]], NDArray[np.float32]], texts: list[str]) -> tuple[NDArray[np.float32], float]:
    encode(texts[:8])  # the first call pays one-time set-up (oneDNN kernels, quantised weights)
    start = time.perf_counter()
    out = encode(texts)
    return out, len(texts) / max(time.perf_counter() - start, 1e-9)


def check_variant(encoder: Any, variant: Variant, texts: Sequence[str],
                  features: frozenset[str] | None = None, use_cache: bool = True) -> VariantCheck:
    """Measure ``variant`` of ``encoder`` (a :class:`core.corpus.encoders.SentenceEncoder`) against its
    fp32 run on ``texts``, store the verdict (cached per model, variant and CPU) and return it.

    ``encoder`` is left running what it ran before. A cached verdict is returned without measuring.
    """
    features = cpu_features() if features is None else features
    if use_cache and (known := cached_check(encoder.space_base, variant.name)) is not None:
        return known
    texts = list(texts)
    if len(texts) < 20:
        raise ValueError(f"checking an encoder variant needs at least 20 texts, got {len(texts)}")
    before = encoder.variant, encoder.variant_check
    try:
        encoder.run_as(FP32)
        reference, fp32_rate = _timed(encoder.encode, texts)
        encoder.run_as(variant)
        vectors, rate = _timed(encoder.encode, texts)
    finally:
        encoder.run_as(*before)
    verdict = compare(encoder.space_base, variant, reference, vectors, rate / fp32_rate, features)
    if use_cache:
        write_atomic(_verdict_path(verdict.model, verdict.variant, verdict.cpu),
                     lambda tmp: tmp.write_text(json.dumps(asdict(verdict))),
                     f"the check of the {variant.name} encoder variant could not be saved", "variants")
    return verdict


def candidates(features: frozenset[str] | None = None) -> list[Variant]:
    """The faster variants this CPU can run, fastest first (fp32 excluded); none when
    :data:`ENV_VARIANT` is ``fp32``."""
    features = cpu_features() if features is None else features
    if os.environ.get(ENV_VARIANT, "").strip().lower() == FP32.name:
        return []
    return [v for v in VARIANTS.values() if v is not FP32 and v.usable(features)]


def adopted_variant(model: str, features: frozenset[str] | None = None) -> tuple[Variant, VariantCheck | None]:
    """The variant a load of ``model`` runs: the first candidate whose stored verdict passed, else fp32.

    Reads verdicts only (milliseconds); measuring is :func:`select_variant`'s job.
    """
    for variant in candidates(features):
        verdict = cached_check(model, variant.name)
        if verdict is not None and verdict.passed:
            return variant, verdict
    return FP32, None


def select_variant(encoder: Any, texts: Sequence[str], features: frozenset[str] | None = None,
                   use_cache: bool = True) -> VariantCheck | None:
    """Check each candidate variant of ``encoder`` on ``texts`` (fastest first, cached) and switch the
    encoder to the first that passes; fp32 and ``None`` when none does or the CPU can run none.

    A candidate that fails is recorded as failed, so it is not measured again on this CPU; one that cannot
    run at all (an error from torch) is skipped with a line on stderr.
    """
    for variant in candidates(features):
        try:
            verdict = check_variant(encoder, variant, texts, features, use_cache=use_cache)
        except (RuntimeError, ImportError, TypeError) as exc:  # a kernel this torch build lacks: not a candidate
            print(f"encoder variant {variant.name} could not run: {exc}", file=sys.stderr)
            continue
        if verdict.passed:
            encoder.run_as(variant, verdict)
            return verdict
    encoder.run_as(FP32)
    return None


def describe_adoption(encoder: Any, features: frozenset[str] | None = None) -> str:
    """Which variant ``encoder`` (a :class:`~core.corpus.encoders.SentenceEncoder`) runs and why, for a caption."""
    if encoder.variant is not FP32:
        check = encoder.variant_check
        return check.describe() if check is not None else f"{encoder.variant.label} (forced, not checked)"
    if os.environ.get(ENV_VARIANT, "").strip().lower() == FP32.name:
        return f"fp32 torch ({ENV_VARIANT}=fp32)"
    if getattr(encoder, "device", "cpu") != "cpu":
        return f"fp32 torch on {encoder.device}"
    options = candidates(features)
    if not options:
        return "fp32 torch (this CPU has none of the features a faster variant needs)"
    failed = [check for v in options if (check := cached_check(encoder.space_base, v.name)) is not None]
    if failed:
        return "fp32 torch; " + "; ".join(check.describe() for check in failed)
    return "fp32 torch (the faster variants are not checked yet)"
