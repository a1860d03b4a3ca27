"""Health assessment of live objects: one small pure rule per kind (no I/O, no asyncio).

``assess(obj, custom)`` takes a live object as a dict (camelCase keys, as the API server
sends it) and returns a ``HealthResult``: a ``HealthStatus`` and a message that names what
to look at. An object being deleted is Progressing whatever its kind. Then, in order:

1. ``custom``: the user's own checks (Argo CD's Lua health scripts, ``engine.health.lua``);
   a check written for the object's kind wins over the built-in rule. A check that fails or
   runs out of its budget gives Unknown naming the check; one that returns no status leaves
   the verdict to the built-in rule.
2. ``RULES``: kinds with a rule of their own, by (API group, kind), whatever the version.
3. Crossplane claims, composite and managed resources, known by shape (``crossplane.py``).
4. Any other kind: ``assess_conditions`` (Ready / Available conditions, kstatus), Healthy
   when it reports nothing.

A rule never raises: a status it cannot read is Unknown. Numbers a rule compares may be
written as strings (``observedGeneration: "5"``, as Argo Rollouts does).

How Suspended counts for the app: ``aggregate`` gives an app's health, the worst of its
objects' by ``HealthStatus.severity``, except that a Suspended object counts as Healthy.
Suspended means paused on purpose: a paused Deployment or Rollout, a suspended CronJob,
Job, Workflow or Flux object, an HPA with scaling disabled. The object itself still shows
Suspended with its message, and ``summarize`` names it in the app's message, after any
worse object. Argo CD ranks Suspended between Healthy and Progressing, so one suspended
CronJob or Job keeps a whole app Suspended for as long as it stays so: whoever waits for the
app to be Healthy waits for ever, and a status that never changes stops being read, so the
app's next real problem goes unseen (argo-cd#19126; Argo CD now reports a suspended CronJob
as Healthy for that reason, argo-cd#24428). Pausing is a decision written in Git or made by
an operator, not a fault of the app; sync waves likewise go on past a Suspended object.

``missing()`` is the result for an object that should exist and does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from engine.health import fields, flux
from engine.health.apiextensions import assess_apiservice, assess_crd
from engine.health.certmanager import assess_certificate, assess_issuer
from engine.health.conditions import assess_conditions
from engine.health.crossplane import assess_crossplane, is_crossplane
from engine.health.daemonset import assess_daemonset
from engine.health.deployment import assess_deployment
from engine.health.disruption import assess_pdb
from engine.health.gateway import ROUTE_KINDS, assess_gateway, assess_gateway_class, assess_route
from engine.health.hpa import assess_hpa
from engine.health.job import assess_cronjob, assess_job
from engine.health.namespace import assess_namespace
from engine.health.network import assess_ingress, assess_service
from engine.health.pod import assess_pod
from engine.health.replicaset import assess_replicaset
from engine.health.result import HealthResult, progressing, unknown
from engine.health.rollout import assess_rollout
from engine.health.statefulset import assess_statefulset
from engine.health.storage import assess_pvc
from engine.health.workflow import assess_workflow
from engine.model import HealthStatus

Rule = Callable[[fields.Obj], HealthResult]
_GATEWAY_API = "gateway.networking.k8s.io"


class CustomChecks(Protocol):
    """User-defined health checks, asked before the built-in rules (never raises)."""

    def assess(self, obj: Mapping[str, Any]) -> HealthResult | None:
        """The check's verdict for ``obj``; None when no check answers for its kind."""
        ...


