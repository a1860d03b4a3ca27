"""Health of cert-manager Certificates (Ready and Issuing) and issuers (Ready) (pure).

An issuance under way (``Issuing=True``: a first issuance, a renewal, or a spec change such
as new DNS names) is Progressing, even while the current certificate is still Ready, because
what is served does not match the spec yet. Otherwise ``Ready`` decides: True is Healthy
(naming the expiry), False Degraded (a failed issuance, an expired or mismatched secret).
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing
from engine.model import HealthStatus


def assess_certificate(obj: Obj) -> HealthResult:
    """Progressing while issuing or before cert-manager reports, else Ready decides."""
    issuing = fields.condition(obj, "Issuing")
    if issuing is not None and fields.is_true(issuing):
        return progressing(f"Issuing: {fields.explain(issuing)}")
    found = _by_ready(obj, "issue the certificate")
    if found.status is HealthStatus.HEALTHY:
        expiry = fields.text(fields.status(obj), "notAfter")
        return healthy(found.message + (f"; valid until {expiry}" if expiry else ""))
    if found.status is HealthStatus.DEGRADED:
        return degraded(_failure(obj, fields.condition(obj, "Ready") or {}))
    return found


def assess_issuer(obj: Obj) -> HealthResult:
    """An Issuer or ClusterIssuer: Healthy when Ready (e.g. its ACME account is registered)."""
    return _by_ready(obj, "check the issuer")


def _by_ready(obj: Obj, waiting_to: str) -> HealthResult:
    """Progressing without a current Ready condition; then True Healthy, False Degraded."""
    ready = fields.condition(obj, "Ready")
    if ready is None:
        return progressing(f"Waiting for cert-manager to {waiting_to}")
    if fields.condition_stale(obj, ready):
        return progressing(f"Waiting for cert-manager to observe the spec: {fields.explain(ready)}")
    if fields.is_true(ready):
        return healthy(fields.explain(ready))
    if fields.is_false(ready):
        return degraded(fields.explain(ready))
    return progressing(fields.explain(ready))


def _failure(obj: Obj, ready: Obj) -> str:
    """Ready=False, with the last failed issuance when cert-manager recorded one."""
    failed_at = fields.text(fields.status(obj), "lastFailureTime")
    issuing = fields.condition(obj, "Issuing")
    detail = f"; last issuance failed at {failed_at}" if failed_at else ""
    if issuing is not None and fields.is_false(issuing) and fields.text(issuing, "message"):
        detail += f" ({fields.text(issuing, 'message')})"
    return fields.explain(ready) + detail
