"""Health of Crossplane claims, composite and managed resources, and packages (pure).

Claims and composite resources live in the groups their users define, so they are known by
shape, not by group: an object of a ``crossplane.io`` group, a spec with Crossplane's own
fields (``compositionRef``, ``compositionSelector``, ``resourceRefs``, ``claimRef``,
``forProvider``, ``providerConfigRef``, v2's ``crossplane``), or a ``Synced`` condition.
Packages (``pkg.crossplane.io`` Provider, Configuration, Function) report ``Installed`` and
``Healthy``.

``Synced=False`` (Crossplane cannot reconcile it) and ``LastAsyncOperation=False`` (the
provider's last call failed) are Degraded. Then readiness (``Ready``, or ``Healthy`` for
packages): True is Healthy; False is Progressing while its reason says work is under way
(``Creating``, ``Waiting``) and Degraded otherwise (``Unavailable``). An object with
Crossplane's spec fields (or a package) and no readiness yet is Progressing; one without
them (a Composition, a ProviderConfig) is Healthy because it exists.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.conditions import under_way
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing

_SPEC_FIELDS = (
    "compositionRef", "compositionSelector", "compositionRevisionRef", "resourceRefs",
    "claimRef", "forProvider", "providerConfigRef", "crossplane",
)  # fmt: skip
_FAILURES = ("Synced", "LastAsyncOperation")
_PACKAGES = ("Provider", "Configuration", "Function")


def is_crossplane(group: str, obj: Obj) -> bool:
    """Whether ``obj`` is a Crossplane object, by its group, spec fields or conditions."""
    if group == "crossplane.io" or group.endswith(".crossplane.io"):
        return True
    return _managed_by_crossplane(obj) or fields.condition(obj, "Synced") is not None


def assess_crossplane(obj: Obj) -> HealthResult:
    """Degraded when it cannot sync, else by readiness (see the module docstring)."""
    for kind in _FAILURES:
        failed = fields.condition(obj, kind)
        if failed is not None and fields.is_false(failed):
            return degraded(fields.explain(failed))
    installed = fields.condition(obj, "Installed")
    if installed is not None and fields.is_false(installed):
        return _from_false(installed)
    ready = fields.condition(obj, "Ready") or fields.condition(obj, "Healthy")
    if ready is None:
        if not _managed_by_crossplane(obj):
            return healthy("")
        return progressing("Waiting for Crossplane to report the resource ready")
    if fields.condition_stale(obj, ready):
        return progressing(f"Waiting for Crossplane to observe the spec: {fields.explain(ready)}")
    if fields.is_true(ready):
        return healthy(fields.explain(ready))
    if fields.is_false(ready):
        return _from_false(ready)
    return progressing(fields.explain(ready))


def _managed_by_crossplane(obj: Obj) -> bool:
    """Crossplane reconciles it and will report its readiness (not a Composition)."""
    if fields.text(obj, "apiVersion").startswith("pkg.crossplane.io/"):
        return fields.text(obj, "kind") in _PACKAGES
    spec = fields.spec(obj)
    return any(key in spec for key in _SPEC_FIELDS)


def _from_false(cond: Obj) -> HealthResult:
    if under_way(fields.text(cond, "reason")):
        return progressing(fields.explain(cond))
    return degraded(fields.explain(cond))
