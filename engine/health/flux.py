"""Health of Flux Kustomizations and HelmReleases (pure).

Flux follows kstatus: ``spec.suspend`` is Suspended (Flux does not reconcile it), a spec
not observed yet or a stale ``Ready`` is Progressing, ``Stalled=True`` is Degraded. Then
``Ready``: True is Healthy; False is Degraded, except while it waits for the objects named
in ``dependsOn`` (``DependencyNotReady``) or a first attempt is under way (``Reconciling=True``
for another reason than ``ProgressingWithRetry``, which is a failed attempt being retried).
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended


def assess_flux(obj: Obj) -> HealthResult:
    """The health of a Flux Kustomization or HelmRelease."""
    kind = fields.text(obj, "kind") or "Object"
    if fields.spec(obj).get("suspend") is True:
        return suspended(f"{kind} is suspended (spec.suspend): Flux does not reconcile it")
    if not fields.generation_observed(obj):
        return progressing(fields.not_observed_message(obj))
    stalled = fields.condition(obj, "Stalled")
    if stalled is not None and fields.is_true(stalled):
        return degraded(fields.explain(stalled))
    ready = fields.condition(obj, "Ready")
    if ready is None:
        return progressing(f"Waiting for Flux to reconcile the {kind}")
    if fields.condition_stale(obj, ready):
        return progressing(f"Waiting for Flux to observe the spec: {fields.explain(ready)}")
    if fields.is_true(ready):
        return healthy(fields.explain(ready))
    if fields.is_false(ready) and not _under_way(obj, ready):
        return degraded(fields.explain(ready))
    return progressing(fields.explain(ready))


def _under_way(obj: Obj, ready: Obj) -> bool:
    """Ready=False while waiting for dependencies or during a first attempt."""
    if fields.text(ready, "reason") == "DependencyNotReady":
        return True
    reconciling = fields.condition(obj, "Reconciling")
    return (
        reconciling is not None
        and fields.is_true(reconciling)
        and fields.text(reconciling, "reason") != "ProgressingWithRetry"
    )
