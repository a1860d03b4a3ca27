"""A bounded cache of renders keyed by (repo, SHA, path, options), with coalescing.

Pure and thread-safe: ``get_or_render(key, render)`` returns the cached objects, or
runs ``render`` once while concurrent callers for the same key wait for that result
(single flight). Entries are evicted least-recently-used when either the entry count or
the total estimated size exceeds its bound. Errors are not cached. Callers receive
deep copies, so no one can change what the cache holds.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.render.budget import RenderCancelledError

Objects = list[dict[str, Any]]


@dataclass(frozen=True)
class RenderKey:
    """What identifies one render: the commit's tree, the path and the options."""

    repo: str
    sha: str
    path: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass
class CacheStats:
    """Counters of one cache."""

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    evictions: int = 0


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: Objects | None = None
    error: BaseException | None = None


def estimate_bytes(objects: Objects) -> int:
    """The size of a render, as the length of its JSON text."""
    return len(json.dumps(objects, separators=(",", ":"), default=str))


class RenderCache:
    """LRU cache of renders bounded by entry count and bytes, with single flight."""

    def __init__(self, *, max_entries: int = 1024, max_bytes: int = 256 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[RenderKey, tuple[Objects, int]] = OrderedDict()
        self._bytes = 0
        self._flights: dict[RenderKey, _Flight] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        """The estimated size of everything cached."""
        return self._bytes

    def get(self, key: RenderKey) -> Objects | None:
        """A copy of the cached render for ``key``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return copy.deepcopy(entry[0])

    def get_or_render(self, key: RenderKey, render: Callable[[], Objects]) -> Objects:
        """The cached render for ``key``, rendering once if missing (concurrent callers wait).

        A render cancelled by its own caller is not a result: a caller waiting for it
        renders again instead of inheriting the cancel.
        """
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    self.stats.hits += 1
                    return copy.deepcopy(entry[0])
                flight = self._flights.get(key)
                leader = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight()
                    self.stats.misses += 1
                else:
                    self.stats.coalesced += 1
            if leader:
                return self._lead(key, render, flight)
            flight.done.wait()
            if isinstance(flight.error, RenderCancelledError):
                continue
            if flight.error is not None:
                raise flight.error
            assert flight.result is not None
            return copy.deepcopy(flight.result)

    def _lead(self, key: RenderKey, render: Callable[[], Objects], flight: _Flight) -> Objects:
        try:
            result = render()
            self._store(key, result)
            flight.result = result
            return copy.deepcopy(result)
        except BaseException as err:
            flight.error = err
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _store(self, key: RenderKey, objects: Objects) -> None:
        size = estimate_bytes(objects)
        with self._lock:
            if size > self.max_bytes:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (copy.deepcopy(objects), size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
                self.stats.evictions += 1

    def invalidate(self, *, repo: str | None = None) -> None:
        """Forget every entry (or those of one repository)."""
        with self._lock:
            for key in [k for k in self._entries if repo is None or k.repo == repo]:
                self._bytes -= self._entries.pop(key)[1]
