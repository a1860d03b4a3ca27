"""The status writer: watched health reaches a target's status, never hiding a drift."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.health import HealthResult
from engine.hub.statuses import KnownStatuses, StatusWriter
from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.model.status import ResourceStatus, SyncSource, TargetStatus
from engine.store import Store, StoreError

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


class CountingStore:
    """The real store, counting its status reads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def get_status(self, key: TargetKey) -> TargetStatus | None:
        self.reads += 1
        return await self.store.get_status(key)


SOURCE = SyncSource("git://example/repo", "web")


async def test_a_status_the_writer_wrote_is_not_read_again(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        counting = CountingStore(store)
        writer = StatusWriter(counting)  # type: ignore[arg-type]
        synced = TargetStatus(KEY, SyncStatus.SYNCED, resources=(
            ResourceStatus(SERVICE, SyncStatus.SYNCED, HealthStatus.HEALTHY, ""),))
        async with writer.session(KEY) as record:
            operation = await record.begin(revision="a" * 40, trigger="auto", source=SOURCE)
            await record.finish(operation, phase=OperationPhase.SUCCEEDED, message="ok",
                                status=synced)
        writer.health_seen(KEY, SERVICE, HealthResult(HealthStatus.DEGRADED, "no endpoints"))
        await writer.flush()
        async with writer.session(KEY) as record:
            remembered = record.previous
        stored = await store.get_status(KEY)
    assert counting.reads == 1  # the first session's, of a target never written
    assert remembered == stored
    assert stored is not None and stored.health is HealthStatus.DEGRADED
    assert stored.operation is not None and stored.operation.phase is OperationPhase.SUCCEEDED


async def test_statuses_written_elsewhere_are_read_again(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        writer = StatusWriter(store)
        async with writer.session(KEY) as record:
            await record.save(TargetStatus(KEY, SyncStatus.SYNCED))
        async with writer.session(KEY) as record:
            await record.save(TargetStatus(KEY, SyncStatus.SYNCED))
        # Another replica held the target's shard meanwhile and wrote it.
        await store.save_status(TargetStatus(KEY, SyncStatus.OUT_OF_SYNC))
        writer.written_elsewhere(lambda key: key.cluster == KEY.cluster)
        async with writer.session(KEY) as record:
            assert record.previous is not None
            assert record.previous.sync is SyncStatus.OUT_OF_SYNC


async def test_an_operation_finished_before_keeps_the_stored_status(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        writer = StatusWriter(store)
        async with writer.session(KEY) as record:
            operation = await record.begin(revision="a" * 40, trigger="auto", source=SOURCE)
            await record.finish(operation, phase=OperationPhase.SUCCEEDED, message="ok",
                                status=TargetStatus(KEY, SyncStatus.SYNCED))
        async with writer.session(KEY) as record:  # finished twice: the store keeps the first
            await record.finish(operation, phase=OperationPhase.ERROR, message="late",
                                status=TargetStatus(KEY, SyncStatus.UNKNOWN))
        async with writer.session(KEY) as record:
            assert record.previous == await store.get_status(KEY)
            assert record.previous is not None and record.previous.sync is SyncStatus.SYNCED


async def test_a_failed_write_leaves_nothing_remembered(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        counting = CountingStore(store)
        writer = StatusWriter(counting)  # type: ignore[arg-type]
        async with writer.session(KEY) as record:
            await record.save(TargetStatus(KEY, SyncStatus.SYNCED))
        with pytest.raises(StoreError):
            async with writer.session(KEY) as record:
                await record.finish(12345, phase=OperationPhase.SUCCEEDED, message="ok",
                                    status=TargetStatus(KEY, SyncStatus.OUT_OF_SYNC))
        async with writer.session(KEY) as record:
            assert record.previous is not None and record.previous.sync is SyncStatus.SYNCED
    assert counting.reads == 2  # the first session's, and the one after the failure


def test_remembered_statuses_are_bounded_by_their_rows() -> None:
    known = KnownStatuses(max_rows=10)
    rows = tuple(ResourceStatus(ResourceKey("", "ConfigMap", "web", f"c{i}"), SyncStatus.SYNCED)
                 for i in range(4))
    first, second, third = (TargetStatus(TargetKey(f"app-{i}", "dev"), resources=rows)
                            for i in range(3))
    for status in (first, second, third):
        known.keep(status)  # 5 rows each: the oldest goes
    assert known.get(first.key) is None
    assert known.get(second.key) == second and known.get(third.key) == third
    known.keep(second)  # kept again: counted once
    assert known.get(third.key) == third
