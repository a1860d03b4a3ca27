"""One registered cluster is down (nothing listens at its server): the apps of the healthy
clusters sync and become Healthy, the app targeting the dead cluster reports why in its
status and is retried with growing delays, and the hub keeps serving its API."""

from __future__ import annotations

import base64
import itertools
import uuid
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from engine.hub.hub import Hub
from engine.model import HealthStatus, SyncStatus, TargetKey
from engine.model.status import Condition
from tests.support.auth import admin_token, bearer
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, free_port, new_upstream
from tests.support.hubkit import (
    HubDir,
    application_yaml,
    clean_up,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(120)


def _deployment(name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
                },
            },
        }
    )


def _register_dead_cluster(directory: HubDir, name: str, like: TestCluster) -> str:
    """Add ``name`` to clusters.yaml: ``like``'s CA, a loopback port nobody listens on;
    return its server URL."""
    kubeconfig = yaml.safe_load(like.kubeconfig.read_text())
    ca = kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
    assert base64.b64decode(ca).startswith(b"-----BEGIN CERTIFICATE-----")
    path = directory.root / "clusters.yaml"
    registration = yaml.safe_load(path.read_text())
    registration["clusters"].append(
        {
            "name": name,
            "labels": {"env": "gone"},
            "server": f"https://127.0.0.1:{free_port()}",
            "caData": ca,
            "token": "not-used-nobody-listens",
        }
    )
    path.write_text(yaml.safe_dump(registration))
    return str(registration["clusters"][-1]["server"])


async def _healthy(hub: Hub, app: str, cluster: str) -> bool:
    status = await status_of(hub, app, cluster)
    return bool(
        status and status.sync is SyncStatus.SYNCED and status.health is HealthStatus.HEALTHY
    )


async def test_dead_cluster_is_reported_and_retried_while_the_others_sync(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    dead = f"dead-{run}"
    upstream = new_upstream(
        git_daemon,
        tmp_path,
        f"down-{run}",
        {
            "app/deployment.yaml": _deployment("web"),
            "app/cm.yaml": configmap_yaml("settings", {"run": run}),
        },
    )
    retry = {
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true", "timeout.reconcile=30s"],
            "retry": {
                "limit": -1,
                "backoff": {"duration": "1s", "factor": 2, "maxDuration": "16s"},
            },
        }
    }
    healthy_apps = {f"cd-{run}-{c.name}": c for c in local_clusters}
    apps = {
        f"{name}.yaml": application_yaml(name, upstream.url, "app", name, cluster=c.name)
        for name, c in healthy_apps.items()
    }
    dead_app = f"cd-{run}-dead"
    apps["dead.yaml"] = application_yaml(
        dead_app, upstream.url, "app", dead_app, cluster=dead, extra_spec=retry
    )
    directory = hub_dir(tmp_path / "hub", local_clusters, apps)
    server = _register_dead_cluster(directory, dead, local_clusters[0])
    try:
        async with running_hub(directory) as hub:
            # The dead cluster's target says why, from its first reconcile on.
            async def unavailable() -> Condition | None:
                status = await status_of(hub, dead_app, dead)
                conditions = status.conditions if status else ()
                return next((c for c in conditions if c.reason == "ClusterUnavailable"), None)

            condition = await eventually(
                unavailable, within=30, what="a ClusterUnavailable condition"
            )
            assert dead in condition.message and server in condition.message
            status = await status_of(hub, dead_app, dead)
            assert status is not None and status.sync is SyncStatus.UNKNOWN
            assert status.operation is None  # nothing was attempted on the cluster

            # Retried with backoff (1s, 2s, 4s, ...): attempts keep coming, further apart.
            attempts = await _attempts(hub, TargetKey(dead_app, dead), count=3)
            gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(attempts)]
            assert gaps[0] >= 0.8, gaps  # not a hot loop
            # Growing: 1 s then 2 s, each plus the attempt's own time (on a loaded machine up
            # to a second), so the second gap is at least 1.5 times the first.
            assert gaps[1] >= 1.5 * gaps[0], gaps
            assert hub.scheduler.failures(TargetKey(dead_app, dead)) >= 3

            # Meanwhile the healthy clusters were not held up by the dead one.
            for name, cluster in healthy_apps.items():
                await eventually(
                    partial(_healthy, hub, name, cluster.name),
                    within=45,
                    what=f"{name} Synced and Healthy on {cluster.name}",
                )

            # The hub keeps serving its API, which says the same.
            clusters = {c.name: c for c in hub.control.clusters()}
            assert not clusters[dead].reachable and clusters[dead].last_error
            assert all(clusters[c.name].reachable for c in local_clusters)
            async with aiohttp.ClientSession(headers=bearer(await admin_token(hub))) as http:
                async with http.get(f"{directory.url}/healthz") as response:
                    assert response.status == 200
                async with http.get(f"{directory.url}/api/v1/apps/{dead_app}") as response:
                    assert response.status == 200
                    app_body: dict[str, Any] = await response.json()
                async with http.get(f"{directory.url}/api/v1/clusters") as response:
                    assert response.status == 200
                    clusters_body: Any = await response.json()
            assert "ClusterUnavailable" in str(app_body)
            reachable = {c["name"]: c["reachable"] for c in clusters_body["clusters"]}
            assert reachable == {dead: False, **{c.name: True for c in local_clusters}}
    finally:
        for name, cluster in healthy_apps.items():
            await clean_up(cluster, namespaces=[name], apps=[name])


async def _attempts(hub: Hub, key: TargetKey, *, count: int) -> list[datetime]:
    """The times of ``count`` consecutive reconciles of ``key``, from its status."""
    seen: list[datetime] = []

    async def enough() -> bool:
        status = await hub.store.get_status(key)
        when = status.reconciled_at if status else None
        if when is not None and (not seen or when != seen[-1]):
            seen.append(when)
        return len(seen) >= count

    await eventually(enough, within=30, what=f"{count} reconciles of {key}", every=0.05)
    return seen
