"""Scheduler: reconciles run once per key at a time, timers re-arm, backoff, graceful stop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from engine.backoff import Backoff
from engine.clock import FakeClock
from engine.errors import RenderError, SourceError
from engine.model import TargetKey
from engine.model.reconciles import Outcome, Trigger
from engine.scheduler.queue import WorkQueue
from engine.scheduler.runner import Scheduler
from engine.scheduler.timers import Timers

A, B = TargetKey("a", "c1"), TargetKey("b", "c2")


async def settle(rounds: int = 30) -> None:
    """Let every ready task run until nothing moves (fake time does not pass)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Recorder:
    """A reconcile function that records calls and answers from a script."""

    def __init__(self, outcome: Outcome = Outcome.SUCCESS) -> None:
        self.calls: list[tuple[TargetKey, Trigger]] = []
        self.outcome: Outcome | Exception = outcome
        self.gates: dict[TargetKey, asyncio.Event] = {}
        self.active: set[TargetKey] = set()
        self.overlaps = 0

    async def __call__(self, key: TargetKey, trigger: Trigger) -> Outcome:
        if key in self.active:
            self.overlaps += 1
        self.active.add(key)
        self.calls.append((key, trigger))
        try:
            if key in self.gates:
                await self.gates[key].wait()
            if isinstance(self.outcome, Exception):
                raise self.outcome
            return self.outcome
        finally:
            self.active.discard(key)


@asynccontextmanager
async def running(
    rec: Recorder, *, clock: FakeClock | None = None, grace: float = 1.0, **kwargs: object
) -> AsyncIterator[Scheduler]:
    clock = clock or FakeClock()
    sched = Scheduler(rec, clock=clock, timers=Timers(rng=random.Random(3)), **kwargs)  # type: ignore[arg-type]
    task = asyncio.create_task(sched.run())
    try:
        yield sched
    finally:
        await sched.stop(grace=grace)
        await asyncio.wait_for(task, 5)


def keys(rec: Recorder, key: TargetKey) -> list[Trigger]:
    return [t for k, t in rec.calls if k == key]


async def test_tracked_key_runs_at_once_then_every_jittered_interval() -> None:
    clock, rec = FakeClock(), Recorder()
    async with running(rec, clock=clock, interval=100) as sched:
        sched.track(A)
        await settle()
        assert keys(rec, A) == [Trigger.PERIODIC]
        clock.advance(89)
        await settle()
        assert len(keys(rec, A)) == 1  # not before interval - 10%
        clock.advance(11)
        await settle()
        assert len(keys(rec, A)) == 2  # never later than the interval


async def test_no_concurrent_run_of_one_key_and_one_rerun_after() -> None:
    rec = Recorder()
    rec.gates[A] = asyncio.Event()
    async with running(rec) as sched:
        sched.enqueue(A, Trigger.PERIODIC)
        await settle()
        for trigger in (Trigger.DRIFT, Trigger.WEBHOOK, Trigger.DRIFT):
            sched.enqueue(A, trigger)
        await settle()
        assert len(rec.calls) == 1
        rec.gates[A].set()
        await settle()
        assert keys(rec, A) == [Trigger.PERIODIC, Trigger.WEBHOOK]
        assert rec.overlaps == 0


async def test_slow_cluster_never_blocks_other_clusters() -> None:
    rec = Recorder()
    slow = [TargetKey(f"s{i}", "slow") for i in range(6)]
    fast = [TargetKey(f"f{i}", "fast") for i in range(6)]
    for key in slow:
        rec.gates[key] = asyncio.Event()  # the slow cluster never answers
    queue = WorkQueue(concurrency=4, cluster_limit=2)
    async with running(rec, queue=queue, grace=0.01) as sched:
        for key in slow:
            sched.enqueue(key, Trigger.MANUAL)  # even at the highest priority
        for key in fast:
            sched.enqueue(key, Trigger.PERIODIC)
        await settle()
        assert {k for k, _ in rec.calls if k.cluster == "fast"} == set(fast)
        assert sum(1 for k, _ in rec.calls if k.cluster == "slow") == 2
        metrics = sched.metrics()
        assert (metrics.running, metrics.queued, metrics.done) == (2, 4, 6)


