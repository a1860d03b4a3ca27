"""diff_object against real local clusters: SSA dry runs, kubectl-edit drift, Secrets."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kubernetes_asyncio import client

from engine.diff import IgnoreRule, diff_object, format_diff
from engine.model import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    TRACKING_ANNOTATION,
    ResourceKey,
    SyncStatus,
    tracking_id,
)

pytestmark = pytest.mark.cluster

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"


def _tracked(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    meta.setdefault("labels", {})[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    meta.setdefault("annotations", {})[TRACKING_ANNOTATION] = tracking_id(
        "demo", ResourceKey.of(obj)
    )
    return obj


def _deployment(name: str, namespace: str) -> dict[str, Any]:
    return _tracked(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "nginx:1.25",
                                "ports": [{"containerPort": 80, "name": "http"}],
                            }
                        ]
                    },
                },
            },
        }
    )


async def _json(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(await response.read())
    return body


async def _apply_deployment(apps: client.AppsV1Api, body: dict[str, Any], *, dry_run: bool) -> Any:
    meta = body["metadata"]
    extra = {"dry_run": "All"} if dry_run else {}
    return await _json(
        await apps.patch_namespaced_deployment(
            meta["name"],
            meta["namespace"],
            body,
            field_manager="fleetsync",
            force=True,
            _content_type=APPLY,
            _preload_content=False,
            **extra,
        )
    )


async def _live_deployment(apps: client.AppsV1Api, name: str, namespace: str) -> Any:
    return await _json(
        await apps.read_namespaced_deployment(name, namespace, _preload_content=False)
    )


async def test_reapplied_deployment_is_synced_as_server_defaults_cancel(
    kube: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(kube)
    desired = _deployment(f"d-{uuid.uuid4().hex[:6]}", namespace)
    await _apply_deployment(apps, desired, dry_run=False)
    predicted = await _apply_deployment(apps, desired, dry_run=True)
    live = await _live_deployment(apps, desired["metadata"]["name"], namespace)

    with_dry_run = diff_object(desired=desired, predicted=predicted, live=live)
    without_dry_run = diff_object(desired=desired, predicted=None, live=live)

    assert (with_dry_run.status, with_dry_run.paths) == (SyncStatus.SYNCED, ())
    assert (without_dry_run.status, without_dry_run.paths) == (SyncStatus.SYNCED, ())


async def test_image_changed_by_kubectl_edit_is_attributed_with_time(
    kube: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(kube)
    name = f"d-{uuid.uuid4().hex[:6]}"
    desired = _deployment(name, namespace)
    await _apply_deployment(apps, desired, dry_run=False)
    edit = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.26",
                            "ports": [{"containerPort": 80, "name": "http"}],
                        }
                    ]
                }
            }
        }
    }
    await apps.patch_namespaced_deployment(
        name, namespace, edit, field_manager="kubectl-edit", _content_type=MERGE
    )
    predicted = await _apply_deployment(apps, desired, dry_run=True)
    live = await _live_deployment(apps, name, namespace)

    diff = diff_object(desired=desired, predicted=predicted, live=live)

    image = ".spec.template.spec.containers[name=web].image"
    assert (diff.status, diff.reason, diff.paths) == (SyncStatus.OUT_OF_SYNC, "Drift", (image,))
    [owner] = diff.drift
    assert (owner.path, owner.manager, owner.operation) == (image, "kubectl-edit", "Update")
    assert owner.time
    changed = [line for line in diff.unified.splitlines() if line[:1] in "+-"][2:]
    assert [(line[0], line.split("image: ")[1]) for line in changed] == [
        ("-", "nginx:1.26"),
        ("+", "nginx:1.25"),
    ]
    assert f"{image} changed by kubectl-edit (Update) at {owner.time}" in format_diff([diff])


async def test_secret_changed_out_of_band_shows_the_key_never_the_value(
    kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    name = f"s-{uuid.uuid4().hex[:6]}"
    desired = _tracked(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {"username": "fleet-admin-7f3"},
            "data": {"password": "Z2l0LXNlY3JldC05YTE="},  # git-secret-9a1
        }
    )

    async def apply(dry_run: bool) -> dict[str, Any]:
        extra = {"dry_run": "All"} if dry_run else {}
        return await _json(
            await core.patch_namespaced_secret(
                name,
                namespace,
                desired,
                field_manager="fleetsync",
                force=True,
                _content_type=APPLY,
                _preload_content=False,
                **extra,
            )
        )

    await apply(dry_run=False)
    await core.patch_namespaced_secret(  # hand-edited-4c2
        name,
        namespace,
        {"data": {"password": "aGFuZC1lZGl0ZWQtNGMy"}},
        field_manager="kubectl-edit",
        _content_type=MERGE,
    )
    predicted = await apply(dry_run=True)
    live = await _json(await core.read_namespaced_secret(name, namespace, _preload_content=False))

    diff = diff_object(desired=desired, predicted=predicted, live=live)
    output = format_diff([diff]) + repr(diff)

    assert (diff.status, diff.paths) == (SyncStatus.OUT_OF_SYNC, (".data.password",))
    assert diff.drift[0].manager == "kubectl-edit"
    assert "+  password: ++++++++ (changed)" in diff.unified
    for secret in (
        "fleet-admin-7f3",
        "ZmxlZXQtYWRtaW4tN2Yz",
        "git-secret-9a1",
        "Z2l0LXNlY3JldC05YTE=",
        "hand-edited-4c2",
        "aGFuZC1lZGl0ZWQtNGMy",
    ):
        assert secret not in output


async def test_replicas_scaled_by_another_manager_are_ignored_by_managed_fields_managers(
    kube: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(kube)
    name = f"d-{uuid.uuid4().hex[:6]}"
    desired = _deployment(name, namespace)
    await _apply_deployment(apps, desired, dry_run=False)
    await apps.patch_namespaced_deployment_scale(
        name,
        namespace,
        {"spec": {"replicas": 3}},
        field_manager="autoscaler-sim",
        _content_type=MERGE,
    )
    predicted = await _apply_deployment(apps, desired, dry_run=True)
    live = await _live_deployment(apps, name, namespace)
    rule = IgnoreRule.from_argo(
        {"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["autoscaler-sim"]}
    )

    plain = diff_object(desired=desired, predicted=predicted, live=live)
    ignored = diff_object(desired=desired, predicted=predicted, live=live, ignore=[rule])

    assert plain.paths == (".spec.replicas",)
    assert (plain.drift[0].manager, plain.drift[0].operation) == ("autoscaler-sim", "Update")
    assert (ignored.status, ignored.paths) == (SyncStatus.SYNCED, ())
