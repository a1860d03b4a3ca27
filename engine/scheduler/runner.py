"""The Scheduler: runs ``reconcile(key, trigger)`` for queued keys, with timers and backoff.

One ``asyncio.TaskGroup`` owns everything: a dispatcher that takes leases from the queue
and starts one task per reconcile, and a timer loop that turns due deadlines into queued
keys. After each reconcile the key's periodic resync is re-armed one jittered interval
later; a temporary failure also arms a retry after the key's backoff (and pushes the
periodic resync past it, so a failing cluster is not hammered by its own resyncs); a
permanent failure waits for the next resync or trigger. ``stop(grace=)`` stops taking
work, gives in-flight reconciles ``grace`` seconds to finish, then cancels the rest.

A periodic resync that ``quiet(key)`` says has nothing to do is re-armed and not queued:
no task, no lease, no reconcile call. At fleet scale most resyncs are such, and idle work
must not grow with the number of targets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from engine.backoff import Backoff
from engine.clock import Clock, MonotonicClock
from engine.errors import FleetsyncError
from engine.model import TargetKey
from engine.model.reconciles import Outcome, Trigger
from engine.scheduler.queue import Lease, QueueClosed, WorkQueue
from engine.scheduler.timers import Timers

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 180.0
DEFAULT_RECONCILE_TIMEOUT = 300.0
REFUSED_RETRY = 1.0  # seconds before a timer whose key found the queue full tries again
# Deadlines are fired in batches at least this far apart: with thousands of jittered
# resyncs a second, waking once per deadline cost more than the resyncs themselves.
TIMER_GRANULARITY = 0.05


Reconcile = Callable[[TargetKey, Trigger], Awaitable[Outcome]]
Quiet = Callable[[TargetKey], bool]


@dataclass(frozen=True)
class WaitStats:
    """Queue wait of the reconciles started for one trigger: count, total and max seconds."""

    count: int = 0
    total: float = 0.0
    max: float = 0.0

    @property
    def mean(self) -> float:
        """Average wait in seconds (0 when nothing ran)."""
        return self.total / self.count if self.count else 0.0

    def add(self, seconds: float) -> WaitStats:
        """These stats with one more wait."""
        return WaitStats(self.count + 1, self.total + seconds, max(self.max, seconds))


@dataclass(frozen=True)
class SchedulerMetrics:
    """A snapshot of the scheduler's counters."""

    queued: int
    running: int
    done: int
    failed: int
    cancelled: int
    retries: int
    rejected: int
    quiet: int  # periodic resyncs not queued: nothing to do
    wait: dict[Trigger, WaitStats] = field(default_factory=dict)


@dataclass
class _Tracked:
    interval: float
    backoff: Backoff
    failures: int = 0