RULES: dict[tuple[str, str], Rule] = {
    ("apps", "Deployment"): assess_deployment,
    ("apps", "StatefulSet"): assess_statefulset,
    ("apps", "DaemonSet"): assess_daemonset,
    ("apps", "ReplicaSet"): assess_replicaset,
    ("", "Pod"): assess_pod,
    ("batch", "Job"): assess_job,
    ("batch", "CronJob"): assess_cronjob,
    ("", "Service"): assess_service,
    ("networking.k8s.io", "Ingress"): assess_ingress,
    ("extensions", "Ingress"): assess_ingress,
    ("", "PersistentVolumeClaim"): assess_pvc,
    ("autoscaling", "HorizontalPodAutoscaler"): assess_hpa,
    ("", "Namespace"): assess_namespace,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): assess_crd,
    ("apiregistration.k8s.io", "APIService"): assess_apiservice,
    ("policy", "PodDisruptionBudget"): assess_pdb,
    ("argoproj.io", "Workflow"): assess_workflow,
    ("argoproj.io", "Rollout"): assess_rollout,
    ("cert-manager.io", "Certificate"): assess_certificate,
    ("cert-manager.io", "Issuer"): assess_issuer,
    ("cert-manager.io", "ClusterIssuer"): assess_issuer,
    **{(group, kind): flux.assess_flux for group, kinds in flux.KINDS.items() for kind in kinds},
    (_GATEWAY_API, "GatewayClass"): assess_gateway_class,
    (_GATEWAY_API, "Gateway"): assess_gateway,
    **{(_GATEWAY_API, kind): assess_route for kind in ROUTE_KINDS},
}

# Kinds whose rule says more about their own deletion than "being deleted".
_EXPLAINS_DELETION = {("", "Namespace")}


def assess(obj: Mapping[str, Any], custom: CustomChecks | None = None) -> HealthResult:
    """The health of one live object; ``custom`` checks first (see the module docstring)."""
    group_kind = _group_kind(obj)
    deleting = _deleting(obj)
    if deleting is not None and group_kind not in _EXPLAINS_DELETION:
        return deleting
    found = custom.assess(obj) if custom is not None else None
    if found is not None:
        return found
    rule = RULES.get(group_kind) or _by_shape(group_kind[0], obj)
    try:
        return rule(obj)
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return unknown(f"Cannot read the status of {group_kind[1]} {fields.name(obj)!r}: {error}")


def aggregate(results: Iterable[HealthStatus]) -> HealthStatus:
    """The app's health: the worst of ``results`` by severity, Suspended counting as Healthy;
    Healthy when there are none."""
    counted = (HealthStatus.HEALTHY if s is HealthStatus.SUSPENDED else s for s in results)
    return max(counted, key=lambda status: status.severity, default=HealthStatus.HEALTHY)


def summarize(results: Iterable[tuple[str, HealthResult]], *, limit: int = 3) -> HealthResult:
    """The app's health (``aggregate``) and a message naming its objects that are not
    Healthy, worst first, as ``Kind/name: message`` (at most ``limit`` of them)."""
    listed = list(results)
    status = aggregate(result.status for _, result in listed)
    noted = [(name, r) for name, r in listed if r.status is not HealthStatus.HEALTHY and r.message]
    noted.sort(key=lambda entry: -entry[1].status.severity)
    return HealthResult(status, "; ".join(f"{name}: {r.message}" for name, r in noted[:limit]))


def missing() -> HealthResult:
    """The result for an object that should exist in the cluster and does not."""
    return HealthResult(HealthStatus.MISSING, "The object does not exist in the cluster")


def _group_kind(obj: fields.Obj) -> tuple[str, str]:
    """(API group, kind) of an object, whatever the version."""
    return fields.text(obj, "apiVersion").rpartition("/")[0], fields.text(obj, "kind")


def _by_shape(group: str, obj: fields.Obj) -> Rule:
    """The rule for a kind without an entry in ``RULES``."""
    return assess_crossplane if is_crossplane(group, obj) else assess_conditions


def _deleting(obj: fields.Obj) -> HealthResult | None:
    """Progressing while ``metadata.deletionTimestamp`` is set, naming the finalizers."""
    meta = fields.section(obj, "metadata")
    if not meta.get("deletionTimestamp"):
        return None
    listed = meta.get("finalizers")
    finalizers = [f for f in listed if isinstance(f, str)] if isinstance(listed, list) else []
    waiting = f"; waiting for finalizers: {', '.join(finalizers)}" if finalizers else ""
    return progressing(f"Being deleted{waiting}")


__all__ = ["RULES", "CustomChecks", "HealthResult", "aggregate", "assess", "missing", "summarize"]
