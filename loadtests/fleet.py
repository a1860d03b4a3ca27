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
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from engine.local import toolchain
from loadtests import common, fleetgen, floor, kube, latency, report
from loadtests.common import HubProcess
from loadtests.floor import MANAGED, Work
from loadtests.kube import Kube, RequestKey
from loadtests.observe import LiveView
from tests.integration.git.git_remotes import Daemon, Upstream, new_upstream, serve_git
from tests.integration.hub.hubkit import hub_dir
from tests.integration.localcluster import TestCluster

WATCHED = (("v1", "ConfigMap"), ("apps/v1", "Deployment"))
STEADY_KINDS = (("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"),
                ("v1", "Namespace"))


@dataclass
class Settings:
    """The parameters of one run (all written to the JSON)."""

    clusters: int = 3
    apps: int = 100
    objects: int = 4
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
    outage_detect_timeout: float = 60.0
    plots: bool = True
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


def _say(message: str) -> None:
    print(f"[fleet] {message}", flush=True)


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


@dataclass
class Run:
    """Everything the phases share."""

    settings: Settings
    clusters: list[TestCluster]
    clusters_dir: Path
    upstream: Upstream
    targets: list[fleetgen.Target]
    kubes: dict[str, Kube]
    background_per_s: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.clusters]

    async def requests(self) -> Counter[RequestKey]:
        """``apiserver_request_total`` of every API server now."""
        return await kube.request_totals(self.kubes)

    def requests_between(
        self, before: Counter[RequestKey], after: Counter[RequestKey], seconds: float
    ) -> dict[str, Any]:
        """API requests by verb and resource between two readings, and by verb less the
        background rate measured with no hub running."""
        delta = kube.difference(after, before)
        verbs = kube.by_verb(delta)
        net = {v: max(0.0, n - self.background_per_s.get(v, 0.0) * seconds)
               for v, n in verbs.items()}
        return {"seconds": seconds, "total": sum(verbs.values()), "by_verb": verbs,
                "by_verb_less_background": {v: round(n, 1) for v, n in net.items()},
                "by_resource": kube.by_resource(delta)}


# ------------------------------------------------------------------ floor
async def _wait(check: Callable[[], Any], within: float, what: str, every: float = 0.5) -> float:
    return await common.wait_for(check, within=within, what=what, every=every)


async def wipe(run: Run) -> float:
    """Delete every managed namespace and wait until they are gone; the seconds it took."""
    started = time.monotonic()
    await floor.delete_namespaces(run.kubes)
    await _wait(lambda: floor.namespaces_gone(run.kubes), 600, "namespaces deleted", 1.0)
    return time.monotonic() - started


async def settle(run: Run) -> float:
    """Wait until every managed Deployment is Available; the seconds it took."""
    return await _wait(lambda: floor.deployments_settled(run.kubes), 600,
                       "Deployments Available", 0.5)


def common_update(work: dict[str, Work], value: str) -> dict[str, Work]:
    """Every copy of the shared ConfigMap with ``data.shared`` set to ``value``."""
    return {cluster: Work([], [{**o, "data": {**o["data"], "shared": value}}
                               for o in w.objects if o["kind"] == "ConfigMap"
                               and o["metadata"]["name"].endswith(f"-{fleetgen.COMMON}")])
            for cluster, w in work.items()}


async def floor_runs(run: Run) -> dict[str, Any]:
    """The floor: probe, then a full run without and with a dry run first, each followed by
    an update of the shared base's copies, each wiped afterwards."""
    settings = run.settings
    rendered = floor.rendered_apps(run.upstream.work, {i: fleetgen.app_path(i)
                                                       for i in range(settings.apps)})
    work = floor.plan(run.targets, rendered)
    _say(f"floor: probing concurrency {settings.concurrencies} on {settings.probe_objects} "
         "objects per cluster")
    best, rates = await floor.best_concurrency(
        run.kubes, work, settings.concurrencies, settings.probe_objects, lambda: settle(run))
    result: dict[str, Any] = {"probe_objects_per_s": rates, "best_concurrency": best,
                              "probe_wipe_s": await wipe(run)}
    for dry_run, key in ((False, "apply"), (True, "dry_run_then_apply")):
        _say(f"floor: {key} of {sum(w.count for w in work.values())} objects at {best} per "
             "cluster")
        before = await run.requests()
        figures = await floor.apply_all(run.kubes, work, concurrency=best, dry_run=dry_run)
        figures["settled_s"] = figures["seconds"] + await settle(run)
        after = await run.requests()
        figures["api_requests"] = run.requests_between(before, after, figures["settled_s"])
        update = common_update(work, f"floor-{key}")
        figures["base_update"] = await floor.apply_all(run.kubes, update, concurrency=best,
                                                       dry_run=dry_run)
        figures["wipe_s"] = await wipe(run)
        result[key] = figures
    return result


