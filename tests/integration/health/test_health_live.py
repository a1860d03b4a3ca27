"""engine.health judges objects whose status real controllers and kwok write.

Each test creates objects on the first local cluster, reads them back as the API server
sends them (JSON, camelCase) and polls ``assess`` until the expected status or a deadline.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from kubernetes_asyncio import client, watch

from engine.health import HealthResult, assess
from engine.model import HealthStatus

Obj = dict[str, Any]
Read = Callable[[], Awaitable[Obj | None]]
TIMEOUT = 10  # seconds per API call
NEVER_READY = {"kwok.fleetsync.io/never-ready": "true"}


def _reader(call: Callable[..., Awaitable[Any]], *args: str) -> Read:
    """A read of one live object as raw JSON; None once it is gone (404)."""

    async def read() -> Obj | None:
        response = await call(*args, _preload_content=False, _request_timeout=TIMEOUT)
        body = await response.read()
        if response.status == 404:
            return None
        assert 200 <= response.status < 300, body
        obj: Obj = json.loads(body)
        return obj

    return read


async def _until(
    read: Read, wanted: HealthStatus, *, within: float, contains: str = ""
) -> list[HealthResult]:
    """Poll until the object's health is ``wanted``; return the distinct results seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen: list[HealthResult] = []
    while True:
        obj = await read()
        assert obj is not None, f"the object is gone; saw {seen}"
        result = assess(obj)
        if not seen or seen[-1] != result:
            seen.append(result)
        if result.status is wanted and contains in result.message:
            return seen
        if loop.time() > deadline:
            pytest.fail(f"after {within}s wanted {wanted} {contains!r}; saw {seen}")
        await asyncio.sleep(0.2)


def _deployment(name: str, *, replicas: int, labels: dict[str, str] | None = None) -> Obj:
    pod_labels = {"app": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": pod_labels}, "spec": _pod_spec()},
        },
    }


def _pod_spec(restart: str = "Always") -> Obj:
    return {"restartPolicy": restart, "containers": [{"name": "app", "image": "nginx:1.27"}]}


async def test_deployment_goes_progressing_then_healthy(
    kube: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(kube)
    created = await apps.create_namespaced_deployment(namespace, _deployment("web", replicas=2))
    # A watch from the creation sees every status the controller writes, however fast.
    seen: list[HealthResult] = []
    async with watch.Watch().stream(
        apps.list_namespaced_deployment,
        namespace,
        field_selector="metadata.name=web",
        resource_version=created.metadata.resource_version,
        timeout_seconds=60,
    ) as events:
        async for event in events:
            seen.append(assess(kube.sanitize_for_serialization(event["object"])))
            if seen[-1].status is HealthStatus.HEALTHY:
                break
    assert seen, "no status update within 60s"
    assert seen[-1] == HealthResult(HealthStatus.HEALTHY, "2 of 2 replicas available"), seen
    rollout = [r for r in seen if r.message.startswith("Waiting for rollout to finish")]
    assert rollout and all(r.status is HealthStatus.PROGRESSING for r in rollout), seen


async def test_never_ready_deployment_degrades_after_its_progress_deadline(
    kube: client.ApiClient, namespace: str
) -> None:
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    body = _deployment("stuck", replicas=1, labels=NEVER_READY)
    body["spec"]["progressDeadlineSeconds"] = 5
    await apps.create_namespaced_deployment(namespace, body)
    read = _reader(apps.read_namespaced_deployment, "stuck", namespace)
    seen = await _until(read, HealthStatus.DEGRADED, within=60)
    assert "ProgressDeadlineExceeded" in seen[-1].message
    assert HealthStatus.PROGRESSING in {r.status for r in seen}

    pods = await core.list_namespaced_pod(namespace, label_selector="app=stuck")
    pod = pods.items[0].metadata.name
    seen = await _until(
        _reader(core.read_namespaced_pod, pod, namespace), HealthStatus.DEGRADED, within=30
    )
    assert 'container "app" is waiting: ImagePullBackOff' in seen[-1].message


async def test_job_completes_healthy(kube: client.ApiClient, namespace: str) -> None:
    batch = client.BatchV1Api(kube)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": _pod_spec("Never")}},
    }
    await batch.create_namespaced_job(namespace, job)
    seen = await _until(
        _reader(batch.read_namespaced_job, "migrate", namespace), HealthStatus.HEALTHY, within=60
    )
    assert seen[0].status is HealthStatus.PROGRESSING
    assert "1 succeeded" in seen[-1].message


