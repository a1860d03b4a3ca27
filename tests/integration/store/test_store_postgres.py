"""The store on a real PostgreSQL server (``Store.connect``): the same statuses, operations,
history, settings and accounts as with SQLite, migrations applied once when several hubs
connect at once, group commits whose failing write rolls back alone, two stores sharing
one database, and errors that never show the connection string's password."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from engine.model import OperationPhase, TargetKey
from engine.model.accounts import ApiToken
from engine.store import Store, StoreError, StoreFenced, StoreTooNew
from engine.store.conn import Conn
from engine.store.schema import LATEST
from tests.unit.store.test_store_roundtrip import DEV, PROD, SOURCE, full_status

pytestmark = pytest.mark.timeout(120)


async def test_statuses_history_and_settings_round_trip(pg_dsn: str) -> None:
    async with await Store.connect(pg_dsn, history_limit=3) as store:
        await store.save_status(full_status(DEV))
        await store.save_status(full_status(PROD))
        assert await store.get_status(DEV) == full_status(DEV)
        assert [s.key for s in await store.list_statuses()] == [DEV, PROD]
        assert [s.key for s in await store.list_statuses("demo-prod")] == [PROD]
        ids = []
        for revision in "abcde":
            op = await store.begin_operation(DEV, revision=revision * 40, trigger="automated",
                                             source=SOURCE)
            await store.finish_operation(op, phase=OperationPhase.SUCCEEDED, message="ok",
                                         status=full_status(DEV))
            ids.append(op)
        entries = await store.history(DEV)
        assert [e.id for e in entries] == ids[:-4:-1]  # the newest three, newest first
        assert len(await store.history(DEV, limit=2)) == 2
        assert await store.history_entry(DEV, ids[-1]) is not None
        status = await store.get_status(DEV)
        assert status is not None and status.operation is not None
        assert status.operation.id == ids[-1]
        await store.set_app_setting("web", "automation", {"off": True})
        assert await store.app_settings("web") == {"automation": {"off": True}}
        await store.set_app_setting("web", "automation", None)
        assert await store.app_settings("web") == {}
    async with await Store.connect(pg_dsn) as again:  # another hub, or a restart
        assert await again.get_status(PROD) == full_status(PROD)


async def test_a_crashed_hub_s_running_operation_is_recovered_once(pg_dsn: str) -> None:
    crashed = await Store.connect(pg_dsn)
    op = await crashed.begin_operation(DEV, revision="a" * 40, trigger="automated",
                                       source=SOURCE)
    async with await Store.connect(pg_dsn) as restarted:
        assert await restarted.recover() == [DEV]
        assert await restarted.recover() == []
        (entry,) = await restarted.history(DEV)
        assert entry.id == op and entry.phase is OperationPhase.ERROR
    await crashed.close()


async def test_accounts_tokens_sessions_and_login_failures(pg_dsn: str) -> None:
    async with await Store.connect(pg_dsn) as store:
        accounts = store.accounts
        assert await accounts.set_password("alice", "hash-1", only_if_new=True)
        assert not await accounts.set_password("alice", "hash-2", only_if_new=True)
        secret = await accounts.get("alice")
        assert secret is not None and secret.password_hash == "hash-1"
        token = ApiToken("t1", "ci", "deploys", 100, 10**10)
        await accounts.add_api_token(token)
        assert await accounts.api_tokens("ci") == [token]
        assert await accounts.api_token_exists("t1", "ci")
        assert await accounts.delete_api_token("t1", "ci")
        assert not await accounts.api_token_exists("t1", "ci")
        await accounts.end_session("s1", expires_at=10**10, now=1)
        assert await accounts.session_ended("s1")
        await accounts.note_login_failure(["user:bob", "addr:1.2.3.4"], now=100, window=60)
        await accounts.note_login_failure(["user:bob"], now=110, window=60)
        assert await accounts.login_failures(["user:bob", "addr:1.2.3.4"], since=50) == 2
        await accounts.clear_login_failures(["user:bob"])
        assert await accounts.login_failures(["user:bob"], since=50) == 0


async def test_hubs_connecting_at_once_apply_each_migration_once(pg_dsn: str) -> None:
    stores = await asyncio.gather(*(Store.connect(pg_dsn) for _ in range(4)))
    try:
        with psycopg.connect(pg_dsn) as conn:
            versions = [r[0] for r in conn.execute(
                "SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, LATEST + 1))
        # Writes of one hub are read by another at once.
        await stores[0].save_status(full_status(DEV))
        assert await stores[3].get_status(DEV) == full_status(DEV)
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_database_from_a_newer_fleetsync_is_refused(pg_dsn: str) -> None:
    async with await Store.connect(pg_dsn):
        pass
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version VALUES (%s, 'later')", (LATEST + 1,))
    with pytest.raises(StoreTooNew):
        await Store.connect(pg_dsn)


async def test_a_failing_write_rolls_back_alone_in_its_group(pg_dsn: str) -> None:
    async with await Store.connect(pg_dsn) as store:
        def half_then_fail(conn: Conn) -> None:
            conn.execute("INSERT INTO app_setting (app, name, value) VALUES ('web', 'half', '1')")
            conn.execute("INSERT INTO no_such_table VALUES (1)")  # a server-side error

        async with asyncio.TaskGroup() as tg:
            tg.create_task(store.set_app_setting("web", "before", True))
            failing = tg.create_task(_caught(store._writer.write(half_then_fail)))
            tg.create_task(store.set_app_setting("web", "after", True))
        assert isinstance(failing.result(), StoreError)
        assert await store.app_settings("web") == {"after": True, "before": True}


async def test_concurrent_operations_of_many_targets_each_leave_one_entry(pg_dsn: str) -> None:
    keys = [TargetKey(f"app-{i}", "dev") for i in range(20)]
    async with await Store.connect(pg_dsn) as first, await Store.connect(pg_dsn) as second:
        async def one(store: Store, key: TargetKey) -> None:
            op = await store.begin_operation(key, revision="c" * 40, trigger="webhook",
                                             source=SOURCE)
            await store.finish_operation(op, phase=OperationPhase.SUCCEEDED, message="",
                                         status=full_status(key))

        await asyncio.gather(*(one(first if i % 2 else second, k) for i, k in enumerate(keys)))
        for key in keys:
            assert len(await first.history(key)) == 1


async def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    dsn = "postgresql://fleetsync:s3cret-pw@127.0.0.1:9/fleet?connect_timeout=1"
    with pytest.raises(StoreError) as caught:
        await Store.connect(dsn, busy_timeout=1)
    assert "s3cret-pw" not in str(caught.value) and "127.0.0.1:9" in str(caught.value)


async def _caught(write: object) -> BaseException | None:
    try:
        await write  # type: ignore[misc]
    except Exception as exc:
        return exc
    return None


async def test_actions_left_for_a_cluster_are_taken_once_oldest_first(pg_dsn: str) -> None:
    async with await Store.connect(pg_dsn) as first, await Store.connect(pg_dsn) as second:
        await first.queue_request(DEV, "sync", {"trigger": "manual:a"})
        await first.queue_request(PROD, "refresh", None)
        await first.queue_request(DEV, "rollback", {"trigger": "rollback:3"})
        taken, again = await asyncio.gather(second.take_requests(["dev"]),
                                            first.take_requests(["dev"]))
        assert [(k, a) for k, a, _ in taken + again] == [(DEV, "sync"), (DEV, "rollback")]
        assert (taken or again)[0][2] == {"trigger": "manual:a"}
        assert await second.take_requests(["prod"]) == [(PROD, "refresh", None)]
        assert await second.take_requests([]) == []


async def test_a_later_generation_fences_the_earlier_holder_out(pg_dsn: str) -> None:
    async with await Store.connect(pg_dsn) as a, await Store.connect(pg_dsn) as b:
        a.fence = lambda key: (key.cluster, "a", 4)
        b.fence = lambda key: (key.cluster, "b", 5)
        assert await a.claim_shard("dev", "a", 4)
        await a.save_status(full_status(DEV))
        assert await b.claim_shard("dev", "b", 5)
        with pytest.raises(StoreFenced, match="claimed by b"):
            await a.save_status(full_status(DEV))
        assert not await a.claim_shard("dev", "a", 4)
        await b.save_status(full_status(DEV))
