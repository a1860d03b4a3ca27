"""A running local cluster as the tests and load tests see it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from kubernetes_asyncio import client, config

from engine.local.controlplane import audit_log


@dataclass(frozen=True)
class TestCluster:
    """One running local cluster: its name, kubeconfig, labels, and an async client factory."""

    __test__ = False
    name: str
    kubeconfig: Path
    server: str
    labels: dict[str, str]

    @property
    def audit_log(self) -> Path:
        """Where its kube-apiserver records object writes (``fleetsync local up`` puts the
        kubeconfig beside the cluster's directory)."""
        return audit_log(self.kubeconfig.parent / self.name)

    @asynccontextmanager
    async def api_client(self) -> AsyncIterator[client.ApiClient]:
        """A kubernetes_asyncio ApiClient for this cluster, closed on exit."""
        cfg = client.Configuration()
        await config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg)
        api = client.ApiClient(configuration=cfg)
        try:
            yield api
        finally:
            await api.close()
