"""Health of Argo Workflows (argoproj.io Workflow) by ``status.phase`` (pure).

The phase is the workflow controller's own verdict: Pending and Running are on their way
(Suspended when ``spec.suspend`` holds a running workflow), Succeeded is Healthy, Failed and
Error are Degraded. A workflow the controller has not picked up yet has no phase.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended, unknown


def assess_workflow(obj: Obj) -> HealthResult:
    """Degraded when Failed or Error, Healthy when Succeeded, else Progressing or Suspended."""
    status = fields.status(obj)
    phase = fields.text(status, "phase")
    told = fields.text(status, "message")
    detail = f": {told}" if told else ""
    if phase in ("Failed", "Error"):
        return degraded(f"Workflow {phase.lower()}{detail}")
    if phase == "Succeeded":
        return healthy(f"Workflow succeeded{detail}")
    if phase not in ("", "Pending", "Running"):
        return unknown(f"Workflow phase is {phase}{detail}")
    if fields.spec(obj).get("suspend") is True:
        return suspended("Workflow is suspended (spec.suspend); resume it to go on")
    if not phase:
        return progressing("Waiting for the workflow controller to start the workflow")
    return progressing(f"Workflow is {phase.lower()}{detail}")
