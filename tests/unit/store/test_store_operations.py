"""Operations: one history entry per operation, bounded history, recovery after a crash."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from engine.model import OperationPhase, SyncStatus, TargetKey
from engine.model.status import AUTOMATED, DRIFT, WEBHOOK, SyncSource, TargetStatus
from engine.store import INTERRUPTED, Store, UnknownOperation

DEV = TargetKey("demo-dev", "dev")
PROD = TargetKey("demo-prod", "prod")
SOURCE = SyncSource("https://git.example/demo.git", "overlays/dev")
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "fleetsync.db"


@pytest.fixture
async def store(path: Path):
    store = await Store.open(path, history_limit=3)
    yield store
    await store.close()


async def sync(store: Store, key: TargetKey, revision: str, phase=OperationPhase.SUCCEEDED) -> int:
    op_id = await store.begin_operation(key, revision=revision, trigger=AUTOMATED, source=SOURCE)
    await store.finish_operation(
        op_id,
        phase=phase,
        message=f"synced {revision}",
        status=TargetStatus(key, sync=SyncStatus.SYNCED, revision=revision),
    )
    return op_id


async def test_begin_shows_running_operation_on_a_new_target(store: Store) -> None:
    op_id = await store.begin_operation(DEV, revision="a", trigger=WEBHOOK, source=SOURCE)
    status = await store.get_status(DEV)
    assert status is not None and status.sync is SyncStatus.UNKNOWN
    assert status.operation is not None
    assert (status.operation.id, status.operation.phase) == (op_id, OperationPhase.RUNNING)
    assert status.operation.finished_at is None


async def test_finish_saves_status_and_appends_one_entry(store: Store) -> None:
    op_id = await sync(store, DEV, "a")
    status = await store.get_status(DEV)
    assert status is not None and status.revision == "a"
    assert status.operation is not None and status.operation.phase is OperationPhase.SUCCEEDED
    [entry] = await store.history(DEV)
    assert (entry.id, entry.phase, entry.message) == (op_id, OperationPhase.SUCCEEDED, "synced a")
    assert entry.finished_at >= entry.started_at


async def test_finishing_twice_keeps_the_first_outcome(store: Store) -> None:
    op_id = await sync(store, DEV, "a")
    again = await store.finish_operation(
        op_id,
        phase=OperationPhase.FAILED,
        message="late",
        status=TargetStatus(DEV, sync=SyncStatus.OUT_OF_SYNC),
    )
    assert again.phase is OperationPhase.SUCCEEDED
    assert [e.phase for e in await store.history(DEV)] == [OperationPhase.SUCCEEDED]
    status = await store.get_status(DEV)
    assert status is not None and status.sync is SyncStatus.SYNCED


async def test_history_keeps_the_newest_entries_newest_first(store: Store) -> None:
    ids = [await sync(store, DEV, rev) for rev in "abcde"]
    other = await sync(store, PROD, "z")
    assert [e.id for e in await store.history(DEV)] == ids[:-4:-1]
    assert [e.revision for e in await store.history(DEV, limit=2)] == ["e", "d"]
    assert [e.id for e in await store.history(PROD)] == [other]


async def test_history_limit_can_be_set_per_finish(store: Store) -> None:
    for rev in "abcd":
        await sync(store, DEV, rev)
    op_id = await store.begin_operation(DEV, revision="e", trigger=DRIFT, source=SOURCE)
    await store.finish_operation(
        op_id, phase=OperationPhase.SUCCEEDED, message="", status=TargetStatus(DEV), history_limit=1
    )
    assert [e.revision for e in await store.history(DEV)] == ["e"]


async def test_trimming_keeps_running_operations(store: Store) -> None:
    running = await store.begin_operation(DEV, revision="r", trigger=AUTOMATED, source=SOURCE)
    for rev in "abcd":
        await sync(store, DEV, rev)
    await store.finish_operation(
        running, phase=OperationPhase.FAILED, message="slow", status=TargetStatus(DEV)
    )
    assert [e.revision for e in await store.history(DEV)] == ["d", "c", "b"]


async def test_status_points_at_the_newest_operation(store: Store) -> None:
    first = await store.begin_operation(DEV, revision="a", trigger=AUTOMATED, source=SOURCE)
    second = await store.begin_operation(DEV, revision="b", trigger=AUTOMATED, source=SOURCE)
    await store.finish_operation(
        first, phase=OperationPhase.FAILED, message="", status=TargetStatus(DEV)
    )
    status = await store.get_status(DEV)
    assert status is not None and status.operation is not None
    assert (status.operation.id, status.operation.phase) == (second, OperationPhase.RUNNING)


async def test_finish_of_unknown_operation_names_the_file(store: Store, path: Path) -> None:
    with pytest.raises(UnknownOperation, match="no operation with id 99") as info:
        await store.finish_operation(
            99, phase=OperationPhase.SUCCEEDED, message="", status=TargetStatus(DEV)
        )
    assert info.value.path == path


async def test_finish_rejects_running_phase_and_another_target(store: Store) -> None:
    op_id = await store.begin_operation(DEV, revision="a", trigger=AUTOMATED, source=SOURCE)
    with pytest.raises(ValueError, match="Running"):
        await store.finish_operation(
            op_id, phase=OperationPhase.RUNNING, message="", status=TargetStatus(DEV)
        )
    with pytest.raises(ValueError, match="demo-prod@prod"):
        await store.finish_operation(
            op_id, phase=OperationPhase.SUCCEEDED, message="", status=TargetStatus(PROD)
        )
    assert await store.history(DEV) == []


async def test_recover_after_crash_writes_one_entry_once(path: Path) -> None:
    crashed = await Store.open(path)  # the hub that dies mid-sync: never finishes
    op_id = await crashed.begin_operation(DEV, revision="a", trigger=AUTOMATED, source=SOURCE)
    await sync(crashed, PROD, "p")

    async with await Store.open(path) as restarted:
        assert await restarted.recover() == [DEV]
        assert await restarted.recover() == []
        [entry] = await restarted.history(DEV)
        assert (entry.id, entry.phase, entry.message) == (op_id, OperationPhase.ERROR, INTERRUPTED)
        status = await restarted.get_status(DEV)
        assert status is not None and status.operation is not None
        assert status.operation.phase is OperationPhase.ERROR
        # The old process waking up late cannot add a second entry.
        late = await crashed.finish_operation(
            op_id, phase=OperationPhase.SUCCEEDED, message="", status=TargetStatus(DEV)
        )
        assert late.phase is OperationPhase.ERROR
        assert [e.id for e in await restarted.history(DEV)] == [op_id]
        assert len(await restarted.history(PROD)) == 1
    await crashed.close()


async def test_recover_leaves_this_hubs_own_running_operations(store: Store) -> None:
    op_id = await store.begin_operation(DEV, revision="a", trigger=AUTOMATED, source=SOURCE)
    assert await store.recover() == []
    await store.finish_operation(
        op_id, phase=OperationPhase.SUCCEEDED, message="", status=TargetStatus(DEV)
    )
    assert [e.phase for e in await store.history(DEV)] == [OperationPhase.SUCCEEDED]


_CRASHING_HUB = """
import asyncio, sys, time
from engine.model import TargetKey
from engine.store import Store
from engine.model.status import SyncSource

async def main():
    store = await Store.open(sys.argv[1])
    op_id = await store.begin_operation(TargetKey("demo-dev", "dev"), revision="a",
                                        trigger="automated", source=SyncSource("r", "p"))
    print(op_id, flush=True)
    time.sleep(60)

asyncio.run(main())
"""


async def test_recover_after_sigkill_of_a_real_process(path: Path) -> None:
    hub = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CRASHING_HUB,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    assert hub.stdout is not None
    op_id = int(await asyncio.wait_for(hub.stdout.readline(), timeout=30))
    os.kill(hub.pid, signal.SIGKILL)
    await hub.wait()

    async with await Store.open(path) as store:
        assert await store.recover() == [DEV]
        assert await store.recover() == []
        assert [(e.id, e.phase) for e in await store.history(DEV)] == [
            (op_id, OperationPhase.ERROR)
        ]