class Scheduler:
    """Keeps tracked keys reconciled: periodic resync, triggers, retries with backoff."""

    def __init__(
        self,
        reconcile: Reconcile,
        *,
        queue: WorkQueue | None = None,
        clock: Clock | None = None,
        timers: Timers | None = None,
        interval: float = DEFAULT_INTERVAL,
        backoff: Backoff | None = None,
        reconcile_timeout: float = DEFAULT_RECONCILE_TIMEOUT,
        quiet: Quiet | None = None,
    ) -> None:
        self.clock = clock or MonotonicClock()
        self.queue = WorkQueue(clock=self.clock) if queue is None else queue
        self.timers = Timers() if timers is None else timers
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.reconcile_timeout = reconcile_timeout
        self._reconcile = reconcile
        self._quiet = quiet
        self._tracked: dict[TargetKey, _Tracked] = {}
        self._failures: dict[TargetKey, int] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._timers_changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._grace = 0.0
        self._started = False
        self._counts = {"done": 0, "failed": 0, "cancelled": 0, "retries": 0, "rejected": 0,
                        "quiet": 0}
        self._wait: dict[Trigger, WaitStats] = {}

    # -- what to reconcile ------------------------------------------------------------------

    def track(
        self,
        key: TargetKey,
        *,
        interval: float | None = None,
        backoff: Backoff | None = None,
        initial: Trigger | None = Trigger.PERIODIC,
    ) -> None:
        """Resync ``key`` every ``interval`` (up to 10% sooner); queue it now unless ``initial``
        is None.

        Tracking a key again changes its interval and backoff and re-times its resync.
        """
        known = key in self._tracked
        self._tracked[key] = _Tracked(interval or self.interval, backoff or self.backoff)
        self.timers.arm_periodic(key, interval=self._tracked[key].interval, now=self.clock.now())
        self._timers_changed.set()
        if initial is not None and not known:
            self.enqueue(key, initial)

    def untrack(self, key: TargetKey) -> None:
        """Stop resyncing ``key`` and drop it from the queue (a running reconcile finishes)."""
        self._tracked.pop(key, None)
        self._failures.pop(key, None)
        self.timers.remove(key)
        self.queue.discard(key)

    @property
    def tracked(self) -> frozenset[TargetKey]:
        """The keys with a periodic resync."""
        return frozenset(self._tracked)

    def enqueue(self, key: TargetKey, trigger: Trigger) -> bool:
        """Queue ``key`` now with ``trigger``'s priority; False if the queue refused it."""
        accepted = self.queue.add(key, trigger)
        if not accepted:
            self._counts["rejected"] += 1
        return accepted

    def failures(self, key: TargetKey) -> int:
        """Consecutive failures of ``key`` since its last success."""
        return self._failures.get(key, 0)

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until ``stop``: dispatch queued keys and fire timers."""
        self._started = True
        try:
            async with asyncio.TaskGroup() as tg:
                timer_task = tg.create_task(self._fire_timers())
                await self._dispatch(tg)
                timer_task.cancel()
                await self._drain()
        finally:
            self._stopped.set()

    async def stop(self, *, grace: float) -> None:
        """Stop taking work; wait ``grace`` seconds for in-flight reconciles, then cancel them."""
        self._grace = grace
        self._stopping.set()
        self.queue.close()
        if not self._started:
            return
        async with asyncio.timeout(grace + 5.0):
            await self._stopped.wait()

    def metrics(self) -> SchedulerMetrics:
        """The counters now."""
        return SchedulerMetrics(
            queued=len(self.queue),
            running=len(self.queue.running),
            wait=dict(self._wait),
            **self._counts,
        )

    # -- internals --------------------------------------------------------------------------

    async def _dispatch(self, tg: asyncio.TaskGroup) -> None:
        while not self._stopping.is_set():
            try:
                lease = await self.queue.get()
            except QueueClosed:
                return
            self._wait[lease.trigger] = self._wait.get(lease.trigger, WaitStats()).add(lease.waited)
            task = tg.create_task(self._run_one(lease), name=f"reconcile {lease.key}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _drain(self) -> None:
        if not self._inflight:
            return
        _, pending = await asyncio.wait(set(self._inflight), timeout=self._grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("cancelled %d reconciles still running after %.1fs grace",
                        len(pending), self._grace)  # fmt: skip
            await asyncio.wait(pending, timeout=5.0)

    async def _run_one(self, lease: Lease) -> None:
        key = lease.key
        try:
            outcome = await self._call(lease)
        except asyncio.CancelledError:
            self._counts["cancelled"] += 1
            raise
        finally:
            self.queue.done(key)
        self._settle(key, outcome)

    async def _call(self, lease: Lease) -> Outcome:
        try:
            async with asyncio.timeout(self.reconcile_timeout):
                return await self._reconcile(lease.key, lease.trigger)
        except TimeoutError:
            log.warning("reconcile of %s timed out after %.0fs", lease.key, self.reconcile_timeout)
            return Outcome.TEMPORARY_FAILURE
        except FleetsyncError as exc:
            log.warning("reconcile of %s failed: %s", lease.key, exc)
            return Outcome.TEMPORARY_FAILURE if exc.temporary else Outcome.PERMANENT_FAILURE
        except Exception:
            log.exception("reconcile of %s raised", lease.key)
            return Outcome.TEMPORARY_FAILURE

    def _settle(self, key: TargetKey, outcome: Outcome) -> None:
        """Count the outcome and arm the key's next resync and, after a failure, its retry."""
        now = self.clock.now()
        tracked = self._tracked.get(key)
        if outcome is Outcome.SUCCESS:
            self._counts["done"] += 1
            self._failures.pop(key, None)
            self.timers.cancel(key, Trigger.RETRY)
        else:
            self._counts["failed"] += 1
            self._failures[key] = self._failures.get(key, 0) + 1
        if tracked is None:
            return
        periodic_due = self.timers.arm_periodic(key, interval=tracked.interval, now=now)
        if outcome is Outcome.TEMPORARY_FAILURE:
            delay = tracked.backoff.delay(self._failures[key])
            if delay is not None:
                self._counts["retries"] += 1
                retry_due = self.timers.arm_retry(key, delay=delay, now=now)
                if periodic_due < retry_due:  # the retry's own reconcile re-arms the resync
                    self.timers.cancel(key, Trigger.PERIODIC)
        self._timers_changed.set()

    async def _fire_timers(self) -> None:
        while True:
            now = self.clock.now()
            for key, trigger in self.timers.pop_due(now):
                if key not in self._tracked:
                    continue
                if trigger is Trigger.PERIODIC:  # keep resyncing even if this one is lost
                    self.timers.arm_periodic(key, interval=self._tracked[key].interval, now=now)
                    if self._quiet is not None and self._quiet(key):
                        self._counts["quiet"] += 1
                        continue
                if not self.enqueue(key, trigger):
                    self.timers.arm_retry(key, delay=REFUSED_RETRY, now=now)
            next_due = self.timers.next_due()
            self._timers_changed.clear()
            within = None if next_due is None else \
                max(next_due - self.clock.now(), TIMER_GRANULARITY)
            await self.clock.wait(self._timers_changed, within=within)
