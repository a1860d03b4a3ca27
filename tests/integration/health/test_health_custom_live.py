"""Health rules and user Lua checks on objects as a real API server and controllers write them.

A PodDisruptionBudget's status comes from the disruption controller of the local control
plane; a custom resource's status is written through its status subresource, and the user's
check is declared in a fleetsync.yaml as Argo CD users write theirs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from engine.config.hub import load_config
from engine.health import assess
from engine.health.lua import LuaHealthChecks
from engine.model import HealthStatus
from tests.integration.health.test_health_live import _deployment, _reader, _until

pytestmark = pytest.mark.timeout(180)

TIMEOUT = 10  # seconds per API call
Obj = dict[str, Any]

CHECK = """
hs = {}
if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the backup controller"
  return hs
end
if obj.status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = "Backup failed: " .. (obj.status.message or "no message")
  return hs
end
if obj.status.phase == "Completed" then
  hs.status = "Healthy"
  hs.message = string.format("Backup of %d objects completed", obj.status.objects)
  return hs
end
return nil
"""


async def test_disruption_budgets_are_healthy_once_the_controller_computed_them(
    kube: client.ApiClient, namespace: str
) -> None:
    apps, policy = client.AppsV1Api(kube), client.PolicyV1Api(kube)
    await apps.create_namespaced_deployment(namespace, _deployment("web", replicas=2))
    web = _reader(apps.read_namespaced_deployment, "web", namespace)
    await _until(web, HealthStatus.HEALTHY, within=60)
    selector = {"matchLabels": {"app": "web"}}
    for name, rule in (("some", {"minAvailable": 1}), ("none", {"maxUnavailable": 0})):
        budget = {"metadata": {"name": name}, "spec": {"selector": selector, **rule}}
        await policy.create_namespaced_pod_disruption_budget(namespace, budget)
    some = _reader(policy.read_namespaced_pod_disruption_budget, "some", namespace)
    none = _reader(policy.read_namespaced_pod_disruption_budget, "none", namespace)
    allowed = await _until(some, HealthStatus.HEALTHY, within=60, contains="1 disruption allowed")
    assert allowed[-1].message == "1 disruption allowed (2 healthy Pods, 1 required)"
    blocked = await _until(none, HealthStatus.HEALTHY, within=60, contains="2 healthy Pods")
    assert blocked[-1].message.startswith("No disruption allowed (2 healthy Pods, 2 required)")


@pytest.fixture
async def backups(kube: client.ApiClient) -> AsyncIterator[str]:
    """A namespaced ``Backup`` kind with a status subresource, in a group of its own."""
    ext = client.ApiextensionsV1Api(kube)
    group = f"b{uuid.uuid4().hex[:8]}.health.fleetsync.test"
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    version = {"name": "v1", "served": True, "storage": True, "schema": schema,
               "subresources": {"status": {}}}  # fmt: skip
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"backups.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "backups", "singular": "backup", "kind": "Backup"},
            "versions": [version],
        },
    }
    await ext.create_custom_resource_definition(crd, _request_timeout=TIMEOUT)
    try:
        read = _reader(ext.read_custom_resource_definition, f"backups.{group}")
        await _until(read, HealthStatus.HEALTHY, within=30)
        yield group
    finally:
        await ext.delete_custom_resource_definition(f"backups.{group}", _request_timeout=TIMEOUT)


async def test_a_user_lua_check_judges_a_custom_resource_as_the_api_server_sends_it(
    kube: client.ApiClient, namespace: str, backups: str, tmp_path: Path
) -> None:
    (tmp_path / "health").mkdir()
    (tmp_path / "health" / "backup.lua").write_text(CHECK)
    key = f"{backups}_Backup"  # Argo CD's spelling of the key
    (tmp_path / "fleetsync.yaml").write_text(
        f"health:\n  customizations:\n    {key}: {{file: health/backup.lua}}\n"
    )
    checks = LuaHealthChecks(load_config(tmp_path / "fleetsync.yaml").health_checks)
    custom = client.CustomObjectsApi(kube)
    where = (backups, "v1", namespace, "backups")
    body = {"apiVersion": f"{backups}/v1", "kind": "Backup", "metadata": {"name": "nightly"}}
    await custom.create_namespaced_custom_object(*where, body, _request_timeout=TIMEOUT)

    async def with_status(status: Obj) -> Obj:
        patch = [{"op": "add", "path": "/status", "value": status}]
        await custom.patch_namespaced_custom_object_status(
            *where, "nightly", patch, _request_timeout=TIMEOUT
        )
        response = await custom.get_namespaced_custom_object(
            *where, "nightly", _preload_content=False, _request_timeout=TIMEOUT
        )
        obj: Obj = json.loads(await response.read())
        return obj

    first = await with_status({})
    assert assess(first, checks).message == "Waiting for the backup controller"
    done = await with_status({"phase": "Completed", "objects": 42})
    assert assess(done, checks).message == "Backup of 42 objects completed"
    failed = await with_status({"phase": "Failed", "message": "bucket not found"})
    assert assess(failed, checks).status is HealthStatus.DEGRADED
    # The check returns nothing for other phases: the built-in rule decides (conditions).
    other = await with_status({"phase": "Running", "observedGeneration": "1",
                               "conditions": [{"type": "Ready", "status": "True"}]})  # fmt: skip
    assert assess(other, checks).status is HealthStatus.HEALTHY
    assert assess(other, checks).message == "Ready=True"
