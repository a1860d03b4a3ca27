"""The ``fleetsync`` command line: one sub-module per command group.

Each group module exposes ``register(subparsers)``, which adds its parser and sets
``handler``, a function taking the parsed arguments and returning the exit code.
Errors of the ``FleetsyncError`` tree print as one line on stderr and exit 1 unless
the handler chose another code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.cli import app, local, render, serve, sync
from engine.errors import FleetsyncError

GROUPS = (app, local, render, serve, sync)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``fleetsync`` command."""
    parser = argparse.ArgumentParser(prog="fleetsync", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``fleetsync`` command and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except FleetsyncError as err:
        print(f"fleetsync: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
