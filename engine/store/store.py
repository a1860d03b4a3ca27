"""The async store: two SQLite connections, each on its own thread (or two PostgreSQL
ones, ``Store.connect``: the same SQL through ``engine.store.postgres``).

SQLite allows one writer at a time, so every write goes to one connection, in the order
asyncio tasks asked for them; concurrent saves queue instead of fighting for the lock. The
writes queued in one turn of the event loop go together into one transaction (a group
commit: one commit for many syncs at fleet size); one that fails rolls back alone (the
group is then run again, each write in a savepoint of its own).

SQLite's writes run on the event loop's own thread: in WAL mode with ``synchronous=NORMAL``
a commit appends to the WAL without an fsync (tens of microseconds), while a hop to a
store thread and back waited for the GIL after every statement (at 3,000 pairs the two
writes of a sync were two thirds of its time). What could block the loop is kept off it:
the WAL checkpoint (it fsyncs) runs on the writer's thread from a connection of its own,
and a write lock held by another process (a CLI command) is waited for on that thread too
(the loop's attempt gives up at once). PostgreSQL's writes, which cross a network, run on
the thread. Reads use a second, read-only connection on a second thread: in WAL mode they
see the last committed transaction and never wait for a writer. ``synchronous=NORMAL`` in
WAL mode survives a killed process (the hub's crash); a power loss may forget the last
transactions but never corrupts the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from engine.model import OperationPhase, TargetKey
from engine.model.accounts import AccountSecret, ApiToken
from engine.model.status import HistoryEntry, JSONValue, Operation, SyncSource, TargetStatus
from engine.store import accounts, codec, queries, schema
from engine.store.conn import Conn, DriverError
from engine.store.errors import (
    StoreClosed,
    StoreCorrupt,
    StoreError,
    StoreFenced,
    StoreLocked,
    StoreTooNew,
    UnknownOperation,
)

T = TypeVar("T")
DEFAULT_HISTORY_LIMIT = 10  # Argo CD's revisionHistoryLimit
# Commits on the loop between two WAL checkpoints (each a PASSIVE one on the writer's
# thread): the WAL stays at a few dozen transactions instead of SQLite's 1,000 pages.
CHECKPOINT_EVERY = 32


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class _WriteFailed(Exception):
    """A write of a group run without savepoints failed: run the group with them."""


class _Connection:
    """One database connection, used from its own single thread, and by SQLite's writer
    (``on_loop``) also from the event loop's, never from both at once: the committer
    waits while the thread runs a group."""

    def __init__(self, path: Path, *, role: str, busy_timeout: float,
                 opener: Callable[[], Conn] | None = None, on_loop: bool = False,
                 ) -> None:  # fmt: skip
        self.path = path
        self.busy_timeout = busy_timeout
        self._opener = opener  # None: the SQLite file at ``path``
        self._on_loop = on_loop  # group commits on the event loop (SQLite's writer only)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"fleetsync-store-{role}")
        self._conn: Conn | None = None
        self._checkpointer: sqlite3.Connection | None = None  # on_loop: the WAL's, on the thread
        self._commits = 0  # on the loop since the last checkpoint began
        self._checkpoint: asyncio.Future[None] | None = None
        self._closed = False
        self._queued: list[tuple[Callable[[Conn], Any], asyncio.Future[Any]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def open(self, setup: Callable[[Conn], None]) -> None:
        """Connect on this connection's thread and run ``setup`` (pragmas, migrations)."""
        await self._submit(self._open, setup)

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args, **kwargs)`` on this connection's thread."""
        if self._closed:
            raise StoreClosed("the store is closed", path=self.path)
        return await self._submit(self._call, fn, *args, **kwargs)

    async def write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in the next group commit (see the module);
        its result once that transaction committed."""
        if self._closed:
            raise StoreClosed("the store is closed", path=self.path)
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((lambda conn: fn(conn, *args, **kwargs), done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        return await done

    async def _commit_queued(self) -> None:
        """Commit what is queued, group by group, until nothing is."""
        while self._queued:
            group, self._queued = self._queued, []
            try:
                outcomes = await self._commit([call for call, _ in group])
            except BaseException as exc:  # the commit itself failed: so did every write
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, done), (failure, value) in zip(group, outcomes, strict=True):
                if done.done():  # its caller was cancelled; the write stands
                    continue
                if failure is None:
                    done.set_result(value)
                else:
                    done.set_exception(failure)

    async def _commit(self, calls: list[Callable[[Conn], Any]],
                      ) -> list[tuple[BaseException | None, Any]]:  # fmt: skip
        """Run one group: on the loop when it can go without waiting (see the module)."""
        if not self._on_loop:
            return await self._submit(self._group, calls)
        try:
            outcomes = self._mapped(self._group, calls)
        except StoreLocked:  # another process writes: wait for its lock on the thread
            outcomes = await self._submit(self._call, self._waiting, calls)
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            self._commits = 0
            self._checkpoint = asyncio.get_running_loop().run_in_executor(
                self._executor, self._checkpoint_wal
            )
        return outcomes

    def _waiting(self, conn: Conn, calls: list[Callable[[Conn], Any]],
                 ) -> list[tuple[BaseException | None, Any]]:  # fmt: skip
        """``_group`` on the thread, waiting up to the busy timeout for the write lock."""
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        try:
            return self._group(calls)
        finally:
            conn.execute("PRAGMA busy_timeout = 0")

    def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database without waiting for anyone (PASSIVE): the next
        write starts the WAL over once every frame is copied."""
        if self._checkpointer is not None:
            with suppress(sqlite3.Error):  # busy or failing: the next one tries again
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _group(self, calls: list[Callable[[Conn], Any]]) -> list[tuple[BaseException | None, Any]]:
        """Run ``calls`` in one transaction; (error, result) of each.

        First without a savepoint per write: two statements fewer each, and each statement
        is a hand-back of the GIL that may wait behind the event loop. When a write fails,
        the whole transaction is rolled back and run again with each write in a savepoint
        of its own, so that the failing one rolls back alone."""
        try:
            return self._transaction(calls, isolated=False)
        except _WriteFailed:
            return self._transaction(calls, isolated=True)

    def _transaction(self, calls: list[Callable[[Conn], Any]], *, isolated: bool,
                     ) -> list[tuple[BaseException | None, Any]]:  # fmt: skip
        conn = self._conn
        if conn is None:
            raise StoreClosed("the store is closed", path=self.path)
        outcomes: list[tuple[BaseException | None, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for call in calls:
                if isolated:
                    conn.execute("SAVEPOINT one_write")
                try:
                    outcomes.append((None, self._mapped(call, conn)))
                except Exception as exc:
                    if not isolated:
                        raise _WriteFailed from exc  # the whole group is rolled back
                    conn.execute("ROLLBACK TO one_write")
                    outcomes.append((exc, None))
                if isolated:
                    conn.execute("RELEASE one_write")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    async def close(self) -> None:
        """Close the connection and stop its thread; closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._committer is not None:
            await asyncio.shield(self._committer)
        await self._submit(self._close)  # after any checkpoint: one thread, in order
        self._executor.shutdown(wait=False)

    async def _submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, partial(self._mapped, fn, *args, **kwargs)
        )

    def _open(self, setup: Callable[[Conn], None]) -> None:
        conn: Conn
        if self._opener is not None:
            conn = self._opener()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
            conn.row_factory = sqlite3.Row
        try:
            setup(conn)
            if self._on_loop:
                self._checkpointer = self._open_checkpointer(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _open_checkpointer(self, conn: Conn) -> sqlite3.Connection:
        """Hand the WAL's checkpoints to a connection of this thread; the writer neither
        checkpoints nor waits for a lock (the loop runs it)."""
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA busy_timeout = 0")
        return sqlite3.connect(self.path, timeout=0, isolation_level=None,
                               check_same_thread=False)  # fmt: skip

    def _call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self._conn is None:
            raise StoreClosed("the store is closed", path=self.path)
        return fn(self._conn, *args, **kwargs)

    def _close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _mapped(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        except DriverError as exc:
            raise self._driver_error(exc) from exc
        except codec.BadRow as exc:
            raise StoreCorrupt(f"unreadable row: {exc}", path=self.path) from exc
        except schema.SchemaTooNew as exc:
            raise StoreTooNew(
                f"schema version {exc.version} is newer than this fleetsync's"
                f" {schema.LATEST}; upgrade fleetsync to use this file",
                path=self.path,
            ) from exc
        except queries.Fenced as exc:
            raise StoreFenced(str(exc), path=self.path) from exc
        except queries.NoSuchOperation as exc:
            raise UnknownOperation(f"no operation with id {exc.args[0]}", path=self.path) from exc
        except OSError as exc:
            raise StoreError(f"cannot open: {exc}", path=self.path) from exc

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreLocked(
                f"{text} (held by another connection for more than {self.busy_timeout:g}s)",
                path=self.path,
            )
        if isinstance(exc, sqlite3.DatabaseError) and any(
            word in text for word in ("not a database", "malformed", "corrupt")
        ):
            return StoreCorrupt(f"{text}; move the file away to start afresh", path=self.path)
        return StoreError(text, path=self.path)

    def _driver_error(self, exc: DriverError) -> StoreError:
        if exc.locked:
            return StoreLocked(f"{exc} (held by another connection for more than "
                               f"{self.busy_timeout:g}s)", path=self.path)  # fmt: skip
        if exc.unreachable:
            return StoreError(f"cannot reach the database: {exc}", path=self.path)
        return StoreError(str(exc), path=self.path)


def _setup_writer(conn: Conn, *, now: Callable[[], datetime]) -> None:
    if isinstance(conn, sqlite3.Connection):
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot switch to WAL journal mode (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
    schema.migrate(conn, now=lambda: codec.time_text(now()))


def _setup_reader(conn: Conn) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute("PRAGMA query_only = ON")


class Store:
    """Status, history and app settings of every target, in one SQLite file."""

    def __init__(
        self,
        writer: _Connection,
        reader: _Connection,
        *,
        history_limit: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._writer = writer
        self._reader = reader
        self.history_limit = history_limit
        self._clock = clock
        self._running: set[int] = set()  # operations begun by this Store, not yet finished
        # Scale-out: the (shard, holder, generation) this replica writes a target under;
        # None for a target it does not reconcile. Unset: one hub, nothing fenced.
        self.fence: Callable[[TargetKey], queries.Fence | None] | None = None
        self.accounts = AccountStore(writer, reader, clock)

    @classmethod
    async def open(
        cls,
        path: str | PathLike[str],
        *,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        busy_timeout: float = 5.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> Store:
        """Open (creating or migrating) the store file at ``path``."""
        file = Path(path)
        writer = _Connection(file, role="write", busy_timeout=busy_timeout, on_loop=True)
        reader = _Connection(file, role="read", busy_timeout=busy_timeout)
        return await cls._opened(writer, reader, history_limit=history_limit, clock=clock)

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        busy_timeout: float = 5.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> Store:
        """Connect to (creating or migrating the tables of) a PostgreSQL database: the store
        several hubs share. ``dsn`` is a libpq connection string or URL."""
        from engine.store import postgres  # psycopg only for who uses it (engine.store.conn)

        where = Path(postgres.where(dsn))
        writer, reader = (
            _Connection(where, role=role, busy_timeout=busy_timeout, opener=partial(
                postgres.PgConnection.connect, dsn, timeout=busy_timeout,
                read_only=role == "read"))
            for role in ("write", "read")
        )  # fmt: skip
        return await cls._opened(writer, reader, history_limit=history_limit, clock=clock)

    @classmethod
    async def _opened(cls, writer: _Connection, reader: _Connection, *, history_limit: int,
                      clock: Callable[[], datetime]) -> Store:  # fmt: skip
        """The store over both connections, opened (the writer migrating the schema)."""
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        try:
            await writer.open(partial(_setup_writer, now=clock))
            await reader.open(_setup_reader)
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        return cls(writer, reader, history_limit=history_limit, clock=clock)

    @property
    def path(self) -> Path:
        """The SQLite file, or where the PostgreSQL database is (no credentials)."""
        return self._writer.path

    async def close(self) -> None:
        """Close both connections; the store cannot be used afterwards."""
        await self._reader.close()
        await self._writer.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The schema version of the file."""
        return await self._reader.call(schema.current_version)

    async def get_status(self, key: TargetKey) -> TargetStatus | None:
        """The status of ``key``, or None if the store has none."""
        return await self._reader.call(queries.get_status, key)

    async def list_statuses(self, app: str | None = None) -> list[TargetStatus]:
        """The statuses of all targets, or of one app's, by app then cluster."""
        return await self._reader.call(queries.list_statuses, app)

    async def save_status(self, status: TargetStatus) -> None:
        """Save ``status`` whole; its ``operation`` is ignored (see ``finish_operation``)."""
        await self._writer.write(queries.save_status, status, self._fence(status.key))

    async def begin_operation(
        self, key: TargetKey, *, revision: str, trigger: str, source: SyncSource
    ) -> int:
        """Record a Running sync of ``key`` before touching the cluster; return its id."""
        op_id = await self._writer.write(
            queries.begin_operation,
            key,
            revision=revision,
            trigger=trigger,
            source=source,
            now=self._clock(),
            fence=self._fence(key),
        )
        self._running.add(op_id)
        return op_id

    async def finish_operation(
        self,
        op_id: int,
        *,
        phase: OperationPhase,
        message: str,
        status: TargetStatus,
        history_limit: int | None = None,
    ) -> Operation:
        """Finish ``op_id``, save ``status`` and add its history entry, in one transaction.

        Finishing an operation that already finished (twice, or after ``recover``) changes
        nothing and returns it as first recorded.
        """
        if phase is OperationPhase.RUNNING:
            raise ValueError("an operation cannot finish as Running")
        limit = self.history_limit if history_limit is None else history_limit
        operation = await self._writer.write(
            queries.finish_operation,
            op_id,
            phase=phase,
            message=message,
            status=status,
            now=self._clock(),
            history_limit=max(1, limit),
            fence=self._fence(status.key),
        )
        self._running.discard(op_id)
        return operation

    async def history(self, key: TargetKey, *, limit: int | None = None) -> list[HistoryEntry]:
        """The sync history of ``key``, newest first."""
        return await self._reader.call(queries.history, key, limit=limit)

    async def history_entry(self, key: TargetKey, entry_id: int) -> HistoryEntry | None:
        """History entry ``entry_id`` of ``key`` (what a rollback syncs), or None."""
        return await self._reader.call(queries.history_entry, key, entry_id)

    async def claim_shard(self, shard: str, holder: str, generation: int) -> bool:
        """Fence ``shard`` for ``holder`` at ``generation`` (its shard Lease's transition
        count) unless a later generation holds it; whether it now does."""
        return await self._writer.write(queries.claim_shard, shard, holder, generation)

    def _fence(self, key: TargetKey) -> queries.Fence | None:
        if self.fence is None:
            return None
        return self.fence(key) or (key.cluster, "", -1)  # not ours: refused

    async def recover(self, *, only: Callable[[TargetKey], bool] | None = None
                      ) -> list[TargetKey]:  # fmt: skip
        """Mark operations left Running by a killed hub as Error (of the targets ``only``
        accepts, when given: a replica that takes a shard over, which says so in their
        message); return their targets.

        Operations begun through this Store object and not yet finished are left alone.
        """
        return await self._writer.write(
            queries.recover,
            now=self._clock(),
            exclude=set(self._running),
            history_limit=self.history_limit,
            only=only,
            message=queries.INTERRUPTED if only is None else queries.TAKEN_OVER,
        )

    async def queue_request(self, key: TargetKey, action: str, body: JSONValue) -> None:
        """Leave an action on ``key`` for the replica that reconciles its cluster."""
        await self._writer.write(queries.queue_request, key, action, body,
                                 codec.time_text(self._clock()))  # fmt: skip

    async def take_requests(
        self, clusters: list[str], only: Callable[[TargetKey], bool] | None = None
    ) -> list[tuple[TargetKey, str, Any]]:
        """Remove and return the actions left for ``clusters`` (and the targets ``only``
        accepts), oldest first."""
        return await self._writer.write(queries.take_requests, clusters, only)

    async def forget(self, key: TargetKey, *, keep_history: bool = True) -> None:
        """Drop the status of a target that is gone; its history too unless kept."""
        await self._writer.write(queries.forget, key, keep_history=keep_history)

    async def set_app_setting(self, app: str, name: str, value: JSONValue) -> None:
        """Store a runtime setting of ``app`` (JSON value); None removes it."""
        await self._writer.write(queries.set_app_setting, app, name, value)

    async def get_app_setting(self, app: str, name: str) -> JSONValue:
        """A runtime setting of ``app``, or None if it is not set."""
        return (await self.app_settings(app)).get(name)

    async def app_settings(self, app: str) -> dict[str, JSONValue]:
        """All runtime settings of ``app``, by name."""
        return await self._reader.call(queries.app_settings, app)


class AccountStore:
    """Account secrets, API tokens, ended sessions and failed logins (``Store.accounts``);
    times are epoch seconds."""

    def __init__(self, writer: _Connection, reader: _Connection,
                 clock: Callable[[], datetime]) -> None:  # fmt: skip
        self._writer, self._reader, self._clock = writer, reader, clock

    async def get(self, name: str) -> AccountSecret | None:
        """The stored secret of account ``name``, if any."""
        return await self._reader.call(accounts.account, name)

    async def set_password(self, name: str, password_hash: str, *,
                           only_if_new: bool = False) -> bool:  # fmt: skip
        """Store a password hash, ending the account's sessions; with ``only_if_new``
        only for an account without one. Whether it was stored."""
        now = codec.time_text(self._clock())
        return await self._writer.write(accounts.set_password, name, password_hash, now,
                                        only_if_new=only_if_new)  # fmt: skip

    async def shared_key(self, name: str, candidate: bytes) -> bytes:
        """Key ``name`` shared by every hub on this store: ``candidate`` if none was kept
        yet (the first replica's), else the one kept."""
        return await self._writer.write(accounts.shared_key, name, candidate)

    async def end_sessions(self, name: str) -> None:
        """End every session of account ``name``."""
        await self._writer.write(accounts.end_sessions, name)

    async def add_api_token(self, token: ApiToken) -> None:
        """Record a new API token."""
        await self._writer.write(accounts.add_api_token, token)

    async def api_tokens(self, name: str) -> list[ApiToken]:
        """The API tokens of account ``name``."""
        return await self._reader.call(accounts.api_tokens, name)

    async def api_token_exists(self, token_id: str, name: str) -> bool:
        """Whether API token ``token_id`` of ``name`` was issued and not revoked."""
        return await self._reader.call(accounts.api_token_exists, token_id, name)

    async def delete_api_token(self, token_id: str, name: str) -> bool:
        """Revoke an API token; whether it existed."""
        return await self._writer.write(accounts.delete_api_token, token_id, name)

    async def end_session(self, token_id: str, expires_at: int, now: int) -> None:
        """Refuse session ``token_id`` from now on."""
        await self._writer.write(accounts.end_session, token_id, expires_at, now)

    async def session_ended(self, token_id: str) -> bool:
        """Whether session ``token_id`` was ended by a logout."""
        return await self._reader.call(accounts.session_ended, token_id)

    async def login_failures(self, keys: list[str], since: int) -> int:
        """The most failed logins any of ``keys`` had since ``since``."""
        return await self._reader.call(accounts.login_failures, keys, since)

    async def note_login_failure(self, keys: list[str], now: int, window: int) -> None:
        """Count a failed login against each of ``keys``."""
        await self._writer.write(accounts.note_login_failure, keys, now, window)

    async def clear_login_failures(self, keys: list[str]) -> None:
        """Forget the failed logins of ``keys``."""
        await self._writer.write(accounts.clear_login_failures, keys)
