"""fleetsync deploys itself: ``deploy/`` renders byte for byte as the reference kustomize
renders it, and the rendered base applies to a real local cluster, where the hub's
Deployment becomes Available (kwok plays its pod) with its ServiceAccount, RBAC and
config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kubernetes_asyncio import client as k8s

from engine.apply import sync
from engine.clusters import ClusterClient
from engine.local import toolchain
from engine.model import HealthStatus, OperationPhase
from engine.render import build, to_yaml
from tests.integration.sync.conftest import rendering
from tests.support.clusters import TestCluster
from tests.support.hubkit import eventually

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("target", ["base", "overlays/single", "overlays/ha"])
def test_deploy_renders_as_kustomize_renders_it(target: str) -> None:
    kustomize = toolchain.find_binaries() / "kustomize"
    expected = subprocess.run([str(kustomize), "build", str(DEPLOY / target)], check=True,
                              capture_output=True, text=True, timeout=60).stdout
    assert to_yaml(build(DEPLOY / target, root=DEPLOY)) == expected


async def test_the_base_applies_and_the_hub_becomes_available(
    client: ClusterClient, local_clusters: list[TestCluster], app: str,
) -> None:
    objects = build(DEPLOY / "base", root=DEPLOY)
    try:
        result = await sync(app=app, client=client, namespace="fleetsync",
                            render=rendering(objects))
        assert result.phase is OperationPhase.SUCCEEDED, result.message
        kinds = sorted({r.key.kind for r in result.resources})
        assert kinds == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
                         "Namespace", "Role", "RoleBinding", "Service", "ServiceAccount"]

        async def available() -> bool:
            async with local_clusters[0].api_client() as api:
                found = await k8s.AppsV1Api(api).read_namespaced_deployment("fleetsync",
                                                                            "fleetsync")
            return any(c.type == "Available" and c.status == "True"
                       for c in found.status.conditions or [])

        await eventually(available, within=90, what="the hub's Deployment Available")
        health = {r.key.kind: r.health for r in result.resources}
        assert health["Service"] is HealthStatus.HEALTHY
    finally:
        async with local_clusters[0].api_client() as api:
            rbac = k8s.RbacAuthorizationV1Api(api)
            await rbac.delete_cluster_role_binding("fleetsync-in-cluster")
            await rbac.delete_cluster_role("fleetsync-in-cluster")
            await k8s.CoreV1Api(api).delete_namespace("fleetsync")
