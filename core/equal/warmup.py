"""Stage A of EQUAL: contrastive warm-up of the document encoder, and what it changed.

EQUAL (Zhang et al., arXiv 2505.12250, Sec. 3.2) fine-tunes the document encoder so that
documents yielding similar QA pairs land close together, which makes each cluster's QA
distribution homogeneous; dropping the warm-up costs the most accuracy of any component.

Recipe (:func:`run_warmup`):

1. sample ``sample_share`` of the documents (seeded) and extract their QA pairs with the
   injected extractor (these calls are part of EQUAL's cost: ``WarmupResult.extraction``);
2. training pairs ``(document text, QAPair.as_text())``, at most ``max_pairs`` (seeded sample),
   less those of a few documents held out of training (seeded), on which the alignment of
   documents with their own QA pairs is measured before and after (``eval_loss_*``);
3. optionally ``n_negatives`` hard negatives per pair: QA strings of *other* documents whose
   base-encoder similarity to the document ranks within ``negative_ranks`` (paper: ranks
   2..200, 15 per document), drawn at random with the seed;
4. fine-tune with ``MultipleNegativesRankingLoss`` (InfoNCE with in-batch negatives,
   ``loss_i = -log softmax_j(scale * cos(d_i, q_j))[i]``, paper temperature 0.02 = scale 50;
   sentence-transformers' default scale 20 is ours) on CPU, batches built so that no
   document and no QA string appears twice in a batch (it would be a false negative);
5. save the model (loads with :class:`core.corpus.encoders.SentenceEncoder`), plus
   ``warmup.json`` with the configuration and statistics.

Why a plain torch loop and not ``SentenceTransformerTrainer``/``model.fit``: in the installed
sentence-transformers 6.2 both (and ``util.mine_hard_negatives``) require the ``datasets``
package, and the Trainer also ``accelerate``; neither is installed. The loop below is the one
``SentenceTransformer.old_fit`` runs (preprocess -> loss -> AdamW with linear warm-up, grad
clipping 1.0), written out so every step's loss and a progress callback are available.

:func:`compare_clusterings` reports what changed between the clusterings before and after
(adjusted Rand index, and the within-cluster spread of per-document reward).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from core.corpus.load import content_hash
from core.disk import naming_disk_full, write_atomic
from core.equal.budget import share_of
from core.equal.extract.base import ExtractionResult, Extractor, QAPair
from core.validate import ValidationError, check_int, check_range

__all__ = [
    "WarmupConfig",
    "WarmupError",
    "WarmupResult",
    "compare_clusterings",
    "default_warmup_dir",
    "info_nce",
    "run_warmup",
]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` with stage in ``extract``, ``mine``, ``train``, ``save``."""


class WarmupError(ValueError):
    """The warm-up cannot run on this input (the message says why and what to change)."""


