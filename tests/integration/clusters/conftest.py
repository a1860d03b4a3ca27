"""``kube_client``: fleetsync's own client of the first local cluster, from its pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from engine.clusters import ClusterClient, ClusterPool, ClusterRegistry
from tests.support.clusters import TestCluster


@pytest.fixture
async def kube_client(cluster: TestCluster, tmp_path: Path) -> AsyncIterator[ClusterClient]:
    """The first local cluster's ``ClusterClient`` (closed with its pool after the test)."""
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump({"clusters": [
        {"name": cluster.name, "kubeconfig": str(cluster.kubeconfig)}]}))
    async with ClusterPool(ClusterRegistry.load(path)) as pool:
        yield await pool.client(cluster.name)
