"""Single flight for asyncio: concurrent callers asking for one key share one task.

``AsyncSingleFlight.do(key, work)`` starts ``work()`` as a task for the first caller; callers
that ask for the same key while it runs await the same task and share its result or its
error. The task belongs to all its callers, not to the first one: a caller that is
cancelled or gives up only stops waiting. When the last caller stops waiting, the task is
cancelled and that caller returns only once the task has ended, so that a cancelled
caller leaves nothing running behind it (a git process, a render's thread): ``work``
cleans up on ``CancelledError``. Nothing is kept once the task ends: caching is the
caller's business.

The thread twin is ``engine.singleflight.SingleFlight``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Flight(Generic[V]):
    task: asyncio.Task[V]
    waiters: int = 0


class AsyncSingleFlight(Generic[K, V]):
    """At most one task per key at a time; every concurrent caller awaits that task."""

    def __init__(self) -> None:
        self._flights: dict[K, _Flight[V]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def do(self, key: K, work: Callable[[], Coroutine[Any, Any, V]]) -> tuple[V, bool]:
        """``work()``'s result for ``key`` and whether this caller started it (False: shared)."""
        flight = self._flights.get(key)
        leader = flight is None
        if flight is None:
            flight = self._flights[key] = self._start(key, work)
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task), leader
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                self._forget(key, flight)  # a new caller starts afresh
                await _stop(flight.task)

    def cancel_all(self) -> None:
        """Cancel every task in flight (its callers get ``CancelledError``); no waiting."""
        for key, flight in list(self._flights.items()):
            self._forget(key, flight)
            flight.task.cancel()

    def _start(self, key: K, work: Callable[[], Coroutine[Any, Any, V]]) -> _Flight[V]:
        flight = _Flight(asyncio.get_running_loop().create_task(work()))
        flight.task.add_done_callback(_retrieve)
        flight.task.add_done_callback(lambda _: self._forget(key, flight))
        return flight

    def _forget(self, key: K, flight: _Flight[V]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]


async def _stop(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, although the caller is being cancelled
    (anyio cancels again at every await: the wait is shielded from that)."""
    task.cancel()
    with anyio.CancelScope(shield=True):
        await asyncio.wait({task})


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark an error as seen: a task nobody waits for any more must not log it as lost."""
    if not task.cancelled():
        task.exception()
