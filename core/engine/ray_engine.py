"""The ray engine: the same embedding and extraction functions, run on a Ray cluster.

Embedding (:func:`embed_corpus_ray`). The corpus is staged once as Parquet files of
``(row, id, text)``, longest text first (:func:`core.corpus.encoders.longest_first`, the order
in which the local encoder batches it, so every Ray batch is one of the local path's batches and
pads as little; in corpus order each batch pads to its longest text, ~25% more work on the
built-in corpus), content-addressed under ``cache_dir("datasets")`` (on a multi-node cluster it
is shipped through the object store instead, since the other nodes cannot read this machine's
disk), read as a streaming ``ray.data`` Dataset, and embedded by ``map_batches``
with the callable class :class:`EncodeBatch` on an actor pool
(``compute=ray.data.ActorPoolStrategy(size=workers)``; ``num_gpus`` per actor when the
cluster has GPUs). Each actor loads its encoder once with
:func:`core.corpus.encoders.load_encoder`, the function the local path uses. The driver
streams the result batches into a memory-mapped ``.npy`` at their row positions and renames it
into place as :func:`core.corpus.embed.corpus_embedding_path`, the file the app reads, with a
provenance ``.json`` saying ``{"engine": "ray", "workers": ..., "seconds": ...}``.

Extraction (:func:`extract_all_ray`). Each batch of documents is one Ray task
(:func:`extract_batch`), ``workers`` in flight, on Ray's pooled worker processes: the task
builds its extractor from the same :class:`~core.engine.local.ExtractorSpec` as the local
engine (microseconds: a spec holds settings only, and an extractor opens its HTTP client per
``extract`` call anyway), so no actor has to be started per job (a fresh actor process costs
seconds, 6.7 s of an 11 s job on 240 documents). The driver commits each result to the
:class:`~core.engine.sink.PairSink` as it arrives (``ray.wait``) and resends a batch whose
worker died up to ``max_attempts`` times; a batch that fails every time is recorded as failed,
so a rerun retries it. With ``max_in_flight`` the requests to the endpoint are bounded in total:
``min(workers, max_in_flight)`` tasks in flight with ``max_in_flight // tasks`` requests each.

Start-up. A local Ray started by :func:`ensure_ray` also starts its task workers (one per CPU)
and imports this package in them before returning, once per cluster, like Ray's own start-up:
without it the first job waits for worker processes (seconds each on a busy machine).

The bandit loop itself stays sequential; :class:`RayExtractorPool` serves its pulls from such
a pool behind the ordinary extractor protocol, so ``BanditRun`` takes it like any extractor.

Ray is imported only inside these functions; without it they raise a ``RuntimeError``
saying what to install.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.corpus.embed import corpus_embedding_path, read_cached_embeddings, write_embedding_provenance
from core.corpus.encoders import Encoder, load_encoder, longest_first
from core.corpus.load import Corpus
from core.engine.local import ExtractAllReport, ExtractorSpec, Progress, new_job_id, plan_batches
from core.engine.sink import BatchOutcome, PairSink
from core.settings import cache_dir

ROOT = Path(__file__).resolve().parents[2]
_INSTALL = "The ray engine needs Ray: pip install -r requirements-ray.txt (or use --engine local)"


@dataclass(frozen=True)
class RayConfig:
    """Where and how wide the ray engine runs.

    Parameters
    ----------
    address : str, optional
        An existing cluster (``ray://host:10001`` or ``host:6379``, or ``auto``); default
        ``$RAY_ADDRESS``, else a local Ray started on demand with ``num_cpus`` CPUs.
    num_cpus : int
        CPUs of the local Ray (ignored when connecting to a cluster).
    workers : int
        Workers at once: embedding actors (one CPU, or ``gpus_per_worker`` GPUs, each), extraction tasks in flight.
    gpus_per_worker : float, optional
        GPUs per embedding actor; default 1 when the cluster has GPUs, else 0.
    object_store_mb : int
        Object store of the local Ray, in MiB.
    """

    address: str | None = None
    num_cpus: int = 2
    workers: int = 2
    gpus_per_worker: float | None = None
    object_store_mb: int = 512

    def __post_init__(self) -> None:
        if int(self.num_cpus) < 1:
            raise ValueError(f"RayConfig: num_cpus must be >= 1, got {self.num_cpus}")
        if int(self.workers) < 1:
            raise ValueError(f"RayConfig: workers must be >= 1, got {self.workers}")
        if self.gpus_per_worker is not None and not self.gpus_per_worker >= 0:
            raise ValueError(f"RayConfig: gpus_per_worker must be >= 0, got {self.gpus_per_worker}")
        if int(self.object_store_mb) < 80:
            raise ValueError(f"RayConfig: object_store_mb must be >= 80, got {self.object_store_mb}")


def require_ray():
    """The ``ray`` module, or ``RuntimeError`` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the data extra)
    except ImportError as exc:
        raise RuntimeError(_INSTALL) from exc
    return ray


