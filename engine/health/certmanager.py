"""Health of cert-manager Certificates from their Ready and Issuing conditions (pure).

An issuance under way (``Issuing=True``: a first issuance, a renewal, or a spec change such
as new DNS names) is Progressing, even while the current certificate is still Ready, because
what is served does not match the spec yet. Otherwise ``Ready`` decides: True is Healthy
(naming the expiry), False Degraded (a failed issuance, an expired or mismatched secret).
"""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing


def assess_certificate(obj: Obj) -> HealthResult:
    """Progressing while issuing or before cert-manager reports, else Ready decides."""
    issuing = fields.condition(obj, "Issuing")
    if issuing is not None and fields.is_true(issuing):
        return progressing(f"Issuing: {fields.explain(issuing)}")
    ready = fields.condition(obj, "Ready")
    if ready is None:
        return progressing("Waiting for cert-manager to issue the certificate")
    if fields.condition_stale(obj, ready):
        return progressing(f"Waiting for cert-manager to observe the spec: {fields.explain(ready)}")
    if fields.is_true(ready):
        expiry = fields.text(fields.status(obj), "notAfter")
        return healthy(fields.explain(ready) + (f"; valid until {expiry}" if expiry else ""))
    if fields.is_false(ready):
        return degraded(_failure(obj, ready))
    return progressing(fields.explain(ready))


def _failure(obj: Obj, ready: Obj) -> str:
    """Ready=False, with the last failed issuance when cert-manager recorded one."""
    failed_at = fields.text(fields.status(obj), "lastFailureTime")
    issuing = fields.condition(obj, "Issuing")
    detail = f"; last issuance failed at {failed_at}" if failed_at else ""
    if issuing is not None and fields.is_false(issuing) and fields.text(issuing, "message"):
        detail += f" ({fields.text(issuing, 'message')})"
    return fields.explain(ready) + detail
