"""Warm up the encoder, re-map the corpus with it, and report what changed (EQUAL stage A -> B).

:func:`warm_up_and_compare` runs the whole flow behind the ``warmup`` CLI subcommand and the
Corpus map page's warm-up panel:

1. the map of the corpus with the base encoder (``settings`` with ``encoder_name=base_model``;
   read from the map cache when it is there);
2. :func:`core.equal.warmup.run_warmup` on a ``config.sample_share`` sample;
3. the map with the warmed-up encoder, same ``k``, seed and UMAP settings (any cached
   embeddings or map under the saved model's path are dropped first: the folder may hold a
   different model than when they were written);
4. a reward per sampled document: the OT reward (:class:`core.equal.reward.OTReward`) of the
   document's extracted QA pairs against the reference set ``D_r``,
   ``1 - W(X_doc, Y_ref) - offset``, both embedded with the *base* encoder so that the
   yardstick is the same before and after; a sampled document without pairs gets the reward
   of an empty pull (``OTReward.calc_empty``, 0 here); documents outside the sample,
   or whose extraction failed, are ``NaN`` (unscored);
5. :func:`core.equal.warmup.compare_clusterings` of the two label vectors with those rewards,
   plus the training summary, written as ``what_changed.json`` into the model folder.

The rewards are measured on the sampled documents, nearly all of which the warm-up trained on
(there is no extraction beyond the sample: extraction is what EQUAL's budget pays for), so the
spreads say how the clusters now group the documents the encoder has seen. The InfoNCE and
Recall@1 rows are measured on the few sampled documents held out of training
(``n_docs_held_out``; :func:`core.equal.warmup.training_set`).

``progress(stage, fraction)`` is called for every stage of :data:`STAGES` (``mine`` only
with hard negatives), ``fraction`` in [0, 1].
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.corpus.encoders import Encoder, EncoderSpec, Tier, load_encoder
from core.corpus.load import Corpus
from core.corpus.mapping import MapSettings, build_corpus_map, map_cache_path
from core.disk import write_atomic
from core.equal.extract.base import Extractor
from core.equal.reference import ReferenceSet
from core.equal.reward import OTReward
from core.equal.warmup import WarmupConfig, WarmupError, WarmupResult, compare_clusterings, run_warmup
from core.jobs import ThreadJob

__all__ = [
    "REPORT_FILE",
    "STAGES",
    "STAGE_LABELS",
    "WarmupComparison",
    "check_finetunable",
    "describe_training",
    "find_warmup_reports",
    "load_warmup_report",
    "rewards_per_document",
    "summarize_warmup",
    "warm_up_and_compare",
    "warmup_job",
]

REPORT_FILE = "what_changed.json"
STAGES = ("base map", "extract", "mine", "train", "save", "warm map", "reward")
STAGE_LABELS = {
    "base map": "Mapping with the base encoder",
    "extract": "Extracting QA pairs from the sample",
    "mine": "Mining hard negatives",
    "train": "Fine-tuning the encoder on CPU",
    "save": "Saving the model",
    "warm map": "Re-embedding and re-clustering with the warmed-up encoder",
    "reward": "Scoring the sampled documents against the reference set",
}
StageProgress = Callable[[str, float], None]
WarmupFn = Callable[..., WarmupResult]
_MAP_STAGES = ("embed", "cluster", "project", "keywords")


def check_finetunable(base_model: str) -> None:
    """Raise :class:`WarmupError` when ``base_model`` names an encoder that cannot be fine-tuned.

    Only a transformer is (:attr:`core.corpus.encoders.EncoderSpec.fine_tunable`): the hashing test encoder
    (``"hashing"``, ``"hashing-<dim>"``) has no weights to train, the static tier no transformer.
    """
    spec = EncoderSpec.of(str(base_model))
    if not spec.fine_tunable:
        what = ("the hashing test encoder, which has no weights to fine-tune" if spec.tier is Tier.HASHING
                else "the static tier (model2vec), which has no transformer to fine-tune")
        raise WarmupError(
            f"base_model={base_model!r} is {what}; "
            "choose a sentence-transformers model (the packaged MiniLM or a local model folder)"
        )


@dataclass
class WarmupComparison:
    """What :func:`warm_up_and_compare` produced.

    ``labels_before``/``labels_after`` ``shape (n_docs,)`` int64 (corpus order),
    ``rewards`` ``shape (n_docs,)`` float64 (``NaN`` = unscored), ``report`` the dict of
    :func:`compare_clusterings` plus the training summary (see :func:`_summary`), and
    ``report_path`` the ``what_changed.json`` written next to the saved model.
    """

    warmup: WarmupResult
    report: dict[str, Any]
    labels_before: NDArray[np.int64]
    labels_after: NDArray[np.int64]
    rewards: NDArray[np.float64]
    settings_before: MapSettings
    settings_after: MapSettings
    report_path: str


def rewards_per_document(
    corpus: Corpus,
    warmup: WarmupResult,
    reference_vecs: NDArray[np.float32],
    embed: Callable[[list[str]], NDArray[np.float32]],
    reward: OTReward | None = None,
) -> NDArray[np.float64]:
    """OT reward of each sampled document's QA pairs against ``D_r``; ``shape (n_docs,)``.

    Parameters
    ----------
    corpus : Corpus
    warmup : WarmupResult
        ``sampled_ids`` says which documents were extracted, ``extraction.pairs`` what they
        yielded (all pairs, not only the ``max_pairs`` used for training) and
        ``extraction.errors`` which extractions failed.
    reference_vecs : ndarray, shape (m, d)
        The reference set, embedded by the same encoder as ``embed``.
    embed : callable
        Texts -> ``shape (len(texts), d)`` unit vectors.
    reward : OTReward, optional
        Default ``OTReward(empty_reward=0.0)`` (exact EMD, offset 0.12, a document without
        pairs scores 0: a fixed value, not the run-dependent "worst" a bandit uses).

    Returns
    -------
    ndarray of float64
        ``1 - W(X_doc, Y_ref) - offset`` for sampled documents with pairs, the empty-pull
        reward for sampled documents without, ``NaN`` for documents not sampled or failed.
    """
    reward = reward or OTReward(empty_reward=0.0)
    position = {doc_id: i for i, doc_id in enumerate(corpus.ids)}
    failed = {doc_id for doc_id, _ in (warmup.extraction.errors if warmup.extraction else [])}
    pairs = warmup.extraction.pairs if warmup.extraction is not None else warmup.pairs
    by_doc: dict[str, list[str]] = {}
    for p in pairs:
        by_doc.setdefault(p.doc_id, []).append(p.as_text())
    texts = [t for doc_id in warmup.sampled_ids for t in by_doc.get(doc_id, [])]
    vecs = embed(texts) if texts else np.zeros((0, reference_vecs.shape[1]), dtype=np.float32)
    out = np.full(len(corpus), np.nan)
    start = 0
    for doc_id in warmup.sampled_ids:
        n = len(by_doc.get(doc_id, []))
        if doc_id in position and doc_id not in failed:
            out[position[doc_id]] = reward.calc(vecs[start : start + n], reference_vecs)
        start += n
    return out


def _finite(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _summary(warmup: WarmupResult) -> dict[str, Any]:
    """Training numbers for the report: pairs, documents, seconds, and the train loss at the
    start and end (mean of the first and last tenth of steps, at least one step each)."""
    losses = warmup.loss_history
    tenth = max(1, len(losses) // 10)
    return {
        "n_train_pairs": warmup.n_train_pairs,
        "n_docs_sampled": warmup.n_docs_sampled,
        "n_docs_with_pairs": warmup.n_docs_with_pairs,
        "n_docs_held_out": warmup.n_docs_held_out,
        "n_negatives": warmup.n_negatives,
        "n_steps": len(losses),
        "seconds": warmup.seconds,
        "train_loss_start": float(np.mean(losses[:tenth])) if losses else None,
        "train_loss_end": float(np.mean(losses[-tenth:])) if losses else None,
        "eval_loss_before": warmup.eval_loss_before,
        "eval_loss_after": warmup.eval_loss_after,
        "recall_at_1_before": warmup.recall_at_1_before,
        "recall_at_1_after": warmup.recall_at_1_after,
        "extraction_calls": warmup.extraction.calls if warmup.extraction else 0,
        "extraction_cost": warmup.extraction.cost if warmup.extraction else 0.0,
        "loss_history": [float(x) for x in losses],
    }


def _map_progress(report: StageProgress, stage: str) -> Callable[[str, float], None]:
    def inner(sub: str, fraction: float) -> None:
        i = _MAP_STAGES.index(sub) if sub in _MAP_STAGES else len(_MAP_STAGES) - 1
        report(stage, (i + min(max(fraction, 0.0), 1.0)) / len(_MAP_STAGES))

    return inner


def _drop_stale_caches(corpus: Corpus, settings: MapSettings, encoder: Encoder) -> None:
    from core.corpus.embed import corpus_embedding_path

    corpus_embedding_path(corpus, encoder).unlink(missing_ok=True)
    shutil.rmtree(map_cache_path(corpus, settings), ignore_errors=True)


# long: 35 lines of code; the other 54 are the signature and numpydoc of its 12 parameters (4 of them test seams)
def warm_up_and_compare(
    corpus: Corpus,
    base_model: str,
    extractor: Extractor,
    config: WarmupConfig,
    settings: MapSettings,
    reference: ReferenceSet,
    out_dir: str | Path | None = None,
    progress: StageProgress | None = None,
    *,
    base_encoder: Encoder | None = None,
    reward: OTReward | None = None,
    warmup_fn: WarmupFn | None = None,
    load_warm: Callable[[str], Encoder] = load_encoder,
) -> WarmupComparison:
    """Warm up ``base_model``, re-map ``corpus`` with it and compare the two clusterings.

    Long only on paper: 35 lines of code; the rest is the signature and the documentation of its 12
    parameters (4 of them seams for tests), which splitting would not shorten.

    Parameters
    ----------
    corpus : Corpus
    base_model : str
        The encoder to fine-tune (``DEFAULT_MODEL`` or a local sentence-transformers folder).
    extractor : Extractor
        Extracts the warm-up sample's QA pairs.
    config : WarmupConfig
    settings : MapSettings
        ``k``, seed and UMAP settings of both maps (its ``encoder_name`` is replaced).
    reference : ReferenceSet
        ``D_r`` for the per-document OT reward.
    out_dir : str or Path, optional
        Where the model (and ``what_changed.json``) is saved; default
        :func:`core.equal.warmup.default_warmup_dir`.
    progress : callable, optional
        ``progress(stage, fraction)``, stages in :data:`STAGES`.
    base_encoder : Encoder, optional
        The loaded base encoder (default: ``load_encoder(base_model)``).
    reward : OTReward, optional
    warmup_fn : callable, optional
        Replaces :func:`run_warmup` (same signature), for tests; the default refuses the
        hashing encoder (:func:`check_finetunable`).
    load_warm : callable, optional
        Loads the saved model from ``WarmupResult.model_path`` (default :func:`load_encoder`).

    Returns
    -------
    WarmupComparison

    Raises
    ------
    WarmupError
        The base encoder cannot be fine-tuned, or the sample yields too few pairs.
    ValueError
        ``settings.k`` exceeds the number of documents.
    """
    if settings.k > len(corpus):
        raise ValueError(f"k={settings.k} clusters requested but the corpus has {len(corpus)} documents")
    if warmup_fn is None:  # a stub (tests) may stand in for training; the real one needs weights
        check_finetunable(base_model)
        warmup_fn = run_warmup
    report = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    base_encoder = base_encoder or load_encoder(base_model)
    before_settings = replace(settings, encoder_name=base_model)
    before = build_corpus_map(corpus, before_settings, encoder=base_encoder, progress=_map_progress(report, "base map"))
    report("base map", 1.0)

    result = warmup_fn(corpus, base_model, extractor, config, out_dir,
                       lambda stage, done, total: report(stage, done / max(total, 1)))
    warm_encoder = load_warm(result.model_path)
    after_settings = replace(settings, encoder_name=result.model_path)
    _drop_stale_caches(corpus, after_settings, warm_encoder)
    after = build_corpus_map(corpus, after_settings, encoder=warm_encoder, progress=_map_progress(report, "warm map"))
    report("warm map", 1.0)

    from core.corpus.embed import embed_texts

    report("reward", 0.0)
    embed = lambda texts: embed_texts(texts, base_encoder)  # noqa: E731 - the base encoder's yardstick
    rewards = rewards_per_document(corpus, result, embed(reference.texts()), embed, reward)
    labels_before = np.asarray(before.labels, dtype=np.int64)
    labels_after = np.asarray(after.labels, dtype=np.int64)
    record = _make_record(compare_clusterings(labels_before, labels_after, rewards), result, corpus, base_model,
                          extractor.name, reference.name, settings, config, started)
    path = Path(result.model_path) / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=2, default=str)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                 f"the warm-up comparison could not be saved to {path.parent.name}", path.parent)
    report("reward", 1.0)
    return WarmupComparison(result, record, labels_before, labels_after, rewards, before_settings, after_settings,
                            str(path))


def _make_record(what: dict[str, Any], result: WarmupResult, corpus: Corpus, base_model: str, extractor_name: str,
                 reference_name: str, settings: MapSettings, config: WarmupConfig, started: float) -> dict[str, Any]:
    """The ``what_changed.json`` record: the comparison, the warm-up summary and what it was made with."""
    record: dict[str, Any] = {**what, **_summary(result)}
    record = {k: _finite(v) for k, v in record.items()}  # NaN -> null in the JSON
    record.update(
        model_path=result.model_path, base_model=base_model, extractor=extractor_name,
        reference=reference_name, corpus_name=corpus.name, corpus_hash=corpus.content_hash,
        n_docs=len(corpus), k=settings.k, map_seed=settings.seed, config=asdict(config),
        total_seconds=time.perf_counter() - started, created=time.time(),
    )
    return record


def load_warmup_report(model_path: str | Path) -> dict[str, Any] | None:
    """The ``what_changed.json`` of a warmed-up model folder, or ``None`` when absent or unreadable."""
    try:
        return json.loads((Path(model_path) / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def find_warmup_reports(corpus_hash: str | None = None, root: str | Path | None = None) -> list[dict[str, Any]]:
    """Saved reports under ``root`` (default ``cache_dir("encoders")``), newest first.

    ``corpus_hash`` keeps only the reports of that corpus (:attr:`Corpus.content_hash`).
    """
    if root is None:
        from core.settings import cache_dir

        root = cache_dir("encoders")
    found = []
    for path in Path(root).glob(f"*/{REPORT_FILE}"):
        record = load_warmup_report(path.parent)
        if record is not None and (corpus_hash is None or record.get("corpus_hash") == corpus_hash):
            found.append(record)
    return sorted(found, key=lambda r: -float(r.get("created") or 0.0))


_ROWS = (
    ("Train loss (in-batch InfoNCE; start -> end of training)", "train_loss_start", "train_loss_end"),
    ("InfoNCE on {docs}, one QA pair each (lower: documents sit near what they yield)", "eval_loss_before",
     "eval_loss_after"),
    ("Recall@1 on {docs}: a document's nearest QA string is its own", "recall_at_1_before", "recall_at_1_after"),
    ("Within-cluster reward spread (lower: clusters pay more uniformly)", "spread_before", "spread_after"),
    ("Reward variance explained by the clusters (higher is better)", "explained_before", "explained_after"),
    ("Clusters", "n_clusters_before", "n_clusters_after"),
)


def _aligned_docs(record: dict[str, Any]) -> str:
    """The documents the alignment rows were measured on, in words (a report saved before the warm-up held
    documents out of training measured them on documents it trained on).

    >>> _aligned_docs({"n_docs_held_out": 8}), _aligned_docs({})
    ('8 documents held out of training', 'documents trained on')
    """
    held = record.get("n_docs_held_out")
    if held is None:
        return "documents trained on"
    return f"{int(held)} documents held out of training" if held else "held-out documents (none: too few to spare)"


def describe_training(record: dict[str, Any]) -> str:
    """What a report's warm-up trained on, and the documents it held out of training, in words.

    >>> describe_training({"n_train_pairs": 48, "n_docs_with_pairs": 40, "n_docs_sampled": 44, "n_docs_held_out": 8})
    '48 pairs from 32 of 44 sampled documents (8 more held out of training to measure the alignment)'
    >>> describe_training({"n_train_pairs": 48, "n_docs_with_pairs": 40, "n_docs_sampled": 44})
    '48 pairs from 40 of 44 sampled documents'
    """
    held = int(record.get("n_docs_held_out") or 0)
    out = (f"{record['n_train_pairs']} pairs from {int(record['n_docs_with_pairs']) - held} of "
           f"{record['n_docs_sampled']} sampled documents")
    return out + (f" ({held} more held out of training to measure the alignment)" if held else "")


def summarize_warmup(record: dict[str, Any]) -> pd.DataFrame:
    """Before/after table of a report: columns ``measure, before, after, change`` (``NaN`` when unknown)."""
    rows = []
    docs = _aligned_docs(record)
    for label, b, a in _ROWS:
        label = label.format(docs=docs)
        before = record.get(b)
        after = record.get(a)
        before = float("nan") if before is None else float(before)
        after = float("nan") if after is None else float(after)
        rows.append({"measure": label, "before": before, "after": after, "change": after - before})
    return pd.DataFrame(rows)


def warmup_job(corpus: Corpus, base_model: str, extractor: Extractor, config: WarmupConfig, settings: MapSettings,
               reference: ReferenceSet, *, base_encoder: Encoder | None = None,
               warmup_fn: WarmupFn | None = None) -> ThreadJob:
    """:func:`warm_up_and_compare` as a :class:`~core.jobs.ThreadJob` a page polls and can cancel.

    Each stage of :data:`STAGES` reports its progress as ``done`` of 100; the result is the
    :class:`WarmupComparison` (its report saved beside the model, as without a job).
    """
    def work(report: Callable[[int, int, str], None]) -> WarmupComparison:
        def progress(stage: str, fraction: float) -> None:
            report(round(min(max(fraction, 0.0), 1.0) * 100), 100, stage)

        return warm_up_and_compare(corpus, base_model, extractor, config, settings, reference, progress=progress,
                                   base_encoder=base_encoder, warmup_fn=warmup_fn)

    return ThreadJob("Contrastive warm-up", work)
