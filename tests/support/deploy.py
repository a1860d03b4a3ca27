"""The project's own ``deploy/`` manifests, as tests apply them to a local cluster and
take them away again."""

from __future__ import annotations

from pathlib import Path

from kubernetes_asyncio import client as k8s

from tests.support.clusters import TestCluster
from tests.support.hubkit import eventually

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NAMESPACE = "fleetsync"  # where deploy/ puts the hub


async def remove_deployment(cluster: TestCluster) -> None:
    """Delete what deploy/ created on ``cluster`` and wait until its namespace is gone (the
    next test may create it again)."""
    async with cluster.api_client() as api:
        rbac = k8s.RbacAuthorizationV1Api(api)
        await rbac.delete_cluster_role_binding("fleetsync-in-cluster")
        await rbac.delete_cluster_role("fleetsync-in-cluster")
        await k8s.CoreV1Api(api).delete_namespace(NAMESPACE)

    async def gone() -> bool:
        async with cluster.api_client() as api:
            listed = await k8s.CoreV1Api(api).list_namespace(
                field_selector=f"metadata.name={NAMESPACE}")
        return not listed.items

    await eventually(gone, within=90, what=f"the {NAMESPACE} namespace deleted")
