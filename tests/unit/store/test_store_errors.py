"""A corrupt, locked or too new file gives a StoreError naming it; migrations go forward."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.errors import FleetsyncError
from engine.model import TargetKey
from engine.model.status import TargetStatus
from engine.store import Store, StoreCorrupt, StoreError, StoreLocked, StoreTooNew, schema

DEV = TargetKey("demo-dev", "dev")


@contextmanager
def locked(path: Path, how: str = "IMMEDIATE") -> Iterator[None]:
    """Another connection holding the write lock of ``path``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"BEGIN {how}")
        conn.execute("CREATE TABLE IF NOT EXISTS intruder (x)")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def test_file_that_is_not_a_database_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    path.write_bytes(b"this is not sqlite\n" * 500)
    with pytest.raises(StoreCorrupt, match="not a database") as info:
        await Store.open(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, FleetsyncError) and not info.value.temporary


async def test_unreadable_row_is_corrupt_and_names_the_target(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path) as store:
        await store.save_status(TargetStatus(DEV))
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE target_status SET resources = '[{\"broken'")
    conn.close()
    async with await Store.open(path) as store:
        with pytest.raises(StoreCorrupt, match=r"demo-dev@dev") as info:
            await store.get_status(DEV)
        assert info.value.path == path


async def test_write_lock_held_elsewhere_is_a_temporary_error(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path, busy_timeout=0.1) as store:
        with locked(path):
            with pytest.raises(StoreLocked, match="locked") as info:
                await store.save_status(TargetStatus(DEV))
            assert await store.get_status(DEV) is None  # reads still work in WAL mode
        assert str(path) in str(info.value) and info.value.temporary
        await store.save_status(TargetStatus(DEV))
        assert await store.get_status(DEV) == TargetStatus(DEV)


async def test_open_of_an_exclusively_locked_file_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    with locked(path, "EXCLUSIVE"), pytest.raises(StoreLocked, match=r"fleetsync\.db"):
        await Store.open(path, busy_timeout=0.1)


async def test_file_from_a_newer_fleetsync_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path):
        pass
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (schema.LATEST + 1,))
    conn.close()
    with pytest.raises(StoreTooNew, match="upgrade fleetsync"):
        await Store.open(path)


async def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=r"file/fleetsync\.db"):
        await Store.open(blocker / "fleetsync.db")


def test_migrations_apply_forward_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    first = schema.MIGRATIONS[:1]
    later = schema.Migration(2, ("CREATE TABLE extra (x)",))
    assert schema.migrate(conn, now=lambda: "t", migrations=first) == 1
    assert schema.migrate(conn, now=lambda: "t", migrations=(*first, later)) == 2
    assert schema.migrate(conn, now=lambda: "t", migrations=(*first, later)) == 2
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,), (2,)]
    with pytest.raises(schema.SchemaTooNew):
        schema.migrate(conn, now=lambda: "t", migrations=first)
    conn.close()


def test_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    schema.migrate(conn, now=lambda: "t")
    bad = schema.Migration(schema.LATEST + 1, ("CREATE TABLE extra (x)", "THIS IS NOT SQL"))
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn, now=lambda: "t", migrations=(*schema.MIGRATIONS, bad))
    assert schema.current_version(conn) == schema.LATEST
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchall() == []
    conn.close()