def ensure_ray(config: RayConfig | None = None):
    """Connect to Ray once per process: the configured / ``RAY_ADDRESS`` cluster, else a local one.

    The local one has no dashboard, is guarded by Ray's token authentication (on by default
    since Ray 2.52), and passes the project root on ``PYTHONPATH`` (plus the product home and
    offline flags) to its workers. It cannot be held to the loopback interface: Ray rewrites
    ``127.0.0.1`` to the node's address so that other nodes could join. On a cluster the code
    must already be there (``ray job submit --working-dir .``, see docs/DESIGN.md). An address that
    does not answer fails within seconds (``RuntimeError``), not after Ray's minute-long retries.

    A local Ray's task workers are started and import the engine's task code (:func:`warm_worker`, one
    task per CPU) before this returns: Ray starts worker processes only when the first tasks arrive, so
    otherwise the first job would wait for them (seconds each on a busy machine). Like Ray's own start-up,
    this is paid once per cluster.
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray
    config = config or RayConfig()
    address = config.address or os.environ.get("RAY_ADDRESS") or None
    if address:
        _check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise RuntimeError(f"Could not connect to the Ray cluster at {address!r}: {exc}") from exc
    else:
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {"PYTHONPATH": path, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
               "TOKENIZERS_PARALLELISM": "false"}
        if os.environ.get("EQUALCTAR_HOME"):
            env["EQUALCTAR_HOME"] = os.environ["EQUALCTAR_HOME"]
        ray.init(address="local", num_cpus=int(config.num_cpus), include_dashboard=False,
                 object_store_memory=int(config.object_store_mb) * 1024 * 1024, log_to_driver=False,
                 logging_level=logging.WARNING, runtime_env={"env_vars": env})
        _warm_workers(ray, int(config.num_cpus))
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    return ray


def warm_worker() -> int:
    """Run as a Ray task: import the engine's task code in this worker process (this module, the extraction
    task's, with the extractors it builds; the CTAR block and sweep seed functions that
    :mod:`core.engine.ray_jobs` sends); the worker's pid."""
    import core.ctar.stream  # noqa: F401
    import core.debias.sweep  # noqa: F401
    import core.equal.extract.openai_compat  # noqa: F401
    import core.equal.extract.rules  # noqa: F401

    return os.getpid()


def _warm_workers(ray, n: int) -> None:
    """Start ``n`` task workers (``n`` one-CPU tasks at once) with the engine imported; ``RuntimeError`` when they
    cannot import it."""
    from ray.exceptions import RayError

    task = ray.remote(num_cpus=1)(warm_worker)
    try:
        ray.get([task.remote() for _ in range(n)])
    except RayError as exc:
        raise RuntimeError(f"Ray's workers could not import this project's engine: {exc}") from exc


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """``RuntimeError`` unless ``host:port`` of ``address`` (``ray://host:port`` or ``host:port``) accepts a
    connection."""
    import socket
    from urllib.parse import urlsplit

    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port or (10001 if address.startswith("ray://") else 6379)
    except ValueError as exc:
        raise RuntimeError(f"Ray address {address!r} is not host:port or ray://host:port") from exc
    if not host:
        raise RuntimeError(f"Ray address {address!r} is not host:port or ray://host:port")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise RuntimeError(f"Could not reach the Ray cluster at {address!r}: {exc.strerror or exc}. Start it "
                           "(ray start --head), fix --address / RAY_ADDRESS, or use --engine local") from exc


