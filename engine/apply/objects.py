"""Cluster operations on single objects for the sync: read, predict, apply, prune, wait;
and the app's inventory ConfigMap (``engine.model.inventory``), read and written only when
its content changes, in a namespace created on the first write.

Each returns data (a live object, a ``ResourceResult``, a health result); Kubernetes API
errors of one object become that object's result so that the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.apply.options import Memory
from engine.clusters import ClusterClient, Conflict, NotFound
from engine.clusters.discovery import ApiResource
from engine.diff.normalise import fingerprint
from engine.errors import ClusterError
from engine.health import CustomChecks, HealthResult, assess, missing
from engine.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE, HealthStatus, ResourceKey
from engine.model.inventory import Inventory, configmap, configmap_name
from engine.model.results import ResourceResult, ResultCode
from engine.plan import Step, prune_decision

POLL = 0.5
_CONFLICT_MANAGER = re.compile(r'conflicts? with "([^"]+)"')
OK_HEALTH = (HealthStatus.HEALTHY, HealthStatus.SUSPENDED)


async def resource_of(*, client: ClusterClient, api_version: str, kind: str) -> ApiResource | None:
    """The served resource of a kind, None when the cluster does not (yet) serve it."""
    return await client.discovery.lookup(api_version=api_version, kind=kind)


async def read_live(
    *, client: ClusterClient, key: ResourceKey, api_version: str
) -> dict[str, Any] | None:
    """The live object of ``key``, None when it (or its kind) does not exist."""
    res = await resource_of(client=client, api_version=api_version, kind=key.kind)
    if res is None:
        return None
    try:
        return await client.get(res=res, namespace=key.namespace, name=key.name)
    except NotFound:
        return None


async def predict(*, client: ClusterClient, step: Step, exists: bool) -> dict[str, Any] | None:
    """What a server-side apply of ``step`` would make of the live object (dry run); None
    when it does not ``exist`` (nothing to predict) or the dry run fails."""
    res = await resource_of(client=client, api_version=step.api_version, kind=step.key.kind)
    if res is None or not exists:
        return None
    try:
        return await client.apply(res=res, obj=dict(step.obj), force=True, dry_run=True)
    except ClusterError:
        return None  # the real apply reports the problem; diff falls back to a field overlay


async def apply_step(
    *, client: ClusterClient, step: Step, exists: bool, force: bool,
    checks: CustomChecks | None = None, memory: Memory | None = None, manifest: str | None = None,
) -> ResourceResult:
    """Server-side apply one object; the outcome as a result code and message, and its
    health as the apply's answer shows it (the object as written, status included).
    The object as written agrees with the manifest (digest ``manifest``): ``memory``
    keeps that, so the next sync need not dry-run it again."""
    res = await resource_of(client=client, api_version=step.api_version, kind=step.key.kind)
    if res is None:
        return ResourceResult(
            step.key,
            ResultCode.APPLY_FAILED,
            f"the cluster serves no {step.key.kind} in {step.api_version}",
            wave=step.wave,
        )
    try:
        async with client.apply_slots:
            written = await client.apply(res=res, obj=dict(step.obj), force=force)
    except Conflict as err:
        managers = sorted(set(_CONFLICT_MANAGER.findall(err.message)))
        owner = f" (owned by {', '.join(managers)})" if managers else ""
        return ResourceResult(
            step.key, ResultCode.CONFLICT, f"{err.message}{owner}", wave=step.wave
        )
    except ClusterError as err:
        return ResourceResult(step.key, ResultCode.APPLY_FAILED, str(err), wave=step.wave)
    code = ResultCode.CONFIGURED if exists else ResultCode.CREATED
    if memory is not None and manifest is not None:
        memory.agree(step.key, manifest, fingerprint(written))
    health = assess(written, checks)
    return ResourceResult(step.key, code, wave=step.wave, health=health.status,
                          health_message=health.message)


async def prune_one(
    *,
    client: ClusterClient,
    app: str,
    key: ResourceKey,
    api_version: str,
    live: Mapping[str, Any] | None,
    propagation: str,
    decide: Callable[..., str | None] = prune_decision,
) -> ResourceResult:
    """Delete one stale object if ``decide`` (a prune's or an app deletion's rule) allows
    it; otherwise say why not."""
    refusal = decide(app=app, key=key, live=live)
    if refusal is not None:
        return ResourceResult(key, ResultCode.PRUNE_SKIPPED, refusal)
    assert live is not None
    res = await resource_of(client=client, api_version=api_version, kind=key.kind)
    if res is None:
        return ResourceResult(key, ResultCode.PRUNED, "its kind is gone")
    uid = str((live.get("metadata") or {}).get("uid") or "") or None
    try:
        await client.delete(
            res=res, namespace=key.namespace, name=key.name, propagation=propagation, uid=uid
        )
    except NotFound:
        return ResourceResult(key, ResultCode.PRUNED, "already gone")
    except ClusterError as err:
        return ResourceResult(key, ResultCode.PRUNE_FAILED, str(err))
    return ResourceResult(key, ResultCode.PRUNED, f"deleted ({propagation.lower()})")


async def wait_established(*, client: ClusterClient, crd: Step, within: float) -> str | None:
    """Wait until a CRD is Established and its kind is served; None, or why it is not."""
    spec = crd.obj.get("spec") or {}
    group, kind = str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or "")
    versions = [str(v.get("name")) for v in spec.get("versions") or [] if v.get("served", True)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        live = await read_live(client=client, key=crd.key, api_version=crd.api_version)
        if live is not None and _established(live):
            for version in versions:
                client.discovery.invalidate(f"{group}/{version}")
            served = [
                await resource_of(client=client, api_version=f"{group}/{v}", kind=kind)
                for v in versions
            ]
            if all(served):
                return None
        if loop.time() >= deadline:
            return f"CustomResourceDefinition {crd.key.name} not Established after {within:.0f}s"
        await asyncio.sleep(POLL)


def _established(live: Mapping[str, Any]) -> bool:
    conditions = (live.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


async def health_of(
    *, client: ClusterClient, step: Step, checks: CustomChecks | None = None
) -> HealthResult:
    """The health of one desired object as it is live now (Missing when absent); ``checks``
    are the user's health checks, which win over the built-in rules for their kinds."""
    try:
        live = await read_live(client=client, key=step.key, api_version=step.api_version)
    except ClusterError as err:
        return HealthResult(HealthStatus.UNKNOWN, str(err))
    return missing() if live is None else assess(live, checks)


