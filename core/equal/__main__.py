"""Command line: ``python -m core.equal index --corpus PATH|builtin [--limit N] [--k K] [--encoder NAME] [--seed S]``.

``index --engine ray [--address ...]`` embeds on Ray into the same cache; ``extract-all --engine
local|ray`` extracts every document into a resumable SQLite sink (see :mod:`core.engine`).

``index`` runs load -> embed -> cluster -> project -> keywords and writes the map cache that
the dashboard reads, so a later page open recomputes nothing. ``warmup`` fine-tunes the
encoder contrastively on a sample (EQUAL stage A), re-maps the corpus with it and prints what
changed. Bad input exits with code 2 and a one-line message. Subcommands live in
``_SUBCOMMANDS``; add new ones there.

``tune --vary B=1,3,5 --vary D=3,10 --seeds 3 --reference PRESET --out table.csv`` replays a grid of
settings from cache (:mod:`core.equal.tune`) and writes its table (CSV or Parquet, by the suffix);
a grid that needs extraction calls names how many and needs ``--spend``.

``run`` exits 0 when the run finished, 130 when interrupted (the run is paused), 2 on bad
input (including a ``--resume`` whose flags differ from the recorded settings) and 3 when the
run stopped because the endpoint kept failing (it says how to resume).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from core.cli import CommandParser
from core.disk import DiskFullError, write_atomic

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _add_index(sub: argparse._SubParsersAction) -> None:
    from core.corpus.encoders import DEFAULT_MODEL

    p = sub.add_parser("index", help="build and cache the corpus map (embeddings, clusters, 2-D layout)")
    p.add_argument("--corpus", required=True, help="a corpus file or folder, or 'builtin'")
    p.add_argument("--limit", type=_positive, default=None, help="built-in corpus: use N evenly spread documents")
    p.add_argument("--text-field", default=None, help="name of the text column (default: detect)")
    p.add_argument("--k", type=_positive, default=None, help="clusters (default: sqrt(n/2), 2..200)")
    p.add_argument("--encoder", default=os.environ.get("EQUALCTAR_ENCODER", DEFAULT_MODEL),
                   help="model name or local path; 'hashing' for the fast test encoder")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--umap-neighbors", type=_positive, default=15)
    p.add_argument("--umap-min-dist", type=float, default=0.1)
    p.add_argument("--stream", action="store_true",
                   help="a corpus larger than memory: stream it into a large map index (python -m core.corpus index; "
                        "the static tier unless --encoder is given; --limit, --umap-* and --engine ray do not apply)")
    _add_engine_args(p)
    p.set_defaults(func=_run_index)


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where the heavy step runs: this process (default) or Ray "
                        "(pip install -r requirements-ray.txt)")
    p.add_argument("--address", default=None,
                   help="--engine ray: an existing cluster (default $RAY_ADDRESS, else a local Ray with --num-cpus)")
    p.add_argument("--workers", type=_positive, default=2,
                   help="--engine ray: workers at once (embedding actors, extraction tasks; default 2)")
    p.add_argument("--num-cpus", type=_positive, default=2, help="--engine ray: CPUs of a local Ray (default 2)")


def _ray_config(args: argparse.Namespace):
    from core.engine.ray_engine import RayConfig

    return RayConfig(address=args.address, num_cpus=args.num_cpus, workers=args.workers)


def _run_index(args: argparse.Namespace) -> int:
    import math

    from core.corpus.progress import ProgressPrinter

    if args.stream:
        return _run_index_stream(args)
    from core.corpus.encoders import load_encoder
    from core.corpus.mapping import MapSettings, build_corpus_map, map_cache_path

    corpus = _load_corpus(args)
    k = args.k or int(min(200, max(2, round(math.sqrt(len(corpus) / 2)))))
    settings = MapSettings(encoder_name=args.encoder, k=k, seed=args.seed,
                           umap_neighbors=args.umap_neighbors, umap_min_dist=args.umap_min_dist)
    encoder = load_encoder(args.encoder)
    # each step: done/total, rate, time left, one-time (core.corpus.progress)
    printer = ProgressPrinter()
    if args.engine == "ray":  # embeddings on Ray into the same cache; the map is then built from it
        from core.corpus.progress import ProgressTracker
        from core.engine.ray_engine import embed_corpus_ray

        embed_corpus_ray(corpus, encoder, _ray_config(args), progress=ProgressTracker("embed", printer))
    cmap = build_corpus_map(corpus, settings, encoder=encoder, report=printer)
    print(f"indexed {len(corpus):,} documents into {cmap.k} clusters "
          f"({int(cmap.neighbours.sum()) // 2} neighbour pairs; embedded by the {cmap.engine} engine); "
          f"cache: {map_cache_path(corpus, settings)}" + (f"\n{cmap.k_note}" if cmap.k_note else ""))
    return 0


_NOT_STREAMED = ("--limit", "--umap-neighbors", "--umap-min-dist")  # index flags a large map index has no use for


def _run_index_stream(args: argparse.Namespace) -> int:
    """``index --stream``: the large map index of ``python -m core.corpus index``, with this command's --k, --seed,
    --text-field and (when given) --encoder; a flag it cannot honour is refused, not dropped."""
    from core.corpus.__main__ import main as corpus_main

    given = _explicit_flags(args.argv)
    refused = [flag for flag in _NOT_STREAMED if flag in given] + (["--engine ray"] if args.engine == "ray" else [])
    if refused:
        raise ValueError(f"index --stream cannot use {', '.join(refused)}: the large map index reads the whole file "
                         "in this process and lays it out with its own UMAP settings. Drop them, or index without "
                         "--stream")
    extra = ["--k", str(args.k)] if args.k else []
    extra += ["--text-field", args.text_field] if args.text_field else []
    extra += ["--encoder", args.encoder] if "--encoder" in given else []  # else the stream's own default: static
    return corpus_main(["index", "--corpus", args.corpus, "--seed", str(args.seed), *extra])


def _add_extract_all(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract-all", help="extract QA pairs from every document (the All baseline / D_e of a corpus), "
                                           "committing each batch to a SQLite sink; a rerun resumes")
    p.add_argument("--corpus", required=True, help="a corpus file or folder, or 'builtin'")
    p.add_argument("--limit", type=_positive, default=None, help="built-in corpus: use N evenly spread documents")
    p.add_argument("--text-field", default=None, help="name of the text column (default: detect)")
    p.add_argument("--extractor", default="rules",
                   help="'rules' (offline, default) or 'openai' "
                        "(EQUAL_LLM_BASE_URL / EQUAL_LLM_MODEL / EQUAL_LLM_API_KEY)")
    p.add_argument("--batch-docs", type=_positive, default=16, help="documents per task (default 16)")
    p.add_argument("--max-in-flight", type=_positive, default=None,
                   help="openai extractor: requests in flight to the endpoint (over all workers with --engine ray)")
    p.add_argument("--sink", default=None,
                   help="SQLite file of pairs (default: the cache's extract-all/<corpus>-<extractor>.sqlite)")
    _add_engine_args(p)
    p.set_defaults(func=_run_extract_all)


def _run_extract_all(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.engine.local import ExtractorSpec, extract_all_local
    from core.engine.sink import PairSink
    from core.equal.extract import make_checked_extractor
    from core.settings import cache_dir

    try:  # a missing or unreachable endpoint fails before any work
        checked = make_checked_extractor(args.extractor)
    except ValueError as exc:
        raise ValueError(f"--extractor {args.extractor}: {exc}") from exc
    corpus = _load_corpus(args)
    # the endpoint as this machine resolved it travels with the spec, so cluster workers need no environment
    spec = ExtractorSpec(args.extractor, getattr(checked, "settings", None))
    if args.max_in_flight is not None and args.engine == "local" and spec.settings is not None:
        spec = spec.with_options(concurrency=args.max_in_flight)
    path = args.sink or cache_dir("extract-all") / f"{corpus.content_hash[:16]}-{args.extractor}.sqlite"
    sink = PairSink(path)
    docs = list(zip(corpus.ids, corpus.texts))
    with tqdm(total=len(docs), unit="doc", desc=f"extract ({args.engine})", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        if args.engine == "ray":
            from core.engine.ray_engine import extract_all_ray

            report = extract_all_ray(docs, spec, sink, _ray_config(args), batch_docs=args.batch_docs,
                                     max_in_flight=args.max_in_flight, progress=progress)
        else:
            report = extract_all_local(docs, spec, sink, batch_docs=args.batch_docs, progress=progress)
    t = report.totals
    print(f"extract-all ({report.engine}): {len(docs) - report.docs_skipped:,} documents extracted in "
          f"{report.seconds:.1f} s ({report.docs_skipped:,} already done), {report.task_retries} tasks retried; "
          f"sink {sink.path}: {t.docs_done:,} documents done, {t.docs_failed:,} failed, {t.pairs:,} pairs, "
          f"{t.calls:,} calls, {t.prompt_tokens + t.completion_tokens:,} tokens, cost {t.cost:.4f}")
    return 1 if t.docs_failed else 0


def _load_corpus(args: argparse.Namespace):
    from core.corpus.load import load_corpus

    if args.corpus == "builtin":
        from core.corpus.builtin import load_builtin_corpus

        corpus = load_builtin_corpus(limit=args.limit)
        print(f"built-in corpus: {len(corpus):,} documents", file=sys.stderr)
        return corpus
    from core.corpus.encoders import DEFAULT_MODEL, chunking_options

    # chunks cut by the encoder's own tokenizer, as the page does: no text is silently truncated by the model
    options = chunking_options(getattr(args, "encoder", None) or DEFAULT_MODEL)
    corpus, report = load_corpus(args.corpus, text_field=getattr(args, "text_field", None), **options)
    print(report.summary(), file=sys.stderr)
    notes = [row for row in report.issues if row[0] != "chunked"]  # a chunked text is kept whole, in pieces
    for kind, where, detail in notes[:20]:  # what was skipped or kept with a problem, by file and line
        print(f"  {where}: {kind}: {detail}", file=sys.stderr)
    if len(notes) > 20:
        print(f"  ... and {len(notes) - 20:,} more", file=sys.stderr)
    return corpus


def _price(text: str) -> float:
    from core.validate import ValidationError, check_range

    try:
        return check_range("price", float(text), lo=0)
    except (ValueError, ValidationError):
        raise argparse.ArgumentTypeError(f"must be a price per 1,000 tokens (a finite number >= 0), got {text!r}") \
            from None


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def _add_warmup(sub: argparse._SubParsersAction) -> None:
    from core.corpus.encoders import DEFAULT_MODEL
    from core.equal.reference import list_presets

    presets = list_presets()
    p = sub.add_parser("warmup", help="contrastive warm-up of the encoder (EQUAL stage A), re-map, report what changed")
    p.add_argument("--corpus", required=True, help="a corpus file or folder, or 'builtin'")
    p.add_argument("--limit", type=_positive, default=None, help="built-in corpus: use N evenly spread documents")
    p.add_argument("--text-field", default=None, help="name of the text column (default: detect)")
    p.add_argument("--share", type=_share, default=0.05,
                   help="share of the documents extracted for training (default 0.05)")
    p.add_argument("--epochs", type=_positive, default=1)
    p.add_argument("--batch-size", type=_positive, default=16)
    p.add_argument("--hard-negatives", action="store_true", help="add mined hard negatives to every pair")
    p.add_argument("--encoder", default=os.environ.get("EQUALCTAR_ENCODER", DEFAULT_MODEL),
                   help="base model to fine-tune: the packaged MiniLM (default) or a local model folder")
    p.add_argument("--reference", default=presets[0] if presets else None,
                   help=f"D_r for the per-document reward: a preset ({', '.join(presets)}; default "
                        f"{presets[0] if presets else 'none'}) or a JSONL/text file")
    p.add_argument("--extractor", default="rules",
                   help="'rules' (offline, default) or 'openai' (endpoint from the environment)")
    p.add_argument("--k", type=_positive, default=None, help="clusters (default: sqrt(n/2), 2..200)")
    p.add_argument("--seed", type=int, default=42, help="seeds the warm-up sample and training, and k-means/UMAP")
    p.add_argument("--out", default=None,
                   help="model folder (default: a cache folder named by corpus, model and settings)")
    p.set_defaults(func=_run_warmup)


def _run_warmup(args: argparse.Namespace) -> int:
    import math

    from tqdm import tqdm

    from core.corpus.mapping import MapSettings
    from core.equal.extract import make_extractor
    from core.equal.reference import load_reference
    from core.equal.warmup import WarmupConfig
    from core.equal.warmup_report import check_finetunable, describe_training, summarize_warmup, warm_up_and_compare

    check_finetunable(args.encoder)
    if args.reference is None:
        raise ValueError("--reference: no preset is installed; pass a JSONL or text file")
    reference = load_reference(args.reference)
    extractor = make_extractor(args.extractor)
    config = WarmupConfig(sample_share=args.share, epochs=args.epochs, batch_size=args.batch_size,
                          hard_negatives=args.hard_negatives, seed=args.seed)
    corpus = _load_corpus(args)
    k = args.k or int(min(200, max(2, round(math.sqrt(len(corpus) / 2)))))
    settings = MapSettings(encoder_name=args.encoder, k=k, seed=args.seed)
    bars: dict[str, tqdm] = {}

    def progress(stage: str, fraction: float) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=100, unit="%", desc=stage, file=sys.stderr)
        bar.update(max(0, int(round(min(max(fraction, 0.0), 1.0) * 100)) - bar.n))

    try:
        out = warm_up_and_compare(corpus, args.encoder, extractor, config, settings, reference, args.out, progress)
    finally:
        for bar in bars.values():
            bar.close()
    r = out.report
    print(f"saved the warmed-up encoder to {out.warmup.model_path}")
    print(f"trained on {describe_training(r)}, {r['n_steps']} steps in {r['seconds']:.1f} s; "
          f"reference {reference.name!r}, k={k}")
    table = summarize_warmup(r)
    for row in table.itertuples(index=False):
        print(f"  {row.measure}: {row.before:.4g} -> {row.after:.4g} (change {row.change:+.4g})")
    print(f"  agreement of the clusterings: ARI {_fmt(r['ari'])}, NMI {_fmt(r['nmi'])} "
          f"({int(r['n_scored'])} documents scored)")
    print(f"report: {out.report_path}")
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _load_map(args: argparse.Namespace):
    import math

    from core.corpus.encoders import load_encoder
    from core.corpus.mapping import MapSettings, build_corpus_map

    corpus = _load_corpus(args)
    k = args.k or int(min(200, max(2, round(math.sqrt(len(corpus) / 2)))))
    encoder = load_encoder(args.encoder)
    settings = MapSettings(encoder_name=args.encoder, k=k, seed=args.map_seed)
    return build_corpus_map(corpus, settings, encoder=encoder), encoder


def _add_bandit_common(p: argparse.ArgumentParser) -> None:
    from core.corpus.encoders import DEFAULT_MODEL

    p.add_argument("--corpus", default="builtin", help="a corpus file or folder, or 'builtin'")
    p.add_argument("--limit", type=_positive, default=None, help="built-in corpus: use N evenly spread documents")
    p.add_argument("--k", type=_positive, default=None, help="clusters (default: sqrt(n/2), 2..200)")
    p.add_argument("--encoder", default=os.environ.get("EQUALCTAR_ENCODER", DEFAULT_MODEL))
    p.add_argument("--map-seed", type=int, default=42)
    p.add_argument("--reference", required=True, help="a preset name (see assets/reference) or a JSONL/text file")


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the EQUAL bandit (or a baseline), committing every pull to SQLite")
    _add_bandit_common(p)
    p.add_argument("--store", default=None, help="run database (default: the cache's runs/runs.sqlite)")
    _add_settings(p)
    p.add_argument("--price-in", type=_price, default=None,
                   help="price per 1k input tokens (default $EQUAL_LLM_PRICE_PER_1K_PROMPT); a cost budget needs both")
    p.add_argument("--price-out", type=_price, default=None,
                   help="price per 1k output tokens (default $EQUAL_LLM_PRICE_PER_1K_COMPLETION)")
    p.add_argument("--resume", default=None, metavar="RUN_ID",
                   help="continue a stored run (with its recorded settings)")
    p.add_argument("--arms-from-tag", default=None, metavar="NAME",
                   help="restrict the arms to the clusters holding the documents of this saved map selection (tag)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_bandit)


def _add_settings(p: argparse.ArgumentParser) -> None:
    """One option per run setting, derived from :data:`core.equal.settings.SETTINGS` (flag, type, choices, default,
    help); the range is checked by ``RunConfig``, whose message names the setting."""
    from core.equal.settings import SETTINGS

    for spec in SETTINGS:
        default = None if spec.default_by else spec.default
        shown = f"; default {default}" if default is not None else ""
        if spec.default_by:
            other, table = spec.default_by
            shown = f"; default {spec.default}, or by {other}: " + ", ".join(f"{k} {v}" for k, v in table.items())
        if spec.when:
            shown += f"; applies when {spec.when[0].rsplit('.', 1)[-1]} is {' or '.join(map(str, spec.when[1]))}"
        about = f"{spec.label}: {spec.help.rstrip('.')}{shown}".replace("%", "%%")
        if spec.kind is bool:
            p.add_argument(spec.flag, action=argparse.BooleanOptionalAction, default=default, help=about)
        else:
            p.add_argument(spec.flag, type=_setting_type(spec), choices=spec.choices or None, default=default,
                           dest=spec.field, help=about)


def _setting_type(spec) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return spec.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None

    parse.__name__ = spec.field  # argparse names the type in its messages
    return parse


EXIT_STOPPED = 3


def _run_flags() -> dict[str, str]:
    """Run flags that are part of the stored RunConfig, by the field they set: a ``--resume`` that passes one with
    another value is refused."""
    from core.equal.settings import SETTINGS

    return {spec.flag: spec.field for spec in SETTINGS} | {f"--no-{s.flag[2:]}": s.field for s in SETTINGS
                                                            if s.kind is bool}


def _explicit_flags(argv: list[str]) -> set[str]:
    return {tok.split("=", 1)[0] for tok in argv if tok.startswith("--")}


def _make_config(args: argparse.Namespace):
    from core.equal.settings import SETTINGS, SettingRefusedError, config_from_values

    given = {spec.name: getattr(args, spec.field) for spec in SETTINGS}
    try:
        return config_from_values({name: value for name, value in given.items() if value is not None})
    except SettingRefusedError as exc:  # worded for a form's label: name the option typed instead
        raise ValueError(exc.for_cli()) from exc


def _flat_config(config) -> dict:
    """A config's settings by field name (``credit`` beside ``budget``), as ``--resume`` compares them."""
    from core.equal.settings import flat_values

    return flat_values(config)


