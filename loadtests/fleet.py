"""``python -m loadtests fleet``: the hub against the floor of this machine, in one run.

1. **Set-up**: C real local clusters, a git daemon serving the generated repository
   (``loadtests.fleetgen``: A apps of K objects on shared bases), and a hub directory with
   one Argo CD Application per (app, cluster) or one fleetsync Application per app.
2. **Floor** (``loadtests.floor``): the objects the hub will write, rendered from the same
   commit, applied by a bare SSA loop at the best per-cluster concurrency of a probe, without
   and with a dry run first, plus an update of every copy of the shared base's ConfigMap;
   wiped in between (namespaces deleted and gone). Then the API servers' background request
   rate is read over a quiet window.
3. **Cold sync**: ``fleetsync serve`` as a child process until every pair is Synced and
   Healthy in ``GET /api/v1/apps``; hub CPU, peak RSS and API requests by verb.
4. **Steady state**: the first resync round after start, then a window in which nothing
   changes: hub CPU %, API requests per resync pass, objects written, renders.
5. **Latencies** (``loadtests.latency``): commit → applied and drift → healed, then the same
   while one cluster's kube-apiserver is stopped, compared with normal.

Results: ``<out>/fleet-<UTC>.json`` and, unless ``--no-plots``, PNG plots
(``loadtests.report``). Loopback only; every wait is bounded; clusters, git daemon and hub
are stopped however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.local import toolchain
from loadtests import common, fleetgen, kube, latency, profile, report
from loadtests.kube import Kube
from loadtests.phases import Run, measure, say
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream, serve_git
from tests.support.hubkit import HubDir, hub_dir


@dataclass
class Settings:
    """The parameters of one run (all written to the JSON)."""

    clusters: int = 3
    apps: int = 100
    objects: int = 4
    per_namespace: int = 1
    mode: str = "argocd"
    reconcile: float = 30.0
    git_poll: float = 30.0
    window: float = 60.0
    background_window: float = 10.0
    concurrencies: list[int] = field(default_factory=lambda: [4, 8, 16, 32])
    probe_objects: int = 200
    webhook_repeats: int = 20
    base_repeats: int = 1
    poll_repeats: int = 5
    drift_repeats: int = 20
    hub_per_cluster: int | None = None
    hub_concurrency: int | None = None
    cluster_qps: float | None = None
    cluster_applies: int | None = None
    outage_detect_timeout: float = 60.0
    plots: bool = True
    profile: bool = False
    profile_gil: bool = False
    memory_profile: bool = False
    memory_stats: bool = False
    keep_hub_log: bool = False
    smoke: bool = False
    label: str = ""
    out: str = str(common.RESULTS)

    @property
    def pairs(self) -> int:
        return self.clusters * self.apps

    def repeats(self) -> latency.Repeats:
        return latency.Repeats(self.webhook_repeats, self.base_repeats, self.poll_repeats,
                               self.drift_repeats)


SMOKE = {"clusters": 2, "apps": 20, "objects": 4, "reconcile": 10.0, "git_poll": 5.0,
         "window": 10.0, "background_window": 5.0, "concurrencies": [4, 16],
         "probe_objects": 20, "webhook_repeats": 3, "base_repeats": 1, "poll_repeats": 2,
         "drift_repeats": 2, "outage_detect_timeout": 30.0, "plots": False}


def _duration(seconds: float) -> str:
    return f"{seconds:g}s"


# ------------------------------------------------------------------ set-up
def hub_extra(settings: Settings) -> dict[str, Any]:
    """fleetsync.yaml keys the run sets beside hub_dir's defaults."""
    extra: dict[str, Any] = {"git": {"pollInterval": _duration(settings.git_poll),
                                     "timeout": "30s"}}
    limits = {k: v for k, v in (("perCluster", settings.hub_per_cluster),
                                ("concurrency", settings.hub_concurrency)) if v}
    if limits:
        extra["limits"] = limits
    return extra


