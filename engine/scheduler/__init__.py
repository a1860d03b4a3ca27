"""The scheduler: which (app, cluster) keys to reconcile, when, and how many at once.

- ``queue.WorkQueue``: deduplicated priority queue (``engine.model.reconciles.Trigger``:
  MANUAL > WEBHOOK > DRIFT > RETRY > PERIODIC) with a global and per-cluster concurrency
  limit and a size bound.
- ``timers``: jittered periodic resync per key, ``engine.backoff.Backoff`` after failures
  (Argo CD's ``syncPolicy.retry``), driven by an ``engine.clock.Clock`` that tests replace
  with ``FakeClock``.
- ``runner.Scheduler``: runs ``reconcile(key, trigger) -> Outcome`` under one TaskGroup,
  re-arms timers, retries with backoff, stops gracefully.

The Git poller that feeds the queue lives with the Git client (``engine.source.poller``),
and the parsing of push webhooks in ``engine.webhooks``.
"""

from engine.scheduler.queue import Lease, Priority, QueueClosed, WorkQueue
from engine.scheduler.runner import Reconcile, Scheduler, SchedulerMetrics, WaitStats
from engine.scheduler.timers import Timers

__all__ = [
    "Lease",
    "Priority",
    "QueueClosed",
    "Reconcile",
    "Scheduler",
    "SchedulerMetrics",
    "Timers",
    "WaitStats",
    "WorkQueue",
]