def _make_run_extractor(args: argparse.Namespace):
    from dataclasses import replace

    from core.equal.extract import make_checked_extractor
    from core.settings import LLMSettings

    options = {}
    if args.extractor != "rules":
        settings = LLMSettings.from_env()
        prompt, completion = settings.price_per_1k_prompt, settings.price_per_1k_completion
        settings = replace(settings, price_per_1k_prompt=prompt if args.price_in is None else args.price_in,
                           price_per_1k_completion=completion if args.price_out is None else args.price_out)
        options = {"settings": settings}
    try:  # a missing or unreachable endpoint fails before any embedding work
        return make_checked_extractor(args.extractor, **options)
    except ValueError as exc:
        raise ValueError(f"--extractor {args.extractor}: {exc}") from exc


def _open_run(args: argparse.Namespace, store, space, ref_emb, ref_set, extractor, embed):
    from core.equal.provenance import RunProvenance, diff_configs
    from core.equal.run import BanditRun, RunConfig

    provenance = RunProvenance.build(space, ref_set, extractor)
    if not args.resume:
        config = _make_config(args)
        from core.equal.run import check_cost_budget

        check_cost_budget(config, extractor)
        run = BanditRun(config, space, ref_emb, extractor, embed, store=store, provenance=provenance)
        run.claim()  # stored (running, leased to this process) now: the id printed next resumes even before a pull
        return run
    stored = store.load_run(args.resume)
    flags = _run_flags()
    given = _flat_config(_make_config(args)) if _explicit_flags(args.argv) & set(flags) else {}
    fields = [flags[f] for f in sorted(_explicit_flags(args.argv) & set(flags))]
    problems = diff_configs(_flat_config(RunConfig.from_dict(stored.config)), given, fields) if given else []
    if problems:
        raise ValueError(f"--resume {args.resume}: a resumed run keeps its recorded settings; " + "; ".join(problems)
                         + ". Drop those flags to continue it, or start a new run")
    run = BanditRun.resume(store, args.resume, space, ref_emb, extractor, embed, provenance=provenance)
    if run.unknown_inputs:
        print(f"note: run {run.run_id} was stored without its {', '.join(run.unknown_inputs)}; "
              "they could not be checked", file=sys.stderr)
    return run


