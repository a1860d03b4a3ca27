"""The one scope lookup: discovery, then CRDs among the objects, then the built-in table;
the plan and the policy read every known kind alike and differ only on unknown ones."""

from __future__ import annotations

from typing import Any

import pytest

from engine.apps import AppProject, AppTarget, ClusterInfo
from engine.kinds import CLUSTER_SCOPED, NAMESPACED, builtin_scope, crd_scopes, scope_lookup
from engine.model import TargetKey
from engine.model.inventory import Inventory
from engine.plan import plan
from engine.policy import check


def obj(api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def crd(group: str, kind: Any, scope: str, api_version: str = "apiextensions.k8s.io/v1"
        ) -> dict[str, Any]:
    return obj(api_version, "CustomResourceDefinition", f"{kind}s.{group}".lower()) | {
        "spec": {"group": group, "names": {"kind": kind}, "scope": scope}}


def test_discovery_answers_first_then_crds_then_the_builtin_table() -> None:
    objects = [crd("example.com", "Widget", "Cluster"), crd("example.com", "Gadget", "Cluster")]
    lookup = scope_lookup(objects, lambda g, k: True if k in ("Gadget", "Namespace") else None)
    assert lookup("example.com", "Gadget") is True  # discovery over the CRD
    assert lookup("", "Namespace") is True  # discovery over the table
    assert lookup("example.com", "Widget") is False  # the CRD
    assert lookup("rbac.authorization.k8s.io", "ClusterRole") is False  # the table
    assert lookup("apps", "Deployment") is True
    assert lookup("example.com", "Unknown") is None
    assert scope_lookup(objects)("example.com", "Gadget") is False  # no discovery at all


def test_builtin_table_is_by_group() -> None:
    assert builtin_scope("", "Namespace") is False
    assert builtin_scope("example.com", "Namespace") is None
    assert builtin_scope("policy", "PodSecurityPolicy") is False
    assert builtin_scope("policy", "PodDisruptionBudget") is True
    assert not CLUSTER_SCOPED & NAMESPACED


@pytest.mark.parametrize(
    "document",
    [
        crd("example.com", "Widget", "Cluster", api_version="evil.example/v1"),
        crd("example.com", 7, "Cluster"),
        crd("", "Widget", "Cluster"),
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x") | {"spec": "nope"},
    ],
)
def test_only_a_well_formed_crd_of_its_own_group_declares_a_scope(document: dict[str, Any]
                                                                  ) -> None:
    assert crd_scopes([document]) == {}


PROJECT = AppProject(name="p", source_repos=("*",))  # no cluster-scoped kind allowed
TARGET = AppTarget(TargetKey("web", "prod"), "p", "https://git.example/web", "main", "", "web")
CLUSTER = ClusterInfo("prod", "https://10.0.0.1:6443", {})


def placed_by_plan(objects: list[dict[str, Any]]) -> dict[str, bool]:
    """name → namespaced, as the plan places each object (no discovery)."""
    the_plan = plan(app="web", objects=objects, namespace="web", previous=Inventory(),
                    scope=lambda g, k: None)  # fmt: skip
    return {step.key.name: bool(step.key.namespace) for step in the_plan.steps}


def namespaced_by_policy(objects: list[dict[str, Any]]) -> dict[str, bool]:
    """name → namespaced, as the policy reads each object (cluster-scoped ones are denied)."""
    denied = {v.key.name for v in check(PROJECT, TARGET, objects, cluster=CLUSTER)
              if v.key is not None and v.rule == "clusterResourceWhitelist"}  # fmt: skip
    return {o["metadata"]["name"]: o["metadata"]["name"] not in denied for o in objects}


def test_plan_and_policy_read_every_known_kind_alike() -> None:
    objects = [
        obj("policy/v1beta1", "PodSecurityPolicy", "psp"),
        obj("admissionregistration.k8s.io/v1", "MutatingAdmissionPolicy", "map", "web"),
        obj("v1", "ConfigMap", "cm"),
        crd("example.com", "Widget", "Cluster"),
        obj("example.com/v1", "Widget", "w", "web"),
        crd("example.com", "Gizmo", "Namespaced"),
        obj("example.com/v1", "Gizmo", "g"),
    ]
    by_plan, by_policy = placed_by_plan(objects), namespaced_by_policy(objects)
    assert by_plan == by_policy
    assert [name for name, namespaced in by_plan.items() if namespaced] == ["cm", "g"]


def test_unknown_kinds_plan_places_them_policy_reads_them_strictly() -> None:
    unknown = [obj("example.com/v1", "Thing", "loose"),
               obj("example.com/v1", "Thing", "held", "web"),
               obj("example.com/v1", "Namespace", "not-a-namespace")]  # fmt: skip
    assert placed_by_plan(unknown) == {"loose": True, "held": True, "not-a-namespace": True}
    # Without a namespace the policy takes it as cluster-scoped: it needs the whitelist.
    assert namespaced_by_policy(unknown) == {"loose": False, "held": True,
                                             "not-a-namespace": False}  # fmt: skip


def test_a_repositorys_crd_cannot_make_a_built_in_kind_namespaced() -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "clusterrolebindings.rbac.authorization.k8s.io"},
           "spec": {"group": "rbac.authorization.k8s.io", "scope": "Namespaced",
                    "names": {"kind": "ClusterRoleBinding", "plural": "clusterrolebindings"}}}
    lookup = scope_lookup([crd])
    assert lookup("rbac.authorization.k8s.io", "ClusterRoleBinding") is False
