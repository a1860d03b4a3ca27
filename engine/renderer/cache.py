"""A bounded cache of renders keyed by (repo, SHA, path, options), with coalescing.

Thread-safe, and no I/O of its own: ``get_or_render(key, render)`` returns the cached objects, or
runs ``render`` once while concurrent callers for the same key wait for that result
(``engine.singleflight``). Entries are evicted least-recently-used when either the entry count or
the total estimated size exceeds its bound. Errors are not cached. Callers receive
their own copies, so no one can change what the cache holds.

An entry is kept as ``marshal`` bytes, not as the parsed tree: about a sixth of the
memory (a four-object app: ~1.5 KB against ~10 KB of dicts and strings), and each copy
handed out is a ``marshal.loads``, faster than copying the tree. The bytes are the
cache's own, made from objects it was given and read back in the same process, so no
outside input is ever unmarshalled. A tree marshal cannot hold (a YAML ``!!timestamp``
gives a ``datetime``) is kept as a copy of the tree instead.
"""

from __future__ import annotations

import copy
import json
import marshal
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import RenderCancelledError
from engine.singleflight import SingleFlight

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


def estimate_bytes(objects: Objects) -> int:
    """The size of a render, as the length of its JSON text."""
    return len(json.dumps(objects, separators=(",", ":"), default=str))


_Kept = bytes | Objects  # marshalled, or the tree when marshal cannot hold it


def _kept(objects: Objects) -> tuple[_Kept, int]:
    """What the cache keeps of ``objects``, and its size in bytes."""
    try:
        packed = marshal.dumps(objects)
    except ValueError:
        return copy.deepcopy(objects), estimate_bytes(objects)
    return packed, len(packed)


def _copy(kept: _Kept) -> Objects:
    """A fresh copy of what the cache keeps."""
    if isinstance(kept, bytes):
        objects: Objects = marshal.loads(kept)  # the cache's own bytes (see above)
        return objects
    return copy.deepcopy(kept)


class RenderCache:
    """LRU cache of renders bounded by entry count and bytes, with single flight."""

    def __init__(self, *, max_entries: int = 1024, max_bytes: int = 256 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[RenderKey, tuple[_Kept, int]] = OrderedDict()
        self._bytes = 0
        # A render cancelled by its own caller is not a result for the others.
        self._flights: SingleFlight[RenderKey, Objects] = SingleFlight(
            rerun_after=(RenderCancelledError,))
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
        return _copy(entry[0])

    def get_or_render(self, key: RenderKey, render: Callable[[], Objects]) -> Objects:
        """The cached render for ``key``, rendering once if missing (concurrent callers wait).

        A render cancelled by its own caller is not a result: a caller waiting for it
        renders again instead of inheriting the cancel.
        """
        cached = self.get(key)
        if cached is not None:
            return cached
        objects, led = self._flights.do(key, lambda: self._cached_or_rendered(key, render))
        if not led:
            with self._lock:
                self.stats.coalesced += 1
        return copy.deepcopy(objects)

    def _cached_or_rendered(self, key: RenderKey, render: Callable[[], Objects]) -> Objects:
        """The objects for ``key``: stored by a flight that ended since ``get``, or rendered."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.stats.hits += 1
            else:
                self.stats.misses += 1
        if entry is not None:
            return _copy(entry[0])
        objects = render()
        self._store(key, objects)
        return objects

    def _store(self, key: RenderKey, objects: Objects) -> None:
        kept, size = _kept(objects)
        with self._lock:
            if size > self.max_bytes:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (kept, size)
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
