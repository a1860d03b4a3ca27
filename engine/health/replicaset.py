"""Health of apps/v1 ReplicaSets: Pod creation failures, then available replicas (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing


def assess_replicaset(obj: Obj) -> HealthResult:
    """Degraded when Pods cannot be created, Progressing until all replicas are available."""
    if not fields.generation_observed(obj):
        return progressing(fields.not_observed_message(obj))
    failure = fields.condition(obj, "ReplicaFailure")
    if failure is not None and fields.is_true(failure):
        return degraded(f"Pods cannot be created: {fields.explain(failure)}")
    wanted = fields.integer(fields.spec(obj), "replicas", default=1)
    available = fields.integer(fields.status(obj), "availableReplicas")
    if available < wanted:
        return progressing(f"Waiting for Pods: {available} of {wanted} replicas are available...")
    return healthy(f"{available} of {wanted} replicas available")
