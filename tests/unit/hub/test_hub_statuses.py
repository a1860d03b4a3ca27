"""The status writer: watched health reaches a target's status, never hiding a drift."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.health import HealthResult
from engine.hub.statuses import StatusWriter
from engine.model import HealthStatus, ResourceKey, SyncStatus, TargetKey
from engine.model.status import ResourceStatus, TargetStatus
from engine.store import Store

KEY = TargetKey("web", "dev")
DEPLOY = ResourceKey("apps", "Deployment", "web", "web")
SERVICE = ResourceKey("", "Service", "web", "web")
DRIFT = ".spec.replicas (changed by kubectl via the scale subresource)"


async def test_health_flush_updates_health_and_keeps_the_reason_of_a_drift(
    tmp_path: Path,
) -> None:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        await store.save_status(TargetStatus(KEY, SyncStatus.OUT_OF_SYNC, resources=(
            ResourceStatus(DEPLOY, SyncStatus.OUT_OF_SYNC, HealthStatus.HEALTHY, DRIFT),
            ResourceStatus(SERVICE, SyncStatus.SYNCED, HealthStatus.HEALTHY, ""),
        )))  # fmt: skip
        writer = StatusWriter(store)
        writer.health_seen(KEY, DEPLOY, HealthResult(HealthStatus.PROGRESSING, "1 of 4 up"))
        writer.health_seen(KEY, SERVICE, HealthResult(HealthStatus.DEGRADED, "no endpoints"))
        await writer.flush()
        status = await store.get_status(KEY)
    assert status is not None
    rows = {r.key: r for r in status.resources}
    assert (rows[DEPLOY].health, rows[DEPLOY].message) == (HealthStatus.PROGRESSING, DRIFT)
    assert (rows[SERVICE].health, rows[SERVICE].message) == (HealthStatus.DEGRADED,
                                                             "no endpoints")
    assert status.health is HealthStatus.DEGRADED


async def test_a_target_held_by_its_reconcile_gets_its_health_after_it(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        await store.save_status(TargetStatus(KEY, SyncStatus.SYNCED, resources=(
            ResourceStatus(SERVICE, SyncStatus.SYNCED, HealthStatus.HEALTHY, ""),)))
        writer = StatusWriter(store)
        writer.health_seen(KEY, SERVICE, HealthResult(HealthStatus.DEGRADED, "no endpoints"))
        async with writer.session(KEY) as record:
            # Held: nothing written (waiting for the lock would never end), still buffered.
            await asyncio.wait_for(writer.flush(), timeout=10)
            assert record.previous is not None
            assert (await store.get_status(KEY)) == record.previous
        await writer.flush()
        status = await store.get_status(KEY)
    assert status is not None and status.resources[0].health is HealthStatus.DEGRADED
