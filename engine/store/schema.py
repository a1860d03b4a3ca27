"""The store's tables and their forward migrations.

``schema_version`` holds one row per applied migration; the highest is the file's
version. Opening a store applies the missing migrations in order, each in its own
``BEGIN IMMEDIATE`` transaction that re-reads the version first, so two hubs opening
the same file at once never apply one twice. A file newer than ``LATEST`` is refused
rather than guessed at. Add a migration by appending to ``MIGRATIONS``; never edit one
that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass


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

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)
LATEST = MIGRATIONS[-1].version

_CREATE_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
)"""


class SchemaTooNew(Exception):
    """The file's schema version is above the newest migration known (``version``)."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def current_version(conn: sqlite3.Connection) -> int:
    """The file's schema version; 0 for a new file."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: sqlite3.Connection,
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


def _apply(conn: sqlite3.Connection, migration: Migration, *, now: Callable[[], str]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_CREATE_VERSION_TABLE)
        if current_version(conn) >= migration.version:  # another process got here first
            conn.execute("ROLLBACK")
            return
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
            (migration.version, now()),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
