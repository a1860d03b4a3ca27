"""Drift through subresources: a write through ``scale`` (``kubectl scale``, an autoscaler) is
a change like an edit, so a self-healing app reverts it at once, from the watch alone (the
reconcile interval here is 300 s); without selfHeal the app shows OutOfSync naming the field
and the manager. A write to the ``status`` subresource is never drift."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client

from engine.hub.hub import Hub
from engine.model import HealthStatus, SyncStatus, TargetKey
from engine.model.status import DRIFT
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(300)
REPLICAS = 2
# Far beyond every wait below: only the watch can explain a reaction within them.
SLOW_RESYNC = ["CreateNamespace=true", "timeout.reconcile=300s"]
MERGE = "application/merge-patch+json"


def _deployment() -> str:
    labels = {"app": "web"}
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": REPLICAS, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
    })


def _app(name: str, repo_url: str, namespace: str, *, self_heal: bool) -> str:
    policy: dict[str, Any] = {"automated": {"prune": True, "selfHeal": self_heal},
                              "syncOptions": SLOW_RESYNC}
    return application_yaml(name, repo_url, "app", namespace, extra_spec={"syncPolicy": policy})


async def _synced_and_healthy(hub: Hub, key: TargetKey) -> None:
    async def ready() -> bool:
        status = await status_of(hub, key.app, key.cluster)
        watched = hub.live.version(key) is not None
        return (watched and status is not None and status.sync is SyncStatus.SYNCED
                and status.health is HealthStatus.HEALTHY)

    await eventually(ready, within=90, what=f"{key.app} Synced, Healthy and watched")


async def _scale(apps: client.AppsV1Api, namespace: str, replicas: int) -> None:
    """What ``kubectl scale`` does: a write through the scale subresource."""
    await apps.patch_namespaced_deployment_scale(
        "web", namespace, {"spec": {"replicas": replicas}}, field_manager="kubectl",
        _content_type=MERGE,
    )


def _drift_count(hub: Hub, key: TargetKey) -> int:
    version = hub.live.version(key)
    assert version is not None
    return int(version.rsplit(":", 1)[1])


@dataclass
class Running:
    """One app with a Deployment, synced by a running hub."""

    hub: Hub
    apps: client.AppsV1Api
    namespace: str
    key: TargetKey


@contextlib.asynccontextmanager
async def _running_app(
    clusters: list[TestCluster], daemon: Daemon, tmp_path: Path, *, self_heal: bool
) -> AsyncIterator[Running]:
    """An app whose Deployment is Synced, Healthy and watched; cleaned up afterwards."""
    cluster = clusters[0]
    name = f"{'heal' if self_heal else 'noheal'}-{uuid.uuid4().hex[:6]}"
    upstream = new_upstream(daemon, tmp_path, name, {"app/deploy.yaml": _deployment()})
    directory = hub_dir(tmp_path / "hub", clusters,
                        {f"{name}.yaml": _app(name, upstream.url, name, self_heal=self_heal)})
    key = TargetKey(name, cluster.name)
    try:
        async with cluster.api_client() as api, running_hub(directory) as hub:
            await _synced_and_healthy(hub, key)
            yield Running(hub, client.AppsV1Api(api), name, key)
    finally:
        await clean_up(cluster, namespaces=[name], apps=[name])


async def test_scale_through_the_subresource_is_healed_by_the_watch_not_the_resync(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    async with _running_app(local_clusters, git_daemon, tmp_path, self_heal=True) as run:
        drifts = _drift_count(run.hub, run.key)
        # A status report by another manager first: the watch sees it before the scale.
        await run.apps.patch_namespaced_deployment_status(
            "web", run.namespace,
            {"status": {"conditions": [{"type": "Audited", "status": "True"}]}},
            field_manager="status-reporter", _content_type=MERGE,
        )
        await _scale(run.apps, run.namespace, 5)

        async def healed() -> bool:
            live = await run.apps.read_namespaced_deployment("web", run.namespace)
            return bool(live.spec.replicas == REPLICAS)

        await eventually(healed, within=30, what="replicas scaled back to 2")
        history = await run.hub.store.history(run.key)
        assert history[0].trigger == DRIFT
        # The scale was one drift; the status report none.
        assert _drift_count(run.hub, run.key) == drifts + 1


async def test_scale_without_self_heal_shows_out_of_sync_naming_the_manager(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    async with _running_app(local_clusters, git_daemon, tmp_path, self_heal=False) as run:
        await _scale(run.apps, run.namespace, 4)

        async def out_of_sync() -> str:
            status = await status_of(run.hub, run.key.app, run.key.cluster)
            if status is None or status.sync is not SyncStatus.OUT_OF_SYNC:
                return ""
            return " ".join(r.message for r in status.resources if r.key.kind == "Deployment")

        message = await eventually(out_of_sync, within=30, what=f"{run.key.app} OutOfSync")
        assert ".spec.replicas" in message
        assert "kubectl" in message
        live = await run.apps.read_namespaced_deployment("web", run.namespace)
        assert live.spec.replicas == 4  # reported, not reverted
