"""Health of Argo Rollouts (argoproj.io Rollout) (pure).

Argo Rollouts writes ``status.observedGeneration`` as a string (``"5"``); before v0.10 it
was a hash of the spec, which cannot be compared with a generation and counts as observed.
In order: a spec (or a referenced workload's spec) not observed yet is Progressing; an
invalid spec, an aborted rollout or a passed progress deadline is Degraded; then, from
v1.0, the controller's own verdict in ``status.phase`` (``Paused`` is Suspended); an older
controller's rollout is judged from its pause state, replicas and, per strategy, whether the
new ReplicaSet has become the active (blue-green) or stable (canary) one.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended, unknown

WORKLOAD_GENERATION = "rollout.argoproj.io/workload-generation"
_FAILED_PROGRESS = ("RolloutAborted", "ProgressDeadlineExceeded")


def assess_rollout(obj: Obj) -> HealthResult:
    """Progressing, Degraded, Suspended or Healthy as described in the module docstring."""
    if not fields.generation_observed(obj) or not _workload_observed(obj):
        return progressing("Waiting for the rollout controller to observe the new spec")
    failure = _failure(obj)
    if failure is not None:
        return failure
    phase = fields.text(fields.status(obj), "phase")
    if phase:
        return _from_phase(obj, phase)
    return _paused(obj) or _replicas(obj) or _cut_over(obj) or healthy(_available(obj))


def _workload_observed(obj: Obj) -> bool:
    """A Rollout with ``workloadRef`` has seen the referenced Deployment's latest spec."""
    if not fields.spec(obj).get("workloadRef"):
        return True
    annotations = fields.section(fields.section(obj, "metadata"), "annotations")
    wanted = fields.number(annotations, WORKLOAD_GENERATION)
    if wanted is None:
        return True
    return fields.number(fields.status(obj), "workloadObservedGeneration") == wanted


def _failure(obj: Obj) -> HealthResult | None:
    """Degraded for an invalid spec, an abort or a passed deadline; None otherwise."""
    invalid = fields.condition(obj, "InvalidSpec")
    if invalid is not None and fields.is_true(invalid):
        return degraded(f"Invalid spec: {fields.explain(invalid)}")
    progress = fields.condition(obj, "Progressing")
    if progress is not None and fields.text(progress, "reason") in _FAILED_PROGRESS:
        return degraded(fields.explain(progress))
    if fields.status(obj).get("abort") is True:
        return degraded("Rollout aborted (status.abort); retry or fix the new revision")
    return None


def _from_phase(obj: Obj, phase: str) -> HealthResult:
    """The controller's own verdict (Argo Rollouts v1.0 and later)."""
    message = fields.text(fields.status(obj), "message")
    if phase == "Paused":
        return suspended(f"Rollout is paused{_because(obj, message)}; promote or resume it")
    if phase == "Healthy":
        return healthy(message or _available(obj))
    if phase == "Progressing":
        return progressing(message or "Rollout is progressing")
    if phase == "Degraded":
        return degraded(message or "Rollout is degraded")
    return unknown(f"Rollout phase is {phase}" + (f": {message}" if message else ""))


def _paused(obj: Obj) -> HealthResult | None:
    """Suspended when a user (spec.paused) or a step or analysis (pauseConditions) paused it."""
    reasons = _pause_reasons(obj)
    if reasons or fields.spec(obj).get("paused") is True:
        return suspended(f"Rollout is paused{_because(obj, '')}; promote or resume it")
    return None


def _pause_reasons(obj: Obj) -> list[str]:
    pauses = fields.items(fields.status(obj), "pauseConditions")
    return [fields.text(p, "reason") for p in pauses if fields.text(p, "reason")]


def _because(obj: Obj, message: str) -> str:
    reasons = _pause_reasons(obj) or ([message] if message else [])
    return f" ({', '.join(reasons)})" if reasons else ""


def _replicas(obj: Obj) -> HealthResult | None:
    """Progressing until the new ReplicaSet has every replica, and they are available."""
    status = fields.status(obj)
    if not fields.text(status, "currentPodHash"):
        return progressing("Waiting for the rollout controller to report the new ReplicaSet")
    wanted = fields.integer(fields.spec(obj), "replicas", default=1)
    updated = fields.integer(status, "updatedReplicas")
    available = fields.integer(status, "availableReplicas")
    if updated < wanted:
        return progressing(f"Waiting for rollout: {updated} of {wanted} replicas updated...")
    if available < updated:
        return progressing(
            f"Waiting for rollout: {available} of {updated} updated replicas available..."
        )
    return None


def _cut_over(obj: Obj) -> HealthResult | None:
    """Progressing until the new ReplicaSet is the active (blue-green) or stable (canary) one."""
    status = fields.status(obj)
    current = fields.text(status, "currentPodHash")
    stable = fields.text(status, "stableRS") or fields.text(
        fields.section(status, "canary"), "stableRS"
    )
    strategy = fields.section(fields.spec(obj), "strategy")
    if "blueGreen" in strategy:
        active = fields.text(fields.section(status, "blueGreen"), "activeSelector")
        if active != current:
            return progressing("Waiting for the active Service to switch to the new ReplicaSet")
        if stable and stable != current:
            return progressing("Waiting for the post-promotion analysis to finish")
    elif "canary" in strategy:
        if fields.integer(status, "replicas") > fields.integer(status, "updatedReplicas"):
            return progressing("Waiting for rollout: old replicas are still terminating...")
        if stable != current:
            return progressing("Waiting for the canary steps to finish")
    return None


def _available(obj: Obj) -> str:
    wanted = fields.integer(fields.spec(obj), "replicas", default=1)
    available = fields.integer(fields.status(obj), "availableReplicas")
    return f"{available} of {wanted} replicas available"
