"""Health of Services and Ingresses: whether a load balancer has published an address (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, healthy, progressing


def assess_service(obj: Obj) -> HealthResult:
    """A LoadBalancer Service is Progressing until it has an ingress address; others Healthy."""
    kind = fields.text(fields.spec(obj), "type") or "ClusterIP"
    if kind != "LoadBalancer":
        return healthy(f"{kind} Service")
    addresses = _addresses(obj)
    if not addresses:
        return progressing("Waiting for the load balancer to publish an address")
    return healthy(f"Load balancer at {', '.join(addresses)}")


def assess_ingress(obj: Obj) -> HealthResult:
    """Progressing until an ingress controller publishes an address, then Healthy."""
    addresses = _addresses(obj)
    if not addresses:
        return progressing(
            "Waiting for an ingress controller to publish an address (status.loadBalancer)"
        )
    return healthy(f"Ingress at {', '.join(addresses)}")


def _addresses(obj: Obj) -> list[str]:
    balancer = fields.section(fields.status(obj), "loadBalancer")
    entries = fields.items(balancer, "ingress")
    return [fields.text(e, "ip") or fields.text(e, "hostname") or "?" for e in entries]
