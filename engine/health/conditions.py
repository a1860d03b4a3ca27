"""Health of any other object, from the conventions most controllers follow (pure).

In order: ``spec.suspend: true`` is Suspended; a spec the controller has not observed yet
(``status.observedGeneration`` below ``metadata.generation``) is Progressing; the kstatus
conditions ``Stalled=True`` (Degraded) and ``Reconciling=True`` (Progressing); then the
``Ready`` condition, or ``Available`` when there is no ``Ready``: True is Healthy, False is
Degraded unless its reason says work is under way, Unknown is Progressing, and a condition
that describes an older generation is Progressing. Without any of these the object is
Healthy because it exists.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, suspended

# Words in a False condition's reason that mean "not yet" rather than "failed", and words
# that mean "failed" even next to those (UpdateFailed, CreateError).
_UNDER_WAY = ("Progress", "Reconcil", "Pending", "Wait", "Creat", "Initializ", "Provision",
              "Updat", "Deploying", "Starting", "Scaling", "Install", "Unpack")  # fmt: skip
_FAILED = ("Fail", "Error", "Invalid", "Exceeded", "Timeout", "TimedOut")


def assess_conditions(obj: Obj) -> HealthResult:
    """Health of an object of a kind without a dedicated rule."""
    if fields.spec(obj).get("suspend") is True:
        return suspended("Suspended (spec.suspend is true)")
    if "observedGeneration" in fields.status(obj) and not fields.generation_observed(obj):
        return progressing(fields.not_observed_message(obj))
    stalled, reconciling = fields.condition(obj, "Stalled"), fields.condition(obj, "Reconciling")
    if stalled is not None and fields.is_true(stalled):
        return degraded(fields.explain(stalled))
    if reconciling is not None and fields.is_true(reconciling):
        return progressing(fields.explain(reconciling))
    ready = fields.condition(obj, "Ready") or fields.condition(obj, "Available")
    if ready is None:
        return healthy("")
    return _from_ready(obj, ready)


def _from_ready(obj: Obj, ready: Obj) -> HealthResult:
    """Judge the Ready (or Available) condition."""
    if fields.condition_stale(obj, ready):
        return progressing(f"Waiting for the controller: {fields.explain(ready)} is stale")
    if fields.is_true(ready):
        return healthy(fields.explain(ready))
    if fields.is_false(ready) and not under_way(fields.text(ready, "reason")):
        return degraded(fields.explain(ready))
    return progressing(fields.explain(ready))


def under_way(reason: str) -> bool:
    """Whether a False condition's reason says "not yet" rather than "failed"."""
    if any(word in reason for word in _FAILED):
        return False
    return any(word in reason for word in _UNDER_WAY)
