"""What a reconcile does, decided from data alone (pure): sync, or only compare.

``decide`` follows Argo CD. It runs after the comparison, so it sees what differs:

- a comparison that stopped early (render or plan error) or could not reach the cluster
  never syncs: there is nothing safe to apply;
- a user's request (manual sync, rollback) always syncs, even an app in sync (the user
  sees the operation in history);
- without automated sync, or after a rollback turned it off, the target is compared only
  and reported OutOfSync;
- automated sync syncs a difference when the commit is new, the last operation did not
  succeed, or the reconcile is a retry; a difference on the same commit (live drift) only
  with ``selfHeal``; but a sync that failed on a hook (a failed migration Job) is not tried
  again on the same commit by itself, as Argo CD does not re-attempt a failed automated
  sync: a new commit or a user's sync runs the hooks again;
- automated sync of a target already in sync records nothing (no empty operations).

``outcome`` says how a result ends for the scheduler (retry with backoff, or wait).
(``engine.hub.syncoptions`` maps an app's Argo CD switches to the apply core's options.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.apps import AppTarget
from engine.model import ConditionReason, OperationPhase, ResourceKey, SyncStatus
from engine.model.reconciles import Outcome, Trigger
from engine.model.results import ResultCode, SyncResult
from engine.model.status import (
    AUTOMATED,
    DRIFT,
    WEBHOOK,
    Operation,
    TargetStatus,
    manual_trigger,
)


class Mode(enum.Enum):
    """What a reconcile does to the cluster."""

    SYNC = "sync"
    COMPARE = "compare"


@dataclass(frozen=True)
class Request:
    """A user's request waiting for the next reconcile of a target."""

    trigger: str  # as recorded in history: manual:<user>, rollback:<id>
    revision: str | None = None  # a commit to sync instead of the target revision
    prune: bool | None = None
    resources: frozenset[ResourceKey] | None = None  # sync these objects only


def decide(
    *,
    target: AppTarget,
    trigger: Trigger,
    request: Request | None,
    previous: TargetStatus | None,
    sha: str,
    compared: SyncResult,
    complete: bool,
    automation_off: bool,
) -> Mode:
    """Sync or only compare ``target`` at ``sha``, given the comparison just made.

    ``complete`` is False when the comparison stopped early; ``automation_off`` is True
    when a rollback turned the app's automated sync off.
    """
    unreachable = any(c.temporary for c in compared.conditions)
    if not complete or unreachable:
        return Mode.COMPARE
    in_sync = compared.sync_status is SyncStatus.SYNCED and not compared.conditions
    if request is None and in_sync:
        return Mode.COMPARE
    syncs = syncs_differences(target=target, trigger=trigger, request=request,
                              previous=previous, sha=sha, automation_off=automation_off)
    return Mode.SYNC if syncs else Mode.COMPARE


def syncs_differences(
    *,
    target: AppTarget,
    trigger: Trigger,
    request: Request | None,
    previous: TargetStatus | None,
    sha: str,
    automation_off: bool,
) -> bool:
    """Whether a complete comparison of ``target`` at ``sha`` that finds a difference
    ends in a sync: known before comparing, so the comparison may leave out what only a
    report of the difference would need."""
    if request is not None:
        return True
    automated = target.options.automated
    if automated is None or automation_off:
        return False
    last = previous.operation if previous else None
    new_commit = previous is None or previous.revision != sha
    failed = last is not None and last.phase is not OperationPhase.SUCCEEDED
    if failed and last is not None and last.revision == sha and _hook_failed(last):
        return False  # that commit's hooks failed: not re-run by automation
    return new_commit or failed or trigger is Trigger.RETRY or automated.self_heal


def _hook_failed(operation: Operation) -> bool:
    """Whether the operation failed on a hook (its message lists its conditions as
    ``Reason: message``, and it is what outlives the next comparison)."""
    return f"{ConditionReason.HOOK_FAILED.value}: " in operation.message


def trigger_label(trigger: Trigger, request: Request | None) -> str:
    """Who or what started an operation, as history records it."""
    if request is not None:
        return request.trigger
    if trigger is Trigger.WEBHOOK:
        return WEBHOOK
    if trigger is Trigger.DRIFT:
        return DRIFT
    if trigger is Trigger.MANUAL:
        return manual_trigger("unknown")
    return AUTOMATED


def outcome(result: SyncResult) -> Outcome:
    """How a compared or synced target ends for the scheduler: a temporary failure (an
    unreachable cluster, a failed apply or prune) is retried with backoff; a permanent one
    waits for a change; an app that is only unhealthy counts as done."""
    if not result.conditions:
        return Outcome.SUCCESS
    if all(c.reason is ConditionReason.HEALTH_CHECK_FAILED for c in result.conditions):
        return Outcome.SUCCESS
    if any(c.temporary for c in result.conditions):
        return Outcome.TEMPORARY_FAILURE
    failed = any(r.code in (ResultCode.APPLY_FAILED, ResultCode.PRUNE_FAILED)
                 for r in result.resources)
    return Outcome.TEMPORARY_FAILURE if failed else Outcome.PERMANENT_FAILURE
