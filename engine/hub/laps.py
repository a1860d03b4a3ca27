"""Where reconciles spend their time: wall seconds by step, summed since the hub started.

A reconcile marks the end of each of its steps (``Lap.done``); the time since the previous
mark goes to that step, waits included (for the render threads, the cluster, the store),
so the sums say where a reconcile waits as well as where it works. ``GET /metrics`` shows
them as ``fleetsync_reconcile_step_seconds_total{step=...}``: divided by the reconciles
of the same interval, they give the mean time of each step.

The reconciler's steps (``engine.hub.reconciler``): ``open`` (the target's lock and its
stored status), ``resolve`` (checks, options, the revision), ``render``, ``project`` (the
AppProject's rules against the render), ``watches`` (of the app's kinds), ``compare``
(plan and diff), then ``save`` (a comparison's status) or ``begin``, ``execute`` (apply,
prune, health), ``status`` and ``finish`` (a sync's operation); ``close`` is the rest (the
write of a reconcile that stopped early, the report).
"""

from __future__ import annotations

import time
from collections import defaultdict


class StepSeconds:
    """The seconds every reconcile spent in each step, summed."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def lap(self) -> Lap:
        """A clock for one reconcile, started now."""
        return Lap(self.seconds)

    def snapshot(self) -> dict[str, float]:
        """The sums by step now."""
        return dict(self.seconds)


class Lap:
    """One reconcile's clock: each ``done`` charges the time since the last to a step."""

    __slots__ = ("_last", "_seconds")

    def __init__(self, seconds: defaultdict[str, float]) -> None:
        self._seconds = seconds
        self._last = time.perf_counter()

    def done(self, step: str) -> None:
        """Charge ``step`` with the time since the previous mark (or the start)."""
        now = time.perf_counter()
        self._seconds[step] += now - self._last
        self._last = now
