"""The phases of a fleet run against its clusters: the floor, the API servers' background,
then one hub process through cold sync, steady state and the latencies (normal, then with
the last cluster's kube-apiserver stopped). See ``loadtests.fleet`` for the whole run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from loadtests import common, fleetgen, floor, kube, latency, report
from loadtests.common import HubProcess
from loadtests.floor import MANAGED
from loadtests.kube import Kube, RequestKey
from loadtests.memtrace import Snapshots
from loadtests.observe import LiveView
from loadtests.profile import Profiler
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Upstream

if TYPE_CHECKING:
    from loadtests.fleet import Settings

WATCHED = (("v1", "ConfigMap"), ("apps/v1", "Deployment"))
STEADY_KINDS = (("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"),
                ("v1", "Namespace"))


def say(message: str) -> None:
    """A progress line."""
    print(f"[fleet] {message}", flush=True)


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
    stamp: str = "run"  # names the files written beside the JSON

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
    deleted = await floor.delete_namespaces(run.kubes)
    await _wait(lambda: floor.namespaces_gone(run.kubes), max(600.0, 0.5 * deleted),
                "namespaces deleted", 1.0)
    return time.monotonic() - started


async def settle(run: Run) -> float:
    """Wait until every managed Deployment is Available; the seconds it took."""
    return await _wait(lambda: floor.deployments_settled(run.kubes), 600,
                       "Deployments Available", 0.5)


async def floor_runs(run: Run) -> dict[str, Any]:
    """The floor: probe, then a full run without and with a dry run first, each followed by
    an update of the shared base's copies, each wiped afterwards."""
    settings = run.settings
    rendered = floor.rendered_apps(run.upstream.work, {i: fleetgen.app_path(i)
                                                       for i in range(settings.apps)})
    work = floor.plan(run.targets, rendered)
    say(f"floor: probing concurrency {settings.concurrencies} on {settings.probe_objects} "
        "objects per cluster")
    best, rates = await floor.best_concurrency(
        run.kubes, work, settings.concurrencies, settings.probe_objects, lambda: settle(run))
    result: dict[str, Any] = {"probe_objects_per_s": rates, "best_concurrency": best,
                              "probe_wipe_s": await wipe(run)}
    for dry_run, key in ((False, "apply"), (True, "dry_run_then_apply")):
        say(f"floor: {key} of {sum(w.count for w in work.values())} objects at {best} per "
            "cluster")
        before = await run.requests()
        figures = await floor.apply_all(run.kubes, work, concurrency=best, dry_run=dry_run)
        figures["settled_s"] = figures["seconds"] + await settle(run)
        after = await run.requests()
        figures["api_requests"] = run.requests_between(before, after, figures["settled_s"])
        figures["base_update"] = await base_updates(run, work, key, best, dry_run)
        figures["wipe_s"] = await wipe(run)
        result[key] = figures
    return result


async def base_updates(run: Run, work: dict[str, floor.Work], key: str, best: int,
                       dry_run: bool) -> dict[str, Any]:
    """The shared base's update applied ``base_repeats`` times (a new value each time), as
    the hub gets that many shared-base commits: the figures of the median update, with
    every update's seconds (``each_s``)."""
    found = []
    for number in range(max(1, run.settings.base_repeats)):
        update = floor.shared_update(work, f"floor-{key}-{number}")
        found.append(await floor.apply_all(run.kubes, update, concurrency=best,
                                           dry_run=dry_run))
    median = statistics.median_low(f["seconds"] for f in found)
    chosen = next(f for f in found if f["seconds"] == median)
    return {**chosen, "each_s": [round(f["seconds"], 3) for f in found]}


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
    # tracemalloc (--memory-profile) makes the hub's start several times slower.
    start_timeout = common.HUB_START_TIMEOUT * (5 if run.settings.memory_profile else 1)
    await _wait(lambda: common.healthz(session, hub), start_timeout, "hub up", 0.1)
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
            "api_requests": run.requests_between(before, await run.requests(), elapsed),
            "reconcile_steps": common.reconcile_steps_ms(
                {}, await common.metric_counters(session, hub))}


async def managed_versions(run: Run) -> dict[str, str]:
    """resourceVersion of every managed object (the hub's, inventories too), by uid."""
    found: dict[str, str] = {}
    for k in run.kubes.values():
        for api_version, kind in STEADY_KINDS:
            items, _ = await k.list(kube.kind_path(api_version, kind), selector=MANAGED)
            found.update({i["metadata"]["uid"]: i["metadata"]["resourceVersion"] for i in items})
    return found


