"""``fleetsync sync`` and ``fleetsync diff``: one local directory against one cluster.

Both render PATH as ``fleetsync render`` does and address a cluster of the registration
file (``--clusters``, else ``$FLEETSYNC_CLUSTERS``, else the file ``fleetsync local up``
writes). ``diff`` exits 0 when the cluster matches, 1 when it differs, 2 on an error;
``sync`` exits 0 when the sync succeeded and 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import add_command
from engine.errors import FleetsyncError
from engine.model import OperationPhase, SyncStatus

if TYPE_CHECKING:
    from engine.model.results import SyncResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sync`` and ``diff`` commands."""
    sync_parser = add_command(sub, "sync")
    _common(sync_parser)
    sync_parser.add_argument(
        "--prune",
        action="store_true",
        help="delete objects this app applied before and no longer declares",
    )
    sync_parser.add_argument(
        "--allow-large-prune",
        action="store_true",
        help="prune even more than half of the app's objects",
    )
    sync_parser.add_argument(
        "--no-force",
        dest="force",
        action="store_false",
        help="fail on field conflicts instead of taking the fields over",
    )
    sync_parser.add_argument(
        "--create-namespace",
        action="store_true",
        help="create the destination namespace if it is missing",
    )
    sync_parser.add_argument(
        "--foreground",
        action="store_true",
        help="prune with foreground propagation (default background)",
    )
    sync_parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for every object to become healthy",
    )
    sync_parser.set_defaults(handler=_sync)
    diff_parser = add_command(sub, "diff")
    _common(diff_parser)
    diff_parser.set_defaults(handler=_diff)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="kustomization or plain manifest directory")
    parser.add_argument("--cluster", required=True, help="registered cluster name")
    parser.add_argument("--namespace", required=True, help="destination namespace")
    parser.add_argument(
        "--clusters",
        type=Path,
        default=None,
        metavar="FILE",
        help="registration file (default $FLEETSYNC_CLUSTERS, else the one"
        " `fleetsync local up` writes)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory bounding every file read (default: the Git work tree holding PATH, "
        "else PATH)",
    )
    parser.add_argument(
        "--app",
        default=None,
        help="app name: owns the inventory and tracking ids (default: PATH's directory name)",
    )


def app_name(path: Path) -> str:
    """A DNS-label-like app name from a directory name."""
    name = re.sub(r"[^a-z0-9-]+", "-", path.absolute().name.lower()).strip("-")
    return name or "app"


async def _run(args: argparse.Namespace, *, write: bool) -> SyncResult:
    # Imported here, so that `sync --help` and `diff --help` start without the cluster client.
    from engine import render
    from engine.apply import SyncOptions, diff, sync
    from engine.cli.render import default_root
    from engine.clusters import ClusterPool, ClusterRegistry
    from engine.config.clusters import default_file

    registry = ClusterRegistry.load(args.clusters or default_file())
    path: Path = args.path
    root: Path = args.root or default_root(path)

    async def rendered() -> Sequence[Mapping[str, Any]]:
        return await asyncio.to_thread(render.build, path, root=root)

    options = SyncOptions(
        prune=getattr(args, "prune", False),
        force=getattr(args, "force", True),
        create_namespace=getattr(args, "create_namespace", False),
        allow_large_prune=getattr(args, "allow_large_prune", False),
        propagation="Foreground" if getattr(args, "foreground", False) else "Background",
        health_timeout=getattr(args, "wait", 0.0),
    )
    async with ClusterPool(registry) as pool:
        client = await pool.client(args.cluster)
        run = sync if write else diff
        return await run(
            app=args.app or app_name(path),
            client=client,
            namespace=args.namespace,
            render=rendered,
            options=options,
        )


def _sync(args: argparse.Namespace) -> int:
    result = asyncio.run(_run(args, write=True))
    for res in result.resources:
        health = f"\t{res.health.value}" if res.health else ""
        print(f"{res.key}\t{res.code.value}{health}\t{res.message}".rstrip())
    for cond in result.conditions:
        print(f"fleetsync: {cond.reason.value}: {cond.message}", file=sys.stderr)
    print(
        f"{result.app} on {result.cluster}: {result.phase.value}, "
        f"{result.sync_status.value}, {result.health.value}"
    )
    return 0 if result.phase is OperationPhase.SUCCEEDED else 1


def _diff(args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(_run(args, write=False))
    except FleetsyncError as err:
        print(f"fleetsync: error: {err}", file=sys.stderr)
        return 2
    if result.conditions:
        for cond in result.conditions:
            print(f"fleetsync: error: {cond.reason.value}: {cond.message}", file=sys.stderr)
        return 2
    from engine.diff import format_diff

    sys.stdout.write(format_diff(result.diffs))
    return 0 if result.sync_status is SyncStatus.SYNCED else 1
