"""A thread-safe least-recently-used map bounded by entry count and by bytes.

No I/O: the caller says what each value costs. The render cache and the parse memo keep
their values in one of these (renders run in a thread pool, so every step holds a lock).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class SizedLru(Generic[K, V]):
    """At most ``max_entries`` values costing at most ``max_bytes`` together; the least
    recently used go first. A value costing more than ``max_value_bytes`` (default: all of
    ``max_bytes``) is never kept."""

    def __init__(self, *, max_bytes: int, max_entries: int | None = None,
                 max_value_bytes: int | None = None) -> None:  # fmt: skip
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.max_value_bytes = max_bytes if max_value_bytes is None else max_value_bytes
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """What the values kept now cost together."""
        return self._bytes

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: K, value: V, cost: int) -> int:
        """Keep ``value`` for ``key`` unless it costs too much; forget the least recently
        used over the bounds. The number of other values forgotten."""
        if cost > self.max_value_bytes:
            return 0
        forgotten = 0
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, cost)
            self._bytes += cost
            while self._bytes > self.max_bytes or (
                    self.max_entries is not None and len(self._entries) > self.max_entries):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
                forgotten += 1
        return forgotten

    def forget(self, which: Callable[[K], bool] | None = None) -> None:
        """Forget every value, or those whose key ``which`` accepts."""
        with self._lock:
            for key in [k for k in self._entries if which is None or which(k)]:
                self._bytes -= self._entries.pop(key)[1]
