"""The hub as the API sees it: ``HubController`` implements ``engine.api.control.HubControl``.

Reads come from the catalog (apps and their targets), the cluster directory, the store
and the metrics; the four actions only queue work through the runtime (a sync or rollback
leaves a ``Request`` for the target's next reconcile) and return the targets queued.

Rollback follows Argo CD: without an entry id each target goes back to its newest
Succeeded entry of a revision other than the one it runs; automated sync is then turned
off for the app until its definition changes.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

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
    TargetView,
)
from engine.apps import DEFAULT_PROJECT, Application
from engine.apps.children import parent_of
from engine.clusters import ClusterPool
from engine.errors import AppConflict, AppNotFound, ClusterError, InvalidRequest
from engine.hub.automation import Automation
from engine.hub.catalog import Catalog
from engine.hub.clusters import ClusterDirectory
from engine.hub.decisions import Request
from engine.hub.deletions import Deletions, NotHeld, PendingDeletion
from engine.hub.metrics import HubMetrics
from engine.hub.ownership import Everything, Ownership, Shards
from engine.hub.plans import Planner
from engine.hub.progress import RolloutPhase
from engine.hub.resourcetree import resource_tree
from engine.hub.rollouts import Rollouts
from engine.hub.runtime import Runtime
from engine.model import OperationPhase, ResourceKey, TargetKey
from engine.model.plans import FleetPlan
from engine.model.reconciles import Trigger
from engine.model.results import SyncResult
from engine.model.status import HistoryEntry, rollback_trigger
from engine.redaction import redact_url
from engine.shards import cluster_of
from engine.store import Store


class RenderMemory(Protocol):
    """What a hard refresh drops (the renders of a repository and the failed ones), and
    who compares a target on demand (the reconciler)."""

    def forget_renders(self, repo_url: str) -> None: ...

    async def diff(self, key: TargetKey) -> SyncResult: ...


@dataclass(kw_only=True)
class HubController:
    """The API's ``HubControl`` over the hub's parts."""

    catalog: Catalog
    store: Store  # statuses and history, read by the API directly
    runtime: Runtime
    directory: ClusterDirectory
    automation: Automation
    counters: HubMetrics
    renders: RenderMemory
    changes: ChangeFeed  # every status written, for the dashboard's live updates
    deletions: Deletions | None = None  # removed apps whose objects go or wait
    pool: ClusterPool | None = None  # for what is read live on request (resource trees)
    ownership: Ownership = field(default_factory=Everything)  # clusters this replica runs
    planner: Planner | None = None  # plans of a revision (fleetsync plan)
    rollouts: Rollouts | None = None  # progressive rollouts (strategy.rollout)

    def apps(self) -> list[AppView]:
        """Every Application in the catalog, valid or not, sorted by name."""
        catalog = self.catalog
        targets: dict[str, list[TargetView]] = defaultdict(list)
        for key, target in sorted(catalog.targets.items()):
            targets[key.app].append(TargetView(key, target.namespace, target.path,
                                               target.revision))
        parents = {name: parent for name, origin in catalog.apps.origins.items()
                   if (parent := parent_of(origin.source)) is not None}
        children: dict[str, list[str]] = defaultdict(list)
        for name, parent in sorted(parents.items()):
            children[parent].append(name)
        views = [replace(self._app_view(app, tuple(targets.get(app.name, ()))),
                         parent=parents.get(app.name, ""),
                         children=tuple(children.get(app.name, ())))
                 for app in catalog.apps.applications.values()]
        for name, problems in catalog.problems.items():
            if name not in catalog.apps.applications:
                views.append(AppView(name=name, project="", repo_url="", target_revision="",
                                     path="", destination="", errors=_shown(problems.errors)))
        return sorted(views, key=lambda v: v.name)

    def projects(self) -> list[ProjectView]:
        """Every usable AppProject (the implicit ``default`` too when enabled), by name."""
        apps = self.catalog.apps
        names = sorted({*apps.projects, DEFAULT_PROJECT.name})
        counts: dict[str, int] = defaultdict(int)
        for app in apps.applications.values():
            counts[app.project] += 1
        views = []
        for name in names:
            project = apps.project(name)
            if project is None:
                continue
            destinations = tuple(f"{d.server or d.name or '*'} {d.namespace or '*'}"
                                 for d in project.destinations)
            views.append(ProjectView(name, project.description,
                                     tuple(redact_url(r) for r in project.source_repos),
                                     destinations, counts[name]))
        return views

    def _app_view(self, app: Application, targets: tuple[TargetView, ...]) -> AppView:
        dest = app.destination
        where = (f"selector {dest.cluster_selector}" if dest.cluster_selector is not None
                 else f"name {dest.name}" if dest.name else f"server {dest.server}")
        problems = self.catalog.problems.get(app.name)
        automated = app.sync_policy.automated
        return AppView(
            name=app.name, project=app.project, repo_url=redact_url(app.source.repo_url),
            target_revision=app.source.target_revision, path=app.source.path,
            destination=where, namespace=dest.namespace, automated=automated is not None,
            prune=bool(automated and automated.prune),
            self_heal=bool(automated and automated.self_heal),
            automated_disabled=self.automation.is_off(app.name),
            warnings=_shown(problems.warnings) if problems else (),
            errors=_shown(problems.errors) if problems else (), targets=targets,
            labels=dict(app.labels), rollout=self._rollout(app.name),
        )

    def _rollout(self, app: str) -> RolloutSummary | None:
        rollouts = self.rollouts
        view = rollouts.view(app) if rollouts is not None else None
        if rollouts is None or view is None:
            return None
        state = view.state
        left = max(0.0, state.pause_until - rollouts.clock())
        return RolloutSummary(
            revision=state.revision, phase=state.phase.value, step=state.step,
            steps=view.steps, admitted=tuple(sorted(state.admitted)),
            waiting_approval=view.waiting_approval,
            pause_left=left if state.phase is RolloutPhase.PAUSED else 0.0,
            failed=state.failed, reason=state.reason, rolled_back=state.rolled_back)

    def approve_rollout(self, *, app: str) -> RolloutSummary:
        """Let the rollout of ``app`` go on past the pause that waits for approval."""
        if self.rollouts is None:
            raise AppNotFound(f"app {app} has no rollout")
        self.rollouts.approve(app)
        summary = self._rollout(app)
        assert summary is not None
        return summary

    def source_errors(self) -> list[str]:
        """Errors of the app sources not tied to one app (broken files, ignored AppProjects,
        unreadable repositories), URLs redacted."""
        return list(_shown(self.catalog.general_errors))

    def clusters(self) -> list[ClusterView]:
        """Every registered cluster, sorted by name; unreachable if its last reconcile said so."""
        return self.directory.views(self.runtime.unreachable)

    def metrics(self) -> MetricsSnapshot:
        """Counters and gauges now."""
        return self.counters.snapshot(self.runtime.scheduler.metrics())

    async def request_sync(
        self, *, app: str, cluster: str | None = None, revision: str | None = None,
        prune: bool | None = None, trigger: str,
        resources: frozenset[ResourceKey] | None = None,
    ) -> list[TargetKey]:
        """Queue a sync of ``app`` (on one cluster if given; of some objects only if
        ``resources`` says)."""
        keys = self._keys(app, cluster)
        for key in keys:
            await self._act(key, SYNC, Request(trigger, revision, prune, resources))
        return keys

    def deletions_pending(self) -> list[DeletionView]:
        """Every app deletion held or running."""
        found = self.deletions.pending() if self.deletions is not None else []
        return [_deletion_view(p) for p in found]

    async def delete_app(
        self, *, app: str, cascade: bool, propagation: str | None, who: str
    ) -> DeletionView | None:
        """Confirm the held deletion of ``app`` (see ``HubControl.delete_app``)."""
        if app in self.catalog.defined():
            raise AppConflict(f"app {app} is still defined: remove it from its file or Git "
                              "directory first (with the resources finalizer its objects "
                              "are then deleted)")
        pending = self.deletions.find(app) if self.deletions is not None else None
        if pending is None or self.deletions is None:
            raise AppNotFound(f"no app named {app}")
        try:
            self.deletions.confirm(app, cascade=cascade, propagation=propagation, who=who)
        except NotHeld as err:
            raise AppConflict(f"app {app}: its deletion already runs") from err
        return _deletion_view(pending) if cascade else None

    async def diff(self, *, app: str, cluster: str | None = None) -> list[TargetDiff]:
        """Compare each target of ``app`` (one cluster if given) with Git now, at once."""
        keys = self._keys(app, cluster)

        async def one(key: TargetKey) -> TargetDiff:
            try:
                result = await self.renders.diff(key)
            except AppConflict as err:
                return TargetDiff(key.cluster, error=str(err))
            return TargetDiff(key.cluster, sync=result.sync_status.value, objects=result.diffs)

        return list(await asyncio.gather(*(one(k) for k in keys)))

    async def plan(self, *, apps: list[str], revision: str, base: str | None) -> FleetPlan:
        """Plan ``revision`` for every target of the valid apps among ``apps``."""
        if self.planner is None:
            raise InvalidRequest("this hub makes no plans")
        wanted = set(apps)
        keys = [k for k in sorted(self.catalog.targets) if k.app in wanted]
        return await self.planner.plan(keys, revision=revision, base=base)

    async def tree(self, *, app: str, cluster: str | None = None) -> list[TargetTree]:
        """Each target's managed objects and what they own, read live, at once."""
        keys = self._keys(app, cluster)

        async def one(key: TargetKey) -> TargetTree:
            status = await self.store.get_status(key)
            resources = status.resources if status is not None else ()
            if self.pool is None:
                return TargetTree(key.cluster, error="no cluster access")
            try:
                client = await self.pool.client(key.cluster)
                found = await resource_tree(client, resources)
            except ClusterError as err:
                return TargetTree(key.cluster, error=redact_url(str(err)))
            return TargetTree(key.cluster, found.nodes, found.cut)

        return list(await asyncio.gather(*(one(k) for k in keys)))

    async def request_refresh(self, *, app: str, hard: bool = False) -> list[TargetKey]:
        """Queue a comparison of ``app`` (dropping its renders, and what the watches
        remember of its objects, first when ``hard``)."""
        keys = self._keys(app, None)
        for key in keys:
            await self._act(key, HARD_REFRESH if hard else REFRESH)
        return keys

    async def rollback(
        self, *, app: str, cluster: str | None = None, entry_id: int | None = None,
        trigger: str,
    ) -> list[TargetKey]:
        """Sync an earlier revision from history and turn automated sync off for ``app``."""
        chosen = []
        for key in self._keys(app, cluster):
            entry = await self._rollback_entry(key, entry_id)
            if entry is not None:
                chosen.append((key, entry.id, entry.revision))
        if entry_id is not None and not chosen:
            raise AppNotFound(f"no history entry {entry_id} for app {app}")
        if not chosen:
            raise InvalidRequest(f"app {app}: no earlier successful revision to roll back to")
        await self.automation.turn_off(app)
        for key, entry_number, revision in chosen:
            await self._act(key, ROLLBACK, Request(rollback_trigger(entry_number), revision))
        return [key for key, _, _ in chosen]

    async def _rollback_entry(self, key: TargetKey, entry_id: int | None) -> HistoryEntry | None:
        if entry_id is not None:
            return await self.store.history_entry(key, entry_id)
        status = await self.store.get_status(key)
        current = status.revision if status else None
        for entry in await self.store.history(key):
            if entry.phase is OperationPhase.SUCCEEDED and entry.revision != current:
                return entry
        return None

    async def _act(self, key: TargetKey, action: str, request: Request | None = None) -> None:
        """Carry out ``action`` on ``key`` here, or leave it in the store for the replica
        that reconciles its cluster (``carry_out`` there, by ``Hub``'s request loop)."""
        if self.ownership.owns(key):
            await self.carry_out(key, action, request)
        else:
            await self.store.queue_request(key, action, _request_body(request))

    async def carry_out(self, key: TargetKey, action: str, request: Request | None) -> None:
        """Queue the reconcile ``action`` asks for on ``key`` (a target of this replica)."""
        if key not in self.catalog.targets:
            return  # gone since it was asked for
        if action == ROLLBACK:
            await self.automation.turn_off(key.app)  # this replica's memory of the switch
        if action in (SYNC, ROLLBACK) and request is not None:
            self.runtime.request(key, request)
            return
        if action == HARD_REFRESH:
            self.renders.forget_renders(self.catalog.targets[key].repo_url)
            self.runtime.forget_notes(key)
        self.runtime.invalidate(key)
        self.runtime.scheduler.enqueue(key, Trigger.MANUAL)

    async def carry_out_stored(self, shards: Shards) -> int:
        """Carry out the actions other replicas left for the targets of ``shards`` (this
        replica's); how many."""
        clusters = sorted({cluster_of(shard) for shard in shards.owned()})
        found = await self.store.take_requests(clusters, only=shards.owns)
        for key, action, body in found:
            await self.carry_out(key, action, _request_of(body))
        return len(found)

    def _keys(self, app: str, cluster: str | None) -> list[TargetKey]:
        catalog = self.catalog
        if app not in catalog.apps.applications and app not in catalog.problems:
            raise AppNotFound(f"no application named {app}")
        problems = catalog.problems.get(app)
        if problems and problems.errors:
            raise AppConflict(f"application {app} is invalid: {problems.errors[0]}")
        keys = [k for k in sorted(catalog.targets) if k.app == app]
        if cluster is not None:
            keys = [k for k in keys if k.cluster == cluster]
            if not keys:
                raise AppNotFound(f"application {app} does not target cluster {cluster}")
        return keys