def _run_bandit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.equal.reference import load_reference
    from core.equal.run import encoder_embedder
    from core.equal.space import ArmSpace
    from core.equal.store import RunStore

    extractor = _make_run_extractor(args)
    store = RunStore(args.store)  # a damaged database is named before any embedding work
    cmap, encoder = _load_map(args)
    embed = encoder_embedder(encoder)
    ref_set = load_reference(args.reference)
    space = ArmSpace.from_corpus_map(cmap)
    if args.arms_from_tag is not None:
        space = _arms_from_tag(space, cmap.corpus.content_hash, args.arms_from_tag)
    run = _open_run(args, store, space, embed(ref_set.texts()), ref_set, extractor, embed)
    print(f"run {run.run_id} ({run.config.policy}); every pull is committed to {store.path}", file=sys.stderr)
    bar = tqdm(total=100, unit="%", desc="budget", file=sys.stderr, disable=args.quiet)
    try:
        while not run.is_done:
            run.step()
            bar.update(int(run.budget_fraction * 100) - bar.n)
            bar.set_postfix(round=run.round, pairs=len(run.pairs))
        run.finish()
    except KeyboardInterrupt:
        bar.close()
        run.pause()
        print(f"interrupted after round {run.round}; nothing is lost: resume with --resume {run.run_id}",
              file=sys.stderr)
        return 130
    bar.close()
    if run.stop_reason:
        print(f"run {run.run_id} {run.status} after {run.consecutive_failures} consecutive failed extractions "
              f"({run.docs_done:,} documents done, {len(run.pairs):,} pairs kept). Fix the endpoint, then resume with: "
              f"python -m core.equal run --resume {run.run_id} (same --corpus/--reference/--encoder); failed documents "
              "are retried", file=sys.stderr)
        return EXIT_STOPPED
    print(f"run {run.run_id}: {run.round} rounds, {run.docs_done:,} documents, {len(run.pairs):,} pairs, "
          f"coverage {run.coverage:.3f}, W(D_e, D_r) {run.calc_de_distance():.4f}; store {store.path}")
    return 0


