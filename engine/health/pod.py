"""Health of core/v1 Pods: stuck containers, phase, readiness and restarts (pure).

A container waiting with a reason such as ``ImagePullBackOff``, ``CrashLoopBackOff`` or
``CreateContainerConfigError`` makes a Pod that restarts forever (``restartPolicy: Always``)
Degraded at once: it will not heal without a change. A Pod that runs to completion (``Never``,
``OnFailure``: Jobs, sync hooks) stays Progressing instead, so that a hook is not failed while
the cause may still clear; it is judged when it Succeeds or Fails.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, unknown

# Waiting reasons that are not part of a normal start (ContainerCreating, PodInitializing).
_STUCK_REASONS = {"InvalidImageName", "CreateContainerConfigError", "ContainerCannotRun"}


def assess_pod(obj: Obj) -> HealthResult:
    """Degraded when a container is stuck or failed, else by phase and readiness."""
    restarts_forever = fields.text(fields.spec(obj), "restartPolicy") in ("", "Always")
    stuck = _stuck_containers(obj)
    if stuck and restarts_forever:
        return degraded("; ".join(stuck))
    phase = fields.text(fields.status(obj), "phase")
    if phase == "Pending":
        return progressing("; ".join(stuck) or _pending_message(obj))
    if phase == "Succeeded":
        return healthy(fields.text(fields.status(obj), "message") or "Pod completed")
    if phase == "Failed":
        return degraded(_failure_message(obj))
    if phase == "Running":
        return _running(obj, restarts_forever, stuck)
    return unknown(f"Pod phase is {phase or 'not reported'}")


def _containers(obj: Obj) -> list[Obj]:
    status = fields.status(obj)
    return fields.items(status, "initContainerStatuses") + fields.items(status, "containerStatuses")


def _stuck_containers(obj: Obj) -> list[str]:
    """One line per container that waits for a reason that will not clear by itself."""
    lines = []
    for container in _containers(obj):
        waiting = fields.section(fields.section(container, "state"), "waiting")
        reason = fields.text(waiting, "reason")
        if _is_stuck(reason):
            line = f'container "{fields.text(container, "name")}" is waiting: {reason}'
            message = fields.text(waiting, "message")
            lines.append(f"{line}: {message}" if message else line)
    return lines


def _is_stuck(reason: str) -> bool:
    return (
        reason in _STUCK_REASONS
        or reason.startswith("Err")
        or reason.endswith(("Error", "BackOff"))
    )


def _pending_message(obj: Obj) -> str:
    """Why a Pod has not started: unscheduled, or which containers are still waiting."""
    scheduled = fields.condition(obj, "PodScheduled")
    if scheduled is not None and fields.is_false(scheduled):
        return f"Pod is not scheduled: {fields.explain(scheduled)}"
    waiting = [
        f'container "{fields.text(c, "name")}" is waiting: {reason}'
        for c in _containers(obj)
        if (reason := fields.text(fields.section(fields.section(c, "state"), "waiting"), "reason"))
    ]
    return "; ".join(waiting) or fields.text(fields.status(obj), "message") or "Pod is pending"


def _failure_message(obj: Obj) -> str:
    """The Pod's own message, else the first container that terminated badly."""
    status = fields.status(obj)
    own = fields.text(status, "message")
    if own:
        return f"Pod failed: {fields.text(status, 'reason') or 'Failed'}: {own}"
    for container in _containers(obj):
        terminated = fields.section(fields.section(container, "state"), "terminated")
        explained = _termination(fields.text(container, "name"), terminated)
        if explained:
            return f"Pod failed: {explained}"
    return "Pod failed"


def _termination(container: str, terminated: Obj) -> str:
    """``container "x" exited with code 1 (Error): message``, empty for a clean exit."""
    code = fields.integer(terminated, "exitCode")
    reason = fields.text(terminated, "reason")
    if not terminated or (code == 0 and reason != "OOMKilled"):
        return ""
    line = f'container "{container}" exited with code {code}'
    line += f" ({reason})" if reason else ""
    message = fields.text(terminated, "message")
    return f"{line}: {message}" if message else line


def _running(obj: Obj, restarts_forever: bool, stuck: list[str]) -> HealthResult:
    """A running Pod is Healthy once Ready; a Pod that runs to completion is still on its way."""
    if not restarts_forever:
        return progressing("; ".join(stuck) or "Pod is running to completion")
    ready = fields.condition(obj, "Ready")
    if ready is not None and fields.is_true(ready):
        return healthy("Pod is running and ready")
    for container in fields.items(fields.status(obj), "containerStatuses"):
        last = fields.section(fields.section(container, "lastState"), "terminated")
        if last:
            name = fields.text(container, "name")
            explained = _termination(name, last) or f'container "{name}" exited'
            return degraded(f"Pod is not ready; {explained} and was restarted")
    reason = fields.explain(ready) if ready is not None else "no Ready condition yet"
    return progressing(f"Pod is running but not ready: {reason}")
