"""The store's tables and their forward migrations.

``schema_version`` holds one row per applied migration; the highest is the database's
version. Opening a store applies the missing migrations in order, each in its own
transaction that re-reads the version first (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's
advisory lock), so two hubs opening the same database at once never apply one twice.
The statements are written for SQLite; ``_ddl`` declares the same tables in PostgreSQL.
A database newer than ``LATEST`` is refused rather than guessed at. Add a migration by
appending to ``MIGRATIONS``; never edit one that has shipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.store.conn import Conn, is_postgres


@dataclass(frozen=True)
class Migration:
    """The statements that take the schema from ``version - 1`` to ``version``."""

    version: int
    statements: tuple[str, ...]


_V1 = Migration(
    1,
    (
        # One row per (app, cluster): the latest status. JSON columns are written by orjson.
        """CREATE TABLE target_status (
            app TEXT NOT NULL,
            cluster TEXT NOT NULL,
            sync TEXT NOT NULL,
            health TEXT NOT NULL,
            health_message TEXT NOT NULL,
            revision TEXT,
            target_revision TEXT,
            operation_id INTEGER,
            resources TEXT NOT NULL,
            conditions TEXT NOT NULL,
            inventory TEXT NOT NULL,
            live_version TEXT,
            reconciled_at TEXT,
            PRIMARY KEY (app, cluster)
        ) WITHOUT ROWID""",
        # Operations: Running from begin; once finished, the row is the history entry.
        """CREATE TABLE operation (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app TEXT NOT NULL,
            cluster TEXT NOT NULL,
            revision TEXT NOT NULL,
            trigger TEXT NOT NULL,
            source_repo TEXT NOT NULL,
            source_path TEXT NOT NULL,
            phase TEXT NOT NULL,
            message TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        "CREATE INDEX operation_target ON operation (app, cluster, id)",
        "CREATE INDEX operation_running ON operation (phase) WHERE phase = 'Running'",
        """CREATE TABLE app_setting (
            app TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (app, name)
        ) WITHOUT ROWID""",
    ),
)

_V2 = Migration(
    2,
    (
        # Secrets of the accounts fleetsync.yaml declares (and the built-in admin): the
        # argon2id hash of the password, and the token generation a password change or
        # "log out everywhere" moves on (tokens of an earlier generation are refused).
        """CREATE TABLE account (
            name TEXT PRIMARY KEY,
            password_hash TEXT,
            generation INTEGER NOT NULL DEFAULT 0,
            password_changed_at TEXT
        ) WITHOUT ROWID""",
        # API tokens of automation accounts: a token is valid while its row exists.
        """CREATE TABLE api_token (
            id TEXT PRIMARY KEY,
            account TEXT NOT NULL,
            description TEXT NOT NULL,
            issued_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX api_token_account ON api_token (account)",
        # Sessions ended by logout, until they would have expired anyway.
        """CREATE TABLE revoked_session (
            id TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID""",
        # Failed logins per account and per client address, so a restart keeps the limit.
        """CREATE TABLE login_failure (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            since INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ),
)

_V3 = Migration(
    3,
    (
        # Actions asked of a replica for clusters another replica reconciles, until their
        # owner takes them (scale-out): the action and its request as JSON.
        """CREATE TABLE pending_request (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            app TEXT NOT NULL,
            cluster TEXT NOT NULL,
            action TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX pending_request_cluster ON pending_request (cluster, id)",
    ),
)

_V4 = Migration(
    4,
    (
        # Who reconciles each shard (scale-out; ``cluster`` holds the shard's name: a
        # cluster, or <cluster>#<k> for one split by app): the replica holding its shard
        # Lease, with the Lease's transition count; anyone else's writes are refused.
        """CREATE TABLE shard_fence (
            cluster TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            generation INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ),
)

_V5 = Migration(
    5,
    (
        # Keys every replica of a hub must share, by name (the session signing key: a
        # login at one replica is valid at the others), hex-encoded.
        """CREATE TABLE hub_key (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5)
LATEST = MIGRATIONS[-1].version

_MIGRATION_LOCK = 0x666C7473  # "flts": the advisory lock PostgreSQL migrations take
_CREATE_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
)"""


class SchemaTooNew(Exception):
    """The file's schema version is above the newest migration known (``version``)."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def current_version(conn: Conn) -> int:
    """The database's schema version; 0 for a new one."""
    if is_postgres(conn):
        exists = conn.execute("SELECT to_regclass('schema_version')").fetchone()[0]
    else:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: Conn,
    *,
    now: Callable[[], str],
    migrations: Sequence[Migration] = MIGRATIONS,
) -> int:
    """Apply the missing migrations (``conn`` in autocommit mode); return the version."""
    latest = migrations[-1].version if migrations else 0
    version = current_version(conn)
    if version > latest:
        raise SchemaTooNew(version)
    for migration in migrations:
        if migration.version > version:
            _apply(conn, migration, now=now)
    return max(version, latest)


def _apply(conn: Conn, migration: Migration, *, now: Callable[[], str]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        if is_postgres(conn):  # replicas starting together: one migrates, the others wait
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        conn.execute(_CREATE_VERSION_TABLE)
        if current_version(conn) >= migration.version:  # another process got here first
            conn.execute("ROLLBACK")
            return
        for statement in migration.statements:
            conn.execute(_ddl(statement) if is_postgres(conn) else statement)
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
            (migration.version, now()),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _ddl(statement: str) -> str:
    """A statement written for SQLite, as PostgreSQL declares the same table."""
    statement = statement.replace("INTEGER PRIMARY KEY AUTOINCREMENT",
                                  "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
    return re.sub(r"\)\s*WITHOUT ROWID\s*$", ")", statement)
