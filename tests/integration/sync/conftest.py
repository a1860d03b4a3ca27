"""Fixtures of the sync tests: a registration file for the real local clusters, a client
from the cluster pool, a unique app name whose inventory is removed afterwards, and a
small kit to build objects, render them, and read live state."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.apply import Render
from engine.clusters import ClusterClient, ClusterPool, ClusterRegistry, NotFound
from engine.model.inventory import INVENTORY_NAMESPACE, configmap_name
from tests.support.clusters import TestCluster


@pytest.fixture
def clusters_file(local_clusters: list[TestCluster], tmp_path: Path) -> Path:
    """A clusters.yaml naming every local cluster by its kubeconfig."""
    doc = {
        "clusters": [
            {"name": c.name, "labels": c.labels, "kubeconfig": str(c.kubeconfig), "context": c.name}
            for c in local_clusters
        ]
    }
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
async def client(clusters_file: Path, cluster: TestCluster) -> AsyncIterator[ClusterClient]:
    """The fleetsync client of the first local cluster."""
    async with ClusterPool(ClusterRegistry.load(clusters_file)) as pool:
        yield await pool.client(cluster.name)


@pytest.fixture
async def app(client: ClusterClient) -> AsyncIterator[str]:
    """A unique app name; its inventory ConfigMap is deleted after the test."""
    name = f"app-{uuid.uuid4().hex[:8]}"
    yield name
    res = await client.resource(api_version="v1", kind="ConfigMap")
    with contextlib.suppress(NotFound):
        await client.delete(res=res, namespace=INVENTORY_NAMESPACE, name=configmap_name(name))


def configmap(
    name: str, data: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """A ConfigMap manifest without namespace (the destination namespace is defaulted)."""
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"k": name}}


def deployment(name: str, *, image: str = "nginx:1.27", replicas: int = 1) -> dict[str, Any]:
    """A small Deployment manifest."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def rendering(objects: Sequence[dict[str, Any]]) -> Render:
    """A render step returning ``objects``."""

    async def render() -> Sequence[dict[str, Any]]:
        return list(objects)

    return render


async def live(
    client: ClusterClient, api_version: str, kind: str, namespace: str, name: str
) -> dict[str, Any] | None:
    """The live object, or None."""
    res = await client.resource(api_version=api_version, kind=kind)
    try:
        return await client.get(res=res, namespace=namespace, name=name)
    except NotFound:
        return None
