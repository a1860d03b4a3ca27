"""The work queue of (app, cluster) keys: deduplicated, prioritised, limited per cluster.

Semantics (those of client-go's workqueue, with priorities and per-cluster limits):

- A key is queued at most once. Adding a queued key again keeps one entry, raised to the
  higher of the two priorities; its wait is still measured from the first add.
- A key handed out by ``get`` is *running* until ``done``. Adding it while it runs marks it
  to run once more after ``done``; it is never handed out twice at the same time.
- ``get`` hands out the highest-priority key (oldest first within a priority) among the
  clusters that are below their limit, and only while fewer than ``concurrency`` keys run.
  A cluster at its limit therefore holds back only its own keys.
- At most ``max_size`` keys wait; ``add`` of a new key to a full queue returns False.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import Counter
from dataclasses import dataclass

from engine.clock import Clock, MonotonicClock
from engine.model import TargetKey
from engine.model.reconciles import Trigger

Priority = Trigger


@dataclass(frozen=True)
class Lease:
    """A key handed out by ``get``: run it, then call ``done(key)``."""

    key: TargetKey
    trigger: Trigger
    waited: float


@dataclass
class _Waiting:
    trigger: Trigger
    seq: int
    since: float


class QueueClosed(Exception):
    """``get`` on a closed queue."""


class WorkQueue:
    """A bounded, deduplicated priority queue of keys with global and per-cluster limits."""

    def __init__(
        self,
        *,
        concurrency: int = 16,
        cluster_limit: int = 4,
        max_size: int = 100_000,
        clock: Clock | None = None,
    ) -> None:
        self.max_size = max_size
        self._concurrency = concurrency
        self._default_cluster_limit = cluster_limit
        self._cluster_limits: dict[str, int] = {}
        self._clock = clock or MonotonicClock()
        self._waiting: dict[TargetKey, _Waiting] = {}
        self._ready: dict[str, list[tuple[int, int, TargetKey]]] = {}  # per cluster heap
        self._running: set[TargetKey] = set()
        self._running_per_cluster: Counter[str] = Counter()
        self._again: dict[TargetKey, _Waiting] = {}  # added while running
        self._changed = asyncio.Event()
        self._seq = 0
        self._closed = False

    # -- adding -----------------------------------------------------------------------------

    def add(self, key: TargetKey, trigger: Trigger) -> bool:
        """Queue ``key`` (or raise its priority); False only when the queue is full or closed."""
        if self._closed:
            return False
        if key in self._running:
            self._again[key] = self._merge(self._again.get(key), trigger)
            return True
        waiting = self._waiting.get(key)
        if waiting is None and len(self._waiting) >= self.max_size:
            return False
        if waiting is not None and waiting.trigger >= trigger:
            return True
        self._push(key, self._merge(waiting, trigger))
        return True

    def done(self, key: TargetKey) -> None:
        """Mark a running key finished; queue it again if it was added while it ran."""
        if key not in self._running:
            return
        self._running.discard(key)
        self._running_per_cluster[key.cluster] -= 1
        if self._running_per_cluster[key.cluster] <= 0:
            del self._running_per_cluster[key.cluster]
        again = self._again.pop(key, None)
        if again is not None and not self._closed:
            self._push(key, again)
        self._changed.set()

    def discard(self, key: TargetKey) -> None:
        """Forget a waiting key (e.g. its app was deleted); a running one is not re-run."""
        self._waiting.pop(key, None)
        self._again.pop(key, None)

    # -- taking -----------------------------------------------------------------------------

    async def get(self) -> Lease:
        """Wait for the next key that may run now (wrap in ``asyncio.timeout`` to bound it)."""
        while True:
            if self._closed:
                raise QueueClosed("the work queue is closed")
            lease = self.get_nowait()
            if lease is not None:
                return lease
            self._changed.clear()
            await self._changed.wait()

    def get_nowait(self) -> Lease | None:
        """The next key that may run now, or None."""
        if len(self._running) >= self._concurrency:
            return None
        best: tuple[int, int, TargetKey] | None = None
        for cluster in list(self._ready):
            head = self._head(cluster)
            if head is None or self._running_per_cluster[cluster] >= self.cluster_limit(cluster):
                continue
            if best is None or head < best:
                best = head
        if best is None:
            return None
        key = best[2]
        heapq.heappop(self._ready[key.cluster])
        waiting = self._waiting.pop(key)
        self._running.add(key)
        self._running_per_cluster[key.cluster] += 1
        return Lease(key, waiting.trigger, max(self._clock.now() - waiting.since, 0.0))

    def close(self) -> None:
        """Refuse new keys and wake every ``get`` with ``QueueClosed``."""
        self._closed = True
        self._changed.set()

    # -- limits -----------------------------------------------------------------------------

    @property
    def concurrency(self) -> int:
        """How many keys may run at once, over all clusters."""
        return self._concurrency

    def set_concurrency(self, limit: int) -> None:
        """Change the global limit; running keys above a lowered limit finish normally."""
        self._concurrency = max(limit, 1)
        self._changed.set()

    def cluster_limit(self, cluster: str) -> int:
        """How many keys of ``cluster`` may run at once."""
        return self._cluster_limits.get(cluster, self._default_cluster_limit)

    def set_cluster_limit(self, cluster: str | None, limit: int | None) -> None:
        """Set one cluster's limit (None resets it), or the default when ``cluster`` is None."""
        if cluster is None:
            self._default_cluster_limit = max(limit or 1, 1)
        elif limit is None:
            self._cluster_limits.pop(cluster, None)
        else:
            self._cluster_limits[cluster] = max(limit, 1)
        self._changed.set()

    # -- state ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, key: object) -> bool:
        return key in self._waiting or key in self._again

    @property
    def running(self) -> frozenset[TargetKey]:
        """Keys handed out and not yet done."""
        return frozenset(self._running)

    def trigger_of(self, key: TargetKey) -> Trigger | None:
        """The priority ``key`` waits with, or None if it does not wait."""
        waiting = self._waiting.get(key) or self._again.get(key)
        return waiting.trigger if waiting else None

    # -- internals --------------------------------------------------------------------------

    def _merge(self, waiting: _Waiting | None, trigger: Trigger) -> _Waiting:
        if waiting is None:
            return _Waiting(trigger, 0, self._clock.now())
        return _Waiting(max(waiting.trigger, trigger), waiting.seq, waiting.since)

    def _push(self, key: TargetKey, waiting: _Waiting) -> None:
        self._seq += 1
        waiting.seq = self._seq
        self._waiting[key] = waiting
        heap = self._ready.setdefault(key.cluster, [])
        heapq.heappush(heap, (-int(waiting.trigger), self._seq, key))
        self._changed.set()

    def _head(self, cluster: str) -> tuple[int, int, TargetKey] | None:
        heap = self._ready[cluster]
        while heap:
            _, seq, key = heap[0]
            waiting = self._waiting.get(key)
            if waiting is not None and waiting.seq == seq:
                return heap[0]
            heapq.heappop(heap)  # superseded by a priority raise, or discarded
        del self._ready[cluster]
        return None
