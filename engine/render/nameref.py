"""Name-reference updates: after prefixes, suffixes, namespaces and hash suffixes
change names, fields that refer to those objects by name are rewritten.

A field refers to an object when the field's value equals one of the object's
*previous* names, the object's kind is the one the field refers to, and both live in
compatible namespaces. Ties are broken the way kustomize does: by the chain of name
prefixes/suffixes the referrer and the candidate went through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.render import fieldspecs as fs
from engine.render.errors import RenderError
from engine.render.fieldspecs import FieldSpec
from engine.render.resid import Gvk, ResId
from engine.render.resources import Resource, ResourceList


@dataclass(frozen=True)
class BackReference:
    """Objects of ``target`` kind are referred to by name at ``referrers``."""

    target: Gvk
    referrers: tuple[FieldSpec, ...]


def _holders(*names: str) -> tuple[tuple[str, str, str, str], ...]:
    """(kind, group, version, pod-spec path) of pod-template holders, by short name."""
    table = {
        "Pod": ("Pod", "", "v1", "spec"),
        "PodTemplate": ("PodTemplate", "", "", "template/spec"),
        "Deployment": ("Deployment", "", "", "spec/template/spec"),
        "ReplicaSet": ("ReplicaSet", "", "", "spec/template/spec"),
        "DaemonSet": ("DaemonSet", "", "", "spec/template/spec"),
        "StatefulSet": ("StatefulSet", "", "", "spec/template/spec"),
        "ReplicationController": ("ReplicationController", "", "", "spec/template/spec"),
        "Job": ("Job", "", "", "spec/template/spec"),
        "CronJob": ("CronJob", "", "", "spec/jobTemplate/spec/template/spec"),
    }
    return tuple(table[n] for n in names)


def _in_pods(holders: tuple[tuple[str, str, str, str], ...], *leaves: str
             ) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(f"{base}/{leaf}", kind=kind, group=group, version=version)
        for kind, group, version, base in holders for leaf in leaves
    )


def _at(path: str, *kinds: str) -> tuple[FieldSpec, ...]:
    out = []
    for qualified in kinds:
        group, _, kind = qualified.rpartition("|")
        out.append(FieldSpec(path, kind=kind, group=group))
    return tuple(out)


_ALL_PODS = _holders("Pod", "PodTemplate", "Deployment", "ReplicaSet", "DaemonSet",
                     "StatefulSet", "Job", "CronJob")
_SA_PODS = _holders("Pod", "StatefulSet", "Deployment", "ReplicationController", "CronJob",
                    "Job", "DaemonSet")
_RBAC = "rbac.authorization.k8s.io|"
_ADMISSION = "admissionregistration.k8s.io|"

BACK_REFERENCES: tuple[BackReference, ...] = (
    *(BackReference(Gvk("", "", kind), _at("spec/scaleTargetRef/name", "HorizontalPodAutoscaler"))
      for kind in ("Deployment", "ReplicationController", "ReplicaSet", "StatefulSet")),
    BackReference(Gvk("", "v1", "ConfigMap"), (
        *_in_pods(_ALL_PODS, "volumes/configMap/name",
                  "containers/env/valueFrom/configMapKeyRef/name",
                  "initContainers/env/valueFrom/configMapKeyRef/name",
                  "containers/envFrom/configMapRef/name",
                  "initContainers/envFrom/configMapRef/name",
                  "volumes/projected/sources/configMap/name"),
        *_at("spec/configSource/configMap", "Node"),
        *_at("rules/resourceNames", "Role", "ClusterRole"),
        *_at("metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
             "Ingress"),
    )),
    BackReference(Gvk("", "v1", "Secret"), (
        *_in_pods(_ALL_PODS, "volumes/secret/secretName",
                  "containers/env/valueFrom/secretKeyRef/name",
                  "initContainers/env/valueFrom/secretKeyRef/name",
                  "containers/envFrom/secretRef/name", "initContainers/envFrom/secretRef/name",
                  "imagePullSecrets/name", "volumes/projected/sources/secret/name"),
        *_at("spec/tls/secretName", "Ingress"),
        *_at("metadata/annotations/ingress.kubernetes.io\\/auth-secret", "Ingress"),
        *_at("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret", "Ingress"),
        *_at("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret", "Ingress"),
        *_at("imagePullSecrets/name", "ServiceAccount"),
        *(s for p in ("secretName", "adminSecretName", "userSecretName", "secretRef")
          for s in _at(f"parameters/{p}", "StorageClass")),
        *_at("rules/resourceNames", "Role", "ClusterRole"),
        FieldSpec("spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
                  kind="Service", group="serving.knative.dev", version="v1"),
        *_at("spec/azureFile/secretName", "PersistentVolume"),
    )),
    BackReference(Gvk("", "v1", "Service"), (
        *_at("spec/serviceName", "apps|StatefulSet"),
        *_at("spec/rules/http/paths/backend/serviceName", "Ingress"),
        *_at("spec/backend/serviceName", "Ingress"),
        *_at("spec/rules/http/paths/backend/service/name", "Ingress"),
        *_at("spec/defaultBackend/service/name", "Ingress"),
        *_at("spec/service/name", "apiregistration.k8s.io|APIService"),
        *_at("webhooks/clientConfig/service", _ADMISSION + "ValidatingWebhookConfiguration",
             _ADMISSION + "MutatingWebhookConfiguration"),
    )),
    BackReference(Gvk("rbac.authorization.k8s.io", "", "Role"),
                  _at("roleRef/name", _RBAC + "RoleBinding")),
    BackReference(Gvk("rbac.authorization.k8s.io", "", "ClusterRole"),
                  _at("roleRef/name", _RBAC + "RoleBinding", _RBAC + "ClusterRoleBinding")),
    BackReference(Gvk("", "v1", "ServiceAccount"), (
        *_at("subjects", _RBAC + "RoleBinding", _RBAC + "ClusterRoleBinding"),
        *_in_pods(_SA_PODS, "serviceAccountName"),
    )),
    BackReference(Gvk("", "v1", "PersistentVolumeClaim"),
                  _in_pods(_SA_PODS, "volumes/persistentVolumeClaim/claimName")),
    BackReference(Gvk("", "v1", "PersistentVolume"), (
        *_at("spec/volumeName", "PersistentVolumeClaim"),
        *_at("rules/resourceNames", "ClusterRole"),
    )),
    BackReference(Gvk("storage.k8s.io", "v1", "StorageClass"), (
        *_at("spec/storageClassName", "PersistentVolume", "PersistentVolumeClaim"),
        *_at("spec/volumeClaimTemplates/spec/storageClassName", "StatefulSet"),
    )),
    BackReference(Gvk("scheduling.k8s.io", "v1", "PriorityClass"),
                  _in_pods(_SA_PODS, "priorityClassName")),
    # kustomize spells this group with its version, so it never matches; kept for parity.
    BackReference(Gvk("networking.k8s.io/v1", "v1", "IngressClass"),
                  _at("spec/ingressClassName", "Ingress")),
    BackReference(Gvk("admissionregistration.k8s.io", "", "ValidatingAdmissionPolicy"),
                  _at("spec/policyName", _ADMISSION + "ValidatingAdmissionPolicyBinding")),
)


_SPECS_BY_KIND: dict[str, list[tuple[Gvk, FieldSpec]]] = {}
for _backref in BACK_REFERENCES:
    for _spec in _backref.referrers:
        _SPECS_BY_KIND.setdefault(_spec.kind, []).append((_backref.target, _spec))


def fix_references(resources: ResourceList, *,
                   step: Callable[[str], None] | None = None) -> None:
    """Rewrite every name reference to a renamed object (kustomize's nameref pass).

    ``step(where)`` runs before each referrer (the render's budget: this pass is
    referrers x renamed objects).
    """
    renamed = [r for r in resources if r.prev_ids]
    if not renamed:
        return
    ids = [(r, r.cur_id) for r in renamed]
    for referrer in list(resources):
        if step is not None:
            step(referrer.source or "name references")
        org_gvk = referrer.org_id.gvk
        candidates: list[Resource] | None = None
        for target, spec in _SPECS_BY_KIND.get(org_gvk.kind, ()):
            if not org_gvk.selected_by(Gvk(spec.group, spec.version, spec.kind)):
                continue
            if candidates is None:
                candidates = _could_be_referenced(ids, referrer)
            updater = _Updater(referrer, target, candidates, spec)
            fs._walk(referrer.obj, spec.segments(), False, updater.visit)


def check_role_binding_subjects(resources: ResourceList) -> None:
    """Refuse a RoleBinding whose ServiceAccount subject has a namespace that is not a
    string (``namespace:`` left empty), as kustomize's name-reference pass does."""
    for res in resources:
        org, cur = res.org_id.gvk, res.cur_id.gvk
        if (cur.kind != "RoleBinding" or cur.cluster_scoped
                or not org.selected_by(Gvk("rbac.authorization.k8s.io", "", "RoleBinding"))):
            continue
        role_ref = res.obj.get("roleRef")
        if "subjects" not in res.obj and not (isinstance(role_ref, dict) and "name" in role_ref):
            continue
        for subject in res.obj.get("subjects") or []:
            if (isinstance(subject, dict) and subject.get("kind") == "ServiceAccount"
                    and "namespace" in subject and not isinstance(subject["namespace"], str)):
                raise RenderError(f"{res.describe()}: Invalid Input: namespace is blank for "
                                  f"resource {res.cur_id}")


def _could_be_referenced(ids: list[tuple[Resource, ResId]], referrer: Resource
                         ) -> list[Resource]:
    """Renamed resources that ``referrer`` may refer to, judged by namespace."""
    ref_id = referrer.cur_id
    if ref_id.gvk.cluster_scoped:
        return [r for r, _ in ids]
    binding_namespaces = {
        str(s.get("namespace")) for s in referrer.obj.get("subjects") or []
        if isinstance(s, dict) and s.get("namespace")
    } if referrer.gvk.kind in ("RoleBinding", "ClusterRoleBinding") else set()
    return [
        r for r, rid in ids
        if rid.gvk.cluster_scoped
        or rid.effective_namespace == ref_id.effective_namespace
        or rid.namespace in binding_namespaces
    ]


class _Updater:
    """Rewrites one referrer field, choosing among the candidate targets."""

    def __init__(self, referrer: Resource, target: Gvk, candidates: list[Resource],
                 spec: FieldSpec):
        self.referrer = referrer
        self.target = target
        self.candidates = candidates
        self.spec = spec

    def visit(self, container: dict[str, Any], key: str) -> None:
        value = container.get(key)
        if isinstance(value, str):
            container[key] = self._new_scalar(value)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    value[i] = self._new_scalar(item)
                elif isinstance(item, dict):
                    self._update_mapping(item)
        elif isinstance(value, dict):
            self._update_mapping(value)

    def _new_scalar(self, old: str) -> str:
        referral = self._select(old, self.candidates, with_namespace=False)
        return referral.name if referral is not None else old

    def _update_mapping(self, node: dict[str, Any]) -> None:
        if "name" not in node:
            raise RenderError(
                f"{self.referrer.describe()}: name reference at {self.spec.path} has no name")
        candidates = self.candidates
        if "namespace" in node:
            ns = str(node["namespace"])
            by_org = [c for c in candidates if c.org_id.namespace == ns
                      or (not c.org_id.namespace and ns == "")]
            candidates = by_org or [c for c in candidates if c.namespace == ns]
        old = str(node["name"])
        referral = self._select(old, candidates, with_namespace=True)
        if referral is None or (referral.name == old and not referral.namespace):
            return
        node["name"] = referral.name
        if referral.namespace:
            node["namespace"] = referral.namespace

    def _select(self, old: str, candidates: list[Resource], *,
                with_namespace: bool) -> Resource | None:
        found = [c for c in candidates if any(i.name == old for i in c.prev_ids)]
        found = [c for c in found if any(i.gvk.selected_by(self.target) for i in c.prev_ids)]
        found = [c for c in found if self._role_ref_matches(c)]
        found = [c for c in found if self._namespace_compatible(c)]
        if len(found) == 1:
            return found[0]
        found = [c for c in found if _affixes_match(c, self.referrer, allow_empty=True)]
        if len(found) > 1:
            found = [c for c in found if _affixes_match(c, self.referrer, allow_empty=False)]
        if len(found) == 1:
            return found[0]
        if not found:
            return None
        first = found[0]
        if all(c.name == first.name and (not with_namespace or c.namespace == first.namespace)
               for c in found):
            return first
        ids = ", ".join(str(c.cur_id) for c in found)
        raise RenderError(
            f"{self.referrer.describe()}: found multiple possible referrals for "
            f"{self.spec.path}={old!r}: {ids}"
        )

    def _role_ref_matches(self, candidate: Resource) -> bool:
        if not self.spec.path.endswith("roleRef/name"):
            return True
        role_ref = self.referrer.obj.get("roleRef")
        if not isinstance(role_ref, dict) or "apiGroup" not in role_ref or "kind" not in role_ref:
            return True
        wanted = Gvk(str(role_ref["apiGroup"]), "", str(role_ref["kind"]))
        return any(i.gvk.selected_by(wanted) for i in candidate.prev_ids)

    def _namespace_compatible(self, candidate: Resource) -> bool:
        ref_id = self.referrer.cur_id
        if ref_id.gvk.cluster_scoped or candidate.cur_id.gvk.cluster_scoped:
            return True
        if candidate.gvk.kind == "ServiceAccount":
            return True
        return ref_id.effective_namespace == candidate.cur_id.effective_namespace


def _same_ending(a: list[str], b: list[str]) -> bool:
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    if not shorter:
        return not longer
    return longer[len(longer) - len(shorter):] == shorter


def _affixes_match(a: Resource, b: Resource, *, allow_empty: bool) -> bool:
    if allow_empty:
        prefix_ok = not a.prefixes or not b.prefixes or _same_ending(a.prefixes, b.prefixes)
        suffix_ok = not a.suffixes or not b.suffixes or _same_ending(a.suffixes, b.suffixes)
        return prefix_ok and suffix_ok
    return _same_ending(a.prefixes, b.prefixes) and _same_ending(a.suffixes, b.suffixes)
