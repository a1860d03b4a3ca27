"""Sync waves on a real cluster: a later wave is created only after the earlier is healthy."""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import watch

from engine.apply import SyncOptions, sync
from engine.clusters import ClusterClient
from engine.model import HealthStatus, OperationPhase
from tests.integration.sync.conftest import configmap, deployment, rendering


def _wave(obj: dict[str, Any], wave: int) -> dict[str, Any]:
    obj["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return obj


async def _watch_added(kube: k8s.ApiClient, namespace: str, seen: list[str]) -> None:
    apps, core = k8s.AppsV1Api(kube), k8s.CoreV1Api(kube)

    async def follow(lister: Any, kind: str) -> None:
        async with watch.Watch().stream(lister, namespace, timeout_seconds=60) as stream:
            async for event in stream:
                if event["type"] == "ADDED":
                    seen.append(f"{kind}/{event['object'].metadata.name}")

    async with asyncio.TaskGroup() as group:
        group.create_task(follow(apps.list_namespaced_deployment, "Deployment"))
        group.create_task(follow(core.list_namespaced_config_map, "ConfigMap"))


async def test_waves_are_applied_in_order_after_the_previous_is_healthy(
    client: ClusterClient, kube: k8s.ApiClient, namespace: str, app: str
) -> None:
    objects = [
        _wave(configmap("last"), 2),
        _wave(deployment("middle"), 1),
        _wave(configmap("first"), -1),
    ]
    seen: list[str] = []
    watcher = asyncio.create_task(_watch_added(kube, namespace, seen))
    await asyncio.sleep(0.5)
    try:
        result = await sync(
            app=app,
            client=client,
            namespace=namespace,
            render=rendering(objects),
            options=SyncOptions(wave_timeout=60),
        )
        # The sync returns once the last wave is written; its watch event may come later.
        for _ in range(200):
            if len([s for s in seen if s != "ConfigMap/kube-root-ca.crt"]) >= len(objects):
                break
            await asyncio.sleep(0.05)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    assert result.phase is OperationPhase.SUCCEEDED, result.message
    assert result.health is HealthStatus.HEALTHY
    created = [s for s in seen if s != "ConfigMap/kube-root-ca.crt"]
    assert created == ["ConfigMap/first", "Deployment/middle", "ConfigMap/last"]
    assert [r.wave for r in result.resources] == [-1, 1, 2]
