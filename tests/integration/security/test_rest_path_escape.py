"""Class 11, object identities into REST paths, against a real local cluster.

A rendered object whose name, namespace or apiVersion would address another object is
refused before any request, so the other object is untouched and nothing is applied; and
the client escapes every path segment (refusing ``.``, ``..`` and ``/``), so even a value
that skipped the check (an inventory read back from a cluster) cannot reach another
object: unescaped, ``..`` as a name deletes the namespace, ``victim?x`` reads ``victim``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s

from engine.apply import sync
from engine.clusters import ApiResource, ClusterClient, NotFound, Unprocessable
from engine.clusters.discovery import InvalidApiPath
from engine.config.clusters import ClusterSpec, KubeconfigAuth
from engine.model import ConditionReason
from engine.model.inventory import INVENTORY_NAMESPACE, configmap_name
from tests.support.clusters import TestCluster

ORIGINAL = {"k": "original"}


@pytest.fixture
async def fleet_client(cluster: TestCluster) -> AsyncIterator[ClusterClient]:
    auth = KubeconfigAuth(cluster.kubeconfig, cluster.name)
    spec = ClusterSpec(cluster.name, cluster.labels, auth)
    found = await ClusterClient.connect(spec=spec)
    try:
        yield found
    finally:
        await found.close()


@pytest.fixture
async def victim(kube: k8s.ApiClient, namespace: str) -> str:
    """A ConfigMap ``victim`` in ``namespace`` that no request may reach; returns its name."""
    body = k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="victim"), data=ORIGINAL)
    await k8s.CoreV1Api(kube).create_namespaced_config_map(namespace, body)
    return "victim"


async def configmaps(client: ClusterClient) -> ApiResource:
    return await client.resource(api_version="v1", kind="ConfigMap")


def configmap(name: str, namespace: str | None = None, api_version: str = "v1") -> dict[str, Any]:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": api_version, "kind": "ConfigMap", "metadata": meta,
            "data": {"k": "pwned"}}  # fmt: skip


async def test_rest_path_escape_rendered_identities_that_traverse_are_refused(
    fleet_client: ClusterClient, kube: k8s.ApiClient, namespace: str, victim: str
) -> None:
    app = f"app-{uuid.uuid4().hex[:8]}"
    objects = [
        configmap("fine"),
        configmap(f"x/../{victim}"),
        configmap(f"../../../api/v1/namespaces/{namespace}/configmaps/{victim}"),
        configmap(victim, namespace=f"x/../{namespace}"),
        configmap(victim, api_version=f"../../api/v1/namespaces/{namespace}/configmaps/{victim}"),
        configmap("%2e%2e"),
    ]

    async def render() -> list[dict[str, Any]]:
        return objects

    result = await sync(app=app, client=fleet_client, namespace=namespace, render=render)

    assert [c.reason for c in result.conditions] == [ConditionReason.PLAN_FAILED]
    message = result.conditions[0].message
    for index, field in ((2, "metadata.name"), (3, "metadata.name"), (4, "metadata.namespace"),
                         (5, "apiVersion"), (6, "metadata.name")):  # fmt: skip
        assert f"object {index} " in message and field in message
    assert result.resources == ()
    core = k8s.CoreV1Api(kube)
    assert (await core.read_namespaced_config_map(victim, namespace)).data == ORIGINAL
    listed = await core.list_namespaced_config_map(namespace)
    # kube-root-ca.crt is written by the controller-manager whenever it gets to the namespace.
    written = sorted(c.metadata.name for c in listed.items if c.metadata.name != "kube-root-ca.crt")
    assert written == [victim]
    with pytest.raises(NotFound):  # not even an inventory was written
        await fleet_client.get(
            res=await configmaps(fleet_client), namespace=INVENTORY_NAMESPACE,
            name=configmap_name(app),
        )  # fmt: skip


async def test_rest_path_escape_dot_segments_and_slashes_never_leave_the_client(
    fleet_client: ClusterClient, kube: k8s.ApiClient, namespace: str, victim: str
) -> None:
    res = await configmaps(fleet_client)
    # Unescaped, ".." here is DELETE /api/v1/namespaces/<namespace>: the whole namespace.
    for name in ("..", ".", f"x/../{victim}"):
        with pytest.raises(InvalidApiPath):
            await fleet_client.delete(res=res, namespace=namespace, name=name)
    with pytest.raises(InvalidApiPath):
        await fleet_client.delete(res=res, namespace=f"x/../{namespace}", name=victim)
    with pytest.raises(InvalidApiPath):
        await fleet_client.resource(api_version=f"../../api/v1/namespaces/{namespace}", kind="X")
    core = k8s.CoreV1Api(kube)
    assert (await core.read_namespace(namespace)).status.phase == "Active"
    assert (await core.read_namespaced_config_map(victim, namespace)).data == ORIGINAL


@pytest.mark.parametrize("suffix", ["?x=1", "#x"])
async def test_rest_path_escape_query_and_fragment_are_escaped(
    fleet_client: ClusterClient, namespace: str, victim: str, suffix: str
) -> None:
    res = await configmaps(fleet_client)
    assert (await fleet_client.get(res=res, namespace=namespace, name=victim))["data"] == ORIGINAL
    # Unescaped, "victim?x=1" and "victim#x" read the victim itself.
    with pytest.raises(NotFound):
        await fleet_client.get(res=res, namespace=namespace, name=victim + suffix)


@pytest.mark.parametrize("name", ["%2e%2e", "%2E%2E", "victim%3Fx"])
async def test_rest_path_escape_percent_reaches_the_server_as_written(
    fleet_client: ClusterClient, namespace: str, name: str
) -> None:
    # Unescaped, "%2e%2e" is normalised to ".." and reads the Namespace object; escaped,
    # the API server sees the name as written and refuses it.
    with pytest.raises(Unprocessable, match="may not contain '%'"):
        await fleet_client.get(res=await configmaps(fleet_client), namespace=namespace, name=name)
