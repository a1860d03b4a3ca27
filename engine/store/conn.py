"""What the store's SQL functions use of a connection: ``sqlite3.Connection`` has it, and
so does ``engine.store.postgres.PgConnection``, which raises ``DriverError`` for what its
driver raises (so that nothing but that module imports psycopg: 120 ms and 23 MB that a
hub on SQLite, and every CLI command, would pay)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol


class DriverError(Exception):
    """A PostgreSQL error, as the server (or the connection) gave it: its message only,
    never the connection string; ``locked`` when a lock wait timed out, ``unreachable``
    when the server could not be reached."""

    def __init__(self, message: str, *, locked: bool = False, unreachable: bool = False):
        super().__init__(message)
        self.locked, self.unreachable = locked, unreachable


class Conn(Protocol):
    """A database connection in autocommit mode whose callers begin their transactions."""

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""
        ...

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ..., /) -> Any:
        """Run one statement; a cursor over its rows (by index and by name)."""
        ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any:
        """Run one statement once per parameter set."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


POSTGRES = "postgresql"  # the ``dialect`` of ``engine.store.postgres.PgConnection``


def is_postgres(conn: Conn) -> bool:
    """Whether ``conn`` is PostgreSQL (else SQLite, which has no ``dialect``)."""
    return getattr(conn, "dialect", "sqlite") == POSTGRES
