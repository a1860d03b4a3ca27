"""Apply against a real cluster: first apply, no-op re-apply, drift heal, conflicts, CRDs."""

from __future__ import annotations

import uuid
from typing import Any

from engine.apply import SyncOptions, compare, diff, execute, sync
from engine.clusters import ClusterClient
from engine.clusters.client import MERGE_PATCH
from engine.diff import format_diff
from engine.model import (
    FIELD_MANAGER,
    MANAGED_BY_LABEL,
    TRACKING_ANNOTATION,
    ConditionReason,
    HealthStatus,
    OperationPhase,
    ResourceKey,
    SyncStatus,
)
from engine.model.inventory import INVENTORY_NAMESPACE, configmap_name
from engine.model.results import ResultCode
from tests.integration.sync.conftest import configmap, deployment, live, rendering


async def test_first_apply_creates_tracked_objects_and_stores_the_inventory(
    client: ClusterClient, namespace: str, app: str
) -> None:
    objects = [configmap("settings"), deployment("web")]
    result = await sync(app=app, client=client, namespace=namespace, render=rendering(objects))

    assert result.phase is OperationPhase.SUCCEEDED, result.message
    assert result.sync_status is SyncStatus.SYNCED
    assert {r.code for r in result.resources} == {ResultCode.CREATED}
    web = await live(client, "apps/v1", "Deployment", namespace, "web")
    assert web is not None
    key = ResourceKey("apps", "Deployment", namespace, "web")
    assert web["metadata"]["annotations"][TRACKING_ANNOTATION] == f"{app}:{key}"
    assert web["metadata"]["labels"][MANAGED_BY_LABEL] == "fleetsync"
    assert {m["manager"] for m in web["metadata"]["managedFields"]} >= {FIELD_MANAGER}
    stored = await live(client, "v1", "ConfigMap", INVENTORY_NAMESPACE, configmap_name(app))
    assert stored is not None and key.name in stored["data"]["entries"]
    assert key in result.inventory


async def _versions(client: ClusterClient, namespace: str, app: str) -> dict[str, Any]:
    found = {}
    for api_version, kind, ns, name in [
        ("v1", "ConfigMap", namespace, "settings"),
        ("apps/v1", "Deployment", namespace, "web"),
        ("v1", "ConfigMap", INVENTORY_NAMESPACE, configmap_name(app)),
    ]:
        obj = await live(client, api_version, kind, ns, name)
        assert obj is not None
        found[name] = (obj["metadata"]["resourceVersion"], obj["metadata"]["managedFields"])
    return found


async def test_reapply_of_unchanged_objects_makes_no_writes(
    client: ClusterClient, namespace: str, app: str
) -> None:
    objects = [configmap("settings"), deployment("web")]
    first = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering(objects),
        options=SyncOptions(health_timeout=30),
    )
    assert first.health is HealthStatus.HEALTHY, first.message
    before = await _versions(client, namespace, app)

    again = await sync(app=app, client=client, namespace=namespace, render=rendering(objects))

    assert again.phase is OperationPhase.SUCCEEDED, again.message
    assert {r.code for r in again.resources} == {ResultCode.UNCHANGED}
    assert await _versions(client, namespace, app) == before


async def _kubectl_edit(
    client: ClusterClient, namespace: str, name: str, patch: dict[str, Any]
) -> None:
    res = await client.resource(api_version="apps/v1", kind="Deployment")
    await client.request(
        method="PATCH",
        path=res.path(namespace=namespace, name=name),
        query={"fieldManager": "kubectl-edit"},
        body=patch,
        content_type=MERGE_PATCH,
    )


async def test_kubectl_edit_drift_is_reported_with_its_manager_and_healed(
    client: ClusterClient, namespace: str, app: str
) -> None:
    objects = [deployment("web", image="nginx:1.27")]
    await sync(app=app, client=client, namespace=namespace, render=rendering(objects))
    edit = {
        "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:edited"}]}}}
    }
    await _kubectl_edit(client, namespace, "web", edit)

    report = await diff(app=app, client=client, namespace=namespace, render=rendering(objects))

    assert report.sync_status is SyncStatus.OUT_OF_SYNC
    [drifted] = [d for d in report.diffs if d.status is SyncStatus.OUT_OF_SYNC]
    assert {a.manager for a in drifted.drift} == {"kubectl-edit"}
    assert "kubectl-edit" in format_diff(report.diffs)

    healed = await sync(app=app, client=client, namespace=namespace, render=rendering(objects))

    assert [r.code for r in healed.resources] == [ResultCode.CONFIGURED]
    web = await live(client, "apps/v1", "Deployment", namespace, "web")
    assert web is not None
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    after = await diff(app=app, client=client, namespace=namespace, render=rendering(objects))
    assert after.sync_status is SyncStatus.SYNCED


async def test_conflict_fail_mode_reports_the_other_manager(
    client: ClusterClient, namespace: str, app: str
) -> None:
    objects = [deployment("web", replicas=1)]
    await sync(app=app, client=client, namespace=namespace, render=rendering(objects))
    await _kubectl_edit(client, namespace, "web", {"spec": {"replicas": 3}})

    result = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering(objects),
        options=SyncOptions(force=False),
    )

    assert result.phase is OperationPhase.FAILED
    [res] = result.resources
    assert res.code is ResultCode.CONFLICT
    assert "kubectl-edit" in res.message
    assert [c.reason for c in result.conditions] == [ConditionReason.APPLY_FAILED]
    web = await live(client, "apps/v1", "Deployment", namespace, "web")
    assert web is not None and web["spec"]["replicas"] == 3


