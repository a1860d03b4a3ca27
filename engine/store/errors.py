"""The errors of the embedded store, below ``StoreError`` (defined in ``engine.errors``).

Each names the store's file. SQLite's own errors and the store's internal signals
(``codec.BadRow``, ``schema.SchemaTooNew``, ``queries.NoSuchOperation``) are mapped to
these once, at the store's edge (``engine.store.store``).
"""

from __future__ import annotations

from engine.errors import (
    StoreClosed,
    StoreCorrupt,
    StoreError,
    StoreFenced,
    StoreLocked,
    StoreTooNew,
    UnknownOperation,
)

__all__ = ["StoreClosed", "StoreCorrupt", "StoreError", "StoreFenced", "StoreLocked",
           "StoreTooNew", "UnknownOperation"]
