"""Health of apps/v1 Deployments: paused, deadline exceeded, or the rollout's progress (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended


def assess_deployment(obj: Obj) -> HealthResult:
    """Suspended when paused, Degraded past its progress deadline, else how far the rollout is."""
    if fields.spec(obj).get("paused") is True:
        return suspended(f'Deployment "{fields.name(obj)}" is paused; resume it to roll out')
    if not fields.generation_observed(obj):
        return progressing(fields.not_observed_message(obj))
    failure = _failure(obj)
    return failure if failure is not None else _rollout(obj)


def _failure(obj: Obj) -> HealthResult | None:
    """Degraded when the deadline passed or Pods cannot be created; None otherwise."""
    progress = fields.condition(obj, "Progressing")
    if progress is not None and progress.get("reason") == "ProgressDeadlineExceeded":
        deadline = fields.integer(fields.spec(obj), "progressDeadlineSeconds", default=600)
        return degraded(
            f'Deployment "{fields.name(obj)}" exceeded its progress deadline of {deadline}s '
            f"(ProgressDeadlineExceeded): {fields.text(progress, 'message')} "
            f"{_available(obj)}; look at its Pods for the cause"
        )
    replica_failure = fields.condition(obj, "ReplicaFailure")
    if replica_failure is not None and fields.is_true(replica_failure):
        return degraded(f"Pods cannot be created: {fields.explain(replica_failure)}")
    return None


def _rollout(obj: Obj) -> HealthResult:
    """Progressing until every replica is updated and available, then Healthy."""
    status = fields.status(obj)
    wanted = fields.integer(fields.spec(obj), "replicas", default=1)
    current = fields.integer(status, "replicas")
    updated = fields.integer(status, "updatedReplicas")
    available = fields.integer(status, "availableReplicas")
    if updated < wanted:
        return progressing(
            f"Waiting for rollout to finish: {updated} of {wanted} replicas run the new "
            "Pod template..."
        )
    if current > updated:
        return progressing(
            f"Waiting for rollout to finish: {current - updated} old replicas are still "
            "terminating..."
        )
    if available < updated:
        return progressing(
            f"Waiting for rollout to finish: {available} of {updated} updated replicas "
            "are available..."
        )
    return healthy(f"{available} of {wanted} replicas available")


def _available(obj: Obj) -> str:
    status = fields.status(obj)
    available = fields.integer(status, "availableReplicas")
    wanted = fields.integer(fields.spec(obj), "replicas", default=1)
    return f"{available} of {wanted} replicas are available"
