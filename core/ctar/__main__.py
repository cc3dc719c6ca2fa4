"""Command line: ``python -m core.ctar generate ...`` and ``python -m core.ctar stats FOLDER``.

Examples::

    python -m core.ctar generate --out /tmp/ctar                       # synthetic catalogue, CTAR defaults
    python -m core.ctar generate --inputs ../shared/data/ctar/original --out /tmp/ctar --format both
    python -m core.ctar generate --n-users 10000 --mode normalised --set rating_rate=0.05 --do exposure=uniform
    python -m core.ctar generate --n-users 1e5 --format partitioned --out /tmp/ctar1e8   # 1e8 pairs, streamed
    python -m core.ctar generate --n-users 1e5 --format partitioned --engine ray --workers 4 --out /tmp/ctar1e8
    python -m core.ctar stats ../shared/data/ctar/release
    python -m core.ctar stats /tmp/ctar1e8                                               # a partitioned output

``--format partitioned`` streams (:mod:`core.ctar.stream`): one Parquet part per block of users,
bounded memory, resumable (rerun the same command after a crash), the same data as in memory.

Exit status 0 on success, 2 on a bad input or parameter (the message names it).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from core.cli import CommandParser
from core.ctar.config import CTARConfig, CTARConfigError
from core.ctar.inputs import CTARInputError, load_inputs
from core.disk import DiskFullError
from core.limits import SizeError, parse_bool, parse_count

if TYPE_CHECKING:  # the export module (pandas, pyarrow) is imported only when a command needs it
    from core.ctar.export import Format


def _parse_value(name: str, text: str, kinds: dict[str, type]) -> object:
    """One ``NAME=VALUE`` value, strictly: bools are true/false (not "anything else is False"),
    counts accept ``1e6``/``1_000_000`` but not ``2.5``, floats must be finite."""
    if name not in kinds:
        raise CTARConfigError(f"unknown parameter {name!r}; known: {sorted(kinds)}")
    kind = kinds[name]
    if kind is bool:
        return parse_bool(text, name, CTARConfigError)
    if kind is str:
        return text
    if kind is int:
        return parse_count(text, name, low=-(2**63), error=CTARConfigError)
    try:
        value = kind(text)
    except ValueError as exc:
        raise CTARConfigError(f"{name}: cannot read {text!r} as {kind.__name__}") from exc
    if kind is float and value != value or value in (float("inf"), float("-inf")):
        raise CTARConfigError(f"{name} must be a finite number, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        return parse_count(text, "a size", low=0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _workers(text: str) -> int:
    try:
        return parse_count(text, "workers", low=1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _kinds() -> dict[str, type]:
    base = CTARConfig()
    return {f.name: type(getattr(base, f.name)) for f in fields(CTARConfig)}


def _build_parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="python -m core.ctar", description="CTAR semi-synthetic dataset generator")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="sample a dataset and write it in CTAR's layout")
    g.add_argument(
        "--inputs", default="synthetic", help="'synthetic' (default), a CTAR original folder or a MovieLens folder"
    )
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--format", choices=("csv", "parquet", "both", "partitioned"), default="csv",
                   help="csv/parquet/both: sampled in memory; partitioned: streamed block by block to Parquet")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where the blocks of --format partitioned run (ray: RAY_ADDRESS or a local Ray)")
    g.add_argument("--workers", type=_workers, default=1, help="Ray workers (--engine ray; at least 1)")
    g.add_argument("--mode", choices=("exact", "normalised"), default="exact")
    g.add_argument("--n-users", type=_count, default=1000, help="users (1000, 1e6, 1_000_000)")
    g.add_argument("--n-movies", type=_count, default=1000)
    g.add_argument("--seed", type=_count, default=9527)
    g.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="any CTARConfig parameter")
    g.add_argument(
        "--do",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="intervention: exposure=uniform, obstag=uniform, tag_effect=0, n_match=2, quality=4, rating=5",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    s = sub.add_parser("stats", help="print the statistics of a dataset folder in CTAR's layout")
    s.add_argument("folder", help="CTAR's layout in CSV or Parquet (of --format both: its csv/ copy), or a "
                                  "partitioned output")
    return p


def _generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.ctar.export import export_sample
    from core.ctar.sampler import Intervention, sample

    kinds = _kinds()
    changes = {"mode": args.mode, "n_users": args.n_users, "n_movies": args.n_movies, "seed": args.seed}
    for item in args.set:
        name, _, value = item.partition("=")
        changes[name.strip()] = _parse_value(name.strip(), value.strip(), kinds)
    config = CTARConfig(**changes)
    do_kinds = {"exposure": str, "obstag": str, "tag_effect": float, "n_match": int, "quality": float, "rating": int}
    do: dict[str, Any] = {}  # each value read by _parse_value, then checked by Intervention
    for item in args.do:
        name, _, value = item.partition("=")
        do[name.strip()] = _parse_value(name.strip(), value.strip(), do_kinds)
    intervention = Intervention(**do)
    if args.engine != "local" and args.format != "partitioned":
        raise CTARConfigError(f"--engine {args.engine} needs --format partitioned (got --format {args.format})")
    if args.format != "partitioned":
        from core.ctar.stream import check_not_stream_output

        check_not_stream_output(args.out, args.format)  # before sampling
    inputs = load_inputs(args.inputs)
    for note in inputs.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.format == "partitioned":
        return _generate_stream(args, config, inputs, intervention)
    bar = tqdm(total=100, desc="CTAR", unit="%", disable=args.quiet, file=sys.stderr)

    def progress(fraction: float, message: str) -> None:
        bar.n = int(round(100 * fraction))
        bar.set_postfix_str(message)
        bar.refresh()

    result = sample(config, inputs, progress=progress, intervention=intervention)
    bar.close()
    formats: tuple[Format, ...] = ("csv", "parquet") if args.format == "both" else (args.format,)
    for fmt in formats:
        out = args.out if len(formats) == 1 else f"{args.out}/{fmt}"
        paths = export_sample(result, out, fmt=fmt)
        print(f"wrote {len(paths)} files to {out}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    _print_summary(result, config, intervention)
    return 0


_SUMMARY_ITEMS = ["ratings", "density", "ObsTag pairs", 'ObsTag "-1" pairs', 'RCTTag "-1" share', "Test I rows",
                  "Test II rows", "Test III rows"]


def _print_summary(result: Any, config: CTARConfig, intervention: Any) -> None:
    """The few statistics a sample is checked by at a glance, and how long it took."""
    from core.ctar.stats import format_statistics, summarize

    stats = summarize(result.tables())
    print(format_statistics(stats[stats["item"].isin(_SUMMARY_ITEMS)]).to_string(index=False))
    print(f"sampled {config.n_pairs:,} pairs in {result.seconds:.1f} s ({intervention.describe()})")


def _generate_stream(args: argparse.Namespace, config: CTARConfig, inputs: Any, intervention: Any) -> int:
    from tqdm import tqdm

    from core.ctar.stream import generate_stream

    runner = None
    if args.engine == "ray":
        from core.engine.ray_engine import RayConfig
        from core.engine.ray_jobs import ray_block_runner

        runner = ray_block_runner(RayConfig(workers=args.workers))
    bar = tqdm(desc="CTAR blocks", unit="block", disable=args.quiet, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        report = generate_stream(config, args.out, inputs, intervention=intervention, runner=runner,
                                 engine=args.engine, progress=progress)
    except RuntimeError as exc:  # no Ray, an unreachable cluster, a block failing every try: a message, rc 2
        if runner is None:
            raise
        raise CTARConfigError(f"--engine ray: {exc}") from exc
    finally:
        bar.close()
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(report.describe())
    return 0


def _stats(args: argparse.Namespace) -> int:
    import pandas as pd

    from core.ctar.stats import format_statistics, summarize
    from core.ctar.stream import is_stream_output, load_stream
    from core.ctar.tables import load_release

    tables = load_stream(args.folder) if is_stream_output(args.folder) else load_release(args.folder)
    with pd.option_context("display.max_rows", 200, "display.width", 120):
        print(format_statistics(summarize(tables)).to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return _generate(args) if args.command == "generate" else _stats(args)
    # a full disk names the file not written; a malformed EQUALCTAR_MEMORY_BUDGET names the variable
    except (CTARConfigError, CTARInputError, DiskFullError, SizeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