def shutdown_ray() -> None:
    """Disconnect (and stop a local Ray this process started)."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()


def _gpus(ray, config: RayConfig) -> float:
    if config.gpus_per_worker is not None:
        return float(config.gpus_per_worker)
    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


def _actor_cpus(ray, workers: int) -> float:
    """CPUs per embedding actor: 1, or less so that one CPU stays free for the Dataset's
    read tasks (with every CPU held by actors, the read never starts and the job hangs)."""
    total = float(ray.cluster_resources().get("CPU", 1.0))
    return 1.0 if total >= workers + 1 else max(0.05, (total - 1.0) / workers) if total > 1 else 0.5 / workers


def _multi_node(ray) -> bool:
    return len({n.get("NodeManagerAddress") for n in ray.nodes() if n.get("Alive")}) > 1


# ----------------------------------------------------------------------------- embedding
class EncodeBatch:
    """Callable class for ``map_batches``: loads the encoder once per actor, embeds each batch.

    ``__call__`` takes ``{"row": (b,), "text": (b,)}`` numpy columns and returns
    ``{"row": (b,), "embedding": (b, d) float32}``, unit rows (as the encoder returns them).
    """

    def __init__(self, encoder_name: str, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.encoder = load_encoder(encoder_name)
        self.batch_size = int(batch_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vecs = np.asarray(self.encoder.encode(texts, batch_size=self.batch_size), dtype=np.float32)
        return {"row": np.asarray(batch["row"], dtype=np.int64), "embedding": vecs}


def _staged_tables(corpus: Corpus, rows_per_part: int):
    """``(row, id, text)`` Arrow tables of ``rows_per_part`` rows, longest text first (:func:`longest_first`);
    ``row`` is each document's position in ``corpus``."""
    import pyarrow as pa

    order = longest_first(corpus.texts)
    for start in range(0, len(corpus), rows_per_part):
        rows = order[start : start + rows_per_part]
        yield pa.table({"row": pa.array(rows.astype(np.int64)),
                        "id": pa.array([corpus.ids[i] for i in rows], pa.string()),
                        "text": pa.array([corpus.texts[i] for i in rows], pa.string())})


def stage_corpus(corpus: Corpus, rows_per_file: int) -> Path:
    """Write ``corpus`` as Parquet files ``part-00000.parquet, ...`` of ``(row, id, text)``, longest text first,
    once per content hash."""
    import pyarrow.parquet as pq

    folder = cache_dir("datasets") / f"{corpus.content_hash[:32]}-{rows_per_file}-longest-first"
    if (folder / "done").exists():
        return folder
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for part, table in enumerate(_staged_tables(corpus, rows_per_file)):
        pq.write_table(table, tmp / f"part-{part:05d}.parquet")
    (tmp / "done").write_text(str(len(corpus)))
    try:
        os.replace(tmp, folder)
    except OSError:  # another process staged it first; its copy is the same
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def corpus_dataset(ray, corpus: Corpus, rows_per_block: int):
    """The corpus as a Ray Dataset of ``(row, id, text)``, longest text first: read from staged Parquet on one
    node, from the object store across several."""
    if not _multi_node(ray):
        folder = stage_corpus(corpus, rows_per_block)
        n_files = sum(1 for _ in folder.glob("part-*.parquet"))
        ctx = ray.data.DataContext.get_current()
        v2 = getattr(ctx, "use_datasource_v2", None)
        try:  # Ray 2.60's V2 Parquet reader packs small files into one block (one busy actor); V1 keeps one per file
            if v2 is not None:
                ctx.use_datasource_v2 = False
            return ray.data.read_parquet(str(folder), file_extensions=["parquet"], override_num_blocks=n_files)
        finally:
            if v2 is not None:
                ctx.use_datasource_v2 = v2
    return ray.data.from_arrow(list(_staged_tables(corpus, rows_per_block)))