async def test_global_limit_bounds_running_reconciles() -> None:
    rec = Recorder()
    many = [TargetKey(f"a{i}", f"c{i}") for i in range(10)]
    for key in many:
        rec.gates[key] = asyncio.Event()
    async with running(rec, queue=WorkQueue(concurrency=3), grace=0.01) as sched:
        for key in many:
            sched.enqueue(key, Trigger.PERIODIC)
        await settle()
        assert len(rec.active) == 3
        sched.queue.set_concurrency(5)
        await settle()
        assert len(rec.active) == 5


async def test_temporary_failures_back_off_exponentially_to_the_cap_then_reset() -> None:
    clock, rec = FakeClock(), Recorder(Outcome.TEMPORARY_FAILURE)
    backoff = Backoff(duration=2, factor=2, max_duration=8)
    async with running(rec, clock=clock, interval=1000, backoff=backoff) as sched:
        sched.track(A)
        await settle()
        gaps = []
        for _ in range(5):
            start, before = clock.now(), len(rec.calls)
            while len(rec.calls) == before:
                clock.advance(0.5)
                await settle()
            gaps.append(clock.now() - start)
        assert gaps == [2, 4, 8, 8, 8]
        assert keys(rec, A)[1:] == [Trigger.RETRY] * 5
        rec.outcome = Outcome.SUCCESS
        clock.advance(8)
        await settle()
        assert sched.failures(A) == 0
        clock.advance(500)
        await settle()
        assert keys(rec, A)[-1] is Trigger.RETRY  # no retry after a success, only resyncs
        assert sched.metrics().failed == 6 and sched.metrics().done == 1


async def test_retry_limit_leaves_only_the_periodic_resync() -> None:
    clock, rec = FakeClock(), Recorder(Outcome.TEMPORARY_FAILURE)
    backoff = Backoff(duration=1, factor=1, max_duration=1, limit=2)
    async with running(rec, clock=clock, interval=100, backoff=backoff) as sched:
        sched.track(A)
        for _ in range(20):
            clock.advance(1)
            await settle()
        assert keys(rec, A) == [Trigger.PERIODIC, Trigger.RETRY, Trigger.RETRY]
        clock.advance(120)
        await settle()
        assert keys(rec, A)[-1] is Trigger.PERIODIC


@pytest.mark.parametrize(
    ("raised", "retried"),
    [(SourceError("remote unreachable"), True), (RenderError("bad yaml"), False),
     (RuntimeError("bug"), True)],
)  # fmt: skip
async def test_errors_map_to_temporary_or_permanent(raised: Exception, retried: bool) -> None:
    clock, rec = FakeClock(), Recorder()
    rec.outcome = raised
    async with running(rec, clock=clock, interval=100) as sched:
        sched.track(A)
        await settle()
        clock.advance(6)
        await settle()
        assert (Trigger.RETRY in keys(rec, A)) is retried


async def test_permanent_failure_waits_for_the_resync() -> None:
    clock, rec = FakeClock(), Recorder(Outcome.PERMANENT_FAILURE)
    async with running(rec, clock=clock, interval=100) as sched:
        sched.track(A)
        await settle()
        clock.advance(80)
        await settle()
        assert len(rec.calls) == 1
        clock.advance(40)
        await settle()
        assert keys(rec, A) == [Trigger.PERIODIC, Trigger.PERIODIC]


async def test_a_manual_trigger_runs_at_once_and_postpones_the_resync() -> None:
    clock, rec = FakeClock(), Recorder()
    async with running(rec, clock=clock, interval=100) as sched:
        sched.track(A)
        await settle()
        clock.advance(60)
        sched.enqueue(A, Trigger.MANUAL)
        await settle()
        clock.advance(60)  # 120 s after the first run, 60 s after the manual one
        await settle()
        assert keys(rec, A) == [Trigger.PERIODIC, Trigger.MANUAL]


