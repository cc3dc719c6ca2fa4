"""Command line of the corpus map: ``python -m core.corpus distill|index ...``.

``distill`` builds the static encoder tier once, ``variants`` checks the quality encoder's faster CPU
variants against fp32 once (``core.corpus.variants``), and ``prepare`` harvests the built-in corpus and
compiles UMAP once (``make setup`` runs both, so the first page open waits for neither).
``index`` streams a corpus of any size (JSONL, Parquet or a folder of text files, read in
chunks) through the fast tier into a large map index (see ``core.corpus.stream``),
printing each step's done/total, rate, time left and whether it is one-time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from core.cli import CommandParser

os.environ.setdefault("HF_HUB_OFFLINE", "1")
FIRST_MAP_DOCUMENTS = None  # the Corpus map page's default built-in size: all of it (pages.common.builtin_limit)


def _distill(args: argparse.Namespace) -> int:
    from core.corpus.encoders import distill_static_model, setup_models_dir

    t = time.perf_counter()
    out = distill_static_model(args.pca_dims, out_dir=setup_models_dir() if args.setup else None)
    print(f"static encoder ready in {out} ({time.perf_counter() - t:.0f} s; one-time, cached)")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    """One-time set-up of the first open: the built-in corpus harvested, UMAP's numba code compiled and cached."""
    import numpy as np

    from core.corpus.project import umap_project

    t = time.perf_counter()
    print(f"built-in corpus ready in {_prepare_builtin(args.setup)} ({time.perf_counter() - t:.0f} s; one-time)")
    t = time.perf_counter()
    x = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    umap_project(x), umap_project(x, n_epochs=10)  # the map's and the large index's calls: compiled once, cached
    print(f"UMAP compiled and cached ({time.perf_counter() - t:.0f} s; one-time)")
    if args.setup:
        _prepare_first_map()
    return 0


def _prepare_builtin(setup: bool):
    """The built-in corpus harvested once: into the virtualenv (``setup``, what ``make setup`` runs), else into this
    home's cache unless the set-up copy serves it already. Returns the file it is read from."""
    from core.corpus.builtin import (
        builtin_cache_path,
        harvest_builtin_corpus,
        load_builtin_corpus,
        setup_builtin_path,
        write_builtin_cache,
    )

    if setup:
        path = setup_builtin_path()
        if not path.exists():
            write_builtin_cache(harvest_builtin_corpus(), path)
        return path
    load_builtin_corpus()  # this home's cache, else the set-up copy, else harvested and cached here
    return builtin_cache_path() if builtin_cache_path().exists() else setup_builtin_path()


def _prepare_first_map() -> None:
    """The map a first open shows (built-in corpus, the page's default size and settings, static tier), built once."""
    from core.corpus.builtin import setup_builtin_corpus
    from core.corpus.encoders import STATIC_MODEL, static_model_ready
    from core.corpus.mapping import build_corpus_map, default_map_settings, save_corpus_map, setup_maps_dir

    # the set-up copy, not this home's own harvest (two harvests can differ in a few texts: another map)
    corpus = setup_builtin_corpus(limit=FIRST_MAP_DOCUMENTS)
    if corpus is None or not static_model_ready():
        print("first map not built: the static tier or the set-up corpus is missing")
        return
    t = time.perf_counter()
    cmap = build_corpus_map(corpus, default_map_settings(STATIC_MODEL, len(corpus)), use_cache=False)
    folder = save_corpus_map(cmap, root=setup_maps_dir())
    print(f"first map of the built-in corpus ({len(corpus):,} documents, static tier) in {folder} "
          f"({time.perf_counter() - t:.0f} s; one-time)")


