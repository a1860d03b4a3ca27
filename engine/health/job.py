"""Health of batch/v1 Jobs and CronJobs (pure).

A Job is judged by its terminal conditions (``Complete``, ``Failed``, and the earlier
``SuccessCriteriaMet`` / ``FailureTarget``), a suspended one by ``spec.suspend``. A CronJob is
Suspended when ``spec.suspend`` is set and Degraded when the last Job it started did not
succeed (``lastSuccessfulTime`` older than ``lastScheduleTime`` with nothing running).
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended


def assess_job(obj: Obj) -> HealthResult:
    """Healthy when complete, Degraded when failed, Suspended when suspended, else Progressing."""
    for kind in ("Failed", "FailureTarget"):
        failed = fields.condition(obj, kind)
        if failed is not None and fields.is_true(failed):
            return degraded(f"Job failed: {_reason(failed)}")
    for kind in ("Complete", "SuccessCriteriaMet"):
        if fields.is_true(fields.condition(obj, kind)):
            return healthy(f"Job completed: {_counts(obj)}")
    paused = fields.condition(obj, "Suspended")
    if fields.is_true(paused) or fields.spec(obj).get("suspend") is True:
        return suspended("Job is suspended (spec.suspend); set it to false to run it")
    return progressing(f"Job is running: {_counts(obj)}")


def assess_cronjob(obj: Obj) -> HealthResult:
    """Suspended when suspended, Degraded when its last Job failed, else Healthy."""
    if fields.spec(obj).get("suspend") is True:
        return suspended("CronJob is suspended (spec.suspend); no new Jobs are started")
    status = fields.status(obj)
    scheduled = fields.text(status, "lastScheduleTime")
    succeeded = fields.text(status, "lastSuccessfulTime")
    running = len(fields.items(status, "active"))
    if not scheduled:
        return healthy("CronJob has not started a Job yet")
    if running:
        return healthy(f"{running} Job(s) running; last scheduled at {scheduled}")
    # RFC 3339 timestamps in UTC compare correctly as strings.
    if not succeeded or succeeded < scheduled:
        return degraded(
            f"The Job scheduled at {scheduled} did not succeed"
            + (f" (last success at {succeeded})" if succeeded else " (no Job has succeeded yet)")
            + "; look at the Jobs it owns"
        )
    return healthy(f"Last Job scheduled at {scheduled} succeeded at {succeeded}")


def _reason(cond: Obj) -> str:
    reason, message = fields.text(cond, "reason"), fields.text(cond, "message")
    return ": ".join(part for part in (reason, message) if part) or "no reason given"


def _counts(obj: Obj) -> str:
    """Pods active, succeeded and failed; a finished pod the Job controller has not counted
    yet (``status.uncountedTerminatedPods``, while it removes their finalizers) counts too,
    so a Job marked complete never reads "0 succeeded"."""
    status = fields.status(obj)
    uncounted = status.get("uncountedTerminatedPods")
    uncounted = uncounted if isinstance(uncounted, dict) else {}
    counts = {key: fields.integer(status, key) for key in ("active", "succeeded", "failed")}
    for key in ("succeeded", "failed"):
        pods = uncounted.get(key)
        counts[key] += len(pods) if isinstance(pods, list) else 0
    return ", ".join(f"{value} {key}" for key, value in counts.items())
