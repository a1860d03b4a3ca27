"""When each key is due again: jittered periodic resync and retry backoff (pure).

Every tracked key has at most one periodic deadline and at most one retry deadline. The
periodic interval is shortened by up to 10% at random (``engine.backoff.jittered``) so
that keys registered together (a hub restart, a new repo with hundreds of apps) spread out
instead of firing in one burst, while no key waits longer than its interval.

Retries wait as ``engine.backoff.Backoff`` says. When its limit is spent the key waits for
its periodic resync or a new trigger; a success resets the count.
"""

from __future__ import annotations

import heapq
import random

from engine.backoff import DEFAULT_JITTER, jittered
from engine.model import TargetKey
from engine.model.reconciles import Trigger


class Timers:
    """Deadlines of tracked keys: one periodic and one retry deadline per key at most."""

    def __init__(self, *, jitter: float = DEFAULT_JITTER, rng: random.Random | None = None) -> None:
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._heap: list[tuple[float, int, TargetKey, Trigger]] = []
        self._current: dict[tuple[TargetKey, Trigger], int] = {}
        self._seq = 0

    def arm_periodic(self, key: TargetKey, *, interval: float, now: float) -> float:
        """(Re)schedule the periodic resync of ``key`` one jittered interval after ``now``."""
        due = now + jittered(interval, rng=self._rng, jitter=self.jitter)
        self._arm(key, Trigger.PERIODIC, due)
        return due

    def arm_retry(self, key: TargetKey, *, delay: float, now: float) -> float:
        """(Re)schedule a retry of ``key`` ``delay`` seconds after ``now``."""
        self._arm(key, Trigger.RETRY, now + delay)
        return now + delay

    def cancel(self, key: TargetKey, trigger: Trigger) -> None:
        """Drop one deadline of ``key`` (no error if there is none)."""
        self._current.pop((key, trigger), None)

    def remove(self, key: TargetKey) -> None:
        """Drop every deadline of ``key``."""
        for trigger in (Trigger.PERIODIC, Trigger.RETRY):
            self.cancel(key, trigger)

    def due_at(self, key: TargetKey, trigger: Trigger) -> float | None:
        """When ``key`` is next due for ``trigger``, or None."""
        seq = self._current.get((key, trigger))
        if seq is None:
            return None
        return next(e[0] for e in self._heap if e[1] == seq)

    def pop_due(self, now: float) -> list[tuple[TargetKey, Trigger]]:
        """Deadlines that have passed, earliest first; they are removed."""
        fired = []
        while self._heap and self._heap[0][0] <= now:
            _, seq, key, trigger = heapq.heappop(self._heap)
            if self._current.get((key, trigger)) == seq:
                del self._current[(key, trigger)]
                fired.append((key, trigger))
        return fired

    def next_due(self) -> float | None:
        """The earliest live deadline, or None when nothing is scheduled."""
        while (
            self._heap
            and self._current.get((self._heap[0][2], self._heap[0][3])) != (self._heap[0][1])
        ):
            heapq.heappop(self._heap)  # superseded or cancelled
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._current)

    def _arm(self, key: TargetKey, trigger: Trigger, due: float) -> None:
        self._seq += 1
        self._current[(key, trigger)] = self._seq
        heapq.heappush(self._heap, (due, self._seq, key, trigger))
