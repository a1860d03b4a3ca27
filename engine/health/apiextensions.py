"""Health of CustomResourceDefinitions and APIServices from their conditions (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing

# APIService reasons that mean its backend is not up yet rather than broken.
_STARTING = {"MissingEndpoints", "ServiceNotFound", "EndpointsNotFound"}


def assess_crd(obj: Obj) -> HealthResult:
    """Degraded on a name conflict, a non-structural schema or ``Established=False`` for any
    reason but ``Installing``; Healthy once Established; Progressing until then."""
    names = fields.condition(obj, "NamesAccepted")
    if names is not None and fields.is_false(names):
        return degraded(f"Names are not accepted: {fields.explain(names)}")
    schema = fields.condition(obj, "NonStructuralSchema")
    if schema is not None and fields.is_true(schema):
        return degraded(f"Schema is not structural: {fields.explain(schema)}")
    terminating = fields.condition(obj, "Terminating")
    if terminating is not None and fields.is_true(terminating):
        return progressing(f"Being deleted: {fields.explain(terminating)}")
    established = fields.condition(obj, "Established")
    if established is not None and fields.is_true(established):
        return healthy("Established: the API server serves its custom resources")
    if fields.is_false(established) and fields.text(established or {}, "reason") != "Installing":
        return degraded(f"Not established: {fields.explain(established or {})}")
    return progressing("Waiting for the API server to establish the definition")


def assess_apiservice(obj: Obj) -> HealthResult:
    """Healthy when Available; Progressing while its backend starts; Degraded otherwise."""
    available = fields.condition(obj, "Available")
    if available is None:
        return progressing("Waiting for the aggregator to check the service")
    if fields.is_true(available):
        return healthy(fields.explain(available))
    if fields.text(available, "reason") in _STARTING or not fields.is_false(available):
        return progressing(f"Not available yet: {fields.explain(available)}")
    return degraded(f"Not available: {fields.explain(available)}")