def cluster_limits(settings: Settings) -> dict[str, Any]:
    """The ``limits`` of every cluster entry in clusters.yaml the run sets (none: the hub's
    defaults)."""
    return {k: v for k, v in (("qps", settings.cluster_qps),
                              ("concurrentApplies", settings.cluster_applies)) if v}


def write_cluster_limits(directory: HubDir, limits: dict[str, Any]) -> None:
    """Give every cluster of the hub directory's clusters.yaml these ``limits``."""
    if not limits:
        return
    path = directory.root / "clusters.yaml"
    registration = yaml.safe_load(path.read_text())
    for entry in registration["clusters"]:
        entry["limits"] = dict(limits)
    path.write_text(yaml.safe_dump(registration))


def versions(bin_dir: Path, kubernetes: str) -> dict[str, str]:
    """Versions of what ran: fleetsync's commit, Python, Kubernetes, etcd, kwok, git."""
    def first_line(argv: list[str]) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
        return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 \
            else "unknown"

    return {"fleetsync_commit": common.git_commit(), "python": platform.python_version(),
            "kubernetes": kubernetes, "etcd": first_line([str(bin_dir / "etcd"), "--version"]),
            "kwok": first_line([str(bin_dir / "kwok"), "--version"]),
            "git": first_line(["git", "--version"])}


async def _kubernetes_version(kubes: dict[str, Kube]) -> str:
    found = await next(iter(kubes.values())).request("GET", "/version")
    return str(found["gitVersion"])


async def _run_async(settings: Settings, clusters: list[TestCluster], scratch: Path,
                     daemon: Daemon, info: dict[str, Any]) -> dict[str, Any]:
    names = [c.name for c in clusters]
    say(f"repository: {settings.apps} apps x {settings.objects} objects")
    upstream = new_upstream(daemon, scratch, "fleet",
                            dict(fleetgen.repository(settings.apps, settings.objects)))
    info["git_sha_of_fleet_repo"] = upstream.git("rev-parse", "HEAD")
    apps = fleetgen.application_files(settings.mode, settings.apps, names, upstream.url,
                                      _duration(settings.reconcile), settings.per_namespace)
    directory = hub_dir(scratch / "hub", clusters, apps, extra=hub_extra(settings))
    write_cluster_limits(directory, cluster_limits(settings))
    async with kube.connect({c.name: c.kubeconfig for c in clusters},
                            connections=max(settings.concurrencies) + 8) as kubes:
        info["versions"] = versions(toolchain.ensure_binaries(log=lambda _m: None),
                                    await _kubernetes_version(kubes))
        run = Run(settings, clusters, scratch / "clusters", upstream,
                  fleetgen.targets(settings.mode, settings.apps, names, settings.per_namespace),
                  kubes,
                  stamp=info["when"])
        return await measure(run, directory)


def run(settings: Settings) -> Path:
    """One whole run; the path of the JSON written. The hub's log is kept beside it with
    ``--keep-hub-log``, and always when the run fails."""
    stamp = report.stamp()
    info: dict[str, Any] = {"benchmark": "fleet", "when": stamp, "machine": common.machine(),
                            "parameters": asdict(settings) | {"pairs": settings.pairs}}
    begun = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        scratch = Path(tmp)
        (scratch / "git").mkdir()
        hub_log = scratch / "hub" / "hub.log"
        try:
            with serve_git(scratch / "git") as daemon, common.local_clusters(
                    scratch / "clusters", settings.clusters, say) as clusters:
                result = asyncio.run(_run_async(settings, clusters, scratch, daemon, info))
        except BaseException:
            _keep(hub_log, settings, stamp)
            raise
        if settings.keep_hub_log:
            _keep(hub_log, settings, stamp)
    info["wall_s"] = time.monotonic() - begun
    return report.write(info | result, settings, stamp)


def _keep(hub_log: Path, settings: Settings, stamp: str) -> None:
    if hub_log.exists():
        kept = Path(settings.out) / f"fleet-{stamp}-hub.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(hub_log, kept)
        say(f"hub log kept: {kept}")


