"""A periodic resync of a target that nothing touched costs no render and no API write,
from the first one after its first sync on; one whose objects drifted compares again."""

from __future__ import annotations

from pathlib import Path

from kubernetes_asyncio import client

from engine.model import HealthStatus, SyncStatus, TargetKey
from engine.model.reconciles import Outcome, Trigger
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import eventually, hub_dir, running_hub

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: quiet}
spec:
  project: default
  source: {repoURL: REPO, targetRevision: main, path: app}
  destination: {server: https://kubernetes.default.svc, namespace: quiet-ns}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {colour: blue}
"""


async def test_periodic_resync_of_an_untouched_target_renders_and_writes_nothing(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    upstream = new_upstream(git_daemon, tmp_path, "quiet", {"app/cm.yaml": CONFIGMAP})
    directory = hub_dir(tmp_path / "hub", local_clusters,
                        {"quiet.yaml": APP.replace("REPO", upstream.url)})
    key = TargetKey("quiet", cluster.name)
    async with cluster.api_client() as api, running_hub(directory) as hub:
        core = client.CoreV1Api(api)

        async def synced() -> bool:
            status = await hub.store.get_status(key)
            return (status is not None and status.sync is SyncStatus.SYNCED
                    and status.health is HealthStatus.HEALTHY)

        await eventually(synced, within=60, what="quiet Synced and Healthy")

        # The app's kinds were watched before its first sync, so that sync's status already
        # holds the live version: not even the first periodic resync compares again.
        status = await hub.store.get_status(key)
        assert status is not None and status.live_version is not None
        assert status.live_version == hub.live.version(key)
        before = (await core.read_namespaced_config_map("settings", "quiet-ns")).metadata
        renders = hub.renders.cache.stats.hits + hub.renders.cache.stats.misses
        history = await hub.store.history(key)

        assert await hub.runtime.reconcile(key, Trigger.PERIODIC) is Outcome.SUCCESS

        after = (await core.read_namespaced_config_map("settings", "quiet-ns")).metadata
        assert after.resource_version == before.resource_version
        assert hub.renders.cache.stats.hits + hub.renders.cache.stats.misses == renders
        assert await hub.store.history(key) == history

        # An object changed by someone else makes the next periodic resync compare and heal.
        await core.patch_namespaced_config_map(
            "settings", "quiet-ns", {"data": {"colour": "red"}}, field_manager="kubectl-edit",
            _content_type="application/merge-patch+json",
        )

        async def healed() -> bool:
            live = await core.read_namespaced_config_map("settings", "quiet-ns")
            return bool(live.data == {"colour": "blue"})

        await eventually(healed, within=10, what="ConfigMap healed back to blue")
        await core.delete_namespace("quiet-ns")
