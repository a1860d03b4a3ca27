"""Cluster registration against real API servers: the server + certificate form, an
unreachable server, and a registration change picked up by the pool without restart."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import pytest
import yaml

from engine.clusters import ClusterPool, ClusterRegistry, ClusterUnreachable
from tests.support.clusters import TestCluster


def _server_entry(cluster: TestCluster, directory: Path) -> dict[str, object]:
    kubeconfig = yaml.safe_load(cluster.kubeconfig.read_text())
    user = kubeconfig["users"][0]["user"]
    (directory / "client.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
    (directory / "client.key").write_bytes(base64.b64decode(user["client-key-data"]))
    return {
        "name": "direct",
        "server": cluster.server,
        "caData": kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"],
        "certFile": "client.crt",
        "keyFile": "client.key",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_server_and_client_certificate_form_reaches_the_cluster(
    cluster: TestCluster, tmp_path: Path
) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump({"clusters": [_server_entry(cluster, tmp_path)]}))
    async with ClusterPool(ClusterRegistry.load(path)) as pool:
        client = await pool.client("direct")
        res = await client.resource(api_version="v1", kind="Namespace")
        found = await client.get(res=res, namespace="", name="default")
    assert found["metadata"]["name"] == "default"


async def test_unreachable_server_is_a_temporary_error_without_the_token(tmp_path: Path) -> None:
    path = tmp_path / "clusters.yaml"
    entry = {
        "name": "gone",
        "server": f"https://127.0.0.1:{_free_port()}",
        "insecureSkipTLSVerify": True,
        "token": "s3cr3t-token",
    }
    path.write_text(yaml.safe_dump({"clusters": [entry]}))
    async with ClusterPool(ClusterRegistry.load(path), timeout=5) as pool:
        client = await pool.client("gone")
        with pytest.raises(ClusterUnreachable) as caught:
            await client.request(method="GET", path="/version")
    assert caught.value.temporary
    assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in repr(client)


async def test_changed_registration_gives_a_new_client(
    local_clusters: list[TestCluster], tmp_path: Path
) -> None:
    path = tmp_path / "clusters.yaml"
    first = local_clusters[0]
    entry = {"name": "moving", "kubeconfig": str(first.kubeconfig), "context": first.name}
    path.write_text(yaml.safe_dump({"clusters": [entry]}))
    registry = ClusterRegistry.load(path)
    async with ClusterPool(registry) as pool:
        before = await pool.client("moving")
        target = local_clusters[-1]
        entry.update(kubeconfig=str(target.kubeconfig), context=target.name, labels={"m": "1"})
        path.write_text(yaml.safe_dump({"clusters": [entry]}))
        change = registry.reload()
        await pool.update(change)
        after = await pool.client("moving")
        assert change.changed == {"moving"}
        assert after is not before
        assert after.server == target.server
