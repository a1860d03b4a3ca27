"""kustomize's default ("legacy") output order: by kind priority, then by
group_version_kind, then by "kind.version.group|namespace|name"."""

from __future__ import annotations

from engine.render.resid import Gvk, ResId
from engine.render.resources import Resource

ORDER_FIRST = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
    "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
    "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
    "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
    "StatefulSet", "CronJob", "PodDisruptionBudget",
)
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")

_RANK = {kind: i - len(ORDER_FIRST) for i, kind in enumerate(ORDER_FIRST)}
_RANK.update({kind: i + 1 for i, kind in enumerate(ORDER_LAST)})


def _gvk_string(gvk: Gvk) -> str:
    return "_".join((gvk.group or "~G", gvk.version or "~V", gvk.kind or "~K"))


def _id_string(rid: ResId) -> str:
    return "|".join((str(rid.gvk), rid.namespace or "~X", rid.name or "~N"))


def sort_key(res: Resource) -> tuple[int, str, str]:
    """The key that sorts resources in kustomize's legacy order."""
    rid = res.cur_id
    gvk_key = _gvk_string(rid.gvk)
    if rid.gvk.kind == "Namespace" and not rid.gvk.group:
        # Among Namespaces, kustomize reverses the gvk comparison when a group is empty.
        gvk_key = "".join(chr(0x10FFFF - ord(c)) for c in gvk_key)
    return (_RANK.get(rid.gvk.kind, 0), gvk_key, _id_string(rid))


def legacy_order(resources: list[Resource]) -> list[Resource]:
    """``resources`` in kustomize's legacy order (stable)."""
    return sorted(resources, key=sort_key)