def _variants(args: argparse.Namespace) -> int:
    """Check the quality encoder's faster CPU variants against fp32 on a sample of the built-in corpus (cached)."""
    from core.corpus.builtin import load_builtin_corpus
    from core.corpus.encoders import SentenceEncoder
    from core.corpus.variants import (
        CHECK_SAMPLE,
        cached_check,
        candidates,
        cpu_features,
        describe_adoption,
        select_variant,
    )

    try:
        encoder = SentenceEncoder(args.encoder, device="cpu", variant="fp32")
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    texts = load_builtin_corpus(limit=CHECK_SAMPLE).texts
    t = time.perf_counter()
    select_variant(encoder, texts)
    print(f"CPU features: {', '.join(sorted(cpu_features())) or 'none a variant needs'}")
    for variant in candidates():
        check = cached_check(encoder.space_base, variant.name)
        print(f"  {variant.name}: {check.describe() if check else 'not measured'}")
    print(f"{args.encoder} runs as: {describe_adoption(encoder)} ({time.perf_counter() - t:.0f} s; cached per CPU)")
    return 0


def _index(args: argparse.Namespace) -> int:
    from core.corpus.progress import ProgressPrinter
    from core.corpus.stream import LargeIndexConfig, StreamFormatError, index_large_corpus

    try:
        config = LargeIndexConfig(encoder_name=args.encoder, k=args.k, seed=args.seed, chunk_size=args.chunk_size,
                                  layout_sample=args.layout_sample, float16=not args.float32,
                                  text_field=args.text_field, align_docs=args.align)
        t = time.perf_counter()
        lmap = index_large_corpus(args.corpus, config, report=ProgressPrinter())
    except (StreamFormatError, ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = lmap.meta
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in m["timings"].items())
    print(f"indexed {m['n']:,} documents ({m['read']:,} records read, {m['skipped']:,} skipped) into {m['k']} "
          f"clusters with {m['encoder']} in {time.perf_counter() - t:.1f} s ({timings}); index at {lmap.folder}")
    if m.get("columns"):  # the file's own columns, which the Large corpus page colours by
        print(f"the file's own columns kept: {', '.join(m['columns'])}")
    for where, note in m["issues"]:  # what was skipped or kept with a problem (the first 20), by file and line
        print(f"  {where}: {note}")
    if m.get("alignment"):
        from core.corpus.align import describe_alignment

        print(f"static vectors {describe_alignment(m['alignment'])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = CommandParser(prog="python -m core.corpus", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("distill", help="build the static (model2vec) encoder tier from the packaged MiniLM, once")
    d.add_argument("--pca-dims", type=int, default=256)
    d.add_argument("--setup", action="store_true", help="write into the virtualenv (make setup) instead of the cache")
    d.set_defaults(func=_distill)
    p = sub.add_parser("prepare", help="harvest the built-in corpus into the cache (unless the set-up copy serves it) "
                                       "and compile UMAP, once")
    p.add_argument("--setup", action="store_true", help="write the corpus into the virtualenv (make setup)")
    p.set_defaults(func=_prepare)
    v = sub.add_parser("variants", help="check the quality encoder's faster CPU variants (bf16, int8) against fp32, "
                                         "once per CPU; a passing one is used from then on")
    v.add_argument("--encoder", default="all-MiniLM-L6-v2 (packaged)", help="the sentence-transformers model")
    v.set_defaults(func=_variants)
    i = sub.add_parser("index", help="stream a corpus of any size into a large map index")
    i.add_argument("--corpus", required=True,
                   help="a .jsonl/.ndjson, .csv/.tsv or .parquet file, or a folder of .txt/.md/.rst")
    i.add_argument("--encoder", default="static-minilm", help="encoder tier (default: the static tier)")
    i.add_argument("--k", type=int, default=None, help="clusters (default sqrt(n/2), at most 200)")
    i.add_argument("--seed", type=int, default=42)
    i.add_argument("--chunk-size", type=int, default=20_000, help="documents read and embedded at a time")
    i.add_argument("--layout-sample", type=int, default=10_000, help="documents UMAP lays out; the rest are placed")
    i.add_argument("--float32", action="store_true", help="store embeddings as float32 (default float16)")
    i.add_argument("--text-field", default=None)
    i.add_argument("--align", type=int, default=1024, metavar="N",
                   help="documents MiniLM embeds to fit a ridge map from the static tier into its space "
                        "(about a minute on 2 cores; 0: keep the static space)")
    i.set_defaults(func=_index)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