def settings_from(args: argparse.Namespace) -> Settings:
    """The run's settings: the defaults, ``--smoke``'s, then every option given."""
    settings = Settings(**(SMOKE if args.smoke else {}), smoke=args.smoke)
    for name in vars(settings):
        value = getattr(args, name, None)
        if value is not None and name != "smoke":
            setattr(settings, name, value)
    return settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m loadtests fleet`` (unset ones keep the defaults)."""
    add = parser.add_argument
    add("--clusters", type=int, help="local clusters (default 3; smoke 2)")
    add("--apps", type=int, help="apps (default 100; smoke 20)")
    add("--objects", type=int, help="objects per app (default 4)")
    add("--per-namespace", dest="per_namespace", type=int,
        help="apps sharing one namespace (default 1: a namespace per app)")
    add("--mode", choices=fleetgen.MODES,
        help="argocd: an Application per (app, cluster); fleet: one per app (default argocd)")
    add("--reconcile", type=float, help="timeout.reconcile of every app, seconds (30)")
    add("--git-poll", dest="git_poll", type=float, help="git.pollInterval, seconds (30)")
    add("--window", type=float, help="steady-state window, seconds (60)")
    add("--background-window", dest="background_window", type=float,
        help="seconds of no hub to read the API servers' own request rate (10)")
    add("--concurrencies", type=int, nargs="+", help="floor probe, per cluster (4 8 16 32)")
    add("--probe-objects", dest="probe_objects", type=int,
        help="objects per cluster in each probe (200)")
    add("--webhook-repeats", dest="webhook_repeats", type=int, help="one-app commits (20)")
    add("--base-repeats", dest="base_repeats", type=int, help="shared-base commits (1)")
    add("--poll-repeats", dest="poll_repeats", type=int, help="commits without webhook (5)")
    add("--drift-repeats", dest="drift_repeats", type=int, help="drifts of each kind (20)")
    add("--hub-per-cluster", dest="hub_per_cluster", type=int,
        help="limits.perCluster of the hub (default: the hub's own)")
    add("--hub-concurrency", dest="hub_concurrency", type=int,
        help="limits.concurrency of the hub (default: the hub's own)")
    add("--cluster-qps", dest="cluster_qps", type=float,
        help="limits.qps of every cluster in clusters.yaml (default: the hub's own, 50)")
    add("--cluster-applies", dest="cluster_applies", type=int,
        help="limits.concurrentApplies of every cluster (default: the hub's own, 8)")
    add("--no-plots", dest="plots", action="store_false", default=None, help="write no PNG")
    add("--profile", action="store_true", default=None,
        help="py-spy the hub during cold sync, steady state and each latency step "
             "(the bench extra); "
             "collapsed stacks beside the JSON, the top functions in it")
    add("--profile-gil", dest="profile_gil", action="store_true", default=None,
        help="with --profile: sample only the thread holding the GIL (py-spy --gil), each "
             "stack under its thread's name (the JSON adds each thread's share)")
    add("--memory-profile", dest="memory_profile", action="store_true", default=None,
        help="run the hub under tracemalloc (loadtests.memtrace) and snapshot what is alive "
             "after cold sync, steady state, plan and at the end; the RSS figures of such a "
             "run include tracemalloc's own cost")
    add("--memory-stats", dest="memory_stats", action="store_true", default=None,
        help="the same snapshots without tracemalloc: RSS, glibc's heap, pymalloc's arenas "
             "and objects by type (the run's figures stay comparable)")
    add("--keep-hub-log", dest="keep_hub_log", action="store_true", default=None,
        help="copy the hub's log beside the JSON (always done when the run fails)")
    add("--smoke", action="store_true", help="2 clusters x 20 apps, short windows, no plots")
    add("--label", help="a note kept in the JSON")
    add("--out", help="directory for the JSON and plots (default loadtests/results)")


def main(args: argparse.Namespace) -> int:
    """Run once; print the summary and where the results are."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    settings = settings_from(args)
    if settings.profile:
        profile.py_spy()  # fail now, not after the floor
    out = run(settings)
    report.print_summary(json.loads(out.read_text()))
    say(f"results: {out}")
    return 0
