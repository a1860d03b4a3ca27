"""The local control planes are real Kubernetes: apply, conflicts, controllers, watches."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from tests.support.clusters import TestCluster

APPLY = "application/apply-patch+yaml"


def _configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


async def _apply_configmap(
    core: client.CoreV1Api, body: dict[str, Any], manager: str, *, force: bool
) -> Any:
    meta = body["metadata"]
    return await core.patch_namespaced_config_map(
        meta["name"],
        meta["namespace"],
        body,
        field_manager=manager,
        force=force,
        _content_type=APPLY,
    )


async def _eventually(check: Any, *, within: float, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.25)


async def test_server_side_apply_records_fleetsync_as_field_manager(
    kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    cm = await _apply_configmap(
        core, _configmap("ssa", namespace, {"colour": "blue"}), "fleetsync", force=True
    )
    managers = {(m.manager, m.operation) for m in cm.metadata.managed_fields}
    assert ("fleetsync", "Apply") in managers


async def test_reapply_without_force_conflicts_with_the_manager_that_changed_a_field(
    kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    await _apply_configmap(
        core, _configmap("conflict", namespace, {"colour": "blue"}), "fleetsync", force=True
    )
    await core.patch_namespaced_config_map(
        "conflict",
        namespace,
        {"data": {"colour": "red"}},
        field_manager="kubectl-edit",
        _content_type="application/merge-patch+json",
    )
    with pytest.raises(ApiException) as raised:
        await _apply_configmap(
            core, _configmap("conflict", namespace, {"colour": "blue"}), "fleetsync", force=False
        )
    assert raised.value.status == 409
    assert "kubectl-edit" in raised.value.body
    assert ".data.colour" in raised.value.body


async def test_deployment_becomes_available_through_kwok(
    kube: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(kube)
    labels = {"app": "web"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx")]),
            ),
        ),
    )
    await apps.create_namespaced_deployment(namespace, deployment)

    async def available() -> bool:
        live = await apps.read_namespaced_deployment("web", namespace)
        conditions = live.status.conditions or []
        return live.status.available_replicas == 2 and any(
            c.type == "Available" and c.status == "True" for c in conditions
        )

    await _eventually(available, within=60, what="Deployment web Available")


async def test_deleting_a_namespace_finishes(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    name = f"gone-{uuid.uuid4().hex[:8]}"
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    await _apply_configmap(core, _configmap("data", name, {"k": "v"}), "fleetsync", force=True)
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="p"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
    )
    await _eventually(
        lambda: _create_pod_when_service_account_exists(core, name, pod),
        within=30,
        what="a Pod in the new namespace",
    )
    await core.delete_namespace(name)

    async def gone() -> bool:
        try:
            await core.read_namespace(name)
        except ApiException as err:
            return err.status == 404
        return False

    await _eventually(gone, within=90, what=f"namespace {name} deleted")


async def _create_pod_when_service_account_exists(
    core: client.CoreV1Api, namespace: str, pod: client.V1Pod
) -> bool:
    try:
        await core.create_namespaced_pod(namespace, pod)
    except ApiException as err:
        # The ServiceAccount admission refuses Pods until the controller creates "default".
        if err.status == 403 and "serviceaccount" in err.body:
            return False
        raise
    return True


async def test_watch_sees_a_change_made_by_another_client(
    cluster: TestCluster, namespace: str
) -> None:
    async with cluster.api_client() as watcher_api, cluster.api_client() as writer_api:
        watcher = client.CoreV1Api(watcher_api)
        writer = client.CoreV1Api(writer_api)
        await _apply_configmap(
            writer, _configmap("watched", namespace, {"v": "1"}), "fleetsync", force=True
        )
        listed = await watcher.list_namespaced_config_map(namespace)
        seen: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()

        async def follow() -> None:
            async with watch.Watch().stream(
                watcher.list_namespaced_config_map,
                namespace,
                resource_version=listed.metadata.resource_version,
                timeout_seconds=30,
            ) as events:
                async for event in events:
                    obj = event["object"]
                    if obj.metadata.name == "watched":
                        await seen.put((event["type"], obj.data))

        task = asyncio.create_task(follow())
        try:
            await writer.patch_namespaced_config_map(
                "watched",
                namespace,
                {"data": {"v": "2"}},
                field_manager="someone-else",
                _content_type="application/merge-patch+json",
            )
            kind, data = await asyncio.wait_for(seen.get(), timeout=20)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert (kind, data) == ("MODIFIED", {"v": "2"})