def render_counters(counters: dict[str, float]) -> dict[str, float]:
    """The hub's counters of renders run (not taken from its cache), if it has any."""
    return {k: v for k, v in counters.items() if k.startswith("renders_total")
            and 'result="rendered"' in k}


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
    say(f"steady: first resync round {first['hub_cpu_s']:.1f} s CPU; window "
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


async def latencies(run: Run, hub: HubProcess, session: aiohttp.ClientSession,
                    profiler: Profiler | None = None) -> dict[str, Any]:
    """The latency suite, normal (each step profiled by ``profiler``), then with the last
    cluster's API server stopped."""
    async with live_views(run) as views:
        fleet = latency.Fleet(hub, session, run.upstream, run.kubes, views, run.targets,
                              run.settings.apps, run.settings.objects, run.settings.git_poll,
                              alive=set(run.names))
        say("latencies: normal")
        normal = await latency.suite(fleet, run.settings.repeats(), profiler)
        victim = run.names[-1]
        say(f"latencies: stopping {victim}'s kube-apiserver")
        stop_apiserver(run.clusters_dir, victim)
        fleet.alive.discard(victim)
        try:
            detected: float | None = await _wait(
                lambda: cluster_down_seen(session, hub, victim),
                run.settings.outage_detect_timeout, f"hub sees {victim} down", 0.2)
        except TimeoutError:
            detected = None
        say("latencies: one cluster stopped")
        outage = await latency.suite(fleet, run.settings.repeats())
        hub.check_alive()
    return {"normal": normal,
            "outage": {"stopped_cluster": victim, "hub_saw_it_down_after_s": detected,
                       **outage},
            "outage_vs_normal": latency.compare(outage, normal)}


async def plan_of_shared_base(run: Run, hub: HubProcess,
                              session: aiohttp.ClientSession) -> dict[str, Any]:  # fmt: skip
    """``GET /api/v1/plan`` of a branch that changes the base every app shares: seconds and
    hub CPU for the whole fleet's plan, what it found, and the clusters' write count before
    and after (a plan writes nothing). Compare with the floor's dry runs of the same
    objects (``floor.*.base_update``)."""
    upstream, branch = run.upstream, "plan-shared-base"
    await asyncio.to_thread(upstream.git, "checkout", "--quiet", "-b", branch, "main")
    files: dict[str, str | None] = dict(fleetgen.base_change("planned"))
    await asyncio.to_thread(upstream.commit, files, "plan: base")
    await asyncio.to_thread(upstream.push, f"{branch}:refs/heads/{branch}")
    await asyncio.to_thread(upstream.git, "checkout", "--quiet", "main")
    before, cpu, started = await run.requests(), hub.cpu()[0], time.monotonic()
    async with session.get(f"{hub.url}/api/v1/plan", params={"revision": branch},
                           headers=await hub.headers(session),
                           timeout=aiohttp.ClientTimeout(1800)) as answer:
        answer.raise_for_status()
        body = await answer.json()
    seconds = time.monotonic() - started
    requests = run.requests_between(before, await run.requests(), seconds)
    return {"seconds": seconds, "hub_cpu_s": hub.cpu()[0] - cpu, "summary": body["summary"],
            "api_requests": requests}


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
    say(f"hub: starting ({run.settings.pairs} pairs)")
    # The code the hub runs, read now: the floor of a big run may take an hour.
    started_at, engine_tree = common.git_commit(), common.engine_tree()
    memory = Snapshots(Path(run.settings.out) / f"fleet-{run.stamp}-memory"
                       if run.settings.memory_profile or run.settings.memory_stats else None,
                       light=not run.settings.memory_profile)
    with common.hub_process(directory, memory.argv()) as hub:
        profiler = Profiler(pid=hub.process.pid, out=Path(run.settings.out),
                            prefix=f"fleet-{run.stamp}", enabled=run.settings.profile,
                            gil=run.settings.profile_gil)
        async with aiohttp.ClientSession() as session:
            async with profiler.during("cold_sync"):
                cold = await cold_sync(run, hub, session, before, machine0)
            say(f"hub: all Synced+Healthy after {cold['all_healthy_s']:.1f} s, "
                f"{cold['hub_cpu_s']:.1f} s CPU")
            await memory.take("cold_sync")
            result: dict[str, Any] = {"hub_commit": started_at, "hub_engine_tree": engine_tree,
                                      "cold_sync": cold}
            async with profiler.during("steady"):
                result["steady"] = await steady(run, hub, session, cold["all_synced_s"] or 0.0)
            await memory.take("steady")
            result["get_apps"] = await common.list_apps_ms(session, hub)
            say("plan: a branch that changes the shared base")
            async with profiler.during("plan"):
                result["plan"] = await plan_of_shared_base(run, hub, session)
            await memory.take("plan")
            result["latency"] = await latencies(run, hub, session, profiler)
            result["memory_end"] = hub.memory_mib()
            await memory.take("end")
            result["hub_cpu_total_s"] = hub.cpu()[0]
            result["hub_metrics_end"] = hub_metrics(await common.metrics_text(session, hub))
        result["hub_log"] = hub.log_problems()
        if profiler.summaries:
            result["profile"] = profiler.summaries
        if memory.reports:
            result["memory_profile"] = memory.reports
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
