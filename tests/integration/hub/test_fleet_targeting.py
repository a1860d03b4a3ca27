"""Fleet targeting in the running hub: a ``fleetsync.io/v1alpha1`` Application with a
``clusterSelector`` deploys to every cluster whose labels match, with its per-cluster
``overrides``; each (app, cluster) target has its own status; a cluster whose labels stop
matching is untracked while the hub runs (no restart), and its objects are left alone."""

from __future__ import annotations

import uuid
from functools import partial
from pathlib import Path

import pytest
import yaml

from engine.hub.hub import Hub
from engine.model import SyncStatus, TargetKey
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    HubDir,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(120)


def _fleet_app(name: str, repo_url: str, namespace: str, prod_namespace: str) -> str:
    """Every env=dev or env=prod cluster; env=prod ones get another path and namespace."""
    return yaml.safe_dump(
        {
            "apiVersion": "fleetsync.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo_url, "targetRevision": "main", "path": "base"},
                "destination": {
                    "namespace": namespace,
                    "clusterSelector": {
                        "matchExpressions": [
                            {"key": "env", "operator": "In", "values": ["dev", "prod"]}
                        ],
                    },
                },
                "overrides": [
                    {
                        "clusters": {"matchLabels": {"env": "prod"}},
                        "path": "prod",
                        "namespace": prod_namespace,
                    },
                ],
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["CreateNamespace=true", "timeout.reconcile=5s"],
                },
            },
        }
    )


def _relabel(directory: HubDir, cluster: str, labels: dict[str, str]) -> None:
    """Give ``cluster`` new labels in the hub's clusters.yaml (the hub follows the file)."""
    path = directory.root / "clusters.yaml"
    registration = yaml.safe_load(path.read_text())
    for entry in registration["clusters"]:
        if entry["name"] == cluster:
            entry["labels"] = labels
    path.write_text(yaml.safe_dump(registration))


async def _synced(hub: Hub, app: str, cluster: str) -> bool:
    status = await status_of(hub, app, cluster)
    return bool(status and status.sync is SyncStatus.SYNCED)


async def test_cluster_selector_deploys_per_cluster_overrides_and_follows_label_changes(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    by_env = {c.labels.get("env"): c for c in local_clusters}
    dev, prod = by_env["dev"], by_env["prod"]
    run = uuid.uuid4().hex[:6]
    app, dev_ns, prod_ns = f"ft-{run}", f"ft-{run}", f"ft-{run}-prod"
    upstream = new_upstream(
        git_daemon,
        tmp_path,
        f"fleet-{run}",
        {
            "base/cm.yaml": configmap_yaml("settings", {"flavour": "base", "round": "1"}),
            "prod/cm.yaml": configmap_yaml("settings", {"flavour": "prod", "round": "1"}),
        },
    )
    directory = hub_dir(
        tmp_path / "hub", [dev, prod], {"app.yaml": _fleet_app(app, upstream.url, dev_ns, prod_ns)}
    )
    try:
        async with running_hub(directory) as hub:
            # One target per matching cluster, each with the overrides for its labels.
            [view] = [v for v in hub.apps() if v.name == app]
            targets = {t.key.cluster: t for t in view.targets}
            assert set(targets) == {dev.name, prod.name}
            assert (targets[dev.name].path, targets[dev.name].namespace) == ("base", dev_ns)
            assert (targets[prod.name].path, targets[prod.name].namespace) == ("prod", prod_ns)

            for cluster in (dev, prod):
                await eventually(
                    partial(_synced, hub, app, cluster.name),
                    within=45,
                    what=f"{app} Synced on {cluster.name}",
                )
            assert await configmap_data(dev, dev_ns, "settings") == {
                "flavour": "base",
                "round": "1",
            }
            assert await configmap_data(prod, prod_ns, "settings") == {
                "flavour": "prod",
                "round": "1",
            }
            assert await configmap_data(prod, dev_ns, "settings") is None

            # Each target reports on its own: its own status and its own history.
            dev_status = await status_of(hub, app, dev.name)
            prod_status = await status_of(hub, app, prod.name)
            assert dev_status is not None and prod_status is not None
            assert {r.key.namespace for r in dev_status.resources} == {dev_ns}
            assert {r.key.namespace for r in prod_status.resources} == {prod_ns}
            for cluster in (dev, prod):
                [entry] = await hub.store.history(TargetKey(app, cluster.name))
                assert entry.source.path == ("base" if cluster is dev else "prod")

            # The prod cluster stops matching: its target goes, without a restart.
            _relabel(directory, prod.name, {**prod.labels, "env": "retired"})

            async def prod_untracked() -> bool:
                [now] = [v for v in hub.apps() if v.name == app]
                gone = {t.key.cluster for t in now.targets} == {dev.name}
                return gone and await status_of(hub, app, prod.name) is None

            await eventually(prod_untracked, within=20, what=f"{app} untracked on {prod.name}")

            # A new commit reaches the cluster still selected, not the untracked one.
            upstream.commit(
                {
                    "base/cm.yaml": configmap_yaml("settings", {"flavour": "base", "round": "2"}),
                    "prod/cm.yaml": configmap_yaml("settings", {"flavour": "prod", "round": "2"}),
                }
            )
            upstream.push("main")
            await hub.poller.trigger(repo=upstream.url)

            async def dev_updated() -> bool:
                data = await configmap_data(dev, dev_ns, "settings")
                return bool(data and data["round"] == "2")

            await eventually(dev_updated, within=30, what="round 2 on the dev cluster")
            # Untracked is not deleted: the objects on the prod cluster stay as they were.
            assert await configmap_data(prod, prod_ns, "settings") == {
                "flavour": "prod",
                "round": "1",
            }
            assert await status_of(hub, app, prod.name) is None
    finally:
        await clean_up(dev, namespaces=[dev_ns], apps=[app])
        await clean_up(prod, namespaces=[prod_ns], apps=[app])
