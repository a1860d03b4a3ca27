"""The render cache: bounded, copy-safe, coalescing."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from engine.render.aio import AsyncRenderCache
from engine.render.cache import RenderCache, RenderKey


def key(i: int = 0) -> RenderKey:
    return RenderKey("https://git.example/repo", f"{i:040x}", "overlays/dev")


def test_hit_returns_a_copy() -> None:
    cache = RenderCache()
    first = cache.get_or_render(key(), lambda: [{"a": 1}])
    first[0]["a"] = 2
    assert cache.get_or_render(key(), lambda: [{"a": 3}]) == [{"a": 1}]
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


@pytest.mark.parametrize(("max_entries", "max_bytes", "kept"), [(2, 10**6, 2), (100, 30, 2)])
def test_bounded_by_entries_and_bytes(max_entries: int, max_bytes: int, kept: int) -> None:
    cache = RenderCache(max_entries=max_entries, max_bytes=max_bytes)
    for i in range(5):
        cache.get_or_render(key(i), lambda: [{"k": "v"}])  # 11 bytes each
    assert len(cache) == kept
    assert cache.get(key(4)) is not None and cache.get(key(0)) is None


def test_errors_are_not_cached() -> None:
    cache = RenderCache()
    with pytest.raises(ValueError):
        cache.get_or_render(key(), lambda: (_ for _ in ()).throw(ValueError("x")))
    assert cache.get_or_render(key(), lambda: []) == []


def test_concurrent_identical_renders_run_once() -> None:
    cache = RenderCache()
    calls = []

    def slow() -> list[dict]:
        calls.append(1)
        time.sleep(0.05)
        return [{"x": 1}]

    threads = [threading.Thread(target=cache.get_or_render, args=(key(), slow)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


async def test_async_wrapper_coalesces() -> None:
    front = AsyncRenderCache()
    calls = []

    def render() -> list[dict]:
        calls.append(1)
        time.sleep(0.02)
        return [{"y": 1}]

    results = await asyncio.gather(*(front.render(key(), render) for _ in range(5)))
    assert len(calls) == 1 and all(r == [{"y": 1}] for r in results)
