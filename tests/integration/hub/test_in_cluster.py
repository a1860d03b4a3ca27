"""The hub as a pod sees its own cluster: ``inCluster: true`` in clusters.yaml, the API
server from ``$KUBERNETES_SERVICE_HOST``/``_PORT``, the CA and a real ServiceAccount token
(a TokenRequest, bound to a Secret) in the service account directory, laid out as the
kubelet lays it out. An app to ``https://kubernetes.default.svc`` syncs; when the token in
the file is replaced and the old one revoked (its Secret deleted), the hub follows the
rotation and keeps syncing."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client

from engine.model import SyncStatus
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    push_webhook,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(200)
NAMESPACE = "fleetsync-system-test"
ACCOUNT = "fleetsync"


async def _token(core: client.CoreV1Api, secret: str) -> str:
    """A token of the ServiceAccount bound to Secret ``secret`` (gone with it)."""
    await core.create_namespaced_secret(NAMESPACE, client.V1Secret(
        metadata=client.V1ObjectMeta(name=secret), string_data={"bound": "yes"}))
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=3600,
        bound_object_ref=client.V1BoundObjectReference(kind="Secret", api_version="v1",
                                                       name=secret)))
    answer = await core.create_namespaced_service_account_token(ACCOUNT, NAMESPACE, request)
    return str(answer.status.token)


async def test_in_cluster_reads_the_pod_s_service_account_and_follows_its_rotation(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = local_clusters[0]
    kubeconfig = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    server = urlsplit(kubeconfig["server"])
    account_dir = tmp_path / "serviceaccount"
    account_dir.mkdir()
    (account_dir / "ca.crt").write_bytes(base64.b64decode(kubeconfig["certificate-authority-data"]))
    async with cluster.api_client() as api:
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=NAMESPACE)))
        try:
            await core.create_namespaced_service_account(NAMESPACE, client.V1ServiceAccount(
                metadata=client.V1ObjectMeta(name=ACCOUNT)))
            await rbac.create_cluster_role_binding(client.V1ClusterRoleBinding(
                metadata=client.V1ObjectMeta(name=f"{NAMESPACE}-admin"),
                role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io",
                                          kind="ClusterRole", name="cluster-admin"),
                subjects=[client.RbacV1Subject(kind="ServiceAccount", name=ACCOUNT,
                                               namespace=NAMESPACE)]))
            (account_dir / "token").write_text(await _token(core, "first"))
            # What Kubernetes puts in every pod's environment.
            monkeypatch.setenv("KUBERNETES_SERVICE_HOST", str(server.hostname))
            monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
            monkeypatch.setenv("FLEETSYNC_SERVICE_ACCOUNT_DIR", str(account_dir))
            await _run_the_hub(cluster, core, git_daemon, tmp_path, account_dir)
        finally:
            await rbac.delete_cluster_role_binding(f"{NAMESPACE}-admin")
            await core.delete_namespace(NAMESPACE)


async def _run_the_hub(cluster: TestCluster, core: client.CoreV1Api, git_daemon: Daemon,
                       tmp_path: Path, account_dir: Path) -> None:  # fmt: skip
    upstream = new_upstream(git_daemon, tmp_path, "in-cluster",
                            {"app/cm.yaml": configmap_yaml("settings", {"colour": "blue"})})
    apps = {"app.yaml": application_yaml("pod-app", upstream.url, "app", "in-cluster-app")}
    directory = hub_dir(tmp_path / "hub", [], apps)
    (directory.root / "clusters.yaml").write_text(
        yaml.safe_dump({"clusters": [{"inCluster": True, "labels": {"env": "mgmt"}}]}))
    try:
        async with running_hub(directory) as hub:
            async def synced() -> bool:
                status = await status_of(hub, "pod-app", "in-cluster")
                return status is not None and status.sync is SyncStatus.SYNCED

            await eventually(synced, within=60, what="the app synced with the pod's token")
            who = await configmap_data(cluster, "in-cluster-app", "settings")
            assert who == {"colour": "blue"}

            # The kubelet rotates the token; the old one stops working.
            old = (account_dir / "token").read_text()
            (account_dir / "token").write_text(await _token(core, "second"))
            await core.delete_namespaced_secret("first", NAMESPACE)

            async def revoked() -> bool:
                return await _status_with(old, server_url(cluster), account_dir) == 401

            await eventually(revoked, within=30, what="the old token refused")
            upstream.commit({"app/cm.yaml": configmap_yaml("settings", {"colour": "red"})},
                            "red")
            upstream.push("main")
            await push_webhook(directory.url, upstream)

            async def red() -> bool:
                return await configmap_data(cluster, "in-cluster-app", "settings") == {
                    "colour": "red"}

            await eventually(red, within=60, what="the change applied with the new token")
    finally:
        await clean_up(cluster, namespaces=["in-cluster-app"], apps=["pod-app"])


def server_url(cluster: TestCluster) -> str:
    return str(yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]["server"])


async def _status_with(token: str, server: str, account_dir: Path) -> int:
    """The API server's answer to ``token`` (200, or 401 once it is revoked)."""
    context = ssl.create_default_context(cafile=str(account_dir / "ca.crt"))
    async with aiohttp.ClientSession() as session, session.get(
            f"{server}/api", ssl=context, headers={"Authorization": f"Bearer {token}"}) as answer:
        return answer.status
