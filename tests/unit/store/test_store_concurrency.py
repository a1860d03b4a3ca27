"""Many asyncio tasks writing and reading at once keep every row whole and every entry."""

import asyncio
import sqlite3
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.model.status import AUTOMATED, ResourceStatus, SyncSource, TargetStatus
from engine.store import Store

KEYS = [TargetKey(f"app-{a}", f"cluster-{c}") for a in range(5) for c in range(4)]
SOURCE = SyncSource("https://git.example/fleet.git", "apps")


def status_of(key: TargetKey, n: int) -> TargetStatus:
    """A status whose every field says ``n``, so a mixed row is visible."""
    resource = ResourceKey("apps", "Deployment", "default", f"web-{n}")
    return TargetStatus(
        key,
        sync=SyncStatus.SYNCED,
        health=HealthStatus.HEALTHY,
        health_message=str(n),
        revision=str(n),
        resources=(ResourceStatus(resource, SyncStatus.SYNCED, HealthStatus.HEALTHY),),
        inventory=frozenset({resource}),
        live_version=str(n),
    )


def assert_whole(status: TargetStatus) -> None:
    n = status.revision
    assert status.health_message == n and status.live_version == n
    assert {k.name for k in status.inventory} == {f"web-{n}"}


@pytest.fixture
async def store(tmp_path: Path):
    store = await Store.open(tmp_path / "fleetsync.db", history_limit=5)
    yield store
    await store.close()


async def test_concurrent_saves_and_reads_never_mix_rows(store: Store) -> None:
    writes = [(key, n) for n in range(10) for key in KEYS]
    seen = 0

    written = asyncio.Event()

    async def reader() -> None:
        nonlocal seen
        reads = 0
        while reads < 20 or not written.is_set():  # reads during the writes, and after
            for status in await store.list_statuses():
                assert_whole(status)
                seen += 1
            reads += 1

    async def writer() -> None:
        # One task per save, so many are queued at once (grouped into few commits).
        async with asyncio.TaskGroup() as saves:
            for key, n in writes:
                saves.create_task(store.save_status(status_of(key, n)))
        written.set()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(writer())
        for _ in range(3):
            tg.create_task(reader())

    statuses = await store.list_statuses()
    assert [s.key for s in statuses] == sorted(KEYS)
    for status in statuses:
        assert_whole(status)
        assert status.revision == "9"  # writes are applied in the order they were asked for
    assert seen > 0


async def test_concurrent_operations_each_leave_one_entry(store: Store) -> None:
    async def sync(key: TargetKey, n: int) -> int:
        op_id = await store.begin_operation(key, revision=str(n), trigger=AUTOMATED, source=SOURCE)
        await asyncio.sleep(0)
        await store.finish_operation(
            op_id, phase=OperationPhase.SUCCEEDED, message=str(n), status=status_of(key, n)
        )
        return op_id

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(sync(key, n)) for n in range(8) for key in KEYS]
    ids = [task.result() for task in tasks]
    assert len(set(ids)) == len(ids)

    for key in KEYS:
        history = await store.history(key)
        assert len(history) == 5
        assert [e.id for e in history] == sorted((e.id for e in history), reverse=True)
        assert {e.message for e in history} <= {str(n) for n in range(8)}
        status = await store.get_status(key)
        assert status is not None and status.operation is not None
        assert status.operation.id == history[0].id
        assert status.operation.phase is OperationPhase.SUCCEEDED
    assert await store.recover() == []


async def test_two_stores_on_one_file_share_writes(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path) as first, await Store.open(path) as second:
        async with asyncio.TaskGroup() as tg:
            for n, key in enumerate(KEYS):
                tg.create_task((first if n % 2 else second).save_status(status_of(key, n)))
        assert len(await first.list_statuses()) == len(KEYS)
        assert len(await second.list_statuses()) == len(KEYS)


async def test_writes_queued_together_share_one_commit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = store._writer
    groups: list[int] = []
    real = writer._group

    def counted(calls: list[Any]) -> Any:
        groups.append(len(calls))
        return real(calls)

    monkeypatch.setattr(writer, "_group", counted)
    async with asyncio.TaskGroup() as tg:
        for key in KEYS:
            tg.create_task(store.save_status(status_of(key, 1)))
    assert sum(groups) == len(KEYS)
    assert len(groups) < len(KEYS)  # not one transaction per write
    assert len(await store.list_statuses()) == len(KEYS)


async def test_a_failing_write_rolls_back_alone_and_its_neighbours_commit(store: Store) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO app_setting (app, name, value) VALUES ('web', 'half', '1')")
        raise ValueError("failed half way")

    async with asyncio.TaskGroup() as tg:
        before = tg.create_task(store.set_app_setting("web", "before", True))
        failing = tg.create_task(_caught(store._writer.write(half_then_fail)))
        after = tg.create_task(store.set_app_setting("web", "after", True))
    assert before.done() and after.done()
    assert isinstance(failing.result(), ValueError)
    assert await store.app_settings("web") == {"after": True, "before": True}


async def _caught(write: Awaitable[object]) -> BaseException | None:
    try:
        await write
    except Exception as exc:
        return exc
    return None


async def test_a_group_that_succeeds_takes_no_savepoints(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    real = store._writer._transaction

    def traced(calls: list[Any], *, isolated: bool) -> Any:
        conn = store._writer._conn
        assert isinstance(conn, sqlite3.Connection)
        conn.set_trace_callback(statements.append)
        try:
            return real(calls, isolated=isolated)
        finally:
            conn.set_trace_callback(None)

    monkeypatch.setattr(store._writer, "_transaction", traced)
    async with asyncio.TaskGroup() as tg:
        for key in KEYS:
            tg.create_task(store.save_status(status_of(key, 1)))
    assert statements and not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert len(await store.list_statuses()) == len(KEYS)