def _embedding_dataset(ray, corpus: Corpus, encoder_name: str, batch_size: int, workers: int, gpus: float,
                       fn: type = EncodeBatch):
    """The corpus dataset mapped through ``fn(encoder_name, batch_size)`` (:class:`EncodeBatch`) on a pool of
    ``workers`` actors (``gpus`` each).

    Blocks of whole batches (a multiple of ``batch_size``, so that each batch is the local path's), at most
    about 10,000 rows, about 16 per worker, handed to an actor only when it is free (one block in flight per CPU
    actor, two per GPU actor to hide the transfer): blocks come longest text first, so the last ones are the
    shortest and the actors finish together (with 4 blocks queued per actor from the start, one of two actors
    idled 30 s of a 110 s job on 800 documents).
    """
    per_block = max(1, min(10_000 // batch_size, math.ceil(len(corpus) / (16 * workers * batch_size))))
    pool = ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=2 if gpus > 0 else 1)
    return corpus_dataset(ray, corpus, per_block * batch_size).map_batches(
        fn, fn_constructor_args=(encoder_name, batch_size), batch_size=batch_size, batch_format="numpy",
        compute=pool, num_cpus=0 if gpus > 0 else _actor_cpus(ray, workers), num_gpus=gpus)


def _gather_embeddings(ds, tmp: Path, n: int, encoder_name: str, started: float, progress: Progress | None,
                       stats: dict | None) -> None:
    """Stream the result batches into a memory-mapped ``.npy`` at ``tmp``, each at its rows; flushed and closed
    on return. Raises when a batch has the wrong shape or some rows never came back."""
    out: np.memmap | None = None
    seen = np.zeros(n, dtype=bool)
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        rows = np.asarray(batch["row"], dtype=np.int64)
        vecs = np.asarray(batch["embedding"], dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != rows.shape[0]:
            raise ValueError(f"encoder {encoder_name!r} returned shape {vecs.shape} for {rows.shape[0]} texts")
        if out is None:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, vecs.shape[1]))
        out[rows] = vecs
        if not seen.any() and stats is not None:
            stats.update(first_seconds=time.perf_counter() - started, first_rows=int(rows.shape[0]))
        seen[rows] = True
        if progress is not None:
            progress(int(seen.sum()), n)
    if out is None or not seen.all():
        raise RuntimeError(f"the ray engine returned {int(seen.sum())} of {n} embeddings")
    out.flush()


