"""The write guard a hub replica sets around a reconcile (``WRITE_GUARD``): once it says the
target is no longer this replica's, no further write of the sync reaches the cluster, in the
tasks the sync starts too; reads and dry runs still go through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s

from engine.apply import sync
from engine.clusters import ClusterClient
from engine.clusters.client import WRITE_GUARD
from engine.config.clusters import ClusterSpec, KubeconfigAuth, Limits
from engine.errors import ShardLost
from engine.model.results import ResultCode
from tests.support.clusters import TestCluster

OBJECTS = 12
ALLOWED = 12  # guard calls (three a write) before the replica "loses the shard"


@pytest.fixture
async def fleet_client(cluster: TestCluster) -> AsyncIterator[ClusterClient]:
    auth = KubeconfigAuth(cluster.kubeconfig, cluster.name)
    spec = ClusterSpec(cluster.name, cluster.labels, auth, Limits(concurrent_applies=1))
    found = await ClusterClient.connect(spec=spec)
    try:
        yield found
    finally:
        await found.close()


def _configmap(index: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{index:02d}"},
            "data": {"index": str(index)}}


async def test_writes_stop_once_the_guard_says_the_target_is_lost(
    fleet_client: ClusterClient, kube: k8s.ApiClient, namespace: str
) -> None:
    writes: list[int] = []

    def still_mine() -> None:
        writes.append(1)
        if len(writes) > ALLOWED:
            raise ShardLost("the shard is another replica's now")

    async def render() -> list[dict[str, Any]]:
        return [_configmap(i) for i in range(OBJECTS)]

    token = WRITE_GUARD.set(still_mine)
    try:
        result = await sync(app="guarded", client=fleet_client, namespace=namespace,
                            render=render)  # fmt: skip
    finally:
        WRITE_GUARD.reset(token)

    listed = await k8s.CoreV1Api(kube).list_namespaced_config_map(namespace)
    created = [c.metadata.name for c in listed.items if c.metadata.name.startswith("cm-")]
    # Those written before the guard turned exist; every later one was refused unsent.
    refused = [r for r in result.resources if r.code is ResultCode.APPLY_FAILED]
    assert 0 < len(created) < OBJECTS, created
    assert len(refused) == OBJECTS - len(created)
    assert all("another replica" in r.message for r in refused)


async def test_reads_and_dry_runs_pass_a_guard_that_refuses_writes(
    fleet_client: ClusterClient, namespace: str
) -> None:
    def never() -> None:
        raise ShardLost("not mine")

    res = await fleet_client.resource(api_version="v1", kind="ConfigMap")
    token = WRITE_GUARD.set(never)
    try:
        await fleet_client.apply(res=res, obj={**_configmap(0), "metadata": {
            "name": "dry", "namespace": namespace}}, force=True, dry_run=True)
        assert await fleet_client.list(res=res, namespace=namespace) is not None
        with pytest.raises(ShardLost):
            await fleet_client.apply(res=res, obj={**_configmap(0), "metadata": {
                "name": "real", "namespace": namespace}}, force=True)
    finally:
        WRITE_GUARD.reset(token)
