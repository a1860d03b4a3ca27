"""``fleetsync local build|up|down|status``: the real local clusters of clusters/local."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.local import fleet, toolchain


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``local`` command group."""
    parser = sub.add_parser("local", help="run real local Kubernetes control planes")
    local_sub = parser.add_subparsers(dest="local_command", required=True, metavar="ACTION")

    build = local_sub.add_parser("build", help="build (or find cached) the pinned binaries")
    build.set_defaults(handler=_build)

    up = local_sub.add_parser("up", help="start N clusters on loopback")
    up.add_argument("--clusters", type=int, default=1, metavar="N", help="how many (default 1)")
    _dir_argument(up)
    up.set_defaults(handler=_up)

    down = local_sub.add_parser("down", help="stop the clusters of a directory")
    _dir_argument(down)
    down.set_defaults(handler=_down)

    status = local_sub.add_parser("status", help="list the clusters of a directory")
    _dir_argument(status)
    status.set_defaults(handler=_status)


def _dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=fleet.default_directory(),
        help=f"state directory (default {fleet.default_directory()})",
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _build(args: argparse.Namespace) -> int:
    print(toolchain.ensure_binaries())
    return 0


def _up(args: argparse.Namespace) -> int:
    if args.clusters < 1:
        _say("fleetsync: error: --clusters must be at least 1")
        return 2
    bin_dir = toolchain.ensure_binaries()
    clusters = fleet.up(args.dir, args.clusters, bin_dir, log=_say)
    for cluster in clusters:
        print(f"{cluster.name}\t{cluster.server}\t{cluster.kubeconfig}")
    print(f"registration file: {args.dir / fleet.REGISTRATION_FILE}")
    print(f"try: {bin_dir / 'kubectl'} --kubeconfig {clusters[0].kubeconfig} get nodes")
    return 0


def _down(args: argparse.Namespace) -> int:
    fleet.down(args.dir, log=_say)
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = fleet.status(args.dir)
    if not rows:
        print(f"no local clusters in {args.dir}")
        return 0
    print("NAME\tSTATE\tSERVER\tLABELS\tKUBECONFIG")
    for row in rows:
        state = (
            "running"
            if row.running
            else "stopped: " + ",".join(name for name, alive in row.processes.items() if not alive)
        )
        labels = ",".join(f"{k}={v}" for k, v in row.cluster.labels.items())
        print(
            f"{row.cluster.name}\t{state}\t{row.cluster.server}\t{labels}\t{row.cluster.kubeconfig}"
        )
    return 0 if all(r.running for r in rows) else 1
