"""Health of Flux objects: Kustomizations, HelmReleases, sources, image automation (pure).

Flux follows kstatus: ``spec.suspend`` is Suspended (Flux does not reconcile it), a spec
not observed yet or a stale ``Ready`` is Progressing, ``Stalled=True`` is Degraded. Then
``Ready``: True is Healthy, Unknown (an attempt under way) Progressing, and False Degraded,
even while Flux retries (``Reconciling=True``), except while it waits for the objects named
in ``dependsOn`` (``DependencyNotReady``). An OCI HelmRepository is static: Flux writes no
status for it, so it is Healthy.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended

# Every Flux kind that reports a Ready condition, by API group.
KINDS = {
    "kustomize.toolkit.fluxcd.io": ("Kustomization",),
    "helm.toolkit.fluxcd.io": ("HelmRelease",),
    "source.toolkit.fluxcd.io": ("GitRepository", "OCIRepository", "HelmRepository",
                                 "HelmChart", "Bucket"),
    "image.toolkit.fluxcd.io": ("ImageRepository", "ImagePolicy", "ImageUpdateAutomation"),
    "notification.toolkit.fluxcd.io": ("Receiver",),
}  # fmt: skip


def assess_flux(obj: Obj) -> HealthResult:
    """The health of a Flux object with a Ready condition."""
    kind = fields.text(obj, "kind") or "Object"
    if kind == "HelmRepository" and fields.spec(obj).get("type") == "oci":
        return healthy("OCI HelmRepository (static: Flux does not reconcile it)")
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
    if fields.is_false(ready) and fields.text(ready, "reason") != "DependencyNotReady":
        return degraded(fields.explain(ready))
    return progressing(fields.explain(ready))
