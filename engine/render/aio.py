"""Async front of the render cache (not pure: uses asyncio; the pure modules do not).

``AsyncRenderCache.render(key, render, budget=...)`` runs the pure render on the cache's
own ``limit`` threads (never the event loop's shared default executor, which git, DNS and
every other ``to_thread`` use), and coalesces concurrent identical requests.

A thread cannot be killed, so a render is stopped cooperatively: its ``RenderBudget``
holds a deadline (started when a thread picks the render up) and a cancel flag, both
checked at every step of the render. When the last caller waiting for a render is
cancelled or gives up (its deadline plus ``GRACE`` passed), the render is cancelled; its
thread, the slot, is free again within one step of the render. A render not yet started
is dropped from the queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from engine.render.budget import RenderBudget, RenderTimeoutError
from engine.render.cache import Objects, RenderCache, RenderKey
from engine.render.resources import copy_tree

GRACE = 5.0  # seconds past its deadline before waiters stop waiting for a render
_POLL = 0.5  # seconds between looks at a queued render's deadline


@dataclass
class _Flight:
    """One render in progress and the callers waiting for it."""

    thread: Future[Objects]
    result: asyncio.Future[Objects]
    budget: RenderBudget | None
    waiters: int = 0
    handed_out: bool = False  # the first caller takes the result itself, others a copy


class AsyncRenderCache:
    """Renders off the event loop on its own threads, cached, coalesced and cancellable."""

    def __init__(self, cache: RenderCache | None = None, *, limit: int = 2):
        self.cache = cache or RenderCache()
        self.limit = limit
        self._executor = ThreadPoolExecutor(max_workers=limit,
                                            thread_name_prefix="fleetsync-render")
        self._pending: dict[RenderKey, _Flight] = {}

    async def render(self, key: RenderKey, render: Callable[[], Objects], *,
                     budget: RenderBudget | None = None) -> Objects:
        """The objects for ``key``: from the cache, from a render in flight, or rendered now.

        ``budget`` should be the one ``render`` passes to ``build``: it is started when a
        thread takes the render, and cancelled when no caller waits any more.
        """
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        flight = self._pending.get(key)
        if flight is None:
            flight = self._pending[key] = self._start(key, render, budget)
        flight.waiters += 1
        try:
            objects = await self._wait(key, flight)
            if flight.handed_out:
                return copy_tree(objects)
            flight.handed_out = True
            return objects
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.result.done():
                self._abandon(key, flight)

    def _start(self, key: RenderKey, render: Callable[[], Objects],
               budget: RenderBudget | None) -> _Flight:
        def run() -> Objects:
            if budget is not None:
                budget.start()
            return self.cache.get_or_render(key, render)

        thread = self._executor.submit(run)
        flight = _Flight(thread, asyncio.wrap_future(thread), budget)
        flight.result.add_done_callback(_retrieve)
        flight.result.add_done_callback(lambda _: self._finished(key, flight))
        return flight

    async def _wait(self, key: RenderKey, flight: _Flight) -> Objects:
        """The render's result; with a budget, given up ``GRACE`` s after its deadline."""
        budget = flight.budget
        while not flight.result.done():
            if budget is None:
                await asyncio.wait({flight.result})
            elif budget.deadline is None:  # still queued: look again soon
                await asyncio.wait({flight.result}, timeout=_POLL)
            elif time.monotonic() < budget.deadline + GRACE:
                await asyncio.wait({flight.result},
                                   timeout=budget.deadline + GRACE - time.monotonic())
            else:
                raise RenderTimeoutError(
                    f"{key.path or '.'}: render did not stop {GRACE:g} s after its time "
                    f"limit of {budget.timeout:g} s (limits.renderTimeout)")
        return flight.result.result()

    def _abandon(self, key: RenderKey, flight: _Flight) -> None:
        """No one waits: stop the render (or drop it from the queue) and forget it."""
        if flight.budget is not None:
            flight.budget.cancel()
        flight.thread.cancel()
        self._finished(key, flight)

    def _finished(self, key: RenderKey, flight: _Flight) -> None:
        if self._pending.get(key) is flight:
            del self._pending[key]

    def close(self) -> None:
        """Cancel every render and stop the threads (those running end at their next check)."""
        for flight in list(self._pending.values()):
            if flight.budget is not None:
                flight.budget.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _retrieve(future: asyncio.Future[Objects]) -> None:
    """Mark an abandoned render's error as seen (its callers re-raise it themselves)."""
    if not future.cancelled():
        future.exception()