async def test_statefulset_and_daemonset_become_healthy(
    kube: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(kube)
    template = {"metadata": {"labels": {"app": "db"}}, "spec": _pod_spec()}
    spec = {"selector": {"matchLabels": {"app": "db"}}, "template": template}
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {**spec, "replicas": 2, "serviceName": "db"},
    }
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "db"}}
    daemonset["spec"] = spec
    await apps.create_namespaced_stateful_set(namespace, statefulset)
    await apps.create_namespaced_daemon_set(namespace, daemonset)
    sts = _reader(apps.read_namespaced_stateful_set, "db", namespace)
    ds = _reader(apps.read_namespaced_daemon_set, "db", namespace)
    seen_sts, seen_ds = await asyncio.gather(
        _until(sts, HealthStatus.HEALTHY, within=60), _until(ds, HealthStatus.HEALTHY, within=60)
    )
    assert seen_sts[-1].message.startswith("2 Pods ready at revision db-")
    assert seen_ds[-1].message == "1 of 1 Pods available"


async def test_claim_without_a_provisioner_stays_progressing(
    kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "no-such-provisioner",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    await core.create_namespaced_persistent_volume_claim(namespace, claim)
    read = _reader(core.read_namespaced_persistent_volume_claim, "data", namespace)
    for _ in range(5):  # the volume controller has had its chance to act by then
        result = assess(await read() or {})
        assert result.status is HealthStatus.PROGRESSING, result
        assert 'storage class "no-such-provisioner"' in result.message
        await asyncio.sleep(0.3)


async def test_crd_becomes_healthy_once_established(kube: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(kube)
    group = f"h{uuid.uuid4().hex[:8]}.health.fleetsync.test"
    name = f"widgets.{group}"
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema}],
        },
    }
    created = await ext.create_custom_resource_definition(crd, _request_timeout=TIMEOUT)
    try:
        as_dict = kube.sanitize_for_serialization(created)
        assert assess(as_dict).status is HealthStatus.PROGRESSING
        read = _reader(ext.read_custom_resource_definition, name)
        seen = await _until(read, HealthStatus.HEALTHY, within=30)
        assert "Established" in seen[-1].message
    finally:
        await ext.delete_custom_resource_definition(name, _request_timeout=TIMEOUT)


async def test_namespace_being_deleted_is_progressing_and_names_what_holds_it(
    kube: client.ApiClient,
) -> None:
    core = client.CoreV1Api(kube)
    name = f"h-{uuid.uuid4().hex[:10]}"
    hold = "health.fleetsync.test/hold"
    await core.create_namespace({"metadata": {"name": name}}, _request_timeout=TIMEOUT)
    held = {"metadata": {"name": "held", "finalizers": [hold]}}
    await core.create_namespaced_config_map(name, held, _request_timeout=TIMEOUT)
    await core.delete_namespace(name, _request_timeout=TIMEOUT)
    read = _reader(core.read_namespace, name)
    try:
        # The namespace controller names the finalizer that holds it back (after ~5 s).
        seen = await _until(read, HealthStatus.PROGRESSING, within=30, contains=hold)
        assert all(r.status is HealthStatus.PROGRESSING for r in seen)
    finally:
        # Released, the namespace goes away on its own; waiting for that proves nothing more.
        release = [{"op": "remove", "path": "/metadata/finalizers"}]
        await core.patch_namespaced_config_map("held", name, release, _request_timeout=TIMEOUT)
