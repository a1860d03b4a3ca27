"""``fleetsync local build|up|down|status``: the real local clusters of clusters/local."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli import add_command
from engine.config.clusters import REGISTRATION_FILE, local_directory
from engine.local import demo as demo_mod
from engine.local import fleet, toolchain


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``local`` command group."""
    parser = add_command(sub, "local")
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

    demo = local_sub.add_parser(
        "demo", help="the demo scenario: 2 clusters, a Git repo on loopback, then the hub"
    )
    demo.add_argument("--dir", type=Path, default=Path(".demo"), help="(default ./.demo)")
    demo.add_argument("--example", type=Path, default=None,
                      help="demo scenario directory (default examples/argocd-kustomize-demo)")
    demo.add_argument("--port", type=int, default=demo_mod.HUB_PORT, help="hub port")
    demo.add_argument("--prepare-only", action="store_true",
                      help="set everything up, do not start the hub")
    demo.set_defaults(handler=_demo)

    demo_down = local_sub.add_parser("demo-down", help="stop the demo's clusters and Git")
    demo_down.add_argument("--dir", type=Path, default=Path(".demo"))
    demo_down.set_defaults(handler=_demo_down)

    status = local_sub.add_parser("status", help="list the clusters of a directory")
    _dir_argument(status)
    status.set_defaults(handler=_status)


def _dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=local_directory(),
        help=f"state directory (default {local_directory()})",
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
    print(f"registration file: {args.dir / REGISTRATION_FILE}")
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


def _demo(args: argparse.Namespace) -> int:
    bin_dir = toolchain.ensure_binaries()
    example = args.example or demo_mod.default_example()
    prepared = demo_mod.prepare(args.dir.resolve(), example, bin_dir, port=args.port, log=_say)
    kubectl = bin_dir / "kubectl"
    kube = prepared.clusters[0].kubeconfig
    names = ", ".join(c.name for c in prepared.clusters)
    registration = prepared.config.parent / "clusters.yaml"
    print(f"""
The demo is set up in {prepared.directory}:
  clusters:   {names} (registration {registration})
  Git repo:   {prepared.repo_url} (commit and push from {prepared.work})
  hub config: {prepared.config}
Look at:
  dashboard   http://127.0.0.1:{args.port}/  (user admin; the hub writes the first password
              to {prepared.config.parent / "data" / "initial-admin-password"} as it starts)
  CLI         fleetsync login http://127.0.0.1:{args.port} --username admin, then
              fleetsync app list
  cluster     {kubectl} --kubeconfig {kube} get deploy,svc -n dev
Try: delete the Deployment (kubectl ... delete deploy dev-demo -n dev) and watch it return;
edit overlays/dev/kustomization.yaml in {prepared.work}, commit and `git push origin main`.
Stop the hub with Ctrl-C; stop clusters and Git with `make demo-down`.
""", flush=True)
    if args.prepare_only:
        return 0
    from engine.cli import serve

    return serve.run_hub(prepared.config, log_level="INFO")


def _demo_down(args: argparse.Namespace) -> int:
    demo_mod.stop_git(args.dir.resolve())
    fleet.down(args.dir.resolve() / "clusters", log=_say)
    return 0
