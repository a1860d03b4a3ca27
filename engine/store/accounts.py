"""The store's SQL for accounts, API tokens, ended sessions and failed logins (blocking).

Each function is one write transaction (``queries.write``) or one read; times are epoch
seconds. Rows that can only pile up are bounded: ended sessions are dropped once they
would have expired anyway, and failed-login counters beyond ``MAX_FAILURE_ROWS`` lose
their oldest.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.model.accounts import AccountSecret, ApiToken
from engine.store.conn import Conn
from engine.store.queries import write

MAX_FAILURE_ROWS = 10_000


def account(conn: Conn, name: str) -> AccountSecret | None:
    """The stored secret of ``name``, or None when it has none yet."""
    rows = conn.execute("SELECT name, password_hash, generation FROM account WHERE name = ?",
                        (name,)).fetchall()
    return AccountSecret(rows[0][0], rows[0][1], int(rows[0][2])) if rows else None


def set_password(conn: Conn, name: str, password_hash: str, now: str,
                 *, only_if_new: bool = False) -> bool:  # fmt: skip
    """Store ``name``'s password hash and end its sessions (a new generation); with
    ``only_if_new``, only when the account has no row yet. Whether it was stored."""
    with write(conn):
        if only_if_new:
            cursor = conn.execute(
                "INSERT INTO account (name, password_hash, password_changed_at)"
                " VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING", (name, password_hash, now))
            return bool(cursor.rowcount == 1)
        conn.execute(
            "INSERT INTO account (name, password_hash, password_changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,"
            " password_changed_at = excluded.password_changed_at,"
            " generation = account.generation + 1", (name, password_hash, now))
        return True


def shared_key(conn: Conn, name: str, candidate: bytes) -> bytes:
    """Key ``name`` as the store keeps it: ``candidate`` if it had none yet."""
    with write(conn):
        conn.execute("INSERT INTO hub_key (name, value) VALUES (?, ?)"
                     " ON CONFLICT (name) DO NOTHING", (name, candidate.hex()))
        rows = conn.execute("SELECT value FROM hub_key WHERE name = ?", (name,)).fetchall()
    return bytes.fromhex(rows[0][0])


def end_sessions(conn: Conn, name: str) -> None:
    """Move ``name`` to a new token generation: every session it has ends."""
    with write(conn):
        conn.execute("INSERT INTO account (name) VALUES (?) ON CONFLICT (name)"
                     " DO UPDATE SET generation = account.generation + 1", (name,))


def add_api_token(conn: Conn, token: ApiToken) -> None:
    """Record a new API token (valid while its row exists)."""
    with write(conn):
        conn.execute("INSERT INTO api_token (id, account, description, issued_at, expires_at)"
                     " VALUES (?, ?, ?, ?, ?)", (token.id, token.account, token.description,
                                                 token.issued_at, token.expires_at))


def api_tokens(conn: Conn, account_name: str) -> list[ApiToken]:
    """The API tokens of ``account_name``, oldest first."""
    rows = conn.execute("SELECT id, account, description, issued_at, expires_at FROM api_token"
                        " WHERE account = ? ORDER BY issued_at, id", (account_name,))
    return [ApiToken(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]


def api_token_exists(conn: Conn, token_id: str, account_name: str) -> bool:
    """Whether API token ``token_id`` of ``account_name`` is still valid (not deleted)."""
    return bool(conn.execute("SELECT 1 FROM api_token WHERE id = ? AND account = ?",
                             (token_id, account_name)).fetchall())


def delete_api_token(conn: Conn, token_id: str, account_name: str) -> bool:
    """Revoke an API token; whether it existed."""
    with write(conn):
        cursor = conn.execute("DELETE FROM api_token WHERE id = ? AND account = ?",
                              (token_id, account_name))
        return bool(cursor.rowcount == 1)


def end_session(conn: Conn, token_id: str, expires_at: int, now: int) -> None:
    """Refuse session ``token_id`` from now on (logout); forget sessions already expired."""
    with write(conn):
        conn.execute("DELETE FROM revoked_session WHERE expires_at <= ?", (now,))
        conn.execute("INSERT INTO revoked_session (id, expires_at) VALUES (?, ?)"
                     " ON CONFLICT (id) DO NOTHING", (token_id, expires_at))


def session_ended(conn: Conn, token_id: str) -> bool:
    """Whether session ``token_id`` was ended by a logout."""
    return bool(conn.execute("SELECT 1 FROM revoked_session WHERE id = ?",
                             (token_id,)).fetchall())


def login_failures(conn: Conn, keys: Sequence[str], since: int) -> int:
    """The most failed logins any of ``keys`` had since ``since``."""
    marks = ", ".join("?" * len(keys))
    row = conn.execute(f"SELECT MAX(failures) FROM login_failure WHERE key IN ({marks})"
                       " AND since > ?", (*keys, since)).fetchall()
    return int(row[0][0] or 0) if row else 0


def note_login_failure(conn: Conn, keys: Sequence[str], now: int,
                       window: int) -> None:  # fmt: skip
    """Count one failed login against each of ``keys`` (a counter older than ``window``
    starts again)."""
    with write(conn):
        for key in keys:
            conn.execute(
                "INSERT INTO login_failure (key, failures, since) VALUES (?, 1, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " failures = CASE WHEN login_failure.since > ?"
                " THEN login_failure.failures + 1 ELSE 1 END,"
                " since = CASE WHEN login_failure.since > ?"
                " THEN login_failure.since ELSE excluded.since END",
                (key, now, now - window, now - window))
        # Only the newest MAX_FAILURE_ROWS counters are kept (older ones tied with the
        # last kept stay too): an attacker's many addresses cannot grow the table.
        conn.execute("DELETE FROM login_failure WHERE since < (SELECT since FROM login_failure"
                     " ORDER BY since DESC LIMIT 1 OFFSET ?)", (MAX_FAILURE_ROWS - 1,))


def clear_login_failures(conn: Conn, keys: Sequence[str]) -> None:
    """Forget the failed logins of ``keys`` (after a successful login)."""
    with write(conn):
        conn.executemany("DELETE FROM login_failure WHERE key = ?", [(k,) for k in keys])
