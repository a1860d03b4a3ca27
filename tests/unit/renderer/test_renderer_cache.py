"""The render cache: bounded, copy-safe, coalescing."""

from __future__ import annotations

import asyncio
import copy
import datetime
import threading
import time
import tracemalloc

import pytest

from engine.renderer.cache import RenderCache, RenderKey
from engine.renderer.service import AsyncRenderCache


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
        cache.get_or_render(key(i), lambda: [{"k": "v"}])  # 13 bytes each, marshalled
    assert len(cache) == kept
    assert cache.get(key(4)) is not None and cache.get(key(0)) is None


def test_a_render_is_kept_packed_in_a_fraction_of_its_tree() -> None:
    renders = [[{"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": f"app-{i}-settings", "labels": {"team": f"team-{i % 7}"}},
                 "data": {"slot": str(j), "payload": f"app-{i}-{j}-" + "x" * 60}}
                for j in range(4)] for i in range(200)]
    tracemalloc.start()
    try:
        trees = [copy.deepcopy(r) for r in renders]
        tree_bytes = tracemalloc.get_traced_memory()[0]
        del trees
        before = tracemalloc.get_traced_memory()[0]
        cache = RenderCache()
        for i, objects in enumerate(renders):
            cache.get_or_render(key(i), lambda objects=objects: objects)  # type: ignore[misc]
        cached_bytes = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cached_bytes < tree_bytes / 2
    assert cache.get(key(7)) == renders[7]


def test_a_render_marshal_cannot_hold_is_kept_as_a_tree() -> None:
    cache = RenderCache()
    when = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)  # YAML's !!timestamp
    cache.get_or_render(key(), lambda: [{"data": {"at": when}}])
    copied = cache.get(key())
    assert copied == [{"data": {"at": when}}]
    copied[0]["data"]["at"] = None  # type: ignore[index]
    assert cache.get(key()) == [{"data": {"at": when}}]


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


def test_waiter_renders_again_when_the_leaders_render_was_cancelled() -> None:
    from engine.render import RenderCancelledError

    cache = RenderCache()
    leading, release = threading.Event(), threading.Event()

    def cancelled() -> list[dict]:
        leading.set()
        release.wait(10)
        raise RenderCancelledError("cancelled by its caller")

    results: list[object] = []
    leader = threading.Thread(target=lambda: results.append(
        _outcome(lambda: cache.get_or_render(key(), cancelled))))
    leader.start()
    assert leading.wait(10)
    waiter = threading.Thread(target=lambda: results.append(
        cache.get_or_render(key(), lambda: [{"z": 1}])))
    waiter.start()
    release.set()
    leader.join(10)
    waiter.join(10)
    assert [{"z": 1}] in results and any(isinstance(r, RenderCancelledError) for r in results)


def _outcome(call):  # type: ignore[no-untyped-def]
    try:
        return call()
    except Exception as err:
        return err


async def test_one_cancelled_caller_does_not_cancel_a_render_others_wait_for() -> None:
    from engine.render import RenderBudget

    front = AsyncRenderCache(limit=1)
    started, release = threading.Event(), threading.Event()
    budget = RenderBudget()

    def render() -> list[dict]:
        started.set()
        release.wait(10)
        budget.check("render")
        return [{"shared": 1}]

    first = asyncio.create_task(front.render(key(), render, budget=budget))
    second = asyncio.create_task(front.render(key(), render, budget=RenderBudget()))
    assert await asyncio.to_thread(started.wait, 10)
    first.cancel()
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.wait_for(second, 30) == [{"shared": 1}]
    assert not budget.cancelled
    front.close()


async def test_callers_get_independent_copies() -> None:
    front = AsyncRenderCache()

    def render() -> list[dict]:
        time.sleep(0.05)  # the three callers join one render
        return [{"a": {"b": 1}}]

    results = await asyncio.gather(*(front.render(key(), render) for _ in range(3)))
    assert front.cache.stats.misses == 1
    results[0][0]["a"]["b"] = 2
    assert results[1] == [{"a": {"b": 1}}] and results[2] == [{"a": {"b": 1}}]
    front.close()