def _arms_from_tag(space, corpus_hash: str, name: str):
    """``space`` restricted to the clusters holding the tag ``name``'s documents; a missing tag is named with those
    there are."""
    from core.corpus.tags import TagStore, current_names

    tags = TagStore(corpus_hash)
    tag = next((tags.get(now) for now in current_names(tags.tags(), [name])), None)  # a renamed tag by its old name
    if tag is None:
        there = ", ".join(repr(t.name) for t in tags.tags()) or "none"
        raise ValueError(f"--arms-from-tag: this corpus has no tag {name!r} (its tags: {there}); save one on the "
                         "Corpus map page")
    arms, clusters = space.restricted_to(tag.doc_ids)
    print(f"arms: the {len(clusters)} clusters holding tag {tag.name!r} ({len(tag.doc_ids)} documents): "
          f"{', '.join(map(str, clusters.tolist()))}; {len(arms):,} of {len(space):,} documents", file=sys.stderr)
    return arms


def _make_out_folder(out: str) -> None:
    """Create ``--out``'s folder (as ``debias sweep`` does); one that cannot be made is named, before any work."""
    folder = Path(out).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out {out}: its folder {folder} could not be created ({exc.strerror or exc})") from None


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a stored run's D_e as decontaminated JSONL")
    p.add_argument("run_id")
    p.add_argument("--reference", required=True, help="D_r to decontaminate against (preset or file)")
    p.add_argument("--store", default=None)
    p.add_argument("--shape", choices=("messages", "alpaca"), default="messages")
    p.add_argument("--ngram", type=_positive, default=8)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from core.equal.export import export_pairs
    from core.equal.provenance import RunProvenance
    from core.equal.reference import load_reference
    from core.equal.store import RunStore

    stored = RunStore(args.store).load_run(args.run_id)
    clusters = RunProvenance.from_dict(stored.provenance).cluster_of(stored.pairs["arm"])  # arms may be renumbered
    pairs = stored.pairs.assign(cluster=clusters, policy=stored.config.get("policy", ""))
    out = export_pairs(pairs, load_reference(args.reference).raw_texts(), shape=args.shape, n=args.ngram)
    _make_out_folder(args.out)
    write_atomic(args.out, lambda tmp: tmp.write_bytes(out.data),  # no half-written file under --out
                 f"the export of run {args.run_id} could not be written to {Path(args.out).name}")
    print(f"wrote {out.n_written:,} pairs to {args.out} ({out.n_removed} removed by {args.ngram}-gram decontamination)")
    return 0


