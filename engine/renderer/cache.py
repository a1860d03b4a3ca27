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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import RenderCancelledError
from engine.lru import SizedLru
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
        self.stats = CacheStats()
        self._entries: SizedLru[RenderKey, _Kept] = SizedLru(max_bytes=max_bytes,
                                                             max_entries=max_entries)
        # A render cancelled by its own caller is not a result for the others.
        self._flights: SingleFlight[RenderKey, Objects] = SingleFlight(
            rerun_after=(RenderCancelledError,))
        self._lock = threading.Lock()  # the stats'

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        """The estimated size of everything cached."""
        return self._entries.bytes

    def get(self, key: RenderKey) -> Objects | None:
        """A copy of the cached render for ``key``, or None."""
        kept = self._entries.get(key)
        if kept is None:
            return None
        self._count(hits=1)
        return _copy(kept)

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
            self._count(coalesced=1)
        return copy.deepcopy(objects)

    def _cached_or_rendered(self, key: RenderKey, render: Callable[[], Objects]) -> Objects:
        """The objects for ``key``: stored by a flight that ended since ``get``, or rendered."""
        kept = self._entries.get(key)
        if kept is not None:
            self._count(hits=1)
            return _copy(kept)
        self._count(misses=1)
        objects = render()
        self._count(evictions=self._entries.put(key, *_kept(objects)))
        return objects

    def _count(self, *, hits: int = 0, misses: int = 0, coalesced: int = 0,
               evictions: int = 0) -> None:  # fmt: skip
        with self._lock:
            self.stats.hits += hits
            self.stats.misses += misses
            self.stats.coalesced += coalesced
            self.stats.evictions += evictions

    def invalidate(self, *, repo: str | None = None) -> None:
        """Forget every entry (or those of one repository)."""
        self._entries.forget(None if repo is None else lambda key: key.repo == repo)
