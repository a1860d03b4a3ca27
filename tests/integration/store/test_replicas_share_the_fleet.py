"""Two hub replicas on one PostgreSQL store divide two real clusters through Leases: each
cluster is reconciled by exactly one of them (every target synced once, one history entry
each), an action asked of one replica for the other's cluster is carried out by the other,
and when one replica stops the other takes its clusters over and applies the next commit
there."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client as k8s

from engine.hub.hub import Hub
from engine.model import SyncStatus, TargetKey
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
LEASES = "fleetsync-replicas-test"


def _fleet_app(repo: str) -> str:
    """One fleetsync Application on every registered cluster."""
    return yaml.safe_dump({
        "apiVersion": "fleetsync.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "shared"},
        "spec": {"project": "default",
                 "source": {"repoURL": repo, "targetRevision": "main", "path": "app"},
                 "destination": {"namespace": "replica-app", "clusterSelector": {}},
                 "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                "syncOptions": ["CreateNamespace=true",
                                                "timeout.reconcile=5s"]}}})


def _owned(hub: Hub) -> list[str]:
    return hub.ownership.owned()  # type: ignore[attr-defined]


async def test_two_replicas_divide_the_clusters_and_one_takes_over_when_the_other_stops(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path, pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = sorted(c.name for c in local_clusters[:2])
    monkeypatch.setenv("FLEETSYNC_DATABASE_URL", pg_dsn)
    monkeypatch.setenv("REPLICA_A", "replica-a")
    monkeypatch.setenv("REPLICA_B", "replica-b")
    upstream = new_upstream(git_daemon, tmp_path, "replicas",
                            {"app/cm.yaml": configmap_yaml("settings", {"colour": "blue"})})
    directories = [
        hub_dir(tmp_path / who, local_clusters[:2], {"shared.yaml": _fleet_app(upstream.url)},
                extra={"store": {"postgres": {"dsnEnv": "FLEETSYNC_DATABASE_URL"}},
                       "scaleOut": {"leaseCluster": local_clusters[0].name,
                                    "namespace": LEASES, "identityEnv": env,
                                    "leaseDuration": "3s"}})
        for who, env in (("a", "REPLICA_A"), ("b", "REPLICA_B"))]  # fmt: skip
    keys = [TargetKey("shared", name) for name in names]
    async with local_clusters[0].api_client() as api:
        await k8s.CoreV1Api(api).create_namespace(k8s.V1Namespace(
            metadata=k8s.V1ObjectMeta(name=LEASES)))
    try:
        async with running_hub(directories[1]) as b:
            async with running_hub(directories[0]) as a:
                async def divided() -> bool:
                    owned_a, owned_b = _owned(a), _owned(b)
                    return (sorted(owned_a + owned_b) == names and bool(owned_a)
                            and bool(owned_b))

                await eventually(divided, within=30, what="the clusters divided")

                async def all_synced() -> bool:
                    for key in keys:
                        status = await status_of(a, key.app, key.cluster)
                        if status is None or status.sync is not SyncStatus.SYNCED:
                            return False
                    return True

                await eventually(all_synced, within=60, what="every target synced")
                for key in keys:  # synced once, by one replica
                    assert len(await b.store.history(key)) == 1, key
                assert not set(_owned(a)) & set(_owned(b))

                # A sync asked of a for a cluster of b's is carried out by b.
                other = next(k for k in keys if k.cluster in _owned(b))
                assert await a.control.request_sync(app="shared", cluster=other.cluster,
                                                    trigger="manual:tester") == [other]

                async def forwarded() -> bool:
                    entries = await a.store.history(other)
                    return any(e.trigger == "manual:tester" for e in entries)

                await eventually(forwarded, within=20, what="b ran the sync a was asked for")

            # a stopped (and let its Leases go): b takes its clusters over.
            await eventually(lambda: at_once(_owned(b) == names), within=20,
                             what="b reconciles every cluster")
            upstream.commit({"app/cm.yaml": configmap_yaml("settings", {"colour": "red"})},
                            "red")
            upstream.push("main")
            await push_webhook(directories[1].url, upstream)
            for cluster in local_clusters[:2]:
                async def red(c: TestCluster = cluster) -> bool:
                    return await configmap_data(c, "replica-app", "settings") == {
                        "colour": "red"}

                await eventually(red, within=30, what=f"red on {cluster.name}")
    finally:
        for cluster in local_clusters[:2]:
            await clean_up(cluster, namespaces=["replica-app"], apps=["shared"])
        async with local_clusters[0].api_client() as api:
            await k8s.CoreV1Api(api).delete_namespace(LEASES)
