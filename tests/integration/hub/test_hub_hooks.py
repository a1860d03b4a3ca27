"""Hooks through the hub, from an Argo CD Application as its users write it: a PreSync
migration Job gates the app's Deployment on each new commit, and a commit whose migration
fails is stopped there with the Job's failure in the status, runs its SyncFail hook, and is
not tried again by automated sync until the next commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client as k8s

from engine.model import OperationPhase, SyncStatus, TargetKey
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    eventually,
    hub_dir,
    push_webhook,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(200)
NAMESPACE = "hooked"


def _job(name: str, hook: str, *, fail: bool = False) -> str:
    labels = {"kwok.fleetsync.io/fail": "true"} if fail else {}
    return yaml.safe_dump({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "annotations": {"argocd.argoproj.io/hook": hook}},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"labels": labels},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "main", "image": "busybox:1.36"}]}}}})


def _deployment(image: str) -> str:
    labels = {"app": "web"}
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "main", "image": image}]}}}})


async def _image(cluster: TestCluster) -> str | None:
    async with cluster.api_client() as api:
        try:
            found = await k8s.AppsV1Api(api).read_namespaced_deployment("web", NAMESPACE)
        except k8s.ApiException as err:
            if err.status == 404:
                return None
            raise
    return str(found.spec.template.spec.containers[0].image)


async def test_a_presync_migration_gates_each_commit_and_a_failed_one_stops_it(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    key = TargetKey("hooked", cluster.name)
    upstream = new_upstream(git_daemon, tmp_path, "hooked", {
        "app/deployment.yaml": _deployment("web:1"),
        "app/migrate.yaml": _job("migrate", "PreSync"),
        "app/notify.yaml": _job("notify", "SyncFail")})
    apps = {"hooked.yaml": application_yaml("hooked", upstream.url, "app", NAMESPACE)}
    directory = hub_dir(tmp_path / "hub", local_clusters[:1], apps)
    try:
        async with running_hub(directory) as hub:
            async def at(image: str) -> bool:
                status = await status_of(hub, "hooked", cluster.name)
                return (status is not None and status.sync is SyncStatus.SYNCED
                        and await _image(cluster) == image)

            await eventually(lambda: at("web:1"), within=60, what="web:1 synced")
            [first] = await hub.store.history(key)
            assert "hooks: PreSync Job/migrate Succeeded" in first.message

            # The next commit's migration fails: web stays at 1, SyncFail runs.
            upstream.commit({"app/deployment.yaml": _deployment("web:2"),
                             "app/migrate.yaml": _job("migrate", "PreSync", fail=True)}, "2")
            upstream.push("main")
            await push_webhook(directory.url, upstream)

            async def failed() -> bool:
                status = await status_of(hub, "hooked", cluster.name)
                return (status is not None and status.operation is not None
                        and status.operation.phase is OperationPhase.FAILED)

            await eventually(failed, within=60, what="the failed migration recorded")
            status = await status_of(hub, "hooked", cluster.name)
            assert status is not None and status.sync is SyncStatus.OUT_OF_SYNC
            assert status.operation is not None
            message = status.operation.message
            assert message.startswith("HookFailed: PreSync hook Job/migrate: Job failed"), message
            assert "hooks: PreSync Job/migrate Failed, SyncFail Job/notify Succeeded" in message
            assert await _image(cluster) == "web:1"
            assert "Complete" in await _job_conditions(cluster, "notify")
            # Resyncs every 5 s compare it, but do not run the failed migration again.
            await asyncio.sleep(12)
            assert len(await hub.store.history(key)) == 2

            # A fixed commit runs it again and goes through.
            upstream.commit({"app/migrate.yaml": _job("migrate", "PreSync")}, "fixed")
            upstream.push("main")
            await push_webhook(directory.url, upstream)
            await eventually(lambda: at("web:2"), within=60, what="web:2 synced")
    finally:
        await clean_up(cluster, namespaces=[NAMESPACE], apps=["hooked"])


async def _job_conditions(cluster: TestCluster, name: str) -> set[str]:
    """The Job's conditions that hold."""
    async with cluster.api_client() as api:
        found = await k8s.BatchV1Api(api).read_namespaced_job(name, NAMESPACE)
    return {c.type for c in found.status.conditions or [] if c.status == "True"}
