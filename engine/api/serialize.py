"""The JSON shapes of the REST API, built from views and store values (pure).

Every shape is written field by field from a whitelist: nothing reaches a response
because a value happened to carry it. Objects appear only as their ``ResourceKey`` with
sync, health and message, never as bodies, so Secret data cannot leak through here.
Server URLs lose any user-info (``https://user:token@host`` → ``https://host``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from engine.api.views import (
    AppView,
    ClusterView,
    DeletionView,
    ProjectView,
    RolloutSummary,
    TargetDiff,
    TargetTree,
    TargetView,
)
from engine.model import ResourceKey, SyncStatus, TargetKey
from engine.model.diffs import ObjectDiff
from engine.model.plans import FleetPlan, TargetPlan, action_of
from engine.model.status import Condition, HistoryEntry, Operation, ResourceStatus, TargetStatus
from engine.plan import is_selected
from engine.redaction import without_userinfo

JSON = dict[str, Any]
MAX_DIFF_CHARS = 64 * 1024  # of one object's diff in an answer


def time(value: datetime | None) -> str | None:
    """An ISO 8601 UTC time, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def app_summary(view: AppView, statuses: Mapping[TargetKey, TargetStatus]) -> JSON:
    """An app as ``GET /apps`` lists it: settings and one status line per target."""
    return {
        "name": view.name,
        "project": view.project,
        "source": {
            "repoURL": without_userinfo(view.repo_url),
            "targetRevision": view.target_revision,
            "path": view.path,
        },
        "destination": {"description": view.destination, "namespace": view.namespace},
        "syncPolicy": {
            "automated": view.automated,
            "prune": view.prune,
            "selfHeal": view.self_heal,
            "automatedDisabledByRollback": view.automated_disabled,
        },
        "labels": dict(view.labels),
        "rollout": rollout(view.rollout) if view.rollout is not None else None,
        "parent": view.parent or None,
        "children": list(view.children),
        "warnings": list(view.warnings),
        "errors": list(view.errors),
        "targets": [_target_summary(t, statuses.get(t.key)) for t in view.targets],
    }


def rollout(found: RolloutSummary) -> JSON:
    """An app's progressive rollout: ``step`` counts from 1, as people read it."""
    return {"revision": found.revision, "phase": found.phase, "step": found.step + 1,
            "steps": found.steps, "admitted": list(found.admitted),
            "waitingApproval": found.waiting_approval, "pauseLeft": round(found.pause_left, 1),
            "failed": found.failed or None, "reason": found.reason or None,
            "rolledBack": found.rolled_back}


def app_detail(view: AppView, statuses: Mapping[TargetKey, TargetStatus]) -> JSON:
    """An app as ``GET /apps/{app}`` shows it: the summary plus each target's full status."""
    body = app_summary(view, statuses)
    body["targets"] = [_target_detail(t, statuses.get(t.key)) for t in view.targets]
    return body


def _target_summary(target: TargetView, status: TargetStatus | None) -> JSON:
    status = status or TargetStatus(target.key)
    op = status.operation
    return {
        "cluster": target.key.cluster,
        "namespace": target.namespace,
        "path": target.path,
        "targetRevision": target.revision,
        "sync": status.sync.value,
        "health": status.health.value,
        "revision": status.revision,
        "operationPhase": op.phase.value if op else None,
        "reconciledAt": time(status.reconciled_at),
    }


def _target_detail(target: TargetView, status: TargetStatus | None) -> JSON:
    status = status or TargetStatus(target.key)
    body = _target_summary(target, status)
    body.update(
        healthMessage=status.health_message,
        resolvedRevision=status.target_revision,
        operation=operation(status.operation) if status.operation else None,
        conditions=[condition(c) for c in status.conditions],
        resources=[resource(r) for r in status.resources],
    )
    return body


def operation(op: Operation) -> JSON:
    """A sync operation: what, who, where from, and how it ended."""
    return {
        "id": op.id,
        "revision": op.revision,
        "trigger": op.trigger,
        "source": {"repoURL": without_userinfo(op.source.repo), "path": op.source.path},
        "phase": op.phase.value,
        "message": op.message,
        "startedAt": time(op.started_at),
        "finishedAt": time(op.finished_at),
    }


def condition(cond: Condition) -> JSON:
    """A condition of a target."""
    return {
        "type": cond.type,
        "reason": cond.reason,
        "message": cond.message,
        "lastTransitionTime": time(cond.last_transition),
    }


