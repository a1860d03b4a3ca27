"""Running the hooks of one sync phase on a cluster (``engine.hooks`` says which objects are
hooks and ``engine.plan`` orders them).

Wave after wave, the hooks of a wave at once: each is created (under ``BeforeHookCreation``
the previous run's object is deleted first and waited for until it is gone; a
``generateName`` hook is created anew; any other is server-side applied), then awaited until
it completes: a Job until Complete or Failed, a Pod until Succeeded or Failed, anything else
until Healthy (Degraded fails it), as Argo CD judges hooks by their health. Then
``HookSucceeded``/``HookFailed`` delete it. A failed hook (or one not done in time) ends
the phase: later waves do not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import groupby

from engine.apply.cascade import wait_gone
from engine.apply.objects import POLL, resource_of
from engine.clusters import ApiResource, ClusterClient
from engine.errors import ClusterError, NotFound
from engine.health import CustomChecks, assess
from engine.hooks import DeletePolicy
from engine.model import HealthStatus, ResourceKey
from engine.model.inventory import Inventory
from engine.model.results import HookResult, HookStatus
from engine.plan import HookStep


@dataclass(frozen=True)
class _Started:
    hook: HookStep
    res: ApiResource | None
    name: str  # as created (a generateName hook's is the server's)
    problem: str = ""


async def run_hooks(
    *, client: ClusterClient, hooks: Sequence[HookStep], within: float,
    checks: CustomChecks | None = None,
) -> list[HookResult]:  # fmt: skip
    """Run ``hooks`` (of one phase, in plan order) wave after wave, each given ``within``
    seconds to complete; how each ended. The list stops at the first wave with a failure."""
    results: list[HookResult] = []
    for _wave, together in groupby(hooks, key=lambda h: h.wave):
        started = await asyncio.gather(*(_start(client, h, within) for h in together))
        ended = await asyncio.gather(*(_finish(client, s, within, checks) for s in started))
        results.extend(ended)
        if any(r.status is HookStatus.FAILED for r in ended):
            break
    return results


async def _start(client: ClusterClient, hook: HookStep, within: float) -> _Started:
    res = await resource_of(client=client, api_version=hook.api_version, kind=hook.key.kind)
    if res is None:
        return _Started(hook, None, hook.key.name,
                        f"the cluster serves no {hook.key.kind} in {hook.api_version}")
    try:
        if hook.generated:
            created = await client.create(res=res, obj=dict(hook.obj))
            return _Started(hook, res, str(created["metadata"]["name"]))
        if DeletePolicy.BEFORE_CREATION in hook.delete and not await _delete(
                client, res, hook.key, hook.api_version, wait=within):
            return _Started(hook, res, hook.key.name,
                            f"its previous run was not deleted within {within:.0f}s")
        await client.apply(res=res, obj=dict(hook.obj), force=True)
    except ClusterError as err:
        return _Started(hook, res, hook.key.name, f"not created: {err}")
    return _Started(hook, res, hook.key.name)


async def _finish(client: ClusterClient, started: _Started, within: float,
                  checks: CustomChecks | None) -> HookResult:  # fmt: skip
    """Await the hook's end, then delete it if its policy says so."""
    hook = started.hook
    key = replace(hook.key, name=started.name)
    if started.problem or started.res is None:
        return HookResult(key, hook.phase.value, HookStatus.FAILED, started.problem)
    status, message = await _outcome(client, started.res, key.namespace, key.name, within,
                                     checks)  # fmt: skip
    policy = DeletePolicy.SUCCEEDED if status is HookStatus.SUCCEEDED else DeletePolicy.FAILED
    if policy in hook.delete:
        with contextlib.suppress(ClusterError):
            await _delete(client, started.res, key, hook.api_version, wait=0)
    return HookResult(key, hook.phase.value, status, message)


async def _outcome(client: ClusterClient, res: ApiResource, namespace: str, name: str,
                   within: float, checks: CustomChecks | None) -> tuple[HookStatus, str]:
    """How the hook ended: Succeeded once Healthy, Failed once Degraded or when ``within``
    seconds have passed."""
    deadline = time.monotonic() + within
    message = "not read yet"
    while True:
        try:
            live = await client.get(res=res, namespace=namespace, name=name)
        except NotFound:
            return HookStatus.FAILED, "deleted before it completed"
        except ClusterError as err:
            message = str(err)  # read again: the cluster may answer next time
        else:
            health = assess(live, checks)
            message = health.message
            if health.status is HealthStatus.HEALTHY:
                return HookStatus.SUCCEEDED, message
            if health.status is HealthStatus.DEGRADED:
                return HookStatus.FAILED, message
        if time.monotonic() >= deadline:
            return HookStatus.FAILED, f"not completed within {within:.0f}s: {message}"
        await asyncio.sleep(POLL)


async def _delete(client: ClusterClient, res: ApiResource, key: ResourceKey, api_version: str,
                  *, wait: float) -> bool:  # fmt: skip
    """Delete one hook object (its Pods with it); whether it is gone within ``wait``
    (0: not waited for)."""
    try:
        await client.delete(res=res, namespace=key.namespace, name=key.name,
                            propagation="Background")  # fmt: skip
    except NotFound:
        return True
    if not wait:
        return False
    return not await wait_gone(client, Inventory({key: api_version}), [key], within=wait)