async def background(run: Run) -> dict[str, float]:
    """API requests per second by verb with no hub and no load (controllers, kwok, ...)."""
    before, started = await run.requests(), time.monotonic()
    await asyncio.sleep(run.settings.background_window)
    after = await run.requests()
    seconds = time.monotonic() - started
    return {v: n / seconds for v, n in kube.by_verb(kube.difference(after, before)).items()}


# ------------------------------------------------------------------ the hub
async def cold_sync(run: Run, hub: HubProcess, session: aiohttp.ClientSession,
                    before: Counter[RequestKey], machine0: tuple[float, float]) -> dict[str, Any]:
    """From the hub's start until every pair is Synced and Healthy in its REST API."""
    await _wait(lambda: common.healthz(session, hub), common.HUB_START_TIMEOUT, "hub up", 0.1)
    api_up = time.monotonic() - hub.started
    up_memory = hub.memory_mib()
    pairs = run.settings.pairs
    synced = await common.until_all_healthy(session, hub, pairs,
                                            180 + 0.25 * pairs * run.settings.objects)
    own, children = hub.cpu()
    memory = hub.memory_mib()
    elapsed = synced["all_healthy_s"]
    return {"pairs": pairs, "api_up_s": api_up, **synced,
            "hub_cpu_s": own, "children_cpu_s": children,
            "machine_busy_percent": common.busy_percent(machine0, common.machine_cpu()),
            "rss_at_api_up_mib": up_memory["rss_mib"], **memory,
            "peak_rss_bytes_per_pair": memory["peak_rss_mib"] * 2**20 / pairs,
            "api_requests": run.requests_between(before, await run.requests(), elapsed)}


async def managed_versions(run: Run) -> dict[str, str]:
    """resourceVersion of every managed object (the hub's, inventories too), by uid."""
    found: dict[str, str] = {}
    for k in run.kubes.values():
        for api_version, kind in STEADY_KINDS:
            items, _ = await k.list(kube.kind_path(api_version, kind), selector=MANAGED)
            found.update({i["metadata"]["uid"]: i["metadata"]["resourceVersion"] for i in items})
    return found


def render_counters(counters: dict[str, float]) -> dict[str, float]:
    """The hub's counters that count renders, if its /metrics has any."""
    return {k: v for k, v in counters.items() if "render" in k}


async def quiet_window(run: Run, hub: HubProcess, session: aiohttp.ClientSession,
                       seconds: float) -> dict[str, Any]:
    """Hub CPU, API requests, objects written and renders over ``seconds`` of no change."""
    versions0 = await managed_versions(run)
    counters0 = await common.metric_counters(session, hub)
    requests0, cpu0, machine0 = await run.requests(), hub.cpu()[0], common.machine_cpu()
    started = time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, elapsed = hub.cpu()[0], time.monotonic() - started
    requests = run.requests_between(requests0, await run.requests(), elapsed)
    machine_busy = common.busy_percent(machine0, common.machine_cpu())
    hub.check_alive()
    counters1 = await common.metric_counters(session, hub)
    versions1 = await managed_versions(run)
    renders0, renders1 = render_counters(counters0), render_counters(counters1)
    passes = elapsed / run.settings.reconcile
    return {
        "window_s": elapsed, "hub_cpu_s": cpu1 - cpu0,
        "hub_cpu_percent": 100 * (cpu1 - cpu0) / elapsed,
        "machine_busy_percent": machine_busy,
        "objects_written": sum(versions1.get(uid) != rv for uid, rv in versions0.items()),
        "objects_watched": len(versions0),
        "renders": (sum(renders1.values()) - sum(renders0.values())) if renders1 else
        "not measured (the hub's /metrics has no render counter)",
        "resync_passes": passes,
        "api_requests": requests,
        "api_requests_per_resync_pass": {
            v: round(n / passes, 1) for v, n in requests["by_verb_less_background"].items()},
        "hub_counter_deltas": {k: v - counters0.get(k, 0.0) for k, v in counters1.items()
                               if v != counters0.get(k, 0.0)},
        **hub.memory_mib()}


