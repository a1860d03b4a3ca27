"""Status, history and settings come back as saved, across reopen (real SQLite files)."""

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.model.status import (
    AUTOMATED,
    AUTOMATED_SYNC_DISABLED,
    Condition,
    ResourceStatus,
    SyncSource,
    TargetStatus,
    manual_trigger,
    rollback_trigger,
)
from engine.store import Store, StoreClosed

DEV = TargetKey("demo-dev", "dev")
PROD = TargetKey("demo-prod", "prod")
SOURCE = SyncSource("https://git.example/demo.git", "overlays/dev")
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DEPLOY = ResourceKey("apps", "Deployment", "dev", "dev-demo")
SERVICE = ResourceKey("", "Service", "dev", "dev-demo")
NAMESPACE = ResourceKey("", "Namespace", "", "dev")


def full_status(key: TargetKey = DEV) -> TargetStatus:
    return TargetStatus(
        key=key,
        sync=SyncStatus.OUT_OF_SYNC,
        health=HealthStatus.PROGRESSING,
        health_message="Deployment dev-demo: 1 of 2 replicas available",
        revision="a" * 40,
        target_revision="b" * 40,
        resources=(
            ResourceStatus(DEPLOY, SyncStatus.OUT_OF_SYNC, HealthStatus.PROGRESSING, "rollout"),
            ResourceStatus(SERVICE, SyncStatus.SYNCED, HealthStatus.HEALTHY),
            ResourceStatus(NAMESPACE, SyncStatus.SYNCED, None),
        ),
        conditions=(Condition("SyncError", "ApplyFailed", "conflict on Service", T0),),
        inventory=frozenset({DEPLOY, SERVICE, NAMESPACE}),
        live_version="42",
        reconciled_at=T0,
    )


@pytest.fixture
async def store(tmp_path: Path):
    store = await Store.open(tmp_path / "data" / "fleetsync.db")
    yield store
    await store.close()


async def test_status_round_trips_every_field(store: Store) -> None:
    await store.save_status(full_status())
    assert await store.get_status(DEV) == full_status()


async def test_unknown_target_has_no_status(store: Store) -> None:
    assert await store.get_status(DEV) is None
    assert await store.history(DEV) == []


async def test_list_statuses_is_ordered_and_filters_by_app(store: Store) -> None:
    other = TargetKey("demo-dev", "another")
    for key in (PROD, DEV, other):
        await store.save_status(TargetStatus(key))
    assert [s.key for s in await store.list_statuses()] == [other, DEV, PROD]
    assert [s.key for s in await store.list_statuses("demo-dev")] == [other, DEV]
    assert await store.list_statuses("nope") == []


async def test_save_status_replaces_whole_status_but_keeps_last_operation(store: Store) -> None:
    op_id = await store.begin_operation(DEV, revision="a" * 40, trigger=AUTOMATED, source=SOURCE)
    await store.save_status(full_status())
    await store.save_status(TargetStatus(DEV, sync=SyncStatus.SYNCED))
    status = await store.get_status(DEV)
    assert status is not None
    assert status.operation is not None and status.operation.id == op_id
    assert status.resources == () and status.sync is SyncStatus.SYNCED


async def test_history_entry_belongs_to_its_target(store: Store) -> None:
    op_id = await store.begin_operation(
        DEV, revision="c" * 40, trigger=manual_trigger("ana"), source=SOURCE
    )
    await store.finish_operation(
        op_id, phase=OperationPhase.SUCCEEDED, message="ok", status=full_status()
    )
    entry = await store.history_entry(DEV, op_id)
    assert entry is not None
    assert (entry.revision, entry.trigger, entry.source) == ("c" * 40, "manual:ana", SOURCE)
    assert await store.history_entry(PROD, op_id) is None
    assert await store.history_entry(DEV, op_id + 1) is None


async def test_running_operation_is_not_history(store: Store) -> None:
    op_id = await store.begin_operation(DEV, revision="a", trigger=AUTOMATED, source=SOURCE)
    assert await store.history(DEV) == []
    assert await store.history_entry(DEV, op_id) is None


async def test_app_settings_round_trip_and_none_removes(store: Store) -> None:
    await store.set_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED, {"by": rollback_trigger(7)})
    await store.set_app_setting("demo-dev", "note", "x")
    assert await store.get_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED) == {"by": "rollback:7"}
    assert await store.app_settings("demo-dev") == {
        AUTOMATED_SYNC_DISABLED: {"by": "rollback:7"},
        "note": "x",
    }
    assert await store.get_app_setting("demo-prod", AUTOMATED_SYNC_DISABLED) is None
    await store.set_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED, None)
    assert await store.get_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED) is None


async def test_forget_drops_status_and_keeps_history_by_default(store: Store) -> None:
    for key in (DEV, PROD):
        op_id = await store.begin_operation(key, revision="a", trigger=AUTOMATED, source=SOURCE)
        await store.finish_operation(
            op_id, phase=OperationPhase.SUCCEEDED, message="", status=TargetStatus(key)
        )
    await store.forget(DEV)
    await store.forget(PROD, keep_history=False)
    assert await store.get_status(DEV) is None and await store.get_status(PROD) is None
    assert len(await store.history(DEV)) == 1
    assert await store.history(PROD) == []


async def test_everything_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path) as store:
        op_id = await store.begin_operation(DEV, revision="a", trigger=AUTOMATED, source=SOURCE)
        await store.finish_operation(
            op_id, phase=OperationPhase.FAILED, message="apply failed", status=full_status()
        )
        await store.set_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED, True)
    async with await Store.open(path) as store:
        status = await store.get_status(DEV)
        assert status is not None and status.operation is not None
        assert status.operation.phase is OperationPhase.FAILED
        assert status == replace(full_status(), operation=status.operation)
        assert [e.id for e in await store.history(DEV)] == [op_id]
        assert await store.get_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED) is True
        assert await store.recover() == []


async def test_file_is_wal_with_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path) as store:
        assert await store.schema_version() == 5
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (1,), (2,), (3,), (4,), (5,)]
    finally:
        conn.close()


async def test_closed_store_refuses_use_and_closes_twice(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "fleetsync.db")
    await store.close()
    await store.close()
    with pytest.raises(StoreClosed, match=r"fleetsync\.db"):
        await store.get_status(DEV)
