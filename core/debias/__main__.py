"""``python -m core.debias sweep ...``: run an estimator sweep and write the tidy table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli import CommandParser
from core.debias.data import GENERATORS, SYNTHETIC, DebiasConfigError, WorldConfig
from core.debias.estimators import ESTIMATORS
from core.debias.mechanisms import MECHANISMS
from core.debias.propensity import PROPENSITY_MODELS
from core.debias.sweep import IMPUTATIONS, SweepConfig, check_n_seeds, run_sweep, summarize_sweep
from core.disk import DiskFullError, write_atomic
from core.limits import SizeError, parse_count

if TYPE_CHECKING:
    import pandas as pd


def _count(text: str) -> int:
    """A whole number, also written ``1e5`` or ``100_000``."""
    try:
        return parse_count(text, "a count", low=0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _workers(text: str) -> int:
    try:
        return parse_count(text, "workers", low=1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="python -m core.debias", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sweep", help="estimators vs the ideal loss over mechanisms x strengths x seeds")
    s.add_argument("--mechanisms", nargs="+", default=["selection"], choices=MECHANISMS)
    s.add_argument(
        "--strengths",
        nargs="+",
        type=float,
        default=None,
        help="one grid for every mechanism (default: each one's grid)",
    )
    s.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=ESTIMATORS)
    s.add_argument("--seeds", type=_count, default=20, help="number of seeds (0..N-1 plus --seed-offset)")
    s.add_argument("--seed-offset", type=_count, default=0)
    s.add_argument("--users", type=_count, default=300)
    s.add_argument("--items", type=_count, default=400)
    s.add_argument(
        "--generator",
        default="ctar",
        choices=GENERATORS,
        help="who draws each world: the CTAR sampler (default) or the compact twin (faster for tiny worlds)",
    )
    s.add_argument(
        "--source",
        default=SYNTHETIC,
        help="CTAR generator's catalogue: 'synthetic' or a folder of CTAR's files or a MovieLens export",
    )
    s.add_argument("--rate", type=float, default=0.1)
    s.add_argument("--propensity", default="oracle", choices=PROPENSITY_MODELS)
    s.add_argument("--clip", type=float, default=0.0)
    s.add_argument("--imputation", default="item_mean", choices=IMPUTATIONS)
    s.add_argument("--out", type=Path, required=True, help=".csv or .parquet")
    s.add_argument("--summary", action="store_true", help="also print bias/sd/se per mechanism, strength, estimator")
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="ray: one task per seed (RAY_ADDRESS or a local Ray); the same table as local")
    s.add_argument("--workers", type=_workers, default=2, help="Ray tasks in flight (--engine ray; at least 1)")
    return parser


def _sweep_on_ray(config: SweepConfig, args: argparse.Namespace, progress: Callable[[int, int], None]) -> pd.DataFrame:
    from core.engine.ray_engine import RayConfig
    from core.engine.ray_jobs import run_sweep_ray

    try:
        return run_sweep_ray(config, RayConfig(workers=args.workers), progress=progress)
    except RuntimeError as exc:  # no Ray, an unreachable cluster, a seed failing every try: a message, rc 2
        raise DebiasConfigError(f"--engine ray: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.out.suffix.lower() not in (".csv", ".parquet"):
            raise DebiasConfigError(f"--out must end in .csv or .parquet, got {args.out}")
        config = SweepConfig(
            mechanisms=tuple(args.mechanisms),
            strengths={m: tuple(args.strengths) for m in args.mechanisms} if args.strengths else {},
            estimators=tuple(args.estimators),
            seeds=tuple(range(args.seed_offset, args.seed_offset + check_n_seeds(args.seeds))),
            world=WorldConfig(n_users=args.users, n_items=args.items, generator=args.generator, source=args.source),
            rate=args.rate,
            propensity=args.propensity,
            clip=args.clip,
            imputation=args.imputation,
        )
    except (DebiasConfigError, SizeError) as exc:  # SizeError: a malformed EQUALCTAR_MEMORY_BUDGET, named
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\r{done}/{total} worlds", end="", file=sys.stderr, flush=True)

    try:
        if args.engine == "ray":
            df = _sweep_on_ray(config, args, progress)
        else:
            df = run_sweep(config, progress=progress)
    except (DebiasConfigError, SizeError) as exc:  # e.g. the CTAR generator refuses a world it cannot fill
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write = (lambda tmp: df.to_parquet(tmp, index=False)) if args.out.suffix.lower() == ".parquet" else \
        (lambda tmp: df.to_csv(tmp, index=False))
    try:  # a temporary name renamed into place: a full disk leaves no half-written file under --out
        write_atomic(args.out, write, f"the sweep's {len(df):,} rows could not be written to {args.out.name}")
    except DiskFullError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(df):,} rows to {args.out}")
    if args.summary:
        print(summarize_sweep(df).round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
