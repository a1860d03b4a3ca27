"""Whether a kind is namespaced: the one scope lookup of the plan and the policy (pure).

``scope_lookup(objects, discovery)`` asks, in this order:

1. the cluster's discovery (what its API server serves), when the caller has it;
2. the CustomResourceDefinitions among the objects being synced (a CRD and its custom
   resources arrive in one sync, before discovery knows the kind);
3. the built-in table of Kubernetes kinds below, by API group: a custom kind that shares a
   built-in kind's name in another group is not taken for it.

It answers None for a kind none of them knows, and each caller decides what that means:

- the plan (``engine.plan``) places an unknown kind in the destination namespace, as
  Argo CD's gitops-engine does; a kind the cluster does not serve fails at apply anyway;
- the policy (``engine.policy``) takes an unknown kind as namespaced only when the object
  names a namespace, and as cluster-scoped otherwise. That stricter reading is a guard: an
  object whose kind the hub cannot place must pass ``clusterResourceWhitelist`` rather
  than slip through as namespaced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

CRD_GROUP = "apiextensions.k8s.io"
CRD_KIND = "CustomResourceDefinition"

# Answers whether (group, kind) is namespaced; None if it cannot tell.
Scope = Callable[[str, str], "bool | None"]

# Cluster-scoped kinds of the Kubernetes API (as kustomize v5.7.1 knows them), by group.
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset({
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    (CRD_GROUP, CRD_KIND),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "TokenReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
})  # fmt: skip

# Namespaced kinds of the Kubernetes API, by group.
NAMESPACED: frozenset[tuple[str, str]] = frozenset({
    *(("", kind) for kind in (
        "ConfigMap", "Endpoints", "Event", "LimitRange", "PersistentVolumeClaim", "Pod",
        "PodTemplate", "ReplicationController", "ResourceQuota", "Secret", "Service",
        "ServiceAccount")),
    *(("apps", kind) for kind in (
        "ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet")),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "CronJob"),
    ("batch", "Job"),
    ("coordination.k8s.io", "Lease"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("events.k8s.io", "Event"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
})  # fmt: skip


def builtin_scope(group: str, kind: str) -> bool | None:
    """Whether a built-in Kubernetes kind is namespaced; None for a kind not in the table."""
    if (group, kind) in CLUSTER_SCOPED:
        return False
    return True if (group, kind) in NAMESPACED else None


def _is_crd(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a CustomResourceDefinition (by its group too, not its kind alone)."""
    api_version = obj.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else None
    return group == CRD_GROUP and obj.get("kind") == CRD_KIND


def crd_scopes(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], bool]:
    """The (group, kind) → namespaced that the CRDs among ``objects`` declare."""
    scopes = {}
    for obj in objects:
        if not _is_crd(obj):
            continue
        spec = obj.get("spec")
        spec = spec if isinstance(spec, Mapping) else {}
        names = spec.get("names")
        kind = names.get("kind") if isinstance(names, Mapping) else None
        group = spec.get("group")
        if isinstance(group, str) and group and isinstance(kind, str) and kind:
            scopes[(group, kind)] = spec.get("scope") != "Cluster"
    return scopes


def scope_lookup(objects: Iterable[Mapping[str, Any]], discovery: Scope | None = None) -> Scope:
    """Discovery first, then the built-in table, then the CRDs among ``objects``.

    The built-in table comes before the objects' CRDs: a repository must not be able to
    declare a built-in kind (``ClusterRoleBinding``) namespaced with a CRD of its own and so
    slip it past a project's cluster-resource rules when discovery cannot answer.
    """
    declared = crd_scopes(objects)

    def lookup(group: str, kind: str) -> bool | None:
        known = discovery(group, kind) if discovery is not None else None
        if known is not None:
            return known
        builtin = builtin_scope(group, kind)
        if builtin is not None:
            return builtin
        return declared.get((group, kind))

    return lookup
