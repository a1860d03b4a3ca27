"""When each key is due again: jittered periodic resync and retry backoff (pure).

Every tracked key has at most one periodic deadline and at most one retry deadline. The
periodic interval is shortened by up to 10% at random so that keys registered together (a
hub restart, a new repo with hundreds of apps) spread out instead of firing in one burst,
while no key waits longer than its interval.

``Backoff`` follows Argo CD's ``syncPolicy.retry``: the n-th consecutive failure waits
``duration * factor**(n-1)``, never more than ``max_duration``; ``limit`` caps how many
retries follow a failure (0: none, negative or None: no cap). When the limit is spent the
key waits for its periodic resync or a new trigger; a success resets the count.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.durations import parse_duration
from engine.errors import ConfigError
from engine.model import TargetKey
from engine.scheduler.queue import Trigger

__all__ = ["DEFAULT_JITTER", "Backoff", "Timers", "jittered", "parse_duration"]

DEFAULT_JITTER = 0.1


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff after consecutive failures, capped, with an optional retry limit."""

    duration: float = 5.0
    factor: float = 2.0
    max_duration: float = 180.0
    limit: int | None = None

    def delay(self, failures: int) -> float | None:
        """Seconds to wait after the ``failures``-th failure in a row; None: no more retries."""
        if failures < 1:
            return 0.0
        if self.limit is not None and 0 <= self.limit < failures:
            return None
        exponent = min(failures - 1, 64)  # large enough to reach any cap, small enough for floats
        return float(min(self.duration * self.factor**exponent, self.max_duration))

    @classmethod
    def from_argo(cls, retry: Mapping[str, Any] | None) -> Backoff:
        """The backoff of an Argo CD ``syncPolicy.retry`` block (its defaults when absent)."""
        retry = retry or {}
        spec = retry.get("backoff") or {}
        limit = retry.get("limit")
        backoff = cls(
            duration=parse_duration(spec.get("duration", "5s")),
            factor=float(spec.get("factor", 2)),
            max_duration=parse_duration(spec.get("maxDuration", "3m")),
            limit=None if limit is None or int(limit) < 0 else int(limit),
        )
        if backoff.duration < 0 or backoff.factor < 1 or backoff.max_duration < 0:
            raise ConfigError(f"invalid retry backoff {dict(spec)!r}: durations must not be "
                              "negative and factor must be at least 1")  # fmt: skip
        return backoff


def jittered(interval: float, *, rng: random.Random, jitter: float = DEFAULT_JITTER) -> float:
    """``interval`` shortened by a uniform random fraction of at most ``jitter``.

    Only ever earlier: resyncs of many apps are spread out, yet each app is still
    reconciled within its declared interval (``timeout.reconcile``), as users read it.
    """
    return interval * (1.0 - rng.uniform(0.0, jitter))


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
