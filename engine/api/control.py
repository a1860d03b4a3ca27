"""The seam between the HTTP API and the hub core: what the API may read and ask for.

The hub implements ``HubControl``; ``engine.api.server.create_app`` takes one and never
reaches further into the hub. Reads of status and history go straight to the store; the
catalog, the cluster registry and the scheduler are seen through frozen views; the four
actions only *queue* work and return the targets they queued, so a request never waits
for a sync to finish. Refusals are the ``ControlError``s of ``engine.errors``, which the
API answers with their HTTP status: ``AppNotFound`` 404 (no such app, cluster of the app,
or history entry), ``InvalidRequest`` 400, ``AppConflict`` 409 (the app's state forbids
it now, e.g. the app is invalid). Any other ``FleetsyncError`` becomes 503 when
``temporary``, else 500, with a fixed message (its own may name the hub's files); the
message is logged.
"""

from __future__ import annotations

from typing import Protocol

from engine.api.feed import ChangeFeed
from engine.api.views import (
    AppView,
    ClusterView,
    DeletionView,
    MetricsSnapshot,
    ProjectView,
    RolloutSummary,
    TargetDiff,
    TargetTree,
)
from engine.errors import AppConflict, AppNotFound, ControlError, InvalidRequest
from engine.model import ResourceKey, TargetKey
from engine.model.plans import FleetPlan
from engine.store import Store


class HubControl(Protocol):
    """What the API needs from the hub core.

    ``trigger`` is who asked, as the store records it: ``manual:<user>``
    (``engine.store.manual_trigger``). The hub may record a rollback's operations as
    ``rollback:<id>`` instead; it is told the user either way.
    """

    @property
    def store(self) -> Store:
        """The hub's store: statuses and history are read from it directly."""
        ...

    @property
    def changes(self) -> ChangeFeed:
        """Which apps' statuses are written, as they are (``GET /events``)."""
        ...

    def apps(self) -> list[AppView]:
        """Every Application in the catalog (valid or not), sorted by name."""
        ...

    def clusters(self) -> list[ClusterView]:
        """Every registered cluster, sorted by name."""
        ...

    def projects(self) -> list[ProjectView]:
        """Every usable AppProject, sorted by name."""
        ...

    def source_errors(self) -> list[str]:
        """Problems of the app sources not tied to one app (a broken file, an ignored
        AppProject, an unreadable repository), without credentials."""
        ...

    def metrics(self) -> MetricsSnapshot:
        """The hub's counters and gauges now."""
        ...

    async def request_sync(
        self,
        *,
        app: str,
        cluster: str | None = None,
        revision: str | None = None,
        prune: bool | None = None,
        trigger: str,
        resources: frozenset[ResourceKey] | None = None,
    ) -> list[TargetKey]:
        """Queue a sync of ``app`` (on ``cluster`` only, if given); return the keys queued.

        ``revision`` overrides the declared revision for this one sync; ``prune`` overrides
        the app's prune policy (None: as the policy says); ``resources`` syncs (and prunes)
        those objects only. AppNotFound for an unknown app or a cluster the app does not
        target; AppConflict when the app is invalid.
        """
        ...

    async def request_refresh(self, *, app: str, hard: bool = False) -> list[TargetKey]:
        """Queue a comparison of ``app`` with Git and the live state, without applying.

        ``hard`` also drops the app's render cache entries first. AppNotFound if unknown.
        """
        ...

    async def rollback(
        self,
        *,
        app: str,
        cluster: str | None = None,
        entry_id: int | None = None,
        trigger: str,
    ) -> list[TargetKey]:
        """Sync the revision of history entry ``entry_id`` and turn automated sync off.

        Without ``entry_id`` each target rolls back to its newest Succeeded entry of a
        revision other than the current one. An ``entry_id`` names one target's entry;
        ``cluster``, if also given, must be that target's. AppNotFound for an unknown app,
        cluster or entry; InvalidRequest when there is nothing to roll back to.
        """
        ...

    async def diff(self, *, app: str, cluster: str | None = None) -> list[TargetDiff]:
        """Compare ``app`` (on ``cluster`` only, if given) with Git now: every object read
        and dry-run, nothing written. AppNotFound / AppConflict as for a sync; a cluster
        that cannot be compared has its ``error`` set."""
        ...

    async def tree(self, *, app: str, cluster: str | None = None) -> list[TargetTree]:
        """Each target's managed objects and the objects they own, read live now."""
        ...

    async def plan(self, *, apps: list[str], revision: str, base: str | None) -> FleetPlan:
        """What syncing every target of ``apps`` at ``revision`` would do, from server-side
        dry runs (``engine.hub.plans``); nothing is written. InvalidRequest for a plan too
        large or without a revision."""
        ...

    def approve_rollout(self, *, app: str) -> RolloutSummary:
        """Let the rollout of ``app`` go on past a pause that waits for approval;
        AppNotFound without a rollout, AppConflict when it waits for no approval."""
        ...

    def deletions_pending(self) -> list[DeletionView]:
        """Every app deletion held or running, by app name."""
        ...

    async def delete_app(
        self, *, app: str, cascade: bool, propagation: str | None, who: str
    ) -> DeletionView | None:
        """Confirm the held deletion of ``app``: delete its objects (the view of the
        deletion now running), or with ``cascade`` False leave them (None).

        AppConflict while the app is still defined (a definition lives in its file or Git
        directory: remove it there) or its deletion already runs; AppNotFound otherwise.
        """
        ...


__all__ = ["AppConflict", "AppNotFound", "ControlError", "HubControl", "InvalidRequest"]
