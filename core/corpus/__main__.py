"""Command line of the corpus map: ``python -m core.corpus distill|index ...``.

``distill`` builds the static encoder tier once (``make setup`` runs it, so the first page open
never waits for it). ``index`` streams a corpus of any size (JSONL, Parquet or a folder of text
files, read in chunks) through the fast tier into a large map index (see ``core.corpus.stream``),
printing each step's done/total, rate, time left and whether it is one-time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _distill(args: argparse.Namespace) -> int:
    from core.corpus.encoders import distill_static_model, setup_models_dir

    t = time.perf_counter()
    out = distill_static_model(args.pca_dims, out_dir=setup_models_dir() if args.setup else None)
    print(f"static encoder ready in {out} ({time.perf_counter() - t:.0f} s; one-time, cached)")
    return 0


def _index(args: argparse.Namespace) -> int:
    from core.corpus.progress import ProgressPrinter
    from core.corpus.stream import LargeIndexConfig, StreamFormatError, index_large_corpus

    try:
        config = LargeIndexConfig(encoder_name=args.encoder, k=args.k, seed=args.seed, chunk_size=args.chunk_size,
                                  layout_sample=args.layout_sample, float16=not args.float32,
                                  text_field=args.text_field)
        t = time.perf_counter()
        lmap = index_large_corpus(args.corpus, config, report=ProgressPrinter())
    except (StreamFormatError, ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = lmap.meta
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in m["timings"].items())
    print(f"indexed {m['n']:,} documents ({m['documents']:,} read, {m['skipped']:,} skipped) into {m['k']} clusters "
          f"with {m['encoder']} in {time.perf_counter() - t:.1f} s ({timings}); index at {lmap.folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core.corpus", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("distill", help="build the static (model2vec) encoder tier from the packaged MiniLM, once")
    d.add_argument("--pca-dims", type=int, default=256)
    d.add_argument("--setup", action="store_true", help="write into the virtualenv (make setup) instead of the cache")
    d.set_defaults(func=_distill)
    i = sub.add_parser("index", help="stream a corpus of any size into a large map index")
    i.add_argument("--corpus", required=True, help="a .jsonl/.ndjson or .parquet file, or a folder of .txt/.md/.rst")
    i.add_argument("--encoder", default="static-minilm", help="encoder tier (default: the static tier)")
    i.add_argument("--k", type=int, default=None, help="clusters (default sqrt(n/2), at most 200)")
    i.add_argument("--seed", type=int, default=42)
    i.add_argument("--chunk-size", type=int, default=20_000, help="documents read and embedded at a time")
    i.add_argument("--layout-sample", type=int, default=10_000, help="documents UMAP lays out; the rest are placed")
    i.add_argument("--float32", action="store_true", help="store embeddings as float32 (default float16)")
    i.add_argument("--text-field", default=None)
    i.set_defaults(func=_index)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
