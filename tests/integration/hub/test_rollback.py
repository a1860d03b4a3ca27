"""Rollback in the running hub: syncing the revision of an earlier history entry brings its
objects back, is recorded as ``rollback:<id>``, and turns automated sync off as Argo CD
does, so a later commit is only reported (OutOfSync), not applied."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.hub.hub import Hub
from engine.model import OperationPhase, SyncStatus, TargetKey
from engine.model.status import HistoryEntry
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, Upstream, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(120)


async def _push(hub: Hub, upstream: Upstream, version: str) -> str:
    """Commit ``version`` of the ConfigMap and make the hub see it at once."""
    sha = upstream.commit({"app/cm.yaml": configmap_yaml("settings", {"version": version})})
    upstream.push("main")
    await hub.poller.trigger(repo=upstream.url)
    return sha


async def _history(hub: Hub, key: TargetKey, count: int) -> list[HistoryEntry] | None:
    entries = await hub.store.history(key)
    return entries if len(entries) == count else None


async def test_rollback_restores_old_objects_records_it_and_turns_automated_sync_off(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    run = uuid.uuid4().hex[:6]
    app = namespace = f"rb-{run}"
    key = TargetKey(app, cluster.name)
    upstream = new_upstream(
        git_daemon,
        tmp_path,
        f"rollback-{run}",
        {
            "app/cm.yaml": configmap_yaml("settings", {"version": "1"}),
        },
    )
    first_sha = upstream.git("rev-parse", "HEAD")
    directory = hub_dir(
        tmp_path / "hub",
        [cluster],
        {"app.yaml": application_yaml(app, upstream.url, "app", namespace)},
    )
    try:
        async with running_hub(directory) as hub:
            # Two commits synced: two history entries.
            await eventually(lambda: _history(hub, key, 1), within=45, what="first sync")
            second_sha = await _push(hub, upstream, "2")
            entries = await eventually(lambda: _history(hub, key, 2), within=30, what="second sync")
            second, first = entries
            assert (first.revision, second.revision) == (first_sha, second_sha)
            assert {e.phase for e in entries} == {OperationPhase.SUCCEEDED}
            assert await configmap_data(cluster, namespace, "settings") == {"version": "2"}

            # Roll back to the first entry: its content is live again, and recorded so.
            await hub.control.rollback(app=app, entry_id=first.id, trigger="manual:test")

            async def rolled_back() -> bool:
                return await configmap_data(cluster, namespace, "settings") == {"version": "1"}

            await eventually(rolled_back, within=30, what="version 1 back in the cluster")
            newest = (
                await eventually(
                    lambda: _history(hub, key, 3), within=10, what="the rollback in history"
                )
            )[0]
            assert newest.trigger == f"rollback:{first.id}"
            assert newest.revision == first_sha
            assert newest.phase is OperationPhase.SUCCEEDED
            [view] = [v for v in hub.apps() if v.name == app]
            assert view.automated and view.automated_disabled

            # A new commit is noticed and reported, but not applied.
            third_sha = await _push(hub, upstream, "3")

            async def reported_out_of_sync() -> bool:
                status = await status_of(hub, app, cluster.name)
                return bool(
                    status
                    and status.target_revision == third_sha
                    and status.sync is SyncStatus.OUT_OF_SYNC
                )

            await eventually(reported_out_of_sync, within=30, what="OutOfSync at the new commit")
            status = await status_of(hub, app, cluster.name)
            assert status is not None and status.revision == first_sha
            assert await configmap_data(cluster, namespace, "settings") == {"version": "1"}
            assert len(await hub.store.history(key)) == 3
    finally:
        await clean_up(cluster, namespaces=[namespace], apps=[app])
