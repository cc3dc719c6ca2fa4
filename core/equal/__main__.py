"""Command line: ``python -m core.equal index --corpus PATH|builtin [--limit N] [--k K] [--encoder NAME] [--seed S]``.

``index`` runs load -> embed -> cluster -> project -> keywords and writes the map cache that
the dashboard reads, so a later page open recomputes nothing. Bad input exits with code 2
and a one-line message. Subcommands live in ``_SUBCOMMANDS``; add new ones there.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _add_index(sub: argparse._SubParsersAction) -> None:
    from core.equal.encoders import DEFAULT_MODEL

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
    p.set_defaults(func=_run_index)


def _run_index(args: argparse.Namespace) -> int:
    import math

    from tqdm import tqdm

    from core.equal.corpus import load_corpus
    from core.equal.encoders import load_encoder
    from core.equal.mapping import MapSettings, build_corpus_map, map_cache_path

    if args.corpus == "builtin":
        from core.equal.builtin import load_builtin_corpus

        corpus = load_builtin_corpus(limit=args.limit)
        print(f"built-in corpus: {len(corpus):,} documents", file=sys.stderr)
    else:
        corpus, report = load_corpus(args.corpus, text_field=args.text_field)
        print(report.summary(), file=sys.stderr)
    k = args.k or int(min(200, max(2, round(math.sqrt(len(corpus) / 2)))))
    settings = MapSettings(encoder_name=args.encoder, k=k, seed=args.seed,
                           umap_neighbors=args.umap_neighbors, umap_min_dist=args.umap_min_dist)
    encoder = load_encoder(args.encoder)
    stages = ("embed", "cluster", "project", "keywords")
    with tqdm(total=len(stages) * 100, unit="%", desc="index", file=sys.stderr) as bar:
        def progress(stage: str, fraction: float) -> None:
            bar.set_description(stage)
            target = int(round((stages.index(stage) + min(max(fraction, 0.0), 1.0)) * 100))
            bar.update(max(0, target - bar.n))

        cmap = build_corpus_map(corpus, settings, encoder=encoder, progress=progress)
    print(f"indexed {len(corpus):,} documents into {k} clusters "
          f"({int(cmap.neighbours.sum()) // 2} neighbour pairs); cache: {map_cache_path(corpus, settings)}")
    return 0


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.equal", description="EQUAL corpus tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _SUBCOMMANDS:
        add(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:  # bad input: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