def _shown(messages: tuple[str, ...]) -> tuple[str, ...]:
    """Messages as the API shows them: no URL credentials (an app's repoURL may hold some)."""
    return tuple(redact_url(m) for m in messages)


def _deletion_view(pending: PendingDeletion) -> DeletionView:
    return DeletionView(app=pending.app, project=pending.project,
                        clusters=tuple(sorted(pending.targets)),
                        propagation=pending.propagation, state=str(pending.state),
                        message=pending.message, since=pending.since, who=pending.who)


SYNC, ROLLBACK, REFRESH, HARD_REFRESH = "sync", "rollback", "refresh", "hard-refresh"


def _request_body(request: Request | None) -> dict[str, Any] | None:
    """A request as the store keeps it for another replica (JSON)."""
    if request is None:
        return None
    resources = request.resources
    return {"trigger": request.trigger, "revision": request.revision, "prune": request.prune,
            "resources": None if resources is None else [
                [k.group, k.kind, k.namespace, k.name] for k in sorted(resources)]}


def _request_of(body: Any) -> Request | None:
    """The request ``_request_body`` wrote."""
    if not isinstance(body, dict):
        return None
    resources = body.get("resources")
    return Request(str(body["trigger"]), body.get("revision"), body.get("prune"),
                   None if resources is None else frozenset(
                       ResourceKey(*entry) for entry in resources))