async def healths(
    *, client: ClusterClient, steps: Iterable[Step], checks: CustomChecks | None = None
) -> dict[ResourceKey, HealthResult]:
    """The health of each object, read concurrently."""
    steps = list(steps)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(health_of(client=client, step=s, checks=checks))
                 for s in steps]
    return {s.key: t.result() for s, t in zip(steps, tasks, strict=True)}


async def wait_healthy(
    *, client: ClusterClient, steps: Iterable[Step], within: float,
    checks: CustomChecks | None = None,
) -> dict[ResourceKey, HealthResult]:
    """Poll until every object is Healthy (or Suspended) or ``within`` seconds; the last health."""
    steps = list(steps)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = await healths(client=client, steps=steps, checks=checks)
        if all(r.status in OK_HEALTH for r in found.values()) or loop.time() >= deadline:
            return found
        await asyncio.sleep(POLL)


def inventory_key(app: str, namespace: str) -> ResourceKey:
    """The key of the ConfigMap holding ``app``'s inventory."""
    return ResourceKey("", "ConfigMap", namespace, configmap_name(app))


async def read_inventory(
    *, client: ClusterClient, app: str, namespace: str, memory: Memory | None = None
) -> Inventory:
    """The app's stored inventory; empty when none was ever written. Read from the
    cluster unless ``memory`` knows the ConfigMap as it is now, or knows there is none
    (its watch has listed and never saw it: a new app's first sync makes no read). A
    ConfigMap someone stripped of fleetsync's label reads as none: the app then prunes
    less, never more."""
    key = inventory_key(app, namespace)
    known = memory.inventory(key) if memory is not None else None
    if known is not None:
        return known
    if memory is not None and memory.absent(key, "v1"):
        return Inventory()
    res = await client.resource(api_version="v1", kind="ConfigMap")
    try:
        live = await client.get(res=res, namespace=namespace, name=key.name)
    except NotFound:
        return Inventory()
    found = Inventory.from_data(live.get("data") or {})
    if memory is not None:
        memory.keep_inventory(key, fingerprint(live), found)
    return found


async def write_inventory(
    *, client: ClusterClient, app: str, namespace: str, inventory: Inventory,
    previous: Inventory, memory: Memory | None = None,
) -> bool:
    """Store ``inventory`` unless it equals ``previous``; True when it wrote."""
    if inventory == previous:
        return False
    await ensure_namespace(client=client, name=namespace, memory=memory)
    res = await client.resource(api_version="v1", kind="ConfigMap")
    written = await client.apply(res=res, obj=configmap(app, inventory, namespace=namespace),
                                 force=True)
    if memory is not None:
        memory.keep_inventory(inventory_key(app, namespace), fingerprint(written), inventory)
    return True


async def drop_inventory(*, client: ClusterClient, app: str, namespace: str) -> None:
    """Delete the app's inventory ConfigMap (gone already is fine)."""
    res = await client.resource(api_version="v1", kind="ConfigMap")
    with contextlib.suppress(NotFound):
        await client.delete(res=res, namespace=namespace, name=configmap_name(app))


async def ensure_namespace(*, client: ClusterClient, name: str,
                           memory: Memory | None = None) -> bool:
    """Create namespace ``name`` (labelled managed-by fleetsync) if absent; True if created.
    Not read when ``memory`` has it watched (so it exists)."""
    if memory is not None and memory.fingerprint(ResourceKey("", "Namespace", "", name)):
        return False
    res = await client.resource(api_version="v1", kind="Namespace")
    try:
        await client.get(res=res, namespace="", name=name)
        return False
    except NotFound:
        pass
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE}},
    }
    await client.apply(res=res, obj=namespace, force=False)
    return True
