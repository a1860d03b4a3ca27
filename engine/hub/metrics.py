"""The hub's counters: one object, filled by the runtime, read for ``GET /metrics``.

Reconciles by result, triggers by kind, finished syncs by phase and their duration,
renders (run or taken from the cache) and drift events are counted here and nowhere
else; the queue's gauges come from the scheduler when a snapshot is taken. The
exposition format itself is ``engine.api.metrics`` (pure); the names and labels are
those the README lists.

The hand-written exposition is kept rather than ``prometheus-client``: its output is
checked by a strict parser in the unit tests, it needs no process-wide registry (several
hubs run in one test process), and the library would change the page's number format
(``10.0`` for ``10``) and add ``_created`` series.
"""

from __future__ import annotations

import time
from collections import Counter

from engine.api.views import HistogramRecorder, MetricsSnapshot
from engine.hub.laps import StepSeconds
from engine.hub.report import ReconcileReport
from engine.model.reconciles import Trigger
from engine.scheduler import SchedulerMetrics


class HubMetrics:
    """Counters and the sync-duration histogram of one hub since it started."""

    def __init__(self) -> None:
        self.started_at = time.time()
        self._reconciles: Counter[str] = Counter()
        self._syncs: Counter[str] = Counter()
        self._triggers: Counter[str] = Counter()
        self._drift_events = 0
        self._renders: Counter[str] = Counter()
        self._sync_seconds = HistogramRecorder()
        self.steps = StepSeconds()  # the reconciler's clock (``Parts.steps``)

    def triggered(self, trigger: Trigger) -> None:
        """Count a reconcile about to run for ``trigger``."""
        self._triggers[trigger.name.lower()] += 1

    def reconciled(self, report: ReconcileReport) -> None:
        """Count a finished reconcile and the sync it ran, if any."""
        self._reconciles[report.outcome.value] += 1
        if report.rendered is not None:
            self._renders["rendered" if report.rendered else "cached"] += 1
        if report.synced is not None:
            self._syncs[report.synced.value] += 1
            self._sync_seconds.observe(max(0.0, report.sync_seconds))

    def drifted(self) -> None:
        """Count one change of a tracked object seen by the watches."""
        self._drift_events += 1

    def snapshot(self, scheduler: SchedulerMetrics) -> MetricsSnapshot:
        """Every counter now, with the scheduler's gauges."""
        return MetricsSnapshot(
            reconciles=dict(self._reconciles), syncs=dict(self._syncs),
            triggers=dict(self._triggers), drift_events=self._drift_events,
            renders=dict(self._renders),
            queue_depth=scheduler.queued, running=scheduler.running,
            sync_duration=self._sync_seconds.snapshot(), started_at=self.started_at,
            step_seconds=self.steps.snapshot(),
        )
