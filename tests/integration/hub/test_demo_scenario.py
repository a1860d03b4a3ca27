"""The demo scenario of DESIGN.md, end to end: Argo CD files as they are, a real Git repo
served by git daemon, a real cluster, the hub running.

Both apps become Synced and Healthy; a Deployment deleted by hand comes back within 5 s;
a commit is live within the 30 s reconcile interval without a webhook and within 5 s with
one, and a webhook re-renders only the apps whose files changed; a resource removed from
Git is pruned; broken YAML leaves the running objects alone
and shows the error.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from engine.model import HealthStatus, SyncStatus
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    demo_apps,
    demo_files,
    eventually,
    hub_dir,
    push_webhook,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(400)
APPS = ("demo-dev", "demo-prod")


async def _reset_namespaces(core: client.CoreV1Api) -> None:
    """Leftovers of an earlier run on reused clusters would hide what this run does."""
    for name in ("dev", "prod"):
        try:
            await core.delete_namespace(name)
        except ApiException as err:
            if err.status != 404:
                raise

    async def gone() -> bool:
        names = {ns.metadata.name for ns in (await core.list_namespace()).items}
        return not names & {"dev", "prod"}

    await eventually(gone, within=90, what="namespaces dev and prod deleted")


async def _app_name(apps: client.AppsV1Api, namespace: str) -> str | None:
    try:
        deployment = await apps.read_namespaced_deployment(f"{namespace}-demo", namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    env = deployment.spec.template.spec.containers[0].env or []
    return next((e.value for e in env if e.name == "APP_NAME"), None)


def _with_app_name(files: dict[str, str], overlay: str, old: str, new: str) -> dict[str, str]:
    path = f"overlays/{overlay}/kustomization.yaml"
    changed = files[path].replace(f'value: "{old}"', f'value: "{new}"')
    assert changed != files[path]
    return {path: changed}


async def test_demo_scenario_end_to_end(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    files = demo_files()
    upstream = new_upstream(git_daemon, tmp_path, "argocd-kustomize-demo", files)
    directory = hub_dir(tmp_path / "hub", local_clusters, demo_apps(upstream.url),
                        default=cluster.name)
    async with cluster.api_client() as api:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        await _reset_namespaces(core)
        async with running_hub(directory) as hub:

            async def both_synced_and_healthy() -> bool:
                statuses = [await status_of(hub, app, cluster.name) for app in APPS]
                return all(s is not None and s.sync is SyncStatus.SYNCED
                           and s.health is HealthStatus.HEALTHY for s in statuses)

            # 1. Both apps become Synced and Healthy.
            await eventually(both_synced_and_healthy, within=60, what="demo apps Synced+Healthy")
            assert await _app_name(apps, "dev") == "Dev"
            assert await _app_name(apps, "prod") == "Prod"

            # 2. A Deployment deleted by hand is back within 5 s (selfHeal).
            await apps.delete_namespaced_deployment("dev-demo", "dev")
            started = time.monotonic()
            await eventually(lambda: _app_name(apps, "dev"), within=5,
                             what="dev-demo recreated by self-heal")
            heal_seconds = time.monotonic() - started

            # 3. A commit is live within the 30 s interval, without a webhook.
            upstream.commit(_with_app_name(files, "dev", "Dev", "Dev-2"), "dev: Dev-2")
            upstream.push("main")
            started = time.monotonic()
            # The next resync starts at most 30 s after the last one; allow it 3 s to finish.
            await eventually(lambda: _has(apps, "dev", "Dev-2"), within=33,
                             what="APP_NAME Dev-2 live by polling", every=0.5)
            poll_seconds = time.monotonic() - started

            # 4. With the webhook, a commit is live within 5 s.
            upstream.commit(_with_app_name(files, "prod", "Prod", "Prod-2"), "prod: Prod-2")
            upstream.push("main")
            started = time.monotonic()
            reply = await push_webhook(directory.url, upstream)
            assert reply["refreshed"] == 1  # only demo-prod reads overlays/prod
            await eventually(lambda: _has(apps, "prod", "Prod-2"), within=5,
                             what="APP_NAME Prod-2 live by webhook")
            webhook_seconds = time.monotonic() - started

            # 5. A commit removing the Service prunes it.
            base = files["base/deployment.yaml"]
            upstream.commit({"base/deployment.yaml": base.split("\n---\n")[0] + "\n"},
                            "drop the Service")
            upstream.push("main")
            assert (await push_webhook(directory.url, upstream))["refreshed"] == 2
            for namespace in ("dev", "prod"):
                await eventually(lambda ns=namespace: _service_gone(core, ns), within=15,
                                 what=f"Service {namespace}-demo pruned")
            assert await _app_name(apps, "dev") == "Dev-2"

            # 6. Broken YAML: the running objects stay, and the error is shown.
            before = await apps.read_namespaced_deployment("dev-demo", "dev")
            upstream.commit({"overlays/dev/kustomization.yaml": "resources: [../../base\n"},
                            "broken")
            upstream.push("main")
            await push_webhook(directory.url, upstream)

            async def render_error_shown() -> bool:
                status = await status_of(hub, "demo-dev", cluster.name)
                return status is not None and any(
                    c.reason == "RenderFailed" and "kustomization.yaml" in c.message
                    for c in status.conditions
                )

            await eventually(render_error_shown, within=15, what="RenderFailed condition")
            after = await apps.read_namespaced_deployment("dev-demo", "dev")
            assert after.metadata.resource_version == before.metadata.resource_version
            prod = await status_of(hub, "demo-prod", cluster.name)
            assert prod is not None and prod.sync is SyncStatus.SYNCED
            metrics = hub.metrics()
            assert metrics.syncs.get("Succeeded", 0) >= 5  # 2 first syncs, heal, 2 commits
            assert metrics.sync_duration.count == sum(metrics.syncs.values())
            assert metrics.drift_events >= 1
            # Where the reconciles spent their time: each step a sync takes was charged.
            steps = metrics.step_seconds
            for step in ("open", "resolve", "render", "project", "watches", "compare", "begin",
                         "execute", "status", "finish", "close"):
                assert steps.get(step, 0.0) > 0.0, step
            assert steps["execute"] < sum(steps.values())

    print(f"\ndemo: self-heal {heal_seconds:.2f}s, commit by polling {poll_seconds:.1f}s, "
          f"commit by webhook {webhook_seconds:.2f}s")


async def _has(apps: client.AppsV1Api, namespace: str, value: str) -> bool:
    return await _app_name(apps, namespace) == value


async def _service_gone(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        await core.read_namespaced_service(f"{namespace}-demo", namespace)
    except ApiException as err:
        return err.status == 404
    return False


def test_demo_apps_are_the_argo_cd_files_unchanged_but_for_repo_url() -> None:
    apps = demo_apps("git://127.0.0.1:1/x.git")
    assert set(apps) == {"argocd-dev-application.yaml", "argocd-prod-application.yaml",
                         "project.yaml"}
    assert all("argoproj.io/v1alpha1" in text for text in apps.values())
    assert asyncio.iscoroutinefunction(test_demo_scenario_end_to_end)
