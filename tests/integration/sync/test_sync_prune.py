"""Prune against a real cluster: only tracked objects, never on empty or failed renders,
never more than the configured share of the inventory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.apply import SyncOptions, sync
from engine.clusters import ClusterClient
from engine.clusters.client import MERGE_PATCH
from engine.errors import RenderError
from engine.model import (
    TRACKING_ANNOTATION,
    ConditionReason,
    OperationPhase,
    ResourceKey,
    SyncStatus,
)
from engine.model.results import ResultCode
from tests.integration.sync.conftest import configmap, live, rendering

PRUNE = SyncOptions(prune=True)


async def _names(client: ClusterClient, namespace: str, *names: str) -> set[str]:
    return {n for n in names if await live(client, "v1", "ConfigMap", namespace, n) is not None}


async def _untracked(client: ClusterClient, namespace: str, name: str) -> None:
    res = await client.resource(api_version="v1", kind="ConfigMap")
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"k": "v"},
    }
    await client.request(method="POST", path=res.path(namespace=namespace), body=obj)


async def test_removed_object_is_pruned_and_untracked_one_is_untouched(
    client: ClusterClient, namespace: str, app: str
) -> None:
    await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b"), configmap("c")]),
    )
    await _untracked(client, namespace, "manual")

    result = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b")]),
        options=PRUNE,
    )

    assert result.phase is OperationPhase.SUCCEEDED, result.message
    gone = ResourceKey("", "ConfigMap", namespace, "c")
    assert {r.key: r.code for r in result.resources}[gone] is ResultCode.PRUNED
    assert await _names(client, namespace, "a", "b", "c", "manual") == {"a", "b", "manual"}
    assert gone not in result.inventory


async def test_object_no_longer_tracked_by_the_app_is_not_pruned(
    client: ClusterClient, namespace: str, app: str
) -> None:
    await sync(
        app=app, client=client, namespace=namespace, render=rendering([configmap(n) for n in "abc"])
    )
    # Someone takes "c" over: it no longer carries this app's tracking id.
    res = await client.resource(api_version="v1", kind="ConfigMap")
    other = {"metadata": {"annotations": {TRACKING_ANNOTATION: "other-app:/ConfigMap:x/c"}}}
    await client.request(
        method="PATCH",
        path=res.path(namespace=namespace, name="c"),
        query={"fieldManager": "kubectl-annotate"},
        body=other,
        content_type=MERGE_PATCH,
    )

    result = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b")]),
        options=PRUNE,
    )

    key = ResourceKey("", "ConfigMap", namespace, "c")
    assert {r.key: r.code for r in result.resources}[key] is ResultCode.PRUNE_SKIPPED
    assert await _names(client, namespace, "c") == {"c"}
    assert key not in result.inventory


async def test_prune_false_sync_option_keeps_the_object(
    client: ClusterClient, namespace: str, app: str
) -> None:
    keep = configmap("c", annotations={"argocd.argoproj.io/sync-options": "Prune=false"})
    await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b"), keep]),
    )

    result = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b")]),
        options=PRUNE,
    )

    assert await _names(client, namespace, "c") == {"c"}
    assert ResourceKey("", "ConfigMap", namespace, "c") in result.inventory
    assert result.sync_status is SyncStatus.OUT_OF_SYNC


async def test_empty_render_prunes_nothing(client: ClusterClient, namespace: str, app: str) -> None:
    await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b")]),
    )

    result = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([]),
        options=SyncOptions(prune=True, allow_large_prune=True),
    )

    assert [c.reason for c in result.conditions] == [ConditionReason.PRUNE_HELD]
    assert await _names(client, namespace, "a", "b") == {"a", "b"}
    assert len(result.inventory) == 2


async def test_render_error_prunes_nothing_and_keeps_the_inventory(
    client: ClusterClient, namespace: str, app: str
) -> None:
    first = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b")]),
    )

    async def broken() -> Sequence[dict[str, Any]]:
        raise RenderError("overlays/dev/kustomization.yaml: line 3: mapping values not allowed")

    result = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=broken,
        options=SyncOptions(prune=True, allow_large_prune=True),
    )

    assert result.phase is OperationPhase.ERROR
    assert [c.reason for c in result.conditions] == [ConditionReason.RENDER_FAILED]
    assert "line 3" in result.conditions[0].message
    assert result.resources == ()
    assert await _names(client, namespace, "a", "b") == {"a", "b"}
    again = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a"), configmap("b")]),
    )
    assert again.inventory == first.inventory


async def test_prune_share_limit_holds_unless_allowed(
    client: ClusterClient, namespace: str, app: str
) -> None:
    names = ["a", "b", "c", "d"]
    await sync(
        app=app, client=client, namespace=namespace, render=rendering([configmap(n) for n in names])
    )

    held = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a")]),
        options=PRUNE,
    )

    assert [c.reason for c in held.conditions] == [ConditionReason.PRUNE_HELD]
    assert "3 of 4" in held.conditions[0].message
    assert await _names(client, namespace, *names) == set(names)
    assert len(held.inventory) == 4

    allowed = await sync(
        app=app,
        client=client,
        namespace=namespace,
        render=rendering([configmap("a")]),
        options=SyncOptions(prune=True, allow_large_prune=True),
    )

    assert allowed.phase is OperationPhase.SUCCEEDED, allowed.message
    assert await _names(client, namespace, *names) == {"a"}
    assert len(allowed.inventory) == 1