def _add_tune(sub: argparse._SubParsersAction) -> None:
    from core.equal.tune import TUNABLES, TUNE_SHARE

    p = sub.add_parser("tune", help="the tuning lab: replay a grid of one or two settings x seeds from the extraction "
                                    "and embedding caches, with Random and Avg-sim, and write the table")
    _add_bandit_common(p)
    p.add_argument("--vary", action="append", required=True, metavar="SETTING=V1,V2,...",
                   help=f"a setting to vary and its values (once or twice); settings: {', '.join(TUNABLES)} "
                        "(B and D for arms per round and documents per pull)")
    p.add_argument("--seeds", type=_positive, default=3, help="seeds per cell (default 3: --seed, --seed+1, ...)")
    p.add_argument("--seed", type=int, default=0, help="the first seed")
    p.add_argument("--policy", default="equal", help="the policy of every cell (unless --vary policy=...)")
    p.add_argument("--budget-kind", choices=("share", "calls"), default="share")
    p.add_argument("--budget", type=float, default=None,
                   help=f"share of the corpus (default {TUNE_SHARE}) or extraction calls (default "
                        f"{_budget_default('calls'):g}, the run setting's)")
    p.add_argument("--extractor", default="rules",
                   help="'rules' (offline, default) or 'openai' "
                        "(EQUAL_LLM_BASE_URL / EQUAL_LLM_MODEL / EQUAL_LLM_API_KEY)")
    p.add_argument("--spend", action="store_true",
                   help="extract the documents not in the cache (without it, a grid that needs extraction calls "
                        "says how many and stops)")
    p.add_argument("--out", required=True, help="the table: .csv or .parquet")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_tune)


