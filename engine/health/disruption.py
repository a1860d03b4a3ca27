"""Health of PodDisruptionBudgets (policy) from the disruption controller's status (pure).

``DisruptionAllowed=False`` with reason ``InsufficientPods`` is Healthy, as in Argo CD: a
budget that allows no disruption (``maxUnavailable: 0``, ``minAvailable`` equal to the
replicas) does what it was written for, and the Pods it selects report their own health.
False for any other reason (``SyncFailed``: the controller cannot compute the budget, e.g.
its selector picks Pods of a controller without a scale subresource) is Degraded.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing


def assess_pdb(obj: Obj) -> HealthResult:
    """Degraded when the budget cannot be computed, Healthy once it is, else Progressing."""
    if not fields.generation_observed(obj):
        return progressing(fields.not_observed_message(obj))
    allowed = [c for c in fields.conditions(obj) if c.get("type") == "DisruptionAllowed"]
    failed = [c for c in allowed if fields.is_false(c) and c.get("reason") != "InsufficientPods"]
    if failed:
        return degraded(f"The budget cannot be computed: {fields.explain(failed[-1])}")
    if not allowed and "disruptionsAllowed" not in fields.status(obj):
        return progressing("Waiting for the disruption controller to compute the budget")
    return healthy(_budget(obj))


def _budget(obj: Obj) -> str:
    """``1 disruption allowed (3 of 2 required Pods healthy)`` and the like."""
    status = fields.status(obj)
    allowed = fields.integer(status, "disruptionsAllowed")
    current = fields.integer(status, "currentHealthy")
    desired = fields.integer(status, "desiredHealthy")
    if fields.integer(status, "expectedPods") == 0:
        return "The budget selects no Pods"
    counts = f"{current} healthy Pods, {desired} required"
    if allowed <= 0:
        return f"No disruption allowed ({counts}): evictions of its Pods are refused"
    plural = "s" if allowed != 1 else ""
    return f"{allowed} disruption{plural} allowed ({counts})"
