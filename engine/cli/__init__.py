"""The ``fleetsync`` command line: one sub-module per command group, imported only when used.

Each group module exposes ``register(subparsers)``, which adds its parser(s) and sets
``handler``, a function taking the parsed arguments and returning the exit code.
Errors of the ``FleetsyncError`` tree print as one line on stderr and exit 1 unless
the handler chose another code.

Start-up time is part of the interface (``fleetsync --help``, ``render`` and ``app`` start
in a fraction of a second; ``loadtests/cli_startup_bench.py`` measures it): ``COMMANDS``
names each command's module and summary, so only the module of the command being run is
imported, and group modules import their heavy dependencies (the hub, cluster clients,
aiohttp) inside their handlers. ``tests/unit/cli`` fails if one is imported eagerly again.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple

import engine
from engine.errors import FleetsyncError


class Command(NamedTuple):
    """Where a command lives (a module under ``engine.cli``) and its one-line summary."""

    module: str
    summary: str


COMMANDS = {
    "render": Command(
        "render", "render a kustomization or manifest directory as multi-document YAML"
    ),
    "sync": Command("sync", "apply a local directory to a cluster"),
    "diff": Command(
        "sync", "show how a cluster differs from a local directory (exit 1 if it does)"
    ),
    "app": Command("app", "list, inspect, sync and roll back apps of a hub"),
    "plan": Command("plan", "what a revision would do to every app and cluster of a hub "
                            "(dry runs; nothing written)"),
    "login": Command("login", "log in to a hub and keep its token for later commands"),
    "logout": Command("login", "end the session of the current hub"),
    "account": Command("login", "accounts of a hub: passwords and API tokens"),
    "cluster": Command("listing", "the clusters of a hub"),
    "project": Command("listing", "the AppProjects of a hub"),
    "serve": Command("serve", "run the hub: sync apps, serve API and dashboard"),
    "local": Command("local", "run real local Kubernetes control planes"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of ``fleetsync``, complete for the command ``argv`` runs; every other
    command is only listed (name and summary), so its module is never imported."""
    parser = argparse.ArgumentParser(prog="fleetsync", description=engine.__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = COMMANDS.get(_command_name(argv))
    for name, command in COMMANDS.items():
        if name in sub.choices:
            continue  # registered with its module's other commands
        if chosen is not None and command.module == chosen.module:
            importlib.import_module(f"engine.cli.{command.module}").register(sub)
        else:
            sub.add_parser(name, help=command.summary, add_help=False)
    return parser


def add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str
) -> argparse.ArgumentParser:
    """Add command ``name`` of ``COMMANDS`` (for a group module's ``register``)."""
    summary = COMMANDS[name].summary
    return sub.add_parser(name, help=summary, description=summary)


def _command_name(argv: Sequence[str]) -> str:
    """The command ``argv`` runs: its first argument that is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``fleetsync`` command and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
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
