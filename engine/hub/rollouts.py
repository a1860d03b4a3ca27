"""Runs the progressive rollouts of the hub's apps (``strategy.rollout``).

Two halves meet here. The reconciler asks ``gate`` which commit a target of a rolling app
may sync: the newest one once the rollout admitted the target, else the one it runs (a
target that never synced waits). The loop (``run``) looks at every rolling app each
``TICK``: a new commit begins a rollout from the first step (also when the last one is
halted), ``engine.hub.progress.advance`` decides who is admitted or whether it halts, and
each target admitted (or rolled back) is queued at once.

Decisions: the rollout's state lives in this process; a restart begins the rollout of the
newest commit again from its first step (targets already on it pass their gates as soon
as they are Healthy and soaked; pauses run again, approvals are asked again). In a
scaled-out hub each replica gates the targets it owns with its own state: run rolling apps
on one replica. A user's manual sync is not gated: it is the operator's choice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from engine.apps import Application, AppTarget
from engine.apps.rollout import Rollout
from engine.errors import AppConflict, AppNotFound, FleetsyncError
from engine.hub.catalog import Catalog
from engine.hub.clusters import ClusterDirectory
from engine.hub.progress import Member, RolloutPhase, RolloutState, advance, approve, begin
from engine.model import HealthStatus, SyncStatus, TargetKey
from engine.model.status import TargetStatus
from engine.store import Store

log = logging.getLogger(__name__)
TICK = 1.0
Changed = Callable[[TargetKey, str, str], Awaitable[bool]]


@dataclass(frozen=True)
class RolloutView:
    """A rollout as the API shows it."""

    app: str
    state: RolloutState
    steps: int
    waiting_approval: bool


class Rollouts:
    """The rollouts of the hub's apps: the gate the reconciler asks, and the loop."""

    def __init__(
        self, *, catalog: Catalog, clusters: ClusterDirectory, store: Store,
        release: Callable[[TargetKey], object], clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.catalog = catalog
        self.clusters = clusters
        self.store = store
        self.release = release  # queue a target now (it may sync another commit)
        self.clock = clock
        self._reads_changed: Changed | None = None
        self._states: dict[str, RolloutState] = {}
        self._heads: dict[str, str] = {}  # app → the newest commit its targets resolved
        self._changes: dict[tuple[TargetKey, str, str], bool] = {}

    def connect(self, reads_changed: Changed) -> None:
        """How to learn whether a commit changes a file a target's render reads (the
        reconciler's ``reads_changed``): a commit that changes none of them needs no gate."""
        self._reads_changed = reads_changed

    # ------------------------------------------------------------------ the gate
    def gate(self, target: AppTarget, head: str, status: TargetStatus | None) -> str | None:
        """The commit ``target`` may sync now that its revision resolves to ``head``: None
        when it must wait (it never synced and its step has not come)."""
        rollout = self._rollout(target.key.app)
        if rollout is None:
            return head
        self._heads[target.key.app] = head
        current = status.revision if status is not None else None
        state = self._states.get(target.key.app)
        if state is None or state.revision != head:
            return current  # the loop begins the rollout of ``head`` at its next tick
        return state.revision_for(target.key.cluster, current)

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        """Advance every rollout each ``TICK`` until cancelled."""
        while True:
            await self.tick()
            await asyncio.sleep(TICK)

    async def tick(self) -> None:
        """Advance every rolling app once; one app's failure does not stop the others."""
        for name in list(self._heads):
            try:
                await self._advance(name)
            except FleetsyncError as err:
                log.warning("rollout of %s: %s", name, err)

    async def _advance(self, name: str) -> None:
        rollout, head = self._rollout(name), self._heads.get(name)
        if rollout is None or head is None:
            self._states.pop(name, None)
            self._heads.pop(name, None)
            return
        now = self.clock()
        before = self._states.get(name)
        if before is not None and before.revision == head and before.phase in (
                RolloutPhase.HALTED, RolloutPhase.COMPLETED):
            return  # nothing moves until a newer commit
        if before is None or before.revision != head:  # a newer commit starts over
            before = begin(head)
            log.info("rollout of %s: %s begins", name, head[:12])
        after = advance(rollout, before, await self._members(name, rollout, before), now)
        self._states[name] = after
        if after.phase is not before.phase:
            log.info("rollout of %s at %s: %s%s", name, head[:12], after.phase,
                     f" ({after.failed}: {after.reason})" if after.failed else "")  # fmt: skip
        for cluster in _released(before, after):
            self.release(TargetKey(name, cluster))

    async def _members(self, name: str, rollout: Rollout, state: RolloutState) -> list[Member]:
        statuses = {s.key: s for s in await self.store.list_statuses(name)}
        members = []
        for key, target in sorted(self.catalog.targets.items()):
            if key.app != name:
                continue
            status = statuses.get(key)
            info = self.clusters.info(key.cluster)
            labels = info.labels if info is not None else {}
            revision = status.revision if status is not None else None
            members.append(Member(
                cluster=key.cluster, step=rollout.step_of(key.cluster, labels),
                revision=revision,
                synced=status is not None and status.sync is SyncStatus.SYNCED,
                health=status.health if status is not None else HealthStatus.UNKNOWN,
                changes=await self._changed(target, _ran_before(state, key.cluster, revision),
                                            state.revision)))
        return members

    async def _changed(self, target: AppTarget, since: str | None, head: str) -> bool:
        """Whether ``head`` changes a file the target's render at ``since`` reads (True when
        that cannot be told)."""
        if since is None or since == head or self._reads_changed is None:
            return since != head
        memo = (target.key, since, head)
        if memo not in self._changes:
            try:
                self._changes[memo] = await self._reads_changed(target.key, since, head)
            except FleetsyncError:  # the target left the catalog meanwhile
                self._changes[memo] = True
            if len(self._changes) > 10_000:
                self._changes.clear()
        return self._changes[memo]

    # ------------------------------------------------------------------ the API's
    def view(self, app: str) -> RolloutView | None:
        """The rollout of ``app`` now, if it has one."""
        rollout, state = self._rollout(app), self._states.get(app)
        if rollout is None or state is None:
            return None
        step = rollout.steps[state.step]
        waiting = state.phase is RolloutPhase.PAUSED and step.approval and not state.approved
        return RolloutView(app, state, len(rollout.steps), waiting)

    def approve(self, app: str) -> RolloutView:
        """Approve the pause the rollout of ``app`` waits in; AppConflict if it waits for
        no approval."""
        view = self.view(app)
        if view is None:
            raise AppNotFound(f"app {app} has no rollout")
        if not view.waiting_approval:
            raise AppConflict(f"the rollout of {app} waits for no approval "
                              f"({view.state.phase})")  # fmt: skip
        self._states[app] = approve(view.state)
        return RolloutView(app, self._states[app], view.steps, False)

    def _rollout(self, app: str) -> Rollout | None:
        found: Application | None = self.catalog.apps.applications.get(app)
        return found.rollout if found is not None else None


def _ran_before(state: RolloutState, cluster: str, revision: str | None) -> str | None:
    """The commit ``cluster`` ran before the rollout admitted it (None: nothing)."""
    return state.previous.get(cluster) if cluster in state.admitted else revision


def _released(before: RolloutState, after: RolloutState) -> Sequence[str]:
    """The clusters whose commit changed between the two states: newly admitted ones, and
    on a rollback every admitted one that has a commit to go back to."""
    if after.rolled_back and not before.rolled_back:
        return sorted(c for c in after.admitted if c in after.previous)
    return sorted(set(after.admitted) - set(before.admitted))
