"""A cluster registered with ``appShards: 2`` is reconciled by two hub replicas at once, each
for its part of the apps (``engine.shards.app_shard``): every target is owned by exactly one
replica and synced once, an action asked of the other replica is carried out by the owner,
and when one replica stops the other takes its part over and applies the next commit there."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client as k8s

from engine.hub.hub import Hub
from engine.model import SyncStatus, TargetKey
from engine.shards import app_shard, app_shards, assignment
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    at_once,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    push_webhook,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(240)
LEASES = "fleetsync-split-test"
PARTS = 2
APPS = [f"split-{i}" for i in range(8)]
REPLICAS = {"a": "replica-a", "b": "replica-b"}


def _app(name: str, repo: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "fleetsync.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name},
        "spec": {"project": "default",
                 "source": {"repoURL": repo, "targetRevision": "main", "path": "app"},
                 "destination": {"namespace": name, "clusterSelector": {}},
                 "syncPolicy": {"automated": {"prune": True},
                                "syncOptions": ["CreateNamespace=true",
                                                "timeout.reconcile=5s"]}}})


def _owns(hub: Hub, key: TargetKey) -> bool:
    return hub.ownership.owns(key)


async def test_two_replicas_share_one_cluster_split_by_app(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path, pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = local_clusters[0]
    keys = [TargetKey(app, cluster.name) for app in APPS]
    owner = assignment(app_shards(cluster.name, PARTS), REPLICAS.values())
    expected = {key: owner[app_shard(cluster.name, key.app, PARTS)] for key in keys}
    assert set(expected.values()) == set(REPLICAS.values())  # both get a part of the apps
    monkeypatch.setenv("FLEETSYNC_DATABASE_URL", pg_dsn)
    for who, identity in REPLICAS.items():
        monkeypatch.setenv(f"REPLICA_{who.upper()}", identity)
    upstream = new_upstream(git_daemon, tmp_path, "split",
                            {"app/cm.yaml": configmap_yaml("settings", {"colour": "blue"})})
    apps = {f"{app}.yaml": _app(app, upstream.url) for app in APPS}
    directories = []
    for who in REPLICAS:
        directory = hub_dir(tmp_path / who, [cluster], apps, extra={
            "store": {"postgres": {"dsnEnv": "FLEETSYNC_DATABASE_URL"}},
            "scaleOut": {"leaseCluster": cluster.name, "namespace": LEASES,
                         "identityEnv": f"REPLICA_{who.upper()}", "leaseDuration": "3s"}})
        registration = directory.root / "clusters.yaml"
        entries = yaml.safe_load(registration.read_text())
        entries["clusters"][0]["appShards"] = PARTS
        registration.write_text(yaml.safe_dump(entries))
        directories.append(directory)
    async with cluster.api_client() as api:
        await k8s.CoreV1Api(api).create_namespace(k8s.V1Namespace(
            metadata=k8s.V1ObjectMeta(name=LEASES)))
    try:
        async with running_hub(directories[1]) as b:
            async with running_hub(directories[0]) as a:
                hubs = {REPLICAS["a"]: a, REPLICAS["b"]: b}

                async def divided() -> bool:
                    return all(_owns(hubs[who], key) and not any(
                        _owns(h, key) for name, h in hubs.items() if name != who)
                        for key, who in expected.items())  # fmt: skip

                await eventually(divided, within=30, what="the apps divided by shard")

                async def all_synced() -> bool:
                    for key in keys:
                        status = await status_of(a, key.app, key.cluster)
                        if status is None or status.sync is not SyncStatus.SYNCED:
                            return False
                    return True

                await eventually(all_synced, within=90, what="every target synced")
                for key in keys:  # synced once, by its owner alone
                    assert len(await a.store.history(key)) == 1, key

                # A sync asked of a for an app of b's part is carried out by b.
                other = next(k for k, who in expected.items() if who == REPLICAS["b"])
                assert await a.control.request_sync(app=other.app, cluster=other.cluster,
                                                    trigger="manual:tester") == [other]

                async def forwarded() -> bool:
                    entries = await a.store.history(other)
                    return any(e.trigger == "manual:tester" for e in entries)

                await eventually(forwarded, within=20, what="b ran the sync a was asked for")

            # a stopped (and let its Leases go): b takes its part over.
            await eventually(lambda: at_once(all(_owns(b, key) for key in keys)), within=20,
                             what="b reconciles every app")
            upstream.commit({"app/cm.yaml": configmap_yaml("settings", {"colour": "red"})},
                            "red")
            upstream.push("main")
            await push_webhook(directories[1].url, upstream)
            for app in APPS:
                async def red(namespace: str = app) -> bool:
                    return await configmap_data(cluster, namespace, "settings") == {
                        "colour": "red"}

                await eventually(red, within=30, what=f"red in {app}")
    finally:
        await clean_up(cluster, namespaces=APPS, apps=APPS)
        async with cluster.api_client() as api:
            await k8s.CoreV1Api(api).delete_namespace(LEASES)
