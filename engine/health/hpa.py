"""Health of HorizontalPodAutoscalers from AbleToScale / ScalingActive / ScalingLimited (pure).

autoscaling/v2 keeps these in ``status.conditions``; autoscaling/v1 keeps them as JSON in the
annotation ``autoscaling.alpha.kubernetes.io/conditions``.
"""

from __future__ import annotations

import json

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended

V1_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"


def assess_hpa(obj: Obj) -> HealthResult:
    """Degraded when it cannot scale or read metrics, Suspended when scaling is disabled."""
    conditions = {fields.text(c, "type"): c for c in _conditions(obj)}
    able, active = conditions.get("AbleToScale"), conditions.get("ScalingActive")
    if able is None and active is None:
        return progressing("Waiting for the autoscaler to read metrics and scale")
    if able is not None and fields.is_false(able):
        return degraded(f"Cannot scale the target: {fields.explain(able)}")
    if active is not None and fields.is_false(active):
        if fields.text(active, "reason") == "ScalingDisabled":
            return suspended(f"Autoscaling is disabled: {fields.explain(active)}")
        return degraded(f"Cannot compute a replica count: {fields.explain(active)}")
    limited = conditions.get("ScalingLimited")
    if limited is not None and fields.is_true(limited):
        return healthy(f"Scaling is limited: {fields.explain(limited)}")
    return healthy(fields.text(active or able or {}, "message"))


def _conditions(obj: Obj) -> list[Obj]:
    """status.conditions (v2), else the v1 conditions annotation."""
    found = fields.conditions(obj)
    if found:
        return found
    raw = fields.section(fields.section(obj, "metadata"), "annotations").get(V1_CONDITIONS)
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    return [c for c in parsed if isinstance(c, dict)] if isinstance(parsed, list) else []
