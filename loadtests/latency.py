"""Latencies against a running hub: commit → applied (one app, the shared base; by webhook
and by polling) and drift → healed (delete, edit, scale), each as per-target samples.

Every sample is taken on the clusters that are up (``Fleet.alive``), so the same suite runs
again while one cluster is stopped. Each wait is bounded; a sample that never arrives fails
the run with what was awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from loadtests import common, fleetgen, observe
from loadtests.common import HubProcess, post_webhook
from loadtests.fleetgen import Target
from loadtests.kube import Kube, kind_path
from loadtests.observe import LiveView
from loadtests.profile import Profiler
from tests.support.git_remotes import Upstream

INTRUDER = "bench-intruder"
DRIFT_TIMEOUT = 60.0


@dataclass
class Fleet:
    """What the latency suite acts on and watches."""

    hub: HubProcess
    session: aiohttp.ClientSession
    upstream: Upstream
    kubes: dict[str, Kube]
    views: dict[str, LiveView]
    targets: list[Target]
    apps: int
    objects: int
    git_poll_s: float
    alive: set[str] = field(default_factory=set)
    revisions: dict[int, int] = field(default_factory=dict)
    shared: str = "v0"
    _counter: Any = field(default_factory=itertools.count)

    def live_targets(self) -> list[Target]:
        """The targets on clusters that are up."""
        return [t for t in self.targets if t.cluster in self.alive]

    def pick(self, attempt: int, repeats: int, offset: int) -> Target:
        """The ``attempt``-th of ``repeats`` targets spread over the live ones."""
        live = self.live_targets()
        return live[(attempt * len(live) // max(repeats, 1) + offset) % len(live)]

    def next_number(self) -> int:
        """A number never used before in this run (for values that must be new)."""
        return int(next(self._counter)) + 1


async def _resolved(
    futures: dict[Target, asyncio.Future[float]], started: float, within: float, what: str
) -> dict[Target, float]:
    """Seconds from ``started`` until each future resolved; TimeoutError naming the rest."""
    _, pending = await asyncio.wait(futures.values(), timeout=within)
    if pending:
        missing = [f"{t.application}@{t.cluster}" for t, f in futures.items() if not f.done()]
        for future in pending:
            future.cancel()
        raise TimeoutError(f"not within {within:.0f}s: {what} on {len(missing)} target(s), "
                           f"e.g. {', '.join(missing[:5])}")
    return {t: max(0.0, f.result() - started) for t, f in futures.items()}


async def _commit(
    fleet: Fleet, files: dict[str, str], message: str, expect: Sequence[Target],
    predicate: Callable[[Target], observe.Predicate], *, webhook: bool, within: float,
) -> dict[Target, float]:
    """Commit and push ``files`` (then a webhook, if asked); seconds from the end of the
    push until each of ``expect`` shows ``predicate`` in its common ConfigMap."""
    await asyncio.to_thread(fleet.upstream.commit, dict(files), message)
    futures = {t: fleet.views[t.cluster].expect(
        "ConfigMap", t.namespace, fleetgen.common_name(t.index), predicate(t)) for t in expect}
    await asyncio.to_thread(fleet.upstream.push, "main")
    started = asyncio.get_running_loop().time()
    if webhook:
        await post_webhook(fleet.session, fleet.hub, fleet.upstream)
    return await _resolved(futures, started, within, message)


async def one_app_commits(fleet: Fleet, repeats: int, *, webhook: bool) -> dict[str, Any]:
    """Commits touching one app each (its revision annotation): per-target seconds until
    live, and per commit until live on every live cluster."""
    samples, per_commit = [], []
    within = 60.0 + (0 if webhook else 2 * fleet.git_poll_s)
    for attempt in range(repeats):
        index = fleet.pick(attempt, repeats, 0).index
        revision = fleet.revisions.get(index, 0) + fleet.next_number()
        fleet.revisions[index] = revision
        expect = [t for t in fleet.live_targets() if t.index == index]
        got = await _commit(
            fleet, fleetgen.one_app_change(index, fleet.objects, revision),
            f"{fleetgen.app_name(index)}: revision {revision}", expect,
            lambda _t, r=revision: observe.annotation_is(fleetgen.REVISION, str(r)),
            webhook=webhook, within=within)
        samples += got.values()
        per_commit.append(max(got.values()))
    return {**observe.percentiles(samples), "per_commit": observe.percentiles(per_commit)}


async def base_commits(fleet: Fleet, repeats: int) -> dict[str, Any]:
    """Commits touching the base every app shares (by webhook): per-target seconds until
    its copy is live, and per commit until all are (``all_applied``)."""
    samples, all_applied = [], []
    expect = fleet.live_targets()
    within = 120.0 + len(expect) * 0.5
    for _ in range(repeats):
        fleet.shared = f"v{fleet.next_number()}"
        got = await _commit(
            fleet, fleetgen.base_change(fleet.shared), f"bases/common: {fleet.shared}", expect,
            lambda _t, s=fleet.shared: observe.data_is("shared", s), webhook=True, within=within)
        samples += got.values()
        all_applied.append(max(got.values()))
    return {**observe.percentiles(samples), "objects_changed": len(expect),
            "all_applied": observe.percentiles(all_applied)}


# ------------------------------------------------------------------ drift
@dataclass(frozen=True)
class Drift:
    """A change made behind the hub's back, and what the healed object looks like."""

    kind: str
    name: str
    healed: observe.Predicate
    write: Callable[[], Awaitable[object]]


