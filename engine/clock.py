"""Time as the hub's loops see it: a monotonic ``now`` and a wait that a test can drive.

The scheduler's queue and runner and the Git poller read time through a
``Clock``.

``MonotonicClock`` is the real one. ``FakeClock`` moves only when told (``advance``), so
tests of timers, backoff and queue latency run in microseconds and give the same result
on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock in seconds and a wait on an event bounded by that clock."""

    def now(self) -> float:
        """Seconds since an arbitrary origin; never goes back."""
        ...

    async def wait(self, event: asyncio.Event, *, within: float | None) -> None:
        """Return when ``event`` is set or ``within`` seconds of this clock have passed."""
        ...


class MonotonicClock:
    """The process's monotonic clock."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def wait(self, event: asyncio.Event, *, within: float | None) -> None:
        """Wait for ``event`` at most ``within`` seconds (forever when None)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None if within is None else max(within, 0.0)):
                await event.wait()


class FakeClock:
    """A clock for tests: time stands still until ``advance`` moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Event]] = []

    def now(self) -> float:
        """The current fake time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every wait whose timeout has passed."""
        self._now += seconds
        due = [s for s in self._sleepers if s[0] <= self._now]
        self._sleepers = [s for s in self._sleepers if s[0] > self._now]
        for _, event in due:
            event.set()  # the waiter re-checks its own state after waking

    async def wait(self, event: asyncio.Event, *, within: float | None) -> None:
        """Wait for ``event``; when fake time passes ``within``, ``event`` is set to wake it."""
        if within is not None and within <= 0:
            return
        entry = (self._now + within, event) if within is not None else None
        if entry is not None:
            self._sleepers.append(entry)
        try:
            await event.wait()
        finally:
            if entry is not None and entry in self._sleepers:
                self._sleepers.remove(entry)
