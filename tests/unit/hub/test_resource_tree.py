"""The resource tree, linked from what was read (pure): owners before what they own, by
owner references only, each object once, bounded."""

from __future__ import annotations

from typing import Any

from engine.hub import resourcetree
from engine.hub.resourcetree import build_tree
from engine.model import HealthStatus, ResourceKey, SyncStatus
from engine.model.status import ResourceStatus

DEPLOY = ResourceKey("apps", "Deployment", "dev", "web")
SERVICE = ResourceKey("", "Service", "dev", "web")


def _obj(api_version: str, kind: str, name: str, uid: str, owner: str = "",
         **status: Any) -> dict[str, Any]:  # fmt: skip
    meta: dict[str, Any] = {"name": name, "namespace": "dev", "uid": uid}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "x", "name": "x"}]
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "status": status}


def _managed() -> list[ResourceStatus]:
    return [ResourceStatus(DEPLOY, SyncStatus.SYNCED, HealthStatus.HEALTHY),
            ResourceStatus(SERVICE, SyncStatus.OUT_OF_SYNC, HealthStatus.HEALTHY, "differs")]


def test_a_deployment_owns_its_replicasets_which_own_their_pods() -> None:
    owned = [
        _obj("v1", "Pod", "web-1-b", "p2", "rs1", phase="Running"),
        _obj("v1", "Pod", "web-1-a", "p1", "rs1", phase="Pending"),
        _obj("apps/v1", "ReplicaSet", "web-1", "rs1", "d1"),
        _obj("v1", "Pod", "stranger", "p9", "someone-else"),
        _obj("v1", "Pod", "orphan", "p8"),
    ]
    nodes = build_tree(_managed(), {DEPLOY: "d1", SERVICE: ""}, owned)
    assert [(n.key.kind, n.key.name) for n in nodes] == [
        ("Deployment", "web"), ("Service", "web"), ("ReplicaSet", "web-1"),
        ("Pod", "web-1-a"), ("Pod", "web-1-b")]
    assert nodes[1].managed and nodes[1].sync == "OutOfSync" and nodes[1].message == "differs"
    assert nodes[2].parent == DEPLOY and not nodes[2].managed and nodes[2].sync is None
    assert nodes[3].parent == ResourceKey("apps", "ReplicaSet", "dev", "web-1")
    assert nodes[3].health == "Progressing"  # a Pending pod, as engine.health assesses it


def test_an_ownership_cycle_or_a_second_owner_adds_no_node_twice() -> None:
    owned = [_obj("apps/v1", "ReplicaSet", "a", "x1", "d1"),
             _obj("apps/v1", "ReplicaSet", "b", "x2", "x1"),
             _obj("apps/v1", "ReplicaSet", "a-again", "x1", "x2")]
    nodes = build_tree(_managed()[:1], {DEPLOY: "d1"}, owned)
    assert [n.key.name for n in nodes] == ["web", "a", "b"]


def test_the_tree_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(resourcetree, "MAX_NODES", 5)
    owned = [_obj("apps/v1", "ReplicaSet", f"rs-{i:02d}", f"u{i}", "d1") for i in range(20)]
    assert len(build_tree(_managed()[:1], {DEPLOY: "d1"}, owned)) == 5


def test_only_the_kinds_an_owner_may_own_are_listed() -> None:
    below = resourcetree._kinds_below({("apps", "Deployment"), ("batch", "CronJob")})
    assert below == {("apps/v1", "ReplicaSet"), ("v1", "Pod"), ("batch/v1", "Job")}
    assert resourcetree._kinds_below({("", "ConfigMap")}) == set()
