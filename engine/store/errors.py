"""Errors of the embedded store, all below ``StoreError`` (a ``FleetsyncError``).

StoreError              the store file could not be used (names the file)
├── StoreLocked         another process holds the database lock (temporary)
├── StoreCorrupt        not an SQLite database, malformed, or a row that cannot be read
├── StoreTooNew         written by a newer fleetsync (schema version above ours)
├── StoreClosed         the store was used after ``close()``
└── UnknownOperation    no operation has that id
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import FleetsyncError


class StoreError(FleetsyncError):
    """The store at ``path`` could not be opened, read or written."""

    def __init__(self, message: str, *, path: Path | str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path)


class StoreLocked(StoreError):
    """The database stayed locked by another connection longer than the busy timeout."""

    temporary = True


class StoreCorrupt(StoreError):
    """The file is not a usable SQLite database, or holds a row this code cannot read."""


class StoreTooNew(StoreError):
    """The schema version in the file is newer than this fleetsync knows."""


class StoreClosed(StoreError):
    """The store was used after it was closed."""


class UnknownOperation(StoreError):
    """``finish_operation`` named an operation id the store does not hold."""
