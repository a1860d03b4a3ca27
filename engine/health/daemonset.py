"""Health of apps/v1 DaemonSets: updated and available Pods on every node (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, healthy, progressing


def assess_daemonset(obj: Obj) -> HealthResult:
    """Progressing until the Pod on every scheduled node is updated and available."""
    if not fields.generation_observed(obj):
        return progressing(fields.not_observed_message(obj))
    status = fields.status(obj)
    desired = fields.integer(status, "desiredNumberScheduled")
    updated = fields.integer(status, "updatedNumberScheduled")
    available = fields.integer(status, "numberAvailable")
    strategy = fields.section(fields.spec(obj), "updateStrategy")
    if strategy.get("type") == "OnDelete":
        return healthy(
            f"{updated} of {desired} Pods run the latest template (OnDelete: older Pods are "
            "replaced only when deleted)"
        )
    if updated < desired:
        return progressing(
            f"Waiting for rollout to finish: {updated} of {desired} nodes run the new Pod "
            "template..."
        )
    if available < desired:
        return progressing(
            f"Waiting for rollout to finish: {available} of {desired} updated Pods are available..."
        )
    return healthy(f"{available} of {desired} Pods available")