def _budget_default(kind: str) -> float:
    """The tune budget when ``--budget`` is not given: the lab's share (:data:`core.equal.tune.TUNE_SHARE`), or the
    run setting's declared default for another kind (100 calls)."""
    from core.equal.settings import BY_NAME
    from core.equal.tune import TUNE_SHARE

    return TUNE_SHARE if kind == "share" else float(BY_NAME["budget"].default_for({"budget_kind": kind}))


def _run_tune(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.equal.extract import make_checked_extractor
    from core.equal.extract.cache import kept_on_disk
    from core.equal.ontask import on_task_ids
    from core.equal.reference import load_reference
    from core.equal.run import encoder_embedder
    from core.equal.settings import SettingRefusedError, config_from_values
    from core.equal.space import ArmSpace
    from core.equal.tune import TABLE_FORMATS, TuneGrid, TuneJob, parse_axis, rank_cells, write_table

    if Path(args.out).suffix.lower() not in TABLE_FORMATS:  # before any map or model is loaded
        raise ValueError(f"--out {Path(args.out).name}: the suffix picks the format, use .csv or .parquet")
    _make_out_folder(args.out)  # before the grid runs, not after
    budget = _budget_default(args.budget_kind) if args.budget is None else args.budget
    try:
        base = config_from_values({"policy": args.policy, "budget_kind": args.budget_kind, "budget": budget,
                                   "extractor": args.extractor})
    except SettingRefusedError as exc:
        raise ValueError(exc.for_cli()) from exc
    grid = TuneGrid(tuple(parse_axis(v) for v in args.vary), tuple(range(args.seed, args.seed + args.seeds)), base)
    extractor = kept_on_disk(make_checked_extractor(args.extractor))  # the next tune replays what --spend extracts
    cmap, encoder = _load_map(args)
    embed = encoder_embedder(encoder)
    ref_set = load_reference(args.reference)
    on_task = on_task_ids(ref_set.name, cmap.corpus.ids) if args.corpus == "builtin" else None
    job = TuneJob(grid, ArmSpace.from_corpus_map(cmap), extractor, embed, embed(ref_set.texts()), on_task=on_task,
                  spend=args.spend)
    bar = tqdm(total=grid.n_runs, unit="run", desc="grid", file=sys.stderr, disable=args.quiet)
    while job.running:
        progress = job.advance(budget_s=0.5)
        bar.set_description(progress.stage or "grid")
        bar.total = progress.total
        bar.update(progress.done - bar.n)
    bar.close()
    if job.status == "failed":
        raise ValueError(str(job.error))
    table = job.result
    write_table(table, args.out)
    best = rank_cells(table).iloc[0]
    print(f"wrote {len(table):,} rows ({grid.n_runs} runs: {len(grid.cells())} cells and Random and Avg-sim, each "
          f"over {len(grid.seeds)} seeds, a deterministic one once) to {args.out}; closest to the reference: "
          f"{best['cell']} (coverage {best['coverage']:.3f})")
    return 0


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_index, _add_run, _add_export, _add_warmup,
                                                                   _add_extract_all, _add_tune]


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m core.equal", description="EQUAL corpus tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _SUBCOMMANDS:
        add(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError, DiskFullError) as exc:  # a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
