"""The hub's watches against a real API server: a watch the server ends (its timeout) goes
on from the last version it saw, without listing every object again (a list of a large
cluster is the most expensive read there is), and still sees what changes after."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client as k8s

from engine.apply import sync
from engine.clusters import ClusterPool, ClusterRegistry, watch
from engine.clusters.watch import LiveWatcher
from engine.model import TargetKey
from tests.support.clusters import TestCluster
from tests.support.hubkit import eventually

pytestmark = pytest.mark.timeout(60)
KIND = ("v1", "ConfigMap")


async def test_a_watch_the_server_ends_resumes_without_listing_again(
    cluster: TestCluster, kube: k8s.ApiClient, namespace: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watch, "WATCH_SECONDS", 1)  # the server ends each watch after 1 s
    lists = 0
    real_list = LiveWatcher._list

    async def counted(self: LiveWatcher, *args: Any) -> str:
        nonlocal lists
        lists += 1
        return await real_list(self, *args)

    monkeypatch.setattr(LiveWatcher, "_list", counted)
    registration = tmp_path / "clusters.yaml"
    registration.write_text(yaml.safe_dump({"clusters": [
        {"name": cluster.name, "kubeconfig": str(cluster.kubeconfig)}]}))
    target = TargetKey("resumed", cluster.name)
    drifts: list[str] = []

    async def render() -> list[dict[str, Any]]:
        return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "resumed"},
                 "data": {"colour": "blue"}}]

    async with ClusterPool(ClusterRegistry.load(registration)) as pool:
        await sync(app=target.app, client=await pool.client(cluster.name), namespace=namespace,
                   render=render)
        watcher = LiveWatcher(pool=pool, on_drift=lambda t, key, why: drifts.append(why),
                              on_health=lambda *_: None)
        running = asyncio.create_task(watcher.run())
        try:
            await watcher.ready(target, frozenset({KIND}), within=10)
            await asyncio.sleep(4.5)  # four watches ended by the server, at least
            assert lists == 1
            await k8s.CoreV1Api(kube).patch_namespaced_config_map(
                "resumed", namespace, {"data": {"colour": "red"}}, field_manager="kubectl-edit")
            await eventually(lambda: asyncio.sleep(0, drifts), within=10,
                             what="the change seen by the resumed watch")
            assert lists == 1 and "kubectl-edit" in drifts[0]
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
