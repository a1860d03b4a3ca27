"""A periodic resync of a target that nothing touched costs no render and no API write,
from the first one after its first sync on; one whose objects drifted compares again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from engine.hub.catalog import CatalogChange
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
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
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

        # A settled target's periodic resync never reaches the reconciler (no status read,
        # no Git, no render); one that something invalidated does, and finds it quiet.
        reconciler = hub.runtime._reconciler
        assert reconciler is not None
        reached: list[TargetKey] = []
        real = reconciler.reconcile

        async def counted(target: TargetKey, *args: Any, **kwargs: Any) -> Any:
            reached.append(target)
            return await real(target, *args, **kwargs)

        monkeypatch.setattr(reconciler, "reconcile", counted)
        assert await hub.runtime.reconcile(key, Trigger.PERIODIC) is Outcome.SUCCESS
        assert reached == []
        assert hub.renders.cache.stats.hits + hub.renders.cache.stats.misses == renders
        # Invalidated, as a refresh does, it compares (a cached render) and sends nothing:
        # the ConfigMap agreed with this manifest when the hub wrote it and the watch has
        # not seen it change since, and the inventory is known the same way.
        hub_client = await hub.pool.client(cluster.name)
        requests: list[str] = []
        send = hub_client.request

        async def noted(**kwargs: Any) -> Any:
            requests.append(f"{kwargs['method']} {kwargs['path']}")
            return await send(**kwargs)

        monkeypatch.setattr(hub_client, "request", noted)
        hub.runtime.invalidate(key)
        assert await hub.runtime.reconcile(key, Trigger.PERIODIC) is Outcome.SUCCESS
        assert reached == [key]
        assert requests == []
        # A hard refresh trusts no memory: the ConfigMap is dry-run again (and, as the watch
        # saw it just as the dry run leaves it, still not read).
        hub.runtime.forget_notes(key)  # what a hard refresh does beside dropping renders
        hub.runtime.invalidate(key)
        assert await hub.runtime.reconcile(key, Trigger.PERIODIC) is Outcome.SUCCESS
        settings = [r for r in requests if r.endswith("/namespaces/quiet-ns/configmaps/settings")]
        assert settings == ["PATCH /api/v1/namespaces/quiet-ns/configmaps/settings"]  # dry run
        requests.clear()
        hub.runtime.invalidate(key)
        assert await hub.runtime.reconcile(key, Trigger.PERIODIC) is Outcome.SUCCESS
        assert requests == []  # the dry run's agreement is remembered
        assert await hub.runtime.reconcile(key, Trigger.PERIODIC) is Outcome.SUCCESS
        assert reached == [key, key, key]  # settled again
        # A reloaded catalog (a project may have changed) sends every target through the
        # reconciler once, which re-checks the Application and its project.
        await hub.runtime.apply(CatalogChange(), hub.catalog.targets,
                                changed_clusters=frozenset())
        assert await hub.runtime.reconcile(key, Trigger.PERIODIC) is Outcome.SUCCESS
        assert reached == [key, key, key, key]

        after = (await core.read_namespaced_config_map("settings", "quiet-ns")).metadata
        assert after.resource_version == before.resource_version
        assert hub.renders.cache.stats.misses == 1
        assert hub.control.metrics().renders == {"rendered": 1, "cached": 3}
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