async def test_untracked_key_stops_resyncing_and_retracking_retimes_it() -> None:
    clock, rec = FakeClock(), Recorder()
    async with running(rec, clock=clock, interval=100) as sched:
        sched.track(A)
        sched.track(B, interval=10)
        await settle()
        sched.untrack(A)
        sched.track(B, interval=1000)
        clock.advance(500)
        await settle()
        assert keys(rec, A) == [Trigger.PERIODIC] and keys(rec, B) == [Trigger.PERIODIC]


async def test_queue_wait_is_measured_per_trigger() -> None:
    clock, rec = FakeClock(), Recorder()
    rec.gates[A] = asyncio.Event()
    async with running(rec, clock=clock, queue=WorkQueue(concurrency=1, clock=clock)) as sched:
        sched.enqueue(A, Trigger.PERIODIC)
        await settle()
        sched.enqueue(B, Trigger.WEBHOOK)
        clock.advance(4)
        rec.gates[A].set()
        await settle()
        wait = sched.metrics().wait
        assert wait[Trigger.WEBHOOK].count == 1 and wait[Trigger.WEBHOOK].max == 4
        assert wait[Trigger.PERIODIC].max == 0


async def _stop_with(rec: Recorder, release: Callable[[], None] | None, grace: float) -> Scheduler:
    sched = Scheduler(rec, clock=FakeClock())
    task = asyncio.create_task(sched.run())
    sched.enqueue(A, Trigger.PERIODIC)
    await settle()
    if release is not None:
        asyncio.get_running_loop().call_later(0.02, release)
    await sched.stop(grace=grace)
    await asyncio.wait_for(task, 5)
    return sched


async def test_stop_lets_in_flight_reconciles_finish_within_grace() -> None:
    rec = Recorder()
    rec.gates[A] = asyncio.Event()
    sched = await _stop_with(rec, rec.gates[A].set, grace=2.0)
    assert sched.metrics().done == 1 and sched.metrics().cancelled == 0
    assert not sched.enqueue(B, Trigger.MANUAL)  # no new work after stop


async def test_stop_cancels_reconciles_still_running_after_grace() -> None:
    rec = Recorder()
    rec.gates[A] = asyncio.Event()  # never set
    sched = await _stop_with(rec, None, grace=0.05)
    m = sched.metrics()
    assert (m.done, m.cancelled, m.running) == (0, 1, 0)
    assert not rec.active  # the reconcile's own cleanup ran


async def test_reconcile_timeout_is_a_temporary_failure() -> None:
    rec = Recorder()
    rec.gates[A] = asyncio.Event()
    async with running(rec, reconcile_timeout=0.05) as sched:
        sched.track(A)
        await asyncio.sleep(0.5)
        assert sched.failures(A) == 1 and sched.metrics().retries == 1


async def test_a_quiet_periodic_resync_is_rearmed_but_never_queued() -> None:
    clock, rec = FakeClock(), Recorder()
    quiet = {A}
    async with running(rec, clock=clock, interval=100, quiet=lambda key: key in quiet) as sched:
        sched.track(A)
        sched.track(B)
        await settle()
        assert keys(rec, A) == keys(rec, B) == [Trigger.PERIODIC]  # tracking queues at once
        for _ in range(3):
            clock.advance(100)
            await settle()
        assert keys(rec, A) == [Trigger.PERIODIC]  # quiet: its timer fired, nothing ran
        assert len(keys(rec, B)) == 4
        assert sched.metrics().quiet == 3
        sched.enqueue(A, Trigger.WEBHOOK)  # other triggers are never held back
        quiet.clear()
        clock.advance(100)
        await settle()
        assert keys(rec, A) == [Trigger.PERIODIC, Trigger.WEBHOOK, Trigger.PERIODIC]
