"""Health assessment of live objects: one small pure rule per kind (no I/O, no asyncio).

``assess(obj)`` takes a live object as a dict (camelCase keys, as the API server sends it)
and returns a ``HealthResult``: a ``HealthStatus`` and a message that names what to look at.
An object being deleted is Progressing whatever its kind. Kinds with a rule of their own
are listed in ``RULES`` by (API group, kind), whatever the version; any other kind is judged
by ``assess_conditions`` (Ready / Available conditions, kstatus), and is Healthy when it
reports nothing. A rule never raises: a status it cannot read is Unknown.

``aggregate`` gives an app's health: the worst of its objects' by ``HealthStatus.severity``.
``missing()`` is the result for an object that should exist and does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from engine.health import fields
from engine.health.apiextensions import assess_apiservice, assess_crd
from engine.health.conditions import assess_conditions
from engine.health.daemonset import assess_daemonset
from engine.health.deployment import assess_deployment
from engine.health.hpa import assess_hpa
from engine.health.job import assess_cronjob, assess_job
from engine.health.namespace import assess_namespace
from engine.health.network import assess_ingress, assess_service
from engine.health.pod import assess_pod
from engine.health.replicaset import assess_replicaset
from engine.health.result import HealthResult, progressing, unknown
from engine.health.statefulset import assess_statefulset
from engine.health.storage import assess_pvc
from engine.model import HealthStatus

Rule = Callable[[fields.Obj], HealthResult]

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
}

# Kinds whose rule says more about their own deletion than "being deleted".
_EXPLAINS_DELETION = {("", "Namespace")}


def assess(obj: dict[str, Any]) -> HealthResult:
    """The health of one live object."""
    group_kind = _group_kind(obj)
    deleting = _deleting(obj)
    if deleting is not None and group_kind not in _EXPLAINS_DELETION:
        return deleting
    rule = RULES.get(group_kind, assess_conditions)
    try:
        return rule(obj)
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return unknown(f"Cannot read the status of {group_kind[1]} {fields.name(obj)!r}: {error}")


def aggregate(results: Iterable[HealthStatus]) -> HealthStatus:
    """The worst status of ``results`` by severity; Healthy when there are none."""
    return max(results, key=lambda status: status.severity, default=HealthStatus.HEALTHY)


def missing() -> HealthResult:
    """The result for an object that should exist in the cluster and does not."""
    return HealthResult(HealthStatus.MISSING, "The object does not exist in the cluster")


def _group_kind(obj: fields.Obj) -> tuple[str, str]:
    """(API group, kind) of an object, whatever the version."""
    return fields.text(obj, "apiVersion").rpartition("/")[0], fields.text(obj, "kind")


def _deleting(obj: fields.Obj) -> HealthResult | None:
    """Progressing while ``metadata.deletionTimestamp`` is set, naming the finalizers."""
    meta = fields.section(obj, "metadata")
    if not meta.get("deletionTimestamp"):
        return None
    listed = meta.get("finalizers")
    finalizers = [f for f in listed if isinstance(f, str)] if isinstance(listed, list) else []
    waiting = f"; waiting for finalizers: {', '.join(finalizers)}" if finalizers else ""
    return progressing(f"Being deleted{waiting}")


__all__ = ["RULES", "HealthResult", "aggregate", "assess", "missing"]