def embed_corpus_ray(corpus: Corpus, encoder: Encoder, config: RayConfig | None = None, batch_size: int = 64,
                     progress: Progress | None = None, use_cache: bool = True,
                     stats: dict | None = None) -> NDArray[np.float32]:
    """Embed ``corpus`` on Ray; same result and same cache file as :func:`core.corpus.embed.embed_corpus`.

    Parameters
    ----------
    corpus : Corpus
    encoder : Encoder
        Names the cache file (``encoder.name``, ``encoder.max_tokens``); every actor loads its
        own copy with ``load_encoder(encoder.name)``.
    config : RayConfig, optional
    batch_size : int
        Texts per encoder call inside an actor.
    progress : callable, optional
        ``progress(done, total)`` as result batches arrive (once on a cache hit).
    use_cache : bool
        Return the cached embeddings when present (whichever engine wrote them) and write the cache.
    stats : dict, optional
        Filled with ``seconds`` (the whole job), ``first_seconds`` (until the first batch came
        back: staging, actor start, model load) and ``first_rows`` (rows in that batch).

    Returns
    -------
    ndarray, shape (len(corpus), encoder.dim), float32
        Memory-mapped from the cache file when ``use_cache``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(corpus)
    path = corpus_embedding_path(corpus, encoder)
    cached = read_cached_embeddings(corpus, encoder, progress) if use_cache else None
    if cached is not None:
        return cached
    config = config or RayConfig()
    ray = ensure_ray(config)
    started = time.perf_counter()
    workers = int(config.workers)
    gpus = _gpus(ray, config)
    ds = _embedding_dataset(ray, corpus, encoder.name, batch_size, workers, gpus)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.ray.tmp.npy")
    try:
        _gather_embeddings(ds, tmp, n, encoder.name, started, progress, stats)
        if stats is not None:
            stats["seconds"] = time.perf_counter() - started
        if not use_cache:
            return np.array(np.load(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    write_embedding_provenance(path, {"engine": "ray", "workers": workers, "gpus_per_worker": gpus,
                                      "seconds": round(time.perf_counter() - started, 3)})
    return np.load(path, mmap_mode="r")


# ----------------------------------------------------------------------------- extraction
def _worker_class(ray):
    @ray.remote(num_cpus=1, max_restarts=0)
    class ExtractWorker:
        """One extractor per actor, built from the spec where it runs (the bandit's :class:`RayExtractorPool`)."""

        def __init__(self, spec: Callable[[], Any]) -> None:
            self.extractor = spec()

        def extractor_name(self) -> str:
            return str(getattr(self.extractor, "name", type(self.extractor).__name__))

        def extract(self, batch: list[tuple[str, str]]):
            return extract_batch(self.extractor, batch)

    return ExtractWorker


def extract_batch(extractor: Any, batch: list[tuple[str, str]]) -> tuple[Any, float]:
    """``(result, seconds)`` of ``extractor.extract(batch)`` where a Ray worker runs it (a task or the pool's actor)."""
    t0 = time.perf_counter()
    return extractor.extract(batch), time.perf_counter() - t0


def _extract_spec_batch(spec: Callable[[], Any], batch: list[tuple[str, str]]) -> tuple[Any, float]:
    """The extraction task: build the extractor from ``spec`` on this worker and extract ``batch``."""
    return extract_batch(spec(), batch)


def _pool_size(spec: ExtractorSpec | Callable[[], Any], workers: int, n_batches: int,
               max_in_flight: int | None) -> tuple[int, ExtractorSpec | Callable[[], Any]]:
    """Tasks in flight (no more than batches), and the spec with its share of ``max_in_flight`` requests."""
    n_workers = min(int(workers), max(1, n_batches))
    if isinstance(spec, ExtractorSpec) and spec.kind in ("openai", "llm") and max_in_flight is not None:
        n_workers = min(n_workers, max_in_flight)
        spec = spec.with_options(concurrency=max(1, max_in_flight // n_workers))
    return n_workers, spec


def _run_batches(ray: Any, spec: ExtractorSpec | Callable[[], Any], n_workers: int, batches: list, sink: PairSink,
                 job: str, max_attempts: int, progress: Progress | None, started: float) -> tuple[int, float | None]:
    """Run ``batches`` as tasks (:func:`_extract_spec_batch`), ``n_workers`` in flight; commit each result as it lands.

    A batch whose worker dies (or whose task raises) is resent up to ``max_attempts`` tries, then its
    documents are recorded as failed. Returns ``(retries, seconds to the first committed batch)``.
    """
    from ray.exceptions import RayError

    task = ray.remote(num_cpus=1, max_retries=0)(_extract_spec_batch)  # retries counted here, not by Ray
    spec_ref = ray.put(spec)
    pending = deque(range(len(batches)))
    attempts = [0] * len(batches)
    in_flight: dict[Any, int] = {}
    done, retries, todo = 0, 0, sum(len(b) for b in batches)
    first: float | None = None
    try:
        while pending or in_flight:
            while pending and len(in_flight) < n_workers:
                b = pending.popleft()
                attempts[b] += 1
                in_flight[task.remote(spec_ref, batches[b])] = b
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            b = in_flight.pop(ready[0])
            doc_ids = [d for d, _ in batches[b]]
            try:
                result, seconds = ray.get(ready[0])
            except RayError as exc:
                retries += 1
                logging.getLogger(__name__).warning("batch %d failed (try %d/%d): %s", b, attempts[b], max_attempts,
                                                    type(exc).__name__)
                if attempts[b] < max_attempts:
                    pending.appendleft(b)
                else:
                    sink.record_failure(doc_ids, f"worker failed {attempts[b]} times: {type(exc).__name__}", job=job)
                    done += len(doc_ids)
                continue
            sink.commit(BatchOutcome(doc_ids, result, job=job, engine="ray", attempts=attempts[b], seconds=seconds))
            if first is None:
                first = time.perf_counter() - started
            done += len(doc_ids)
            if progress is not None:
                progress(done, todo)
    finally:
        for ref in in_flight:  # interrupted: stop what is still running
            ray.cancel(ref, force=True)
    return retries, first


def extract_all_ray(docs: Sequence[tuple[str, str]], spec: ExtractorSpec | Callable[[], Any], sink: PairSink,
                    config: RayConfig | None = None, batch_docs: int = 16, max_in_flight: int | None = None,
                    max_attempts: int = 3, progress: Progress | None = None) -> ExtractAllReport:
    """Extract every document of ``docs`` not yet done in ``sink``, one Ray task per batch.

    Parameters
    ----------
    docs : sequence of (doc_id, text)
    spec : ExtractorSpec or picklable zero-argument callable returning an extractor
    sink : PairSink
        Each batch is committed as its result arrives.
    config : RayConfig, optional
        ``workers`` tasks in flight.
    batch_docs : int
        Documents per task.
    max_in_flight : int, optional
        Bound on concurrent requests to the endpoint over all actors (an :class:`ExtractorSpec`
        of kind ``"openai"`` only): ``min(workers, max_in_flight)`` tasks in flight with
        ``max_in_flight // tasks`` requests each. Default: each actor keeps its extractor's
        ``concurrency``.
    max_attempts : int
        Tries per batch when its worker dies; after the last, the batch's documents are
        recorded as failed (a rerun retries them).
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    if max_in_flight is not None and max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
    config = config or RayConfig()
    started = time.perf_counter()
    job = new_job_id()
    batches = plan_batches(docs, sink.done_ids(), batch_docs)
    skipped = len(docs) - sum(len(b) for b in batches)
    n_workers, spec = _pool_size(spec, config.workers, len(batches), max_in_flight)
    if not batches:
        return ExtractAllReport(job, "ray", len(docs), skipped, 0, 0, time.perf_counter() - started, sink.totals())
    ray = ensure_ray(config)
    retries, first = _run_batches(ray, spec, n_workers, batches, sink, job, max_attempts, progress, started)
    return ExtractAllReport(job, "ray", len(docs), skipped, len(batches), retries, time.perf_counter() - started,
                            sink.totals(), first_seconds=first or 0.0)


# ----------------------------------------------------------------------------- pool for the bandit
def merge_results(parts: Sequence[Any]) -> Any:
    """One :class:`ExtractionResult` from several, in order: pairs and errors concatenated, counts summed,
    ``cancelled`` when any part was."""
    from core.equal.extract.base import ExtractionResult

    merged = ExtractionResult()
    for part in parts:
        merged.pairs.extend(part.pairs)
        merged.errors.extend(part.errors)
        for name in ("calls", "cached", "prompt_tokens", "completion_tokens", "cost", "requests", "retries"):
            setattr(merged, name, getattr(merged, name) + getattr(part, name))
        if getattr(part, "cancelled", False):
            merged.cancelled = True
    return merged


class RayExtractorPool:
    """An extractor (the :class:`~core.equal.extract.base.Extractor` protocol) served by a pool of Ray actors.

    The bandit loop stays sequential; each pull's documents are cut into up to ``workers``
    contiguous chunks, extracted in parallel by actors holding the extractor ``spec`` builds,
    and merged back in order (:func:`merge_results`), so a pull returns the same pairs and the
    same accounting as the extractor itself would (except that a text repeated in two chunks
    is not recognised as a duplicate). A chunk whose worker dies is resent to a fresh actor up
    to ``max_attempts`` times; after that its documents come back as ``errors``, never lost
    silently. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, spec: ExtractorSpec | Callable[[], Any], config: RayConfig | None = None,
                 min_chunk_docs: int = 1, max_attempts: int = 3) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        if min_chunk_docs < 1:
            raise ValueError(f"min_chunk_docs must be >= 1, got {min_chunk_docs}")
        self.config = config or RayConfig()
        self._ray = ensure_ray(self.config)
        self._cls = _worker_class(self._ray)
        self._spec_ref = self._ray.put(spec)
        self._actors = [self._cls.remote(self._spec_ref) for _ in range(int(self.config.workers))]
        self.name = str(self._ray.get(self._actors[0].extractor_name.remote()))
        self.min_chunk_docs = int(min_chunk_docs)
        self.max_attempts = int(max_attempts)
        self.task_retries = 0

    def extract(self, docs: Sequence[tuple[str, str]]):
        """Extract ``docs`` (``(doc_id, text)``) over the pool; one merged result, in input order."""
        from ray.exceptions import RayError

        from core.equal.extract.base import ExtractionResult

        docs = [(str(d), t) for d, t in docs]
        if not docs:
            return ExtractionResult()
        n_chunks = max(1, min(len(self._actors), len(docs) // self.min_chunk_docs))
        size = math.ceil(len(docs) / n_chunks)
        chunks = [docs[i : i + size] for i in range(0, len(docs), size)]
        results: list[Any] = [None] * len(chunks)
        attempts = [1] * len(chunks)
        in_flight = {self._actors[c].extract.remote(chunk): c for c, chunk in enumerate(chunks)}
        while in_flight:
            ready, _ = self._ray.wait(list(in_flight), num_returns=1)
            c = in_flight.pop(ready[0])
            try:
                results[c], _ = self._ray.get(ready[0])
            except RayError as exc:
                self.task_retries += 1
                self._ray.kill(self._actors[c], no_restart=True)
                self._actors[c] = self._cls.remote(self._spec_ref)
                if attempts[c] < self.max_attempts:
                    attempts[c] += 1
                    in_flight[self._actors[c].extract.remote(chunks[c])] = c
                else:
                    message = f"worker failed {attempts[c]} times: {type(exc).__name__}"
                    results[c] = ExtractionResult(errors=[(d, message) for d, _ in chunks[c]])
        return merge_results(results)

    def close(self) -> None:
        """Stop the pool's actors."""
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        self._actors = []

    def __enter__(self) -> RayExtractorPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
