"""Health of Gateway API objects: GatewayClass, Gateway and routes (pure).

Conditions that describe an older generation are not trusted (Progressing). ``Pending`` (the
default before any controller acted), ``AddressNotAssigned`` (a load balancer address not
given yet) and implementations' own reasons that say work is under way
(``ProgrammingInProgress``) are on their way; any other False reason is Degraded.

- GatewayClass: ``Accepted`` decides.
- Gateway: ``Accepted`` and ``Programmed`` (and ``ResolvedRefs`` where an implementation
  sets it), then every listener (``Conflicted=True``, ``Accepted``, ``ResolvedRefs`` and
  ``Programmed``). Healthy when all are True.
- Routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute): one status per parent
  (``status.parents``). A parent named in ``spec.parentRefs`` that has not reported yet is
  Progressing; entries for parents no longer in the spec are ignored (their controller may
  never clean them up; an entry without a parent name is kept). ``Accepted=False`` (e.g.
  ``NotAllowedByListeners``) or ``ResolvedRefs=False`` (e.g. ``BackendNotFound``) from any
  parent is Degraded; ``Programmed``, where an implementation sets it, is judged too.
"""

from __future__ import annotations

from engine.health import fields
from engine.health.conditions import under_way
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing
from engine.model import HealthStatus

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
_ON_THE_WAY = {"Pending", "AddressNotAssigned"}
_LISTENER_CONDITIONS = ("Accepted", "ResolvedRefs", "Programmed")


def assess_gateway_class(obj: Obj) -> HealthResult:
    """Healthy when a controller accepted the class, Degraded when it refused it."""
    return _judge(obj, fields.conditions(obj), ("Accepted",), "GatewayClass") or healthy(
        "Accepted by its controller"
    )


def assess_gateway(obj: Obj) -> HealthResult:
    """Healthy when accepted and programmed, with every listener accepted and resolved."""
    conditions = fields.conditions(obj)
    found = _judge(obj, conditions, ("Accepted", "Programmed"), "Gateway") or _judge(
        obj, conditions, ("ResolvedRefs",), "Gateway", required=False
    )
    if found is not None:
        return found
    for listener in fields.items(fields.status(obj), "listeners"):
        where = f'listener "{fields.text(listener, "name")}"'
        conditions = fields.items(listener, "conditions")
        conflicted = _find(conditions, "Conflicted")
        if conflicted is not None and fields.is_true(conflicted):
            return degraded(f"{where}: {fields.explain(conflicted)}")
        checked = _judge(obj, conditions, _LISTENER_CONDITIONS, where, required=False)
        if checked is not None:
            return checked
    addresses = [fields.text(a, "value") for a in fields.items(fields.status(obj), "addresses")]
    at = f" at {', '.join(a for a in addresses if a)}" if any(addresses) else ""
    return healthy(f"Gateway is accepted and programmed{at}")


def assess_route(obj: Obj) -> HealthResult:
    """Degraded when a parent refused the route or its backends; Healthy when all accepted."""
    reported = _reported_parents(obj)
    verdicts = [_judge_parent(obj, where, conditions) for where, conditions in reported]
    for worst in (HealthStatus.DEGRADED, HealthStatus.PROGRESSING):
        found = next((v for v in verdicts if v.status is worst), None)
        if found is not None:
            return found
    missing = _missing_parents(obj, [where for where, _ in reported])
    if missing:
        return progressing(f"Waiting for {missing[0]} to report on the route")
    if not reported:
        return progressing("Waiting for a Gateway to accept the route (no parent reported yet)")
    return healthy(f"Accepted by {', '.join(where for where, _ in reported)}")


def _judge_parent(obj: Obj, where: str, conditions: list[Obj]) -> HealthResult:
    """One parent's verdict: Accepted must be True, ResolvedRefs and Programmed not False."""
    found = _judge(obj, conditions, ("Accepted",), where) or _judge(
        obj, conditions, ("ResolvedRefs", "Programmed"), where, required=False
    )
    return found or healthy(where)


def _judge(
    obj: Obj, conditions: list[Obj], types: tuple[str, ...], where: str, *, required: bool = True
) -> HealthResult | None:
    """Degraded or Progressing from the conditions ``types``, in order; None when all True.

    A condition that is absent is Progressing when ``required``, else skipped.
    """
    for kind in types:
        cond = _find(conditions, kind)
        if cond is None:
            if required:
                return progressing(f"Waiting for a controller to report {kind} on the {where}")
            continue
        if fields.condition_stale(obj, cond):
            return progressing(f"{where}: waiting for the controller to observe the spec "
                               f"({fields.explain(cond)})")  # fmt: skip
        if fields.is_true(cond):
            continue
        if fields.is_false(cond) and not _on_the_way(fields.text(cond, "reason")):
            return degraded(f"{where}: {fields.explain(cond)}")
        return progressing(f"{where}: {fields.explain(cond)}")
    return None


def _on_the_way(reason: str) -> bool:
    return reason in _ON_THE_WAY or under_way(reason)


def _find(conditions: list[Obj], kind: str) -> Obj | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def _parent_key(obj: Obj, ref: Obj) -> str:
    """``parent gateway "ns/name"`` (with its section), the route's namespace by default."""
    namespace = fields.text(ref, "namespace") or fields.text(fields.section(obj, "metadata"),
                                                             "namespace")  # fmt: skip
    name = "/".join(part for part in (namespace, fields.text(ref, "name")) if part)
    section = fields.text(ref, "sectionName")
    kind = fields.text(ref, "kind") or "Gateway"
    return f'parent {kind} "{name}"' + (f" section {section}" if section else "")


def _reported_parents(obj: Obj) -> list[tuple[str, list[Obj]]]:
    """Each reported parent that the spec still names, with its conditions."""
    wanted = {_parent_key(obj, ref) for ref in fields.items(fields.spec(obj), "parentRefs")}
    reported = []
    for parent in fields.items(fields.status(obj), "parents"):
        ref = fields.section(parent, "parentRef")
        where = _parent_key(obj, ref)
        if not wanted or where in wanted or not fields.text(ref, "name"):
            reported.append((where, fields.items(parent, "conditions")))
    return reported


def _missing_parents(obj: Obj, reported: list[str]) -> list[str]:
    wanted = [_parent_key(obj, ref) for ref in fields.items(fields.spec(obj), "parentRefs")]
    return [where for where in wanted if where not in reported]
