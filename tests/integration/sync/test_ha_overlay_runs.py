"""``deploy/overlays/ha`` as its pods run it, short of a container runtime: the overlay is
applied to a local cluster (its Namespace, ServiceAccount, Role, ClusterRole, ConfigMap), and
two ``fleetsync serve`` processes start with the ConfigMap's own fleetsync.yaml and
clusters.yaml, a pod's environment (``POD_NAME``, the service host and port) and a real
token of the overlay's ServiceAccount. With only the permissions the overlay grants, both
join as members through Leases in the hub's namespace, the one the assignment names holds
the ``in-cluster`` shard, an app from the apps repository is synced there once, and a login
at one replica is accepted by the other."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client as k8s

from engine.apply import sync
from engine.clusters import ClusterClient
from engine.hub.ownership import lease_name
from engine.model import OperationPhase
from engine.render import build
from engine.shards import assignment
from tests.integration.sync.conftest import rendering
from tests.support.clusters import TestCluster
from tests.support.deploy import DEPLOY, NAMESPACE, remove_deployment
from tests.support.git_remotes import Daemon, free_port, new_upstream
from tests.support.hubkit import (
    HubDir,
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
)
from tests.support.replicas import query, start_replica, stop_replicas

pytestmark = pytest.mark.timeout(240)
REPLICAS = ("fleetsync-7c9d-a", "fleetsync-7c9d-b")  # as pods of the Deployment are named
PERMISSIVE = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
"""


def _hub_config(files: dict[str, str], root: Path, repo: str) -> HubDir:
    """The overlay's fleetsync.yaml and clusters.yaml with what differs outside a pod: the
    apps repository, the data directory and the listening address."""
    root.mkdir(parents=True)
    config: dict[str, Any] = yaml.safe_load(files["fleetsync.yaml"])
    config["apps"][0]["repo"] = repo
    config["dataDir"] = str(root / "data")
    port = free_port()
    config["server"]["listen"] = f"127.0.0.1:{port}"
    (root / "fleetsync.yaml").write_text(yaml.safe_dump(config))
    (root / "clusters.yaml").write_text(files["clusters.yaml"])
    return HubDir(root, port)


async def _token(cluster: TestCluster) -> str:
    """A token of the overlay's ServiceAccount, as the kubelet would request it."""
    async with cluster.api_client() as api:
        answer = await k8s.CoreV1Api(api).create_namespaced_service_account_token(
            "fleetsync", NAMESPACE, k8s.AuthenticationV1TokenRequest(
                spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)))
    return str(answer.status.token)


def _pod_identity(cluster: TestCluster, directory: Path, token: str) -> dict[str, str]:
    """A service account directory as the kubelet mounts it (the CA and ``token``) and the
    environment a pod gets."""
    kubeconfig = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    directory.mkdir()
    (directory / "ca.crt").write_bytes(base64.b64decode(kubeconfig["certificate-authority-data"]))
    (directory / "token").write_text(token)
    server = urlsplit(kubeconfig["server"])
    return {"KUBERNETES_SERVICE_HOST": str(server.hostname),
            "KUBERNETES_SERVICE_PORT": str(server.port),
            "FLEETSYNC_SERVICE_ACCOUNT_DIR": str(directory)}


async def _held(cluster: TestCluster) -> dict[str, str]:
    async with cluster.api_client() as api:
        found = await k8s.CoordinationV1Api(api).list_namespaced_lease(NAMESPACE)
    return {lease.metadata.name: lease.spec.holder_identity for lease in found.items
            if lease.spec.holder_identity}


async def test_the_ha_overlay_runs_its_replicas_with_its_own_config_and_rights(
    client: ClusterClient, local_clusters: list[TestCluster], app: str, git_daemon: Daemon,
    tmp_path: Path, pg_dsn: str,
) -> None:
    cluster = local_clusters[0]
    objects = build(DEPLOY / "overlays/ha", root=DEPLOY)
    files = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    upstream = new_upstream(git_daemon, tmp_path, "ha-apps", {
        "apps/project.yaml": PERMISSIVE,
        "apps/web.yaml": application_yaml("ha-web", "REPO", "manifests", "ha-web"),
        "manifests/cm.yaml": configmap_yaml("settings", {"colour": "blue"})})
    upstream.commit({"apps/web.yaml": application_yaml("ha-web", upstream.url, "manifests",
                                                       "ha-web")}, "the repository's URL")
    upstream.push("main")
    processes = {}
    try:
        result = await sync(app=app, client=client, namespace=NAMESPACE,
                            render=rendering(objects))
        assert result.phase is OperationPhase.SUCCEEDED, result.message
        env = _pod_identity(cluster, tmp_path / "serviceaccount", await _token(cluster))
        hubs = [_hub_config(files, tmp_path / name, upstream.url) for name in REPLICAS]
        for name, hub in zip(REPLICAS, hubs, strict=True):
            processes[name] = start_replica(hub, name, pg_dsn, tmp_path / f"{name}.log", env)

        owner = assignment(["in-cluster"], REPLICAS)["in-cluster"]
        expected = {lease_name("member", name): name for name in REPLICAS}
        expected[lease_name("shard", "in-cluster")] = owner

        async def divided() -> bool:
            return await _held(cluster) == expected

        await eventually(divided, within=60, what="both members, the shard held by its owner")

        async def synced() -> bool:
            return await configmap_data(cluster, "ha-web", "settings") == {"colour": "blue"}

        await eventually(synced, within=60, what="the app synced with the overlay's rights")
        operations = query(pg_dsn, "SELECT app, cluster, phase FROM operation")
        assert operations == [("ha-web", "in-cluster", "Succeeded")]

        # One admin, one first password (in the data directory of the replica that made
        # it), and a login at one replica holds at the other (one signing key, in the store).
        [made] = [h for h in hubs if (h.root / "data" / "initial-admin-password").exists()]
        password = (made.root / "data" / "initial-admin-password").read_text().strip()
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{hubs[0].url}/api/v1/session",
                                    json={"username": "admin", "password": password}) as answer:
                assert answer.status == 200, await answer.text()
                token = (await answer.json())["token"]
            async with session.get(f"{hubs[1].url}/api/v1/apps",
                                   headers={"Authorization": f"Bearer {token}"}) as answer:
                assert answer.status == 200, await answer.text()
                assert [a["name"] for a in (await answer.json())["apps"]] == ["ha-web"]
    finally:
        stop_replicas(processes)
        await clean_up(cluster, namespaces=["ha-web"], apps=["ha-web"])
        await remove_deployment(cluster)
