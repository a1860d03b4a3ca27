"""The render service: the async front of the render cache (asyncio, threads).

``AsyncRenderCache.render(key, render, budget=...)`` runs the pure render on the cache's
own ``limit`` threads (never the event loop's shared default executor, which git, DNS and
every other ``to_thread`` use), and coalesces concurrent identical requests.

A thread cannot be killed, so a render is stopped cooperatively: its ``RenderBudget``
holds a deadline (started when a thread picks the render up) and a cancel flag, both
checked at every step of the render. Each render is one task of an
``engine.asyncflight.AsyncSingleFlight``, shared by its callers: when the last of them is
cancelled or stops waiting, or when the render has not stopped ``GRACE`` seconds after its
deadline, the render is cancelled; its thread, the slot, is free again within one step of
the render. A render not yet started is dropped from the queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from engine.asyncflight import AsyncSingleFlight
from engine.errors import RenderCancelledError, RenderTimeoutError
from engine.render.budget import RenderBudget
from engine.render.resources import copy_tree
from engine.renderer.cache import Objects, RenderCache, RenderKey
from engine.renderer.shared import SharedDirectories

GRACE = 5.0  # seconds past its deadline before waiters stop waiting for a render
_POLL = 0.5  # seconds between looks at a queued render's deadline


class AsyncRenderCache:
    """Renders off the event loop on its own threads, cached, coalesced and cancellable."""

    def __init__(self, cache: RenderCache | None = None, *, limit: int = 2):
        self.cache = cache or RenderCache()
        self.shared = SharedDirectories()  # bases built once per tree, for every app
        self.limit = limit
        self._executor = ThreadPoolExecutor(max_workers=limit,
                                            thread_name_prefix="fleetsync-render")
        self._flights: AsyncSingleFlight[RenderKey, Objects] = AsyncSingleFlight()
        self._running: dict[int, RenderBudget] = {}  # by id: budgets are not hashable

    async def render(self, key: RenderKey, render: Callable[[], Objects], *,
                     budget: RenderBudget | None = None) -> Objects:
        """The objects for ``key``: from the cache, from a render in flight, or rendered now.

        ``budget`` should be the one ``render`` passes to ``build``: it is started when a
        thread takes the render, and cancelled when no caller waits any more.
        """
        cached = self.cached(key)
        if cached is not None:
            return cached
        objects, led = await self._flights.do(key, lambda: self._run(key, render, budget))
        # The thread's objects are a private copy: the first caller may keep them.
        return objects if led else copy_tree(objects)

    def cached(self, key: RenderKey) -> Objects | None:
        """The caller's own copy of the render of ``key`` if the cache holds it."""
        return self.cache.get(key)

    async def _run(self, key: RenderKey, render: Callable[[], Objects],
                   budget: RenderBudget | None) -> Objects:
        """One render on the cache's threads; cancelled (budget and queue) with its task."""
        def finished() -> Objects:
            objects = render()
            if budget is not None and budget.cancelled:
                # its files may have changed since (a tree no lease holds is reused)
                raise RenderCancelledError(f"{key.path or '.'}: render cancelled")
            return objects

        def run() -> Objects:
            if budget is not None:
                budget.start()
            return self.cache.get_or_render(key, finished)

        thread = self._executor.submit(run)
        if budget is not None:
            self._running[id(budget)] = budget
        try:
            return await self._wait(key, thread, budget)
        except (asyncio.CancelledError, RenderTimeoutError):
            if budget is not None:
                budget.cancel()  # a running render ends at its next step
            thread.cancel()  # a queued one is dropped
            raise
        finally:
            if budget is not None:
                self._running.pop(id(budget), None)

    async def _wait(self, key: RenderKey, thread: Future[Objects],
                    budget: RenderBudget | None) -> Objects:
        """The render's result; with a budget, given up ``GRACE`` s after its deadline."""
        result = asyncio.wrap_future(thread)
        result.add_done_callback(_retrieve)
        while not result.done():
            if budget is None:
                await asyncio.wait({result})
            elif budget.deadline is None:  # still queued: look again soon
                await asyncio.wait({result}, timeout=_POLL)
            elif time.monotonic() < budget.deadline + GRACE:
                await asyncio.wait({result}, timeout=budget.deadline + GRACE - time.monotonic())
            else:
                raise RenderTimeoutError(
                    f"{key.path or '.'}: render did not stop {GRACE:g} s after its time "
                    f"limit of {budget.timeout:g} s (limits.renderTimeout)")
        return result.result()

    def close(self) -> None:
        """Cancel every render and stop the threads (those running end at their next check)."""
        for budget in list(self._running.values()):
            budget.cancel()
        self._flights.cancel_all()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _retrieve(future: asyncio.Future[Objects]) -> None:
    """Mark an abandoned render's error as seen (its callers re-raise it themselves)."""
    if not future.cancelled():
        future.exception()
