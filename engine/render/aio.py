"""Async front of the render cache (not pure: uses asyncio; the pure modules do not).

``AsyncRenderCache.render(key, render)`` runs the pure render in a worker thread, at
most ``limit`` at once, and coalesces concurrent identical requests through the
thread-safe ``RenderCache``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engine.render.cache import Objects, RenderCache, RenderKey


class AsyncRenderCache:
    """Renders off the event loop, cached and coalesced."""

    def __init__(self, cache: RenderCache | None = None, *, limit: int = 2):
        self.cache = cache or RenderCache()
        self._slots = asyncio.Semaphore(limit)
        self._pending: dict[RenderKey, asyncio.Future[Objects]] = {}

    async def render(self, key: RenderKey, render: Callable[[], Objects]) -> Objects:
        """The objects for ``key``: from the cache, from a render in flight, or rendered now."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        pending = self._pending.get(key)
        if pending is not None:
            await asyncio.wait([pending])
            return self.cache.get(key) or pending.result()
        future: asyncio.Future[Objects] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            async with self._slots:
                result = await asyncio.to_thread(self.cache.get_or_render, key, render)
            future.set_result(result)
            return result
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._pending[key]
