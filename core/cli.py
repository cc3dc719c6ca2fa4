"""What every command line (``python -m core.equal|ctar|debias|corpus``) shares.

:class:`CommandParser` is argparse's parser without prefix matching: argparse would read
``--docs-per 2`` as ``--docs-per-pull 2``, so a flag a check looks for by its full name (``run
--resume`` refuses settings that differ from the recorded ones) could slip past it. A
subcommand's parser is of the same class (argparse builds subparsers with the parent's class).

>>> parser = CommandParser(prog="demo")
>>> _ = parser.add_argument("--docs-per-pull", type=int)
>>> parser.parse_args(["--docs-per-pull", "2"]).docs_per_pull
2
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["CommandParser"]


class CommandParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with ``allow_abbrev=False`` unless told otherwise: flags are spelt in full."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
