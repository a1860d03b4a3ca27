"""SQLite's group commits run on the event loop; what would block it (another process's
write lock, the WAL checkpoint's fsyncs) is done on the writer's thread."""

import asyncio
import sqlite3
import threading
from pathlib import Path

from engine.model import TargetKey
from engine.model.status import TargetStatus
from engine.store import Store
from engine.store import store as store_module

DEV = TargetKey("demo-dev", "dev")


async def test_a_group_commit_runs_on_the_event_loop_thread(tmp_path: Path) -> None:
    threads: list[int] = []

    def where(conn: sqlite3.Connection) -> None:
        threads.append(threading.get_ident())
        conn.execute("INSERT INTO app_setting (app, name, value) VALUES ('web', 'x', '1')")

    async with await Store.open(tmp_path / "fleetsync.db") as store:
        await store._writer.write(where)
        assert threads == [threading.get_ident()]
        assert await store.app_settings("web") == {"x": 1}


async def test_a_lock_held_elsewhere_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path, busy_timeout=5.0) as store:
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO app_setting (app, name, value) VALUES ('cli', 'x', '1')")
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, other.execute, "COMMIT")
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(ticking())
        started = loop.time()
        await store.save_status(TargetStatus(DEV))  # waits for the other writer's commit
        waited = loop.time() - started
        ticker.cancel()
        other.close()
        assert waited >= 0.25  # it did wait for the lock ...
        assert ticks >= 10  # ... and the loop ran on meanwhile
        assert await store.get_status(DEV) == TargetStatus(DEV)
        assert await store.app_settings("cli") == {"x": 1}


async def test_the_wal_is_checkpointed_while_the_hub_writes(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    commits = 20 * store_module.CHECKPOINT_EVERY
    async with await Store.open(path) as store:
        for n in range(commits):  # one transaction each
            await store.set_app_setting("web", f"setting-{n}", "x" * 2000)
            await asyncio.sleep(0.001)  # the checkpoint's thread gets its turn
        probe = sqlite3.connect(path, isolation_level=None)
        _, frames, _ = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        probe.close()
    # Each commit adds at least one frame: unchecked, the WAL holds them all.
    assert frames < commits // 4