async def steady(run: Run, hub: HubProcess, session: aiohttp.ClientSession,
                 all_synced_s: float) -> dict[str, Any]:
    """The rest of the first resync round after start, then the steady window."""
    first_round = hub.started + all_synced_s + 1.1 * run.settings.reconcile + 3 - time.monotonic()
    first = await quiet_window(run, hub, session, max(first_round, 1.0))
    _say(f"steady: first resync round {first['hub_cpu_s']:.1f} s CPU; window "
         f"{run.settings.window:.0f} s")
    return {"first_resync_round": first,
            "window": await quiet_window(run, hub, session, run.settings.window)}


@contextlib.asynccontextmanager
async def live_views(run: Run) -> AsyncIterator[dict[str, LiveView]]:
    """A watch of the managed ConfigMaps and Deployments on every cluster."""
    views = {name: LiveView(k, WATCHED, MANAGED) for name, k in run.kubes.items()}
    try:
        await asyncio.gather(*(v.start() for v in views.values()))
        yield views
    finally:
        await asyncio.gather(*(v.close() for v in views.values()))


def stop_apiserver(clusters_dir: Path, cluster: str) -> int:
    """SIGTERM the kube-apiserver of ``cluster`` (its pid from ``fleetsync local up``'s
    state file) and wait until it is gone; its pid."""
    state = json.loads((clusters_dir / "state.json").read_text())
    pid = next(int(p["pid"]) for p in state["processes"]
               if p["component"] == "kube-apiserver" and p["cluster"] == cluster)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return pid
        if status in ("Z", "X"):
            return pid
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return pid


async def cluster_down_seen(session: aiohttp.ClientSession, hub: HubProcess,
                            cluster: str) -> bool:
    """Whether the hub's /metrics says it no longer reaches ``cluster``."""
    text = await common.metrics_text(session, hub)
    return f'fleetsync_cluster_up{{cluster="{cluster}"}} 0' in text


async def latencies(run: Run, hub: HubProcess, session: aiohttp.ClientSession) -> dict[str, Any]:
    """The latency suite, normal, then with the last cluster's API server stopped."""
    async with live_views(run) as views:
        fleet = latency.Fleet(hub, session, run.upstream, run.kubes, views, run.targets,
                              run.settings.apps, run.settings.objects, run.settings.git_poll,
                              alive=set(run.names))
        _say("latencies: normal")
        normal = await latency.suite(fleet, run.settings.repeats())
        victim = run.names[-1]
        _say(f"latencies: stopping {victim}'s kube-apiserver")
        stop_apiserver(run.clusters_dir, victim)
        fleet.alive.discard(victim)
        try:
            detected: float | None = await _wait(
                lambda: cluster_down_seen(session, hub, victim),
                run.settings.outage_detect_timeout, f"hub sees {victim} down", 0.2)
        except TimeoutError:
            detected = None
        _say("latencies: one cluster stopped")
        outage = await latency.suite(fleet, run.settings.repeats())
        hub.check_alive()
    return {"normal": normal,
            "outage": {"stopped_cluster": victim, "hub_saw_it_down_after_s": detected,
                       **outage},
            "outage_vs_normal": latency.compare(outage, normal)}


def hub_metrics(text: str) -> dict[str, float]:
    """The hub's own samples on ``/metrics`` (counters, gauges, histogram sums and counts),
    without the per-target and per-bucket lines."""
    found = {}
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith("fleetsync_") and "_bucket{" not in series and \
                not series.startswith("fleetsync_target_info"):
            found[series.removeprefix("fleetsync_")] = float(value)
    return found


