"""WorkQueue: dedup, re-run after add-while-running, priorities, global and cluster limits."""

from __future__ import annotations

import asyncio

from engine.clock import FakeClock
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.scheduler.queue import QueueClosed, WorkQueue


def k(app: str, cluster: str = "c1") -> TargetKey:
    return TargetKey(app, cluster)


def test_a_key_queued_twice_runs_once() -> None:
    q = WorkQueue()
    assert q.add(k("a"), Trigger.PERIODIC)
    assert q.add(k("a"), Trigger.PERIODIC)
    assert len(q) == 1
    lease = q.get_nowait()
    assert lease is not None and lease.key == k("a")
    assert q.get_nowait() is None


def test_a_running_key_is_never_handed_out_twice() -> None:
    q = WorkQueue()
    q.add(k("a"), Trigger.PERIODIC)
    assert q.get_nowait() is not None
    q.add(k("a"), Trigger.WEBHOOK)
    assert q.get_nowait() is None  # still running
    assert k("a") in q and q.trigger_of(k("a")) is Trigger.WEBHOOK


def test_a_key_added_while_running_runs_once_more_after_done() -> None:
    q = WorkQueue()
    q.add(k("a"), Trigger.PERIODIC)
    q.get_nowait()
    q.add(k("a"), Trigger.DRIFT)
    q.add(k("a"), Trigger.PERIODIC)
    q.done(k("a"))
    lease = q.get_nowait()
    assert lease is not None and (lease.key, lease.trigger) == (k("a"), Trigger.DRIFT)
    q.done(k("a"))
    assert q.get_nowait() is None


def test_higher_priority_first_and_fifo_within_a_priority() -> None:
    q = WorkQueue(cluster_limit=10)
    q.add(k("p1"), Trigger.PERIODIC)
    q.add(k("r"), Trigger.RETRY)
    q.add(k("p2"), Trigger.PERIODIC)
    q.add(k("m"), Trigger.MANUAL)
    q.add(k("w"), Trigger.WEBHOOK)
    q.add(k("d"), Trigger.DRIFT)
    order = [q.get_nowait().key.app for _ in range(6)]  # type: ignore[union-attr]
    assert order == ["m", "w", "d", "r", "p1", "p2"]


def test_adding_a_queued_key_with_higher_priority_raises_it() -> None:
    clock = FakeClock()
    q = WorkQueue(cluster_limit=10, clock=clock)
    q.add(k("a"), Trigger.PERIODIC)
    q.add(k("b"), Trigger.DRIFT)
    clock.advance(3)
    q.add(k("a"), Trigger.MANUAL)
    q.add(k("b"), Trigger.PERIODIC)  # a lower priority never lowers one
    first, second = q.get_nowait(), q.get_nowait()
    assert first is not None and second is not None
    assert (first.key.app, first.trigger, first.waited) == ("a", Trigger.MANUAL, 3.0)
    assert (second.key.app, second.trigger) == ("b", Trigger.DRIFT)


def test_global_limit_holds_back_every_cluster_and_can_be_raised() -> None:
    q = WorkQueue(concurrency=2, cluster_limit=10)
    for i, cluster in enumerate(["c1", "c2", "c3"]):
        q.add(k(f"a{i}", cluster), Trigger.PERIODIC)
    assert q.get_nowait() is not None and q.get_nowait() is not None
    assert q.get_nowait() is None
    q.set_concurrency(3)
    assert q.get_nowait() is not None


def test_a_cluster_at_its_limit_holds_back_only_its_own_keys() -> None:
    q = WorkQueue(concurrency=10, cluster_limit=1)
    q.add(k("slow1", "slow"), Trigger.MANUAL)
    q.add(k("slow2", "slow"), Trigger.MANUAL)
    q.add(k("fast1", "fast"), Trigger.PERIODIC)
    q.add(k("fast2", "fast"), Trigger.PERIODIC)
    assert q.get_nowait().key == k("slow1", "slow")  # type: ignore[union-attr]
    fast = q.get_nowait()
    assert fast is not None and fast.key.cluster == "fast"
    assert q.get_nowait() is None  # slow2 waits for slow1, fast2 waits for fast1
    q.done(fast.key)
    assert q.get_nowait().key == k("fast2", "fast")  # type: ignore[union-attr]
    q.set_cluster_limit("slow", 2)
    assert q.get_nowait().key == k("slow2", "slow")  # type: ignore[union-attr]


def test_a_full_queue_refuses_new_keys_but_still_raises_queued_ones() -> None:
    q = WorkQueue(max_size=2)
    assert q.add(k("a"), Trigger.PERIODIC) and q.add(k("b"), Trigger.PERIODIC)
    assert not q.add(k("c"), Trigger.MANUAL)
    assert q.add(k("b"), Trigger.MANUAL)
    assert q.get_nowait().key == k("b")  # type: ignore[union-attr]


def test_discarded_key_is_not_handed_out() -> None:
    q = WorkQueue()
    q.add(k("a"), Trigger.PERIODIC)
    q.add(k("b"), Trigger.PERIODIC)
    q.discard(k("a"))
    assert q.get_nowait().key == k("b")  # type: ignore[union-attr]
    assert q.get_nowait() is None


async def test_get_waits_for_a_key_and_for_cluster_capacity() -> None:
    q = WorkQueue(cluster_limit=1)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add(k("a"), Trigger.PERIODIC)
    assert (await asyncio.wait_for(getter, 1)).key == k("a")
    q.add(k("b"), Trigger.PERIODIC)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()  # cluster c1 is at its limit
    q.done(k("a"))
    assert (await asyncio.wait_for(getter, 1)).key == k("b")


async def test_close_wakes_getters() -> None:
    q = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.close()
    try:
        await asyncio.wait_for(getter, 1)
    except QueueClosed:
        pass
    else:
        raise AssertionError("get returned on a closed queue")
    assert not q.add(k("a"), Trigger.MANUAL)