class _HasDocuments(Protocol):
    @property
    def ids(self) -> Sequence[str]: ...

    @property
    def texts(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class WarmupConfig:
    """Parameters of the contrastive warm-up.

    Parameters
    ----------
    sample_share : float
        Share of the corpus extracted for training, in (0, 1] (paper: 0.05).
    epochs : int
        Passes over the training pairs (paper: 2).
    batch_size : int
        Pairs per batch (>= 2: in-batch negatives need company).
    lr : float
        AdamW learning rate, linear warm-up over the first 10% of steps (paper: 1e-5).
    hard_negatives : bool
        Add ``n_negatives`` mined hard negatives per pair.
    seed : int
        Seeds the document sample, the pair sample, negative draws, batch order and torch.
    max_pairs : int
        At most this many training pairs (a seeded sample when there are more).
    n_negatives : int
        Hard negatives per pair when ``hard_negatives`` (paper: 15).
    negative_ranks : tuple[int, int]
        1-based, inclusive ranks of the other documents' QA strings (by base-encoder
        similarity to the document) from which negatives are drawn (paper: (2, 200)).
    scale : float
        Inverse temperature of the InfoNCE softmax.
    max_seq_length : int
        Tokens per text during training and in the saved model (documents are truncated).
    eval_pairs : int
        At most this many documents with pairs are held out of training, one QA pair each measuring the
        alignment before and after (at most a fifth of them, at least 2 while 2 are left to train on; 0 turns
        the measurement off).
    """

    sample_share: float = 0.05
    epochs: int = 1
    batch_size: int = 16
    lr: float = 2e-5
    hard_negatives: bool = False
    seed: int = 42
    max_pairs: int = 2000
    n_negatives: int = 3
    negative_ranks: tuple[int, int] = (2, 200)
    scale: float = 20.0
    max_seq_length: int = 256
    eval_pairs: int = 256

    def __post_init__(self) -> None:
        check_range("WarmupConfig.sample_share", self.sample_share, lo=0, lo_open=True, hi=1)
        for name, low in (("epochs", 1), ("batch_size", 2), ("max_pairs", 2), ("n_negatives", 1),
                          ("max_seq_length", 8), ("eval_pairs", 0)):
            check_int(f"WarmupConfig.{name}", getattr(self, name), lo=low, strict=True)
        check_range("WarmupConfig.lr", self.lr, lo=0, lo_open=True)
        check_range("WarmupConfig.scale", self.scale, lo=0, lo_open=True)
        lo, hi = self.negative_ranks
        if not (1 <= lo <= hi):
            raise ValidationError("WarmupConfig.negative_ranks must satisfy 1 <= low <= high, "
                                  f"got {self.negative_ranks!r}")
        check_int("WarmupConfig.seed", self.seed, strict=True)


@dataclass
class WarmupResult:
    """What the warm-up produced.

    ``eval_loss_*`` is the InfoNCE loss of the evaluation pairs (the first pair of each of the
    ``n_docs_held_out`` documents held out of training, ``held_out_ids``; every other such
    document's QA string a negative), ``mean_i -log softmax_j(scale * cos(d_i, q_j))[i]``,
    before and after training (lower: documents sit nearer to what they yield than to what
    the others yield); ``recall_at_1_*`` the share of documents whose nearest QA string is
    their own.
    """

    model_path: str
    n_train_pairs: int
    seconds: float
    loss_history: list[float]
    n_docs_sampled: int = 0
    n_docs_with_pairs: int = 0
    n_negatives: int = 0
    sampled_ids: list[str] = field(default_factory=list)
    pairs: list[QAPair] = field(default_factory=list)
    extraction: ExtractionResult | None = None
    eval_loss_before: float | None = None
    eval_loss_after: float | None = None
    recall_at_1_before: float | None = None
    recall_at_1_after: float | None = None
    n_docs_held_out: int = 0
    held_out_ids: list[str] = field(default_factory=list)


def default_warmup_dir(corpus: _HasDocuments, base_model: str, config: WarmupConfig, extractor_name: str) -> Path:
    """A cache folder named by corpus content, base model, extractor and configuration."""
    from core.settings import cache_dir

    h = hashlib.sha256(content_hash(corpus.ids, corpus.texts).encode())
    h.update(json.dumps([base_model, extractor_name, asdict(config)], sort_keys=True, default=str).encode())
    return cache_dir("encoders") / f"warmup-{h.hexdigest()[:16]}"


def _resolve_model(base_model: str) -> str:
    from core.corpus.encoders import DEFAULT_MODEL, packaged_model_path

    return packaged_model_path() if base_model == DEFAULT_MODEL else base_model


def _sample(n: int, share: float, rng: np.random.Generator) -> NDArray[np.int64]:
    k = min(n, max(1, share_of(share, n)))
    return np.sort(rng.choice(n, size=k, replace=False))


def _batches(keys_of: Sequence[frozenset], batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """Shuffle pair indices into batches in which no key repeats.

    ``keys_of[i]`` names what pair ``i`` puts into a batch (its document, its positive and its
    negative texts). A repeat would make some text both a positive and a negative of the same
    anchor (sentence-transformers' ``NoDuplicatesBatchSampler`` rule). Every pair lands in
    exactly one batch.
    """
    remaining = [int(i) for i in rng.permutation(len(keys_of))]
    out: list[list[int]] = []
    while remaining:
        batch: list[int] = []
        seen: set = set()
        rest: list[int] = []
        for i in remaining:
            if len(batch) < batch_size and not (keys_of[i] & seen):
                batch.append(i)
                seen |= keys_of[i]
            else:
                rest.append(i)
        out.append(batch)
        remaining = rest
    return out


def _encode(model: Any, texts: Sequence[str]) -> NDArray[np.float32]:
    return np.asarray(model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)


def info_nce(doc_vecs: NDArray[np.float32], qa_vecs: NDArray[np.float32], scale: float) -> tuple[float, float]:
    """InfoNCE loss and recall@1 of paired unit rows: ``doc_vecs[i]`` belongs with ``qa_vecs[i]``.

    ``loss = mean_i -log softmax_j(scale * <d_i, q_j>)[i]``, shapes ``(n, dim)`` each.
    """
    logits = scale * (doc_vecs.astype(np.float64) @ qa_vecs.astype(np.float64).T)
    logits -= logits.max(axis=1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    n = len(doc_vecs)
    loss = float(-np.mean(log_softmax[np.arange(n), np.arange(n)]))
    recall = float(np.mean(np.argmax(logits, axis=1) == np.arange(n)))
    return loss, recall


def _alignment(model: Any, docs: Sequence[str], qas: Sequence[str], scale: float) -> tuple[float, float]:
    return info_nce(_encode(model, docs), _encode(model, qas), scale)


def _mine_negatives(
    doc_vecs: NDArray[np.float32],
    qa_vecs: NDArray[np.float32],
    pair_doc: NDArray[np.int64],
    config: WarmupConfig,
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """``shape (n_pairs, k)`` indices of negative QA strings (other documents, ranks in range).

    ``doc_vecs`` ``shape (n_docs, dim)``, ``qa_vecs`` ``shape (n_pairs, dim)``, unit rows;
    ``pair_doc[i]`` is the row of ``doc_vecs`` that pair ``i`` came from.
    ``k = min(n_negatives, candidates available to every pair)``; 0 columns when none.
    """
    lo, hi = config.negative_ranks
    sim = doc_vecs[pair_doc] @ qa_vecs.T  # (n_pairs, n_pairs): pair's document vs every QA string
    sim[pair_doc[:, None] == pair_doc[None, :]] = -np.inf  # never the document's own pairs
    order = np.argsort(-sim, axis=1, kind="stable")
    n_valid = np.isfinite(sim).sum(axis=1)
    windows = [order[i, lo - 1 : min(hi, int(n_valid[i]))] for i in range(len(pair_doc))]
    k = min([config.n_negatives] + [len(w) for w in windows])
    if k <= 0:
        return np.zeros((len(pair_doc), 0), dtype=np.int64)
    return np.stack([rng.choice(w, size=k, replace=False) for w in windows]).astype(np.int64)


@dataclass
class TrainingSet:
    """Stage 2's output: the (document, QA) training pairs of the sample, and the held-out documents.

    ``pair_doc[i]`` is the corpus index of training pair ``i``'s document, ``anchors[i]`` its text and
    ``positives[i]`` the pair's chat-format string. ``held_out`` are the corpus indices of the documents
    kept out of training (none of their pairs is trained on or drawn as a negative) and ``eval_anchors``/
    ``eval_positives`` the text and first QA string of each, for the before/after alignment.
    """

    pairs: list[QAPair]
    pair_doc: NDArray[np.int64]
    anchors: list[str]
    positives: list[str]
    held_out: list[int] = field(default_factory=list)
    eval_anchors: list[str] = field(default_factory=list)
    eval_positives: list[str] = field(default_factory=list)

    @property
    def n_docs_with_pairs(self) -> int:
        """Sampled documents that yielded pairs: those trained on and those held out."""
        return len(set(self.pair_doc.tolist())) + len(self.held_out)

    @property
    def eval_texts(self) -> tuple[list[str], list[str]]:
        return self.eval_anchors, self.eval_positives


def run_warmup(
    corpus: _HasDocuments,
    base_model: str,
    extractor: Extractor,
    config: WarmupConfig | None = None,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> WarmupResult:
    """Fine-tune ``base_model`` contrastively on (document, QA) pairs of a corpus sample.

    Stages: sample and extract (:func:`extract_sample`), training pairs (:func:`training_set`),
    hard negatives (optional, :func:`mine_hard_negatives`), train (:func:`train_contrastive`),
    save (:func:`save_warmup`). Each stage's output is typed, and the seeded generator is drawn
    from in that order, so a warm-up is reproducible from ``config.seed``.

    Parameters
    ----------
    corpus : Corpus
        Anything with parallel ``ids`` and ``texts``.
    base_model : str
        ``core.corpus.encoders.DEFAULT_MODEL`` (the packaged MiniLM) or a local model folder.
    extractor : Extractor
        Extracts the sample's QA pairs (the rule-based one, or an LLM).
    config : WarmupConfig, optional
    out_dir : str or Path, optional
        Where the fine-tuned model is saved; default :func:`default_warmup_dir`.
    progress : callable, optional
        ``progress(stage, done, total)``; stages ``extract``, ``mine``, ``train``, ``save``.

    Returns
    -------
    WarmupResult
        ``model_path`` loads with ``SentenceEncoder(model_path)``.

    Raises
    ------
    WarmupError
        The corpus is empty, or the sample yields fewer than 2 QA pairs from 2 documents.
    """
    config = config or WarmupConfig()
    ids, texts = list(corpus.ids), list(corpus.texts)
    if not texts:
        raise WarmupError("run_warmup: the corpus is empty")
    out = Path(out_dir) if out_dir is not None else default_warmup_dir(corpus, base_model, config, extractor.name)
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    report = progress or (lambda stage, done, total: None)
    chosen = _sample(len(texts), config.sample_share, rng)
    extraction = extract_sample(ids, texts, chosen, extractor, report)
    training = training_set(ids, texts, chosen, extraction, config, rng)
    model, negatives, loss_history, (loss_before, recall_before), (loss_after, recall_after) = _fine_tune(
        base_model, texts, training, config, rng, report)
    held_out = [ids[i] for i in training.held_out]
    result = WarmupResult(
        model_path=str(out), n_train_pairs=len(training.pairs), seconds=0.0, loss_history=loss_history,
        n_docs_sampled=len(chosen), n_docs_with_pairs=training.n_docs_with_pairs, n_negatives=int(negatives.shape[1]),
        sampled_ids=[ids[i] for i in chosen], pairs=training.pairs, extraction=extraction,
        eval_loss_before=loss_before, eval_loss_after=loss_after, recall_at_1_before=recall_before,
        recall_at_1_after=recall_after, n_docs_held_out=len(held_out), held_out_ids=held_out)
    return save_warmup(model, result, out, base_model, extractor.name, config, started, report)


_Alignment = tuple[float | None, float | None]  # (held-out loss, recall@1); None with fewer than 2 held-out documents


def _fine_tune(base_model: str, texts: Sequence[str], training: TrainingSet, config: WarmupConfig,
               rng: np.random.Generator, report: Progress) -> tuple[Any, NDArray[np.int64], list[float], _Alignment,
                                                                    _Alignment]:
    """Load ``base_model``, then stages 3-4 (hard negatives, contrastive training), the held-out alignment
    measured before and after.

    Returns ``(model in eval mode, negatives, loss per step, alignment before, alignment after)``.
    """
    model = _load_model(base_model, config)
    before = _held_out_alignment(model, training, config)
    negatives = mine_hard_negatives(model, texts, training, config, rng, report)
    loss_history = train_contrastive(model, training, negatives, config, rng, report)
    model.eval()
    return model, negatives, loss_history, before, _held_out_alignment(model, training, config)


def _held_out_alignment(model: Any, training: TrainingSet, config: WarmupConfig) -> _Alignment:
    """``(loss, recall@1)`` of the held-out pairs (:func:`_alignment`, the model put in eval mode)."""
    eval_docs, eval_qas = training.eval_texts
    if len(eval_docs) < 2:
        return None, None
    model.eval()
    return _alignment(model, eval_docs, eval_qas, config.scale)


def extract_sample(ids: Sequence[str], texts: Sequence[str], chosen: NDArray[np.int64], extractor: Extractor,
                   report: Progress, step: int = 16) -> ExtractionResult:
    """Stage 1: extract the sampled documents ``chosen`` in batches of ``step``; the summed accounting."""
    extraction = ExtractionResult()
    for start in range(0, len(chosen), step):
        part = extractor.extract([(ids[i], texts[i]) for i in chosen[start : start + step]])
        extraction.pairs += part.pairs
        extraction.errors += part.errors
        for name in ("calls", "cached", "prompt_tokens", "completion_tokens", "cost", "requests", "retries"):
            setattr(extraction, name, getattr(extraction, name) + getattr(part, name))
        report("extract", min(start + step, len(chosen)), len(chosen))
    return extraction


def training_set(ids: Sequence[str], texts: Sequence[str], chosen: NDArray[np.int64], extraction: ExtractionResult,
                 config: WarmupConfig, rng: np.random.Generator) -> TrainingSet:
    """Stage 2: the sample's pairs (at most ``config.max_pairs``) with their documents, less the documents
    held out of training to measure the alignment (:func:`_held_out_docs`).

    Raises :class:`WarmupError` when fewer than 2 documents yield pairs.
    """
    index_of = {ids[i]: int(i) for i in chosen}
    pairs = [p for p in extraction.pairs if p.doc_id in index_of]
    if len(pairs) > config.max_pairs:
        keep = np.sort(rng.choice(len(pairs), size=config.max_pairs, replace=False))
        pairs = [pairs[i] for i in keep]
    pair_doc = np.array([index_of[p.doc_id] for p in pairs], dtype=np.int64)
    n_docs_with_pairs = len(set(pair_doc.tolist()))
    if len(pairs) < 2 or n_docs_with_pairs < 2:
        raise WarmupError(
            f"run_warmup: the {len(chosen)} sampled documents yielded {len(pairs)} QA pairs from "
            f"{n_docs_with_pairs} documents; at least 2 documents with pairs are needed. Raise "
            "sample_share or use an extractor that finds pairs in this corpus."
        )
    first_of_doc: dict[int, int] = {}
    for i, d in enumerate(pair_doc.tolist()):
        first_of_doc.setdefault(d, i)
    held = _held_out_docs(list(first_of_doc), config.eval_pairs, rng)
    train = [i for i, d in enumerate(pair_doc.tolist()) if d not in held]
    evals = [first_of_doc[d] for d in sorted(held)]
    return TrainingSet([pairs[i] for i in train], pair_doc[train], [texts[pair_doc[i]] for i in train],
                       [pairs[i].as_text() for i in train], sorted(held), [texts[pair_doc[i]] for i in evals],
                       [pairs[i].as_text() for i in evals])


def _held_out_docs(docs: list[int], eval_pairs: int, rng: np.random.Generator) -> set[int]:
    """A seeded draw of the documents (of ``docs``, those with pairs) held out of training: ``eval_pairs`` at
    most, a fifth of ``docs`` at most but at least 2 (one pair cannot be ranked against another), and only
    while at least 2 are left to train on; none otherwise (the alignment is then not measured).

    >>> rng = np.random.default_rng(0)
    >>> len(_held_out_docs(list(range(20)), 256, rng)), _held_out_docs([3, 7, 9], 256, rng)
    (4, set())
    """
    n = min(eval_pairs, max(2, len(docs) // 5))
    if n < 2 or len(docs) - n < 2:
        return set()
    return {int(d) for d in rng.choice(docs, size=n, replace=False)}


def _load_model(base_model: str, config: WarmupConfig) -> Any:
    import torch
    from sentence_transformers import SentenceTransformer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.manual_seed(config.seed)
    model = SentenceTransformer(_resolve_model(base_model), device="cpu")
    model.max_seq_length = min(int(model.max_seq_length or config.max_seq_length), config.max_seq_length)
    return model


def mine_hard_negatives(model: Any, texts: Sequence[str], training: TrainingSet, config: WarmupConfig,
                        rng: np.random.Generator, report: Progress) -> NDArray[np.int64]:
    """Stage 3 (with ``config.hard_negatives``): per pair, indices of hard negative QA strings, ``(n_pairs, m)``."""
    if not config.hard_negatives:
        return np.zeros((len(training.pairs), 0), dtype=np.int64)
    report("mine", 0, 1)
    model.eval()
    uniq = sorted(set(training.pair_doc.tolist()))
    local = {d: k for k, d in enumerate(uniq)}
    doc_vecs = _encode(model, [texts[d] for d in uniq])
    pair_local = np.array([local[d] for d in training.pair_doc.tolist()], dtype=np.int64)
    negatives = _mine_negatives(doc_vecs, _encode(model, training.positives), pair_local, config, rng)
    report("mine", 1, 1)
    return negatives


def train_contrastive(model: Any, training: TrainingSet, negatives: NDArray[np.int64], config: WarmupConfig,
                      rng: np.random.Generator, report: Progress) -> list[float]:
    """Stage 4: MultipleNegativesRankingLoss over batches without in-batch collisions; the loss per step."""
    import torch
    import transformers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.util import batch_to_device

    anchors, positives, pair_doc = training.anchors, training.positives, training.pair_doc
    loss_fn = MultipleNegativesRankingLoss(model, scale=config.scale)
    keys_of = [frozenset([("doc", int(pair_doc[i])), ("qa", positives[i])]
                         + [("qa", positives[j]) for j in negatives[i]]) for i in range(len(training.pairs))]
    epoch_batches = [[b for b in _batches(keys_of, config.batch_size, rng)
                      if len(b) >= 2 or negatives.shape[1] > 0] for _ in range(config.epochs)]
    total_steps = sum(len(b) for b in epoch_batches)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, num_warmup_steps=int(0.1 * total_steps), num_training_steps=max(1, total_steps)
    )
    loss_history: list[float] = []
    model.train()
    for batch in (b for batches in epoch_batches for b in batches):
        columns = [[anchors[i] for i in batch], [positives[i] for i in batch]]
        columns += [[positives[j] for j in negatives[batch, k]] for k in range(negatives.shape[1])]
        features = [batch_to_device(model.preprocess(col), model.device) for col in columns]
        loss = loss_fn(features, None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        loss_history.append(float(loss.detach()))
        report("train", len(loss_history), total_steps)
    return loss_history


def save_warmup(model: Any, result: WarmupResult, out: Path, base_model: str, extractor_name: str,
                config: WarmupConfig, started: float, report: Progress) -> WarmupResult:
    """Stage 5: save the model and ``warmup.json`` (the result without pairs) to ``out``; ``result`` with its time."""
    report("save", 0, 1)
    with naming_disk_full(f"the warm-up could not save its model to {out.name}", out.parent):
        out.mkdir(parents=True, exist_ok=True)
        model.save(str(out))
    result.seconds = time.perf_counter() - started
    meta = {k: v for k, v in asdict(result).items() if k not in {"pairs", "extraction", "sampled_ids"}}
    meta.update(base_model=base_model, extractor=extractor_name, config=asdict(config),
                extraction_calls=result.extraction.calls if result.extraction else 0,
                extraction_cost=result.extraction.cost if result.extraction else 0.0)
    text = json.dumps(meta, indent=2, default=str)  # written last, whole or not at all: the mark of a saved warm-up
    write_atomic(out / "warmup.json", lambda tmp: tmp.write_text(text, encoding="utf-8"),
                 f"the warm-up could not save warmup.json to {out.name}", out.parent)
    report("save", 1, 1)
    return result


def compare_clusterings(
    labels_before: Sequence[int] | NDArray[np.integer],
    labels_after: Sequence[int] | NDArray[np.integer],
    rewards_per_doc: Sequence[float] | NDArray[np.floating],
) -> dict[str, float]:
    """What changed between two clusterings of the same documents ("what changed" report).

    Parameters
    ----------
    labels_before, labels_after : array-like of int, shape (n_docs,)
        Cluster of every document before and after the warm-up.
    rewards_per_doc : array-like of float, shape (n_docs,)
        Per-document reward (e.g. OT reward of its QA pairs, or 1 if it yields on-task pairs);
        ``NaN`` for documents without one (not extracted) -- they are left out of the spreads.

    Returns
    -------
    dict
        ``ari`` and ``nmi`` (agreement of the two clusterings; 1 = identical),
        ``n_clusters_before/after``, ``n_scored`` (documents with a reward),
        ``spread_before/after``: size-weighted mean within-cluster standard deviation of reward,
        ``sum_c n_c * std_c / sum_c n_c`` over clusters with >= 2 scored documents (lower: each
        cluster pays more uniformly, the warm-up's purpose), ``spread_change = after - before``,
        ``explained_before/after``: share of reward variance explained by the clusters,
        ``1 - sum_c n_c var_c / (n var)`` (higher is better).
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    before = np.asarray(labels_before)
    after = np.asarray(labels_after)
    rewards = np.asarray(rewards_per_doc, dtype=np.float64)
    if before.ndim != 1 or after.shape != before.shape or rewards.shape != before.shape:
        raise ValueError(
            "compare_clusterings: labels_before, labels_after and rewards_per_doc must be 1-D of "
            f"equal length, got shapes {before.shape}, {after.shape}, {rewards.shape}"
        )
    scored = np.isfinite(rewards)
    out: dict[str, float] = {
        "ari": float(adjusted_rand_score(before, after)) if len(before) else float("nan"),
        "nmi": float(normalized_mutual_info_score(before, after)) if len(before) else float("nan"),
        "n_clusters_before": float(len(np.unique(before))),
        "n_clusters_after": float(len(np.unique(after))),
        "n_scored": float(scored.sum()),
    }
    for tag, labels in (("before", before), ("after", after)):
        spread, explained = _reward_spread(labels[scored], rewards[scored])
        out[f"spread_{tag}"] = spread
        out[f"explained_{tag}"] = explained
    out["spread_change"] = out["spread_after"] - out["spread_before"]
    return out


def _reward_spread(labels: NDArray, rewards: NDArray[np.float64]) -> tuple[float, float]:
    if len(rewards) < 2:
        return float("nan"), float("nan")
    weighted_std, weight, within = 0.0, 0, 0.0
    for c in np.unique(labels):
        r = rewards[labels == c]
        within += len(r) * float(np.var(r))
        if len(r) >= 2:
            weighted_std += len(r) * float(np.std(r))
            weight += len(r)
    spread = weighted_std / weight if weight else float("nan")
    total = len(rewards) * float(np.var(rewards))
    explained = 1.0 - within / total if total > 0 else float("nan")
    return spread, explained
