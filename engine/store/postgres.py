"""PostgreSQL under the store's SQL: a psycopg 3 connection that answers the few calls the
store's functions make of a ``sqlite3.Connection`` (``execute``, ``executemany``, rows by
name and by index, ``in_transaction``).

The store's SQL is written for both: standard statements, ``INSERT ... RETURNING``,
``ON CONFLICT`` upserts, savepoints. What differs is spelled here once: placeholders
(``?`` and ``:name`` become ``%s`` and ``%(name)s``), ``BEGIN IMMEDIATE`` (SQLite's
write lock at the start; PostgreSQL locks rows as it writes), and the DDL of the
migrations (``engine.store.schema``). The connection is in autocommit mode, so that, as with
SQLite, the store's own ``BEGIN``/``COMMIT`` make the transactions.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.pq import TransactionStatus

from engine.store.conn import POSTGRES, DriverError

_QUOTED_OR_PARAM = re.compile(r"'(?:[^']|'')*'|\?|(?<!:):([A-Za-z_]\w*)|%")


class Row(tuple[Any, ...]):
    """A result row, by index and by column name, as ``sqlite3.Row``."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self.names)


def _rows(cursor: psycopg.Cursor[Any]) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """``sql`` as psycopg takes it: placeholders and ``BEGIN IMMEDIATE`` rewritten,
    literal ``%`` doubled; quoted strings left alone."""
    if sql.strip().upper() == "BEGIN IMMEDIATE":
        return "BEGIN"

    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _QUOTED_OR_PARAM.sub(one, sql)


class PgConnection:
    """One psycopg connection, used only from its own thread (as the store's SQLite ones)."""

    dialect = POSTGRES

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self._raw = raw

    @classmethod
    def connect(cls, dsn: str, *, timeout: float, read_only: bool = False) -> PgConnection:
        """Connect in autocommit mode (the store begins its own transactions)."""
        with _driver_errors():
            raw = psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, round(timeout)))
            if read_only:
                raw.execute("SET default_transaction_read_only = on")
            raw.execute(f"SET lock_timeout = {max(1, round(timeout * 1000))}")
        return cls(raw)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (begun and not yet committed or rolled back)."""
        return self._raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        """Run one statement; its cursor."""
        cursor = self._raw.cursor(row_factory=_rows)
        with _driver_errors():
            cursor.execute(translate(sql), params or None)
        return Cursor(cursor)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per parameter set."""
        with self._raw.cursor() as cursor, _driver_errors():
            cursor.executemany(translate(sql), list(params))

    def close(self) -> None:
        """Close the connection."""
        self._raw.close()


class Cursor:
    """The result of one statement, as the store reads a ``sqlite3.Cursor``."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


@contextlib.contextmanager
def _driver_errors() -> Iterator[None]:
    """psycopg's errors as ``DriverError``: the server's message, never the DSN."""
    try:
        yield
    except psycopg.Error as exc:
        text = (exc.diag.message_primary if exc.diag else None) or type(exc).__name__
        raise DriverError(text, locked=isinstance(exc, psycopg.errors.LockNotAvailable),
                          unreachable=isinstance(exc, psycopg.OperationalError)) from None


def where(dsn: str) -> str:
    """The server and database of ``dsn``, without user or password (for messages)."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        host = parts.hostname or "localhost"
        return f"postgresql {host}:{parts.port or 5432}{parts.path or '/'}"
    fields = dict(p.split("=", 1) for p in dsn.split() if "=" in p)
    return (f"postgresql {fields.get('host', 'localhost')}:{fields.get('port', '5432')}"
            f"/{fields.get('dbname', '')}")
