"""From a sync's result to what the store and the dashboard show (pure).

A target's status keeps the last known resources, inventory and health when a step fails
before touching the cluster (bad YAML, a policy violation, an unreachable repository):
the running objects are untouched, so their last known state is still the truth, and the
condition says why nothing was applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from engine.health import HealthResult, summarize
from engine.hub.failures import Problem
from engine.model import (
    ConditionReason,
    ConditionType,
    HealthStatus,
    ResourceKey,
    SyncStatus,
    TargetKey,
)
from engine.model.diffs import ObjectDiff
from engine.model.results import ResultCode, SyncResult
from engine.model.status import Condition, ResourceStatus, TargetStatus
from engine.redaction import redact_url


def conditions(
    previous: TargetStatus | None, found: Iterable[Problem], now: datetime
) -> tuple[Condition, ...]:
    """Conditions from (type, reason, message), keeping the transition time of unchanged ones.

    Messages are stored and shown: any URL credentials in them are redacted here.
    """
    found = [(kind, reason, redact_url(message)) for kind, reason, message in found]
    before = {(c.type, c.reason, c.message): c for c in (previous.conditions if previous else ())}
    return tuple(before.get(item) or Condition(*item, last_transition=now) for item in found)


def without_path(message: str, directory: str) -> str:
    """``message`` with the hub's own ``directory`` (mirrors, commit trees) left out: users
    see paths relative to their repository, never where the hub keeps its data."""
    if not directory:
        return message
    return message.replace(directory.rstrip("/") + "/", "").replace(directory, "<dataDir>")


def from_result(
    *,
    key: TargetKey,
    result: SyncResult,
    sha: str,
    previous: TargetStatus | None,
    extra: Sequence[Problem],
    now: datetime,
    synced: bool,
) -> TargetStatus:
    """The status after a sync (``synced``) or a diff-only comparison of ``key`` at ``sha``."""
    kind = ConditionType.SYNC_ERROR if synced else ConditionType.COMPARISON_ERROR
    found: list[Problem] = [(kind, c.reason, c.message) for c in result.conditions]
    return TargetStatus(
        key=key,
        sync=result.sync_status,
        health=result.health,
        health_message=_health_message(result),
        revision=sha if synced or result.sync_status is SyncStatus.SYNCED else (
            previous.revision if previous else None),
        target_revision=sha,
        resources=resources(result),
        conditions=conditions(previous, [*extra, *found], now),
        inventory=result.inventory.keys() if synced else _inventory(previous),
        live_version=None,
        reconciled_at=now,
    )


def with_live_health(
    status: TargetStatus,
    live: Callable[[ResourceKey], HealthResult | None],
    previous: TargetStatus | None,
) -> TargetStatus:
    """Fill in each object's health from the watches (else the last known), and the app's.

    A comparison reads no health itself; the watches see every status change, so they are
    the freshest source, and the previous status covers objects not yet watched.
    """
    before = {r.key: r for r in (previous.resources if previous else ())}
    rows = []
    for row in status.resources:
        seen = live(row.key)
        if seen is not None:
            row = replace(row, health=seen.status, message=row.message or seen.message)
        elif row.health is None and row.key in before:
            row = replace(row, health=before[row.key].health)
        rows.append(row)
    if all(r.health is None for r in rows):
        return replace(status, resources=tuple(rows))
    app = app_health(rows)
    return replace(status, resources=tuple(rows), health=app.status, health_message=app.message)


def app_health(rows: Iterable[ResourceStatus]) -> HealthResult:
    """The app's health from its objects' (see ``engine.health.summarize``): the worst
    objects are named first, so a suspended one never hides the cause of a Degraded app."""
    return summarize((f"{r.key.kind}/{r.key.name}", HealthResult(r.health, r.message))
                     for r in rows if r.health is not None)


def renders_nothing(status: TargetStatus) -> bool:
    """Whether the target's last render held no object (its health is then Unknown)."""
    return any(c.reason == ConditionReason.EMPTY_RENDER for c in status.conditions)


def failed_before_apply(
    *,
    key: TargetKey,
    previous: TargetStatus | None,
    sha: str | None,
    problems: Sequence[Problem],
    now: datetime,
) -> TargetStatus:
    """The status when nothing could be compared or applied: last known state + why."""
    base = previous or TargetStatus(key=key)
    return replace(
        base,
        sync=SyncStatus.UNKNOWN,
        target_revision=sha or base.target_revision,
        conditions=conditions(previous, problems, now),
        reconciled_at=now,
    )


def resources(result: SyncResult) -> tuple[ResourceStatus, ...]:
    """One line per object the sync or diff saw, sorted by key."""
    diffs = {d.key: d for d in result.diffs}
    rows: dict[ResourceKey, ResourceStatus] = {}
    for res in result.resources:
        rows[res.key] = ResourceStatus(
            key=res.key,
            sync=_resource_sync(res.code, diffs.get(res.key)),
            health=res.health,
            message=redact_url(_message(res.message, res.health_message, diffs.get(res.key))),
        )
    for key, diff in diffs.items():
        if key not in rows:
            rows[key] = ResourceStatus(key=key, sync=diff.status, message=_diff_message(diff))
    return tuple(rows[k] for k in sorted(rows))


def _resource_sync(code: ResultCode, diff: ObjectDiff | None) -> SyncStatus:
    if code in (ResultCode.CREATED, ResultCode.CONFIGURED, ResultCode.PRUNED):
        return SyncStatus.SYNCED
    if code is ResultCode.UNCHANGED:
        return diff.status if diff is not None else SyncStatus.SYNCED
    return SyncStatus.OUT_OF_SYNC


def _message(result: str, health: str, diff: ObjectDiff | None) -> str:
    parts = [p for p in (result, health) if p]
    if not parts and diff is not None and diff.status is SyncStatus.OUT_OF_SYNC:
        parts.append(_diff_message(diff))
    return "; ".join(parts)


def _diff_message(diff: ObjectDiff) -> str:
    if diff.status is not SyncStatus.OUT_OF_SYNC:
        return ""
    changed = []
    for path in diff.paths[:5]:
        owner = next((a for a in diff.drift if a.path == path and a.manager), None)
        changed.append(f"{path} (changed by {owner.who})" if owner else path)
    return f"{diff.reason}: {', '.join(changed)}" if changed else diff.reason


def _health_message(result: SyncResult) -> str:
    bad = [r for r in result.resources
           if r.health is not None and r.health is not HealthStatus.HEALTHY and r.health_message]
    return "; ".join(f"{r.key.kind}/{r.key.name}: {r.health_message}" for r in bad[:3])


def _inventory(previous: TargetStatus | None) -> frozenset[ResourceKey]:
    return previous.inventory if previous else frozenset()
