"""Health of Namespaces: Active or Terminating (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, healthy, progressing


def assess_namespace(obj: Obj) -> HealthResult:
    """Progressing while Terminating (naming what holds it back), else Healthy."""
    deleting = fields.section(obj, "metadata").get("deletionTimestamp")
    if fields.text(fields.status(obj), "phase") != "Terminating" and not deleting:
        return healthy("Namespace is active")
    blockers = [fields.explain(c) for c in fields.conditions(obj) if fields.is_true(c)]
    detail = f": {'; '.join(blockers)}" if blockers else ""
    return progressing(f"Namespace is being deleted{detail}")