async def hub_phases(run: Run, directory: Any) -> dict[str, Any]:
    """Cold sync, steady state and latencies against one hub process."""
    before, machine0 = await run.requests(), common.machine_cpu()
    _say(f"hub: starting ({run.settings.pairs} pairs)")
    with common.hub_process(directory) as hub:
        async with aiohttp.ClientSession() as session:
            cold = await cold_sync(run, hub, session, before, machine0)
            _say(f"hub: all Synced+Healthy after {cold['all_healthy_s']:.1f} s, "
                 f"{cold['hub_cpu_s']:.1f} s CPU")
            result: dict[str, Any] = {"cold_sync": cold}
            result["steady"] = await steady(run, hub, session, cold["all_synced_s"] or 0.0)
            result["get_apps"] = await common.list_apps_ms(session, hub)
            result["latency"] = await latencies(run, hub, session)
            result["memory_end"] = hub.memory_mib()
            result["hub_cpu_total_s"] = hub.cpu()[0]
            result["hub_metrics_end"] = hub_metrics(await common.metrics_text(session, hub))
        result["hub_log"] = hub.log_problems()
    return result


# ------------------------------------------------------------------ one run
async def measure(run: Run, directory: Any) -> dict[str, Any]:
    """Floor, background, then the hub: every figure of the run."""
    phases: dict[str, float] = {}
    started = time.monotonic()
    result: dict[str, Any] = {"floor": await floor_runs(run)}
    phases["floor_s"] = time.monotonic() - started
    run.background_per_s = await background(run)
    result["background_requests_per_s"] = run.background_per_s
    started = time.monotonic()
    result.update(await hub_phases(run, directory))
    phases["hub_s"] = time.monotonic() - started
    result["phases"] = phases
    result["summary"] = report.summary(result)
    return result


async def _kubernetes_version(kubes: dict[str, Kube]) -> str:
    found = await next(iter(kubes.values())).request("GET", "/version")
    return str(found["gitVersion"])


async def _run_async(settings: Settings, clusters: list[TestCluster], scratch: Path,
                     daemon: Daemon, info: dict[str, Any]) -> dict[str, Any]:
    names = [c.name for c in clusters]
    _say(f"repository: {settings.apps} apps x {settings.objects} objects")
    upstream = new_upstream(daemon, scratch, "fleet",
                            dict(fleetgen.repository(settings.apps, settings.objects)))
    info["git_sha_of_fleet_repo"] = upstream.git("rev-parse", "HEAD")
    apps = fleetgen.application_files(settings.mode, settings.apps, names, upstream.url,
                                      _duration(settings.reconcile))
    directory = hub_dir(scratch / "hub", clusters, apps, extra=hub_extra(settings))
    async with kube.connect({c.name: c.kubeconfig for c in clusters},
                            connections=max(settings.concurrencies) + 8) as kubes:
        info["versions"] = versions(toolchain.ensure_binaries(log=lambda _m: None),
                                    await _kubernetes_version(kubes))
        run = Run(settings, clusters, scratch / "clusters", upstream,
                  fleetgen.targets(settings.mode, settings.apps, names), kubes)
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
                    scratch / "clusters", settings.clusters, _say) as clusters:
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
        _say(f"hub log kept: {kept}")


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
    add("--no-plots", dest="plots", action="store_false", default=None, help="write no PNG")
    add("--keep-hub-log", dest="keep_hub_log", action="store_true", default=None,
        help="copy the hub's log beside the JSON (always done when the run fails)")
    add("--smoke", action="store_true", help="2 clusters x 20 apps, short windows, no plots")
    add("--label", help="a note kept in the JSON")
    add("--out", help="directory for the JSON and plots (default loadtests/results)")


def main(args: argparse.Namespace) -> int:
    """Run once; print the summary and where the results are."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    settings = settings_from(args)
    out = run(settings)
    report.print_summary(json.loads(out.read_text()))
    _say(f"results: {out}")
    return 0
