"""Argo CD's resource hooks on a real cluster (kwok runs the Jobs' pods: they succeed, or fail
when labelled ``kwok.fleetsync.io/fail``): a PreSync migration Job completes before the
Deployment is created, a PostSync Job runs after it and is deleted on success, a failing
PreSync stops the sync before anything is applied and runs the SyncFail hook, hooks stay out
of the inventory and are never pruned, and a generateName hook is a new Job each run."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from engine.apply import sync
from engine.clusters import ClusterClient
from engine.model import ConditionReason, OperationPhase, ResourceKey
from engine.model.results import HookStatus, ResultCode
from tests.integration.sync.conftest import deployment, rendering

pytestmark = pytest.mark.timeout(120)


def job(name: str, hook: str, *, fail: bool = False, generate: bool = False,
        delete: str = "") -> dict[str, Any]:  # fmt: skip
    """A Job hook whose pod succeeds (or fails: the Job then fails, no retry)."""
    annotations = {"argocd.argoproj.io/hook": hook}
    if delete:
        annotations["argocd.argoproj.io/hook-delete-policy"] = delete
    labels = {"kwok.fleetsync.io/fail": "true"} if fail else {}
    meta: dict[str, Any] = {"annotations": annotations}
    meta["generateName" if generate else "name"] = name
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "main", "image": "busybox:1.36"}]}}}}


async def _job(kube: k8s.ApiClient, namespace: str, name: str) -> Any:
    try:
        return await k8s.BatchV1Api(kube).read_namespaced_job(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise


async def test_a_presync_migration_gates_the_deployment_and_postsync_follows(
    client: ClusterClient, kube: k8s.ApiClient, namespace: str, app: str
) -> None:
    objects = [deployment("web"), job("migrate", "PreSync"),
               job("smoke", "PostSync", delete="HookSucceeded")]
    result = await sync(app=app, client=client, namespace=namespace, render=rendering(objects))

    assert result.phase is OperationPhase.SUCCEEDED, result.message
    assert [(h.phase, h.key.name, h.status) for h in result.hooks] == [
        ("PreSync", "migrate", HookStatus.SUCCEEDED), ("PostSync", "smoke", HookStatus.SUCCEEDED)]
    migrate = await _job(kube, namespace, "migrate")
    web = await k8s.AppsV1Api(kube).read_namespaced_deployment("web", namespace)
    assert migrate.status.completion_time <= web.metadata.creation_timestamp
    assert await _job(kube, namespace, "smoke") is None  # HookSucceeded
    assert set(result.inventory.keys()) == {ResourceKey("apps", "Deployment", namespace, "web")}
    assert "hooks: PreSync Job/migrate Succeeded, PostSync Job/smoke Succeeded" in result.message

    # The next sync runs the hooks again (the previous migrate Job deleted before it is
    # created anew, BeforeHookCreation being the default), and prunes neither.
    again = await sync(app=app, client=client, namespace=namespace, render=rendering(objects))
    assert again.phase is OperationPhase.SUCCEEDED, again.message
    rerun = await _job(kube, namespace, "migrate")
    assert rerun.metadata.uid != migrate.metadata.uid
    assert not [r for r in again.resources if r.code is ResultCode.PRUNED]

    # Dropped from Git, a hook's Job is left alone: hooks are never pruned.
    dropped = await sync(app=app, client=client, namespace=namespace,
                         render=rendering([deployment("web")]))
    assert dropped.phase is OperationPhase.SUCCEEDED, dropped.message
    assert (await _job(kube, namespace, "migrate")).metadata.uid == rerun.metadata.uid


async def test_a_failing_presync_stops_the_sync_and_runs_the_syncfail_hook(
    client: ClusterClient, kube: k8s.ApiClient, namespace: str, app: str
) -> None:
    objects = [deployment("web"), job("migrate", "PreSync", fail=True),
               job("notify", "SyncFail"), job("smoke", "PostSync")]
    result = await sync(app=app, client=client, namespace=namespace, render=rendering(objects))

    assert result.phase is OperationPhase.FAILED
    [condition] = result.conditions
    assert condition.reason is ConditionReason.HOOK_FAILED
    assert "PreSync hook Job/migrate: Job failed" in condition.message
    assert [(h.phase, h.key.name, h.status) for h in result.hooks] == [
        ("PreSync", "migrate", HookStatus.FAILED), ("SyncFail", "notify", HookStatus.SUCCEEDED)]
    assert {r.code for r in result.resources} == {ResultCode.NOT_APPLIED}
    with pytest.raises(ApiException) as missing:
        await k8s.AppsV1Api(kube).read_namespaced_deployment("web", namespace)
    assert missing.value.status == 404
    assert await _job(kube, namespace, "smoke") is None  # PostSync never ran


async def test_a_generate_name_hook_is_a_new_object_each_run(
    client: ClusterClient, kube: k8s.ApiClient, namespace: str, app: str
) -> None:
    objects = [deployment("web"), job("seed-", "Sync", generate=True)]
    names = []
    for _ in range(2):
        result = await sync(app=app, client=client, namespace=namespace,
                            render=rendering(objects))
        assert result.phase is OperationPhase.SUCCEEDED, result.message
        [hook] = result.hooks
        names.append(hook.key.name)
    assert names[0] != names[1] and all(n.startswith("seed-") for n in names)
    listed = await k8s.BatchV1Api(kube).list_namespaced_job(namespace)
    assert sorted(j.metadata.name for j in listed.items) == sorted(names)
