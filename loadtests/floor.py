"""The floor: a bare asyncio loop of server-side apply PATCHes of the objects the hub writes.

The objects are the generated apps rendered by ``engine.render.build`` from the same commit
the hub reads, put in their namespace and given the label and tracking annotation the hub
adds, so the API servers receive the same bodies; only Git, rendering, diffing, status and
the hub's own bookkeeping are missing. Each cluster gets ``concurrency`` workers; namespaces
are applied before the objects in them. With ``dry_run`` every apply is preceded by the same
PATCH with ``dryRun=All`` (as the hub compares before it writes).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.model import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    TRACKING_ANNOTATION,
    ResourceKey,
    tracking_id,
)
from engine.render import build
from loadtests.fleetgen import COMMON, Target
from loadtests.kube import Kube, KubeError, kind_path

MANAGER = "floor"
MANAGED = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
PROBE_NAMESPACE = "floor-probe-c{concurrency}"

Obj = dict[str, Any]


@dataclass
class Work:
    """What one cluster receives: namespaces first, then the objects in them."""

    namespaces: list[Obj] = field(default_factory=list)
    objects: list[Obj] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.namespaces) + len(self.objects)


# ------------------------------------------------------------------ the objects
def namespace_object(name: str) -> Obj:
    """A Namespace labelled as the hub labels the ones it creates."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE}}}


def as_applied(obj: Obj, *, application: str, namespace: str) -> Obj:
    """``obj`` as the hub sends it: in ``namespace``, labelled, with the tracking id."""
    sent = copy.deepcopy(obj)
    meta = sent.setdefault("metadata", {})
    meta["namespace"] = namespace
    key = ResourceKey.of(sent)
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           TRACKING_ANNOTATION: tracking_id(application, key)}
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY_LABEL: MANAGED_BY_VALUE}
    return sent


def rendered_apps(work_tree: Path, paths: dict[int, str]) -> dict[int, list[Obj]]:
    """Each app's objects rendered from the work tree of the commit (one render per app)."""
    return {index: build(work_tree / path, root=work_tree) for index, path in paths.items()}


def plan(targets: Sequence[Target], rendered: dict[int, list[Obj]]) -> dict[str, Work]:
    """What each cluster receives for ``targets``."""
    work: dict[str, Work] = {}
    for target in targets:
        cluster = work.setdefault(target.cluster, Work())
        last = cluster.namespaces[-1]["metadata"]["name"] if cluster.namespaces else None
        if last != target.namespace:  # apps sharing a namespace come in a row
            cluster.namespaces.append(namespace_object(target.namespace))
        cluster.objects += [as_applied(o, application=target.application,
                                       namespace=target.namespace)
                            for o in rendered[target.index]]
    return work


def probe_work(work: dict[str, Work], concurrency: int, sample: int) -> dict[str, Work]:
    """The first ``sample`` objects of each cluster moved into one fresh probe namespace."""
    name = PROBE_NAMESPACE.format(concurrency=concurrency)
    return {cluster: Work([namespace_object(name)],
                          [{**o, "metadata": {**o["metadata"], "namespace": name}}
                           for o in w.objects[:sample]])
            for cluster, w in work.items()}


def shared_update(work: dict[str, Work], value: str) -> dict[str, Work]:
    """Every copy of the shared base's ConfigMap with ``data.shared`` set to ``value``: the
    objects a commit to the shared base changes."""
    return {cluster: Work([], [{**o, "data": {**o["data"], "shared": value}}
                               for o in w.objects if o["kind"] == "ConfigMap"
                               and o["metadata"]["name"].endswith(f"-{COMMON}")])
            for cluster, w in work.items()}


# ------------------------------------------------------------------ the loop
async def _pool(items: Iterable[Obj], workers: int, call: Callable[[Obj], Awaitable[None]]) -> None:
    queue = list(items)
    queue.reverse()

    async def worker() -> None:
        while queue:
            await call(queue.pop())

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, workers)):
            group.create_task(worker())


async def apply_cluster(kube: Kube, work: Work, *, concurrency: int, dry_run: bool) -> int:
    """Apply one cluster's work; the number of requests sent."""
    sent = 0

    async def one(obj: Obj) -> None:
        nonlocal sent
        if dry_run:
            await kube.apply(obj, manager=MANAGER, dry_run=True)
            sent += 1
        await kube.apply(obj, manager=MANAGER)
        sent += 1

    await _pool(work.namespaces, concurrency, one)
    await _pool(work.objects, concurrency, one)
    return sent


async def apply_all(
    kubes: dict[str, Kube], work: dict[str, Work], *, concurrency: int, dry_run: bool
) -> dict[str, Any]:
    """Every cluster's work at once; seconds, objects, requests and objects per second."""
    started = time.monotonic()
    sent = await asyncio.gather(*(apply_cluster(kubes[c], w, concurrency=concurrency,
                                                dry_run=dry_run) for c, w in work.items()))
    seconds = time.monotonic() - started
    objects = sum(w.count for w in work.values())
    return {"seconds": seconds, "objects": objects, "requests": sum(sent),
            "objects_per_s": objects / seconds, "concurrency_per_cluster": concurrency,
            "dry_run_first": dry_run}


async def best_concurrency(
    kubes: dict[str, Kube], work: dict[str, Work], choices: Sequence[int], sample: int,
    settle: Callable[[], Awaitable[float]],
) -> tuple[int, dict[int, float]]:
    """Apply a sample at each concurrency (fresh namespaces each time, the clusters settled
    in between); the fastest concurrency and objects/s of each."""
    rates = {}
    for concurrency in choices:
        run = await apply_all(kubes, probe_work(work, concurrency, sample),
                              concurrency=concurrency, dry_run=False)
        rates[concurrency] = run["objects_per_s"]
        await settle()
    return max(rates, key=lambda c: rates[c]), rates


# ------------------------------------------------------------------ settling and wiping
async def deployments_settled(kubes: dict[str, Kube]) -> bool:
    """Whether every managed Deployment is Available (run after the applies returned, so
    every Deployment exists already)."""
    for kube in kubes.values():
        items, _ = await kube.list(kind_path("apps/v1", "Deployment"), selector=MANAGED)
        live = [d for d in items if d["metadata"].get("deletionTimestamp") is None]
        if not all(_available(d) for d in live):
            return False
    return True


def _available(deployment: Obj) -> bool:
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    return (status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
            and status.get("updatedReplicas", 0) >= spec.get("replicas", 1)
            and status.get("availableReplicas", 0) >= spec.get("replicas", 1))


async def delete_namespaces(kubes: dict[str, Kube], selector: str = MANAGED) -> int:
    """Start deleting every namespace matching ``selector``; how many there were."""
    count = 0
    for kube in kubes.values():
        items, _ = await kube.list(kind_path("v1", "Namespace"), selector=selector)
        count += len(items)
        await _pool(items, 16, lambda ns, k=kube: k.delete(
            f"{kind_path('v1', 'Namespace')}/{ns['metadata']['name']}"))
    return count


async def namespaces_gone(kubes: dict[str, Kube], selector: str = MANAGED) -> bool:
    """Whether no namespace matching ``selector`` is left (terminating ones count)."""
    for kube in kubes.values():
        try:
            items, _ = await kube.list(kind_path("v1", "Namespace"), selector=selector)
        except KubeError:
            return False
        if items:
            return False
    return True
