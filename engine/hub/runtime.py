"""What happens around each reconcile: what asks for one, and where its report goes.

The scheduler runs ``Runtime.reconcile`` for each queued key. The runtime gives the
reconciler its inputs (a user's pending request; whether the target is dirty, i.e. must
compare even on a quiet periodic resync) and hands the ``ReconcileReport`` out: the paths
the render read to the Git poller (which then polls that repository for changes of those
paths only, from that commit on), the kinds to the live watcher, whether the cluster
answered to the cluster view, and the outcome and sync to the metrics. Drift seen by the
watches and new commits seen by the poller come in here too and queue the target.

A target is watched by the poller from its first render on: until then its own reconcile,
queued when it was tracked, is what reads Git, and the poller would only queue it twice.

A periodic resync of a settled target (Synced at its commit, no condition) whose watched
objects kept their version, and that nothing invalidated since, costs a dictionary lookup:
the poller and the webhooks notice new commits, the watches notice drift, and a reloaded
catalog or cluster list (a changed project, say) clears every settled mark. So the hub's
idle work grows with repositories and changes, not with targets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from engine.apps import AppTarget
from engine.clusters.watch import LiveWatcher
from engine.hub import wiring
from engine.hub.automation import Automation
from engine.hub.catalog import CatalogChange
from engine.hub.decisions import Request
from engine.hub.metrics import HubMetrics
from engine.hub.reconciler import Reconciler
from engine.hub.report import ReconcileReport
from engine.hub.statuses import StatusWriter
from engine.model import ResourceKey, TargetKey
from engine.model.reconciles import Outcome, Trigger
from engine.scheduler import WorkQueue
from engine.scheduler.runner import Scheduler
from engine.source.poller import GitPoller, Watch

log = logging.getLogger(__name__)


class Runtime:
    """Feeds the reconciler from the scheduler, and its reports to the other parts."""

    def __init__(
        self, *, metrics: HubMetrics, queue: WorkQueue, statuses: StatusWriter,
        automation: Automation,
    ) -> None:  # fmt: skip
        self.metrics = metrics
        self._statuses = statuses
        self._automation = automation
        self.scheduler = Scheduler(self.reconcile, queue=queue, quiet=self._quiet)
        self.unreachable: dict[str, str] = {}  # cluster → why its last reconcile failed on it
        self._requests: dict[TargetKey, Request] = {}
        self._dirty: set[TargetKey] = set()
        self._settled: dict[TargetKey, str] = {}  # target → live version it is settled at
        self._reconciler: Reconciler | None = None
        self._poller: GitPoller | None = None
        self._live: LiveWatcher | None = None

    def connect(self, *, reconciler: Reconciler, poller: GitPoller, live: LiveWatcher) -> None:
        """The parts built after the runtime (they report to it)."""
        self._reconciler, self._poller, self._live = reconciler, poller, live

    # ------------------------------------------------------------------ which targets
    async def apply(
        self, change: CatalogChange, targets: Mapping[TargetKey, AppTarget], *,
        changed_clusters: frozenset[str],
    ) -> None:  # fmt: skip
        """Track the targets the catalog added or changed, untrack those it removed, and
        compare every target of a cluster whose registration changed."""
        self._settled.clear()  # a project or cluster may have changed: check every target
        for key in change.removed:
            self.scheduler.untrack(key)
            if self._poller is not None:
                self._poller.unwatch(key)
            if self._live is not None:
                self._live.forget(key)
            await self._statuses.forget(key)
        for key in change.added | change.changed:
            target = targets[key]
            self.invalidate(key)
            if key in change.changed:  # a new definition turns automated sync back on
                await self._automation.turn_on(key.app)
            else:
                await self._automation.restore(key.app)
            self.scheduler.track(key, interval=target.options.reconcile_interval,
                                 backoff=wiring.backoff(target.options.retry))
        for key in targets:
            if key.cluster in changed_clusters:
                self.invalidate(key)
                self.scheduler.enqueue(key, Trigger.PERIODIC)

    # ------------------------------------------------------------ asking for reconciles
    def forget_notes(self, key: TargetKey) -> None:
        """Make the next compare of ``key`` dry-run every object again (a hard refresh),
        not trusting what the watches remember of them."""
        if self._live is not None:
            self._live.forget_notes(key)

    def invalidate(self, key: TargetKey) -> None:
        """Make the next reconcile of ``key`` compare even if nothing seems to have changed."""
        self._dirty.add(key)

    def pending(self, key: TargetKey) -> Request | None:
        """The request waiting for ``key``'s next reconcile, if any."""
        return self._requests.get(key)

    def is_dirty(self, key: TargetKey) -> bool:
        """Whether ``key``'s next reconcile must compare even on a quiet resync."""
        return key in self._dirty

    def request(self, key: TargetKey, request: Request) -> None:
        """Make the next reconcile of ``key`` a sync as ``request`` says, and queue it."""
        self._requests[key] = request
        self.scheduler.enqueue(key, Trigger.MANUAL)

    def enqueue_from_git(self, key: TargetKey, trigger: Trigger) -> bool:
        """The poller saw a new commit for ``key`` (or a webhook asked): compare it."""
        self.invalidate(key)
        return self.scheduler.enqueue(key, trigger)

    def drifted(self, target: TargetKey, key: ResourceKey, why: str) -> None:
        """A watch saw an object of ``target`` change or vanish: compare it now."""
        self.metrics.drifted()
        log.info("%s: drift: %s", target, why)
        self.invalidate(target)
        self.scheduler.enqueue(target, Trigger.DRIFT)

    # ------------------------------------------------------------------- reconciling
    async def reconcile(self, key: TargetKey, trigger: Trigger) -> Outcome:
        """One reconcile of ``key``, counted, its report handed to the parts around it."""
        assert self._reconciler is not None, "Runtime.connect was not called"
        self.metrics.triggered(trigger)
        if trigger is Trigger.PERIODIC and self._idle(key):
            return Outcome.SUCCESS
        request = self._requests.pop(key, None)
        dirty = key in self._dirty
        self._dirty.discard(key)
        report = await self._reconciler.reconcile(key, trigger, request=request, dirty=dirty)
        self.take(report)
        return report.outcome

    def _quiet(self, key: TargetKey) -> bool:
        """Whether a periodic resync of ``key`` would stop at ``reconcile``'s first check:
        then the scheduler does not even queue it. Counted as a periodic trigger all the
        same."""
        if not self._idle(key):
            return False
        self.metrics.triggered(Trigger.PERIODIC)
        return True

    def _idle(self, key: TargetKey) -> bool:
        """Whether a periodic resync of ``key`` has nothing to do: nothing asked, not
        dirty, and still settled (its objects kept the version it settled at)."""
        if key in self._requests or key in self._dirty:
            return False
        settled = self._settled.get(key)
        return settled is not None and self._live is not None and \
            self._live.version(key) == settled

    def take(self, report: ReconcileReport) -> None:
        """Hand each part what ``report`` says: poller, watcher, cluster reach, metrics."""
        self.metrics.reconciled(report)
        if report.settled is not None:
            self._settled[report.key] = report.settled
        else:
            self._settled.pop(report.key, None)
        target = report.target
        if target is not None and report.paths is not None and self._poller is not None:
            watch = Watch(report.key, target.revision, report.paths)
            self._poller.watch(target.repo_url, watch, at=report.sha)
        if report.kinds is not None and self._live is not None:
            self._live.want(report.key, report.kinds)
        if report.reached:
            self.unreachable.pop(report.key.cluster, None)
        elif report.reached is not None:
            self.unreachable[report.key.cluster] = report.unreachable