def _crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "kind": "Widget",
                "plural": "widgets",
                "singular": "widget",
                "listKind": "WidgetList",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer"}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


async def test_crd_and_its_custom_resource_in_one_sync(
    client: ClusterClient, namespace: str, app: str
) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.example.com"
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3},
    }
    crd = _crd(group)
    try:
        result = await sync(
            app=app, client=client, namespace=namespace, render=rendering([widget, crd])
        )
        assert result.phase is OperationPhase.SUCCEEDED, result.message
        codes = {r.key.kind: r.code for r in result.resources}
        assert codes == {
            "CustomResourceDefinition": ResultCode.CREATED,
            "Widget": ResultCode.CREATED,
        }
        found = await live(client, f"{group}/v1", "Widget", namespace, "w1")
        assert found is not None and found["spec"]["size"] == 3
    finally:
        res = await client.resource(
            api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
        )
        await client.delete(res=res, namespace="", name=f"widgets.{group}")


async def test_compare_writes_nothing_and_execute_applies_what_it_planned(
    client: ClusterClient, namespace: str, app: str
) -> None:
    objects = [configmap("decided")]
    held = await compare(app=app, client=client, namespace=namespace,
                         render=rendering(objects))
    assert held.complete
    assert held.result.sync_status is SyncStatus.OUT_OF_SYNC and not held.result.resources
    assert [d.reason for d in held.result.diffs] == ["Missing"]
    assert await live(client, "v1", "ConfigMap", namespace, "decided") is None
    assert await live(client, "v1", "ConfigMap", INVENTORY_NAMESPACE, configmap_name(app)) is None

    done = await execute(held)
    assert {r.code for r in done.resources} == {ResultCode.CREATED}
    assert await live(client, "v1", "ConfigMap", namespace, "decided") is not None


async def test_a_sync_reads_each_object_once_and_still_reports_its_health(
    client: ClusterClient, namespace: str, app: str, monkeypatch: Any
) -> None:
    # At fleet scale reads bound a sync: health comes from the apply's answer for an
    # object written and from the diff's read for one left alone, not from a second GET.
    await sync(app=app, client=client, namespace=namespace,
               render=rendering([configmap("kept")]))
    reads: list[str] = []
    real = client.request

    async def counted(**kwargs: Any) -> Any:
        if kwargs["method"] == "GET" and f"/namespaces/{namespace}/" in kwargs["path"]:
            reads.append(kwargs["path"])
        return await real(**kwargs)

    monkeypatch.setattr(client, "request", counted)
    objects = [configmap("kept"), configmap("added"), deployment("web")]
    result = await sync(app=app, client=client, namespace=namespace, render=rendering(objects))

    assert result.phase is OperationPhase.SUCCEEDED, result.message
    assert sorted(path.rsplit("/", 1)[1] for path in reads) == ["added", "kept", "web"]
    health = {r.key.name: r.health for r in result.resources}
    assert health["kept"] is HealthStatus.HEALTHY and health["added"] is HealthStatus.HEALTHY
    assert health["web"] is HealthStatus.PROGRESSING  # as the apply answered: not rolled out
    assert {r.key.name: r.code for r in result.resources} == {
        "kept": ResultCode.UNCHANGED, "added": ResultCode.CREATED, "web": ResultCode.CREATED}


async def test_a_selective_sync_applies_and_prunes_the_chosen_objects_only(
    client: ClusterClient, namespace: str, app: str
) -> None:
    first = [configmap("a", {"v": "1"}), configmap("b", {"v": "1"}), configmap("old-a"),
             configmap("old-b")]
    await sync(app=app, client=client, namespace=namespace, render=rendering(first))
    second = [configmap("a", {"v": "2"}), configmap("b", {"v": "2"})]
    chosen = frozenset({ResourceKey("", "ConfigMap", "", "b"),  # any namespace
                        ResourceKey("", "ConfigMap", namespace, "old-b")})
    result = await sync(app=app, client=client, namespace=namespace, render=rendering(second),
                        options=SyncOptions(prune=True, only=chosen))

    assert result.phase is OperationPhase.SUCCEEDED, result.message
    assert result.sync_status is SyncStatus.OUT_OF_SYNC  # a is still as it was
    data = {name: ((await live(client, "v1", "ConfigMap", namespace, name)) or {}).get("data")
            for name in ("a", "b", "old-a", "old-b")}
    assert data == {"a": {"v": "1"}, "b": {"v": "2"}, "old-a": {"k": "old-a"}, "old-b": None}
    codes = {r.key.name: r.code for r in result.resources}
    assert codes == {"a": ResultCode.NOT_APPLIED, "b": ResultCode.CONFIGURED,
                     "old-b": ResultCode.PRUNED}
    # old-a is still tracked, so the next whole sync prunes it.
    assert ResourceKey("", "ConfigMap", namespace, "old-a") in result.inventory
    result = await sync(app=app, client=client, namespace=namespace, render=rendering(second),
                        options=SyncOptions(prune=True))
    assert result.sync_status is SyncStatus.SYNCED
    assert await live(client, "v1", "ConfigMap", namespace, "old-a") is None