def delete_deployment(fleet: Fleet, target: Target, _n: int) -> Drift:
    """The app's Deployment deleted: healed once one with another uid exists."""
    name = fleetgen.deployment_name(target.index)
    live = fleet.views[target.cluster].get("Deployment", target.namespace, name)
    if live is None:
        raise RuntimeError(f"{target.cluster}: Deployment {target.namespace}/{name} is missing")
    path = f"{kind_path('apps/v1', 'Deployment', target.namespace)}/{name}"
    return Drift("Deployment", name, observe.recreated(live["metadata"]["uid"]),
                 lambda: fleet.kubes[target.cluster].delete(path))


def edit_configmap(fleet: Fleet, target: Target, n: int) -> Drift:
    """Another field manager changes the shared value: healed once it is back."""
    name, value = fleetgen.common_name(target.index), f"intruder-{n}"
    path = f"{kind_path('v1', 'ConfigMap', target.namespace)}/{name}"
    healed = observe.after(observe.data_is("shared", value),
                           observe.data_is("shared", fleet.shared))
    return Drift("ConfigMap", name, healed, lambda: fleet.kubes[target.cluster].merge_patch(
        path, {"data": {"shared": value}}, manager=INTRUDER))


def scale_deployment(fleet: Fleet, target: Target, _n: int) -> Drift:
    """The Deployment scaled to 3 through its scale subresource: healed once it asks for
    the 1 replica of Git again."""
    name = fleetgen.deployment_name(target.index)
    path = f"{kind_path('apps/v1', 'Deployment', target.namespace)}/{name}/scale"
    healed = observe.after(observe.replicas_are(3), observe.replicas_are(1))
    return Drift("Deployment", name, healed, lambda: fleet.kubes[target.cluster].merge_patch(
        path, {"spec": {"replicas": 3}}, manager=INTRUDER))


DRIFTS: dict[str, Callable[[Fleet, Target, int], Drift]] = {
    "delete": delete_deployment, "edit": edit_configmap, "scale": scale_deployment}


async def drift_heals(fleet: Fleet, how: str, repeats: int) -> dict[str, Any]:
    """``repeats`` drifts of one kind on targets spread over the live clusters: seconds
    from the drift written until the watch shows it healed."""
    if how != "edit" and "Deployment" not in fleetgen.base_kinds(fleet.objects):
        return observe.percentiles([])
    samples = []
    for attempt in range(repeats):
        target = fleet.pick(attempt, repeats, 1 + list(DRIFTS).index(how))
        drift = DRIFTS[how](fleet, target, fleet.next_number())
        future = fleet.views[target.cluster].expect(
            drift.kind, target.namespace, drift.name, drift.healed)
        await drift.write()
        started = asyncio.get_running_loop().time()
        got = await _resolved({target: future}, started, DRIFT_TIMEOUT,
                              f"{how}: {drift.kind} {target.namespace}/{drift.name} healed")
        samples += got.values()
    return observe.percentiles(samples)


# ------------------------------------------------------------------ the suite
@dataclass(frozen=True)
class Repeats:
    """How many samples of each latency to take."""

    webhook: int
    base: int
    polling: int
    drift: int


async def suite(fleet: Fleet, repeats: Repeats, profiler: Profiler | None = None,
                ) -> dict[str, Any]:
    """Every latency once, on the clusters that are up now, each with the hub's CPU seconds
    while it was measured, how busy the machine was (all its cores, %), the reconciles it
    ran and where their time went (mean ms by step), and profiled by ``profiler`` if
    given."""
    steps: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "commit_one_app_webhook": lambda: one_app_commits(fleet, repeats.webhook, webhook=True),
        "commit_shared_base_webhook": lambda: base_commits(fleet, repeats.base),
        "commit_one_app_polling": lambda: one_app_commits(fleet, repeats.polling,
                                                          webhook=False),
        **{f"drift_{how}": lambda how=how: drift_heals(fleet, how, repeats.drift)
           for how in DRIFTS},
    }
    found: dict[str, Any] = {"clusters_up": sorted(fleet.alive)}
    for name, step in steps.items():
        async with profiler.during(name) if profiler else contextlib.nullcontext():
            counters = await common.metric_counters(fleet.session, fleet.hub)
            cpu, machine = fleet.hub.cpu()[0], common.machine_cpu()
            found[name] = await step()
            found[name]["hub_cpu_s"] = fleet.hub.cpu()[0] - cpu
            found[name]["machine_busy_percent"] = common.busy_percent(machine,
                                                                      common.machine_cpu())
            found[name]["reconcile_steps"] = common.reconcile_steps_ms(
                counters, await common.metric_counters(fleet.session, fleet.hub))
    return found


def compare(outage: dict[str, Any], normal: dict[str, Any]) -> dict[str, Any]:
    """Each latency under the outage against normal: percentile ratios, ≤ 20% worse?"""
    return {name: observe.ratio(outage[name], normal[name])
            for name in normal if isinstance(normal[name], dict) and name in outage}