def resource_key(key: ResourceKey) -> JSON:
    """An object's identity: group, kind, namespace and name."""
    return {"group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name}


def resource(res: ResourceStatus) -> JSON:
    """One managed object: its identity, sync, health and message, never its body."""
    return {
        **resource_key(res.key),
        "sync": res.sync.value,
        "health": res.health.value if res.health else None,
        "message": res.message,
    }


def target_diff(found: TargetDiff) -> JSON:
    """One cluster's comparison as ``GET /apps/{app}/diff`` shows it: each object, with a
    unified diff (Secret values masked) where it differs and who changed each drifted
    field; ``error`` when the cluster could not be compared."""
    return {"cluster": found.cluster, "sync": found.sync, "error": found.error or None,
            "objects": [object_diff(d) for d in found.objects]}


def dry_run_target(found: TargetDiff, *, prune: bool,
                   only: frozenset[ResourceKey] | None) -> JSON:
    """One cluster's comparison as a sync's dry run shows it: only the objects the sync
    would touch (``only``: a selective sync's), each with the ``action`` it would take."""
    shown = [d for d in found.objects if only is None or is_selected(d.key, only)]
    return {"cluster": found.cluster, "sync": found.sync, "error": found.error or None,
            "objects": [{**object_diff(d), "action": str(action_of(d, prune=prune) or "none")}
                        for d in shown]}


def fleet_plan(found: FleetPlan) -> JSON:
    """A plan of a revision as ``GET /plan`` shows it: the fleet's counts and each target
    with the objects a sync would act on (action, field paths, diff)."""
    return {"revision": found.revision, "base": found.base or None, "summary": found.summary(),
            "targets": [target_plan(t) for t in found.targets]}


def target_plan(found: TargetPlan) -> JSON:
    """One target of a plan."""
    return {"app": found.app, "cluster": found.cluster, "project": found.project,
            "state": found.state.value, "base": found.base or None,
            "revision": found.revision or None, "prune": found.prune,
            "pruneHeld": found.held or None, "message": found.message,
            "objects": [{**object_diff(d), "action": action.value}
                        for action, d in found.acting()]}


def target_tree(found: TargetTree) -> JSON:
    """One cluster's resource tree: nodes (parents first) with the key of their parent."""
    return {"cluster": found.cluster, "error": found.error or None, "cut": list(found.cut),
            "nodes": [{**resource_key(n.key),
                       "parent": resource_key(n.parent) if n.parent else None,
                       "health": n.health, "message": n.message, "sync": n.sync,
                       "managed": n.managed} for n in found.nodes]}


def object_diff(found: ObjectDiff) -> JSON:
    """One object of a comparison; its diff cut at ``MAX_DIFF_CHARS``."""
    text = found.unified if found.status is not SyncStatus.SYNCED else ""
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + f"\n… cut at {MAX_DIFF_CHARS} characters\n"
    return {**resource_key(found.key), "sync": found.status.value, "reason": found.reason,
            "paths": list(found.paths),
            "drift": [{"path": a.path, "manager": a.manager, "operation": a.operation,
                       "time": a.time, "subresource": a.subresource} for a in found.drift],
            "diff": text}


def history_entry(entry: HistoryEntry) -> JSON:
    """One finished sync of a target."""
    return {
        "id": entry.id,
        "app": entry.key.app,
        "cluster": entry.key.cluster,
        "revision": entry.revision,
        "phase": entry.phase.value,
        "message": entry.message,
        "trigger": entry.trigger,
        "source": {"repoURL": without_userinfo(entry.source.repo), "path": entry.source.path},
        "startedAt": time(entry.started_at),
        "finishedAt": time(entry.finished_at),
    }


def cluster(view: ClusterView) -> JSON:
    """A registered cluster: name, server URL, labels, reachability."""
    return {
        "name": view.name,
        "server": without_userinfo(view.server),
        "labels": dict(sorted(view.labels.items())),
        "reachable": view.reachable,
        "lastError": view.last_error,
    }


def keys(queued: Iterable[TargetKey]) -> JSON:
    """The answer to an action: the targets it queued."""
    return {"queued": [{"app": k.app, "cluster": k.cluster} for k in queued]}


def deletion(view: DeletionView) -> JSON:
    """A held or running app deletion as ``GET /deletions`` lists it."""
    return {"app": view.app, "project": view.project, "clusters": list(view.clusters),
            "propagation": view.propagation, "state": view.state, "message": view.message,
            "since": time(datetime.fromtimestamp(view.since, UTC)), "who": view.who}


def project(view: ProjectView) -> JSON:
    """An AppProject as ``GET /projects`` lists it."""
    return {"name": view.name, "description": view.description,
            "sourceRepos": [without_userinfo(r) for r in view.source_repos],
            "destinations": list(view.destinations), "apps": view.apps}
