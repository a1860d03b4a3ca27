"""A Git change to an object the hub will sync anyway costs one request: the apply. An
object the watches saw unchanged since it agreed with the earlier manifest is neither
dry-run nor read when the sync is certain (automated sync of a new commit), nor is a new
object its watch has not seen read before it is created; an app that
only compares still dry-runs and reads it, so its OutOfSync status names the field; so
does an app with ignoreDifferences (a change there alone is no difference to apply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.model import SyncStatus
from engine.model.inventory import INVENTORY_NAMESPACE, configmap_name
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    push_webhook,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(200)
APPS = {"lean": True, "held": False, "ignoring": True}  # app: automated
IGNORE = {"ignoreDifferences": [{"kind": "ConfigMap", "jsonPointers": ["/data/size"]}]}


async def test_a_git_change_is_applied_without_dry_run_only_when_the_sync_is_certain(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = local_clusters[0]
    files = {f"{app}/cm.yaml": configmap_yaml("settings", {"colour": "blue"}) for app in APPS}
    upstream = new_upstream(git_daemon, tmp_path, "git-change", files)
    apps = {f"{app}.yaml": application_yaml(app, upstream.url, app, f"gc-{app}",
                                            automated=automated,
                                            extra_spec=IGNORE if app == "ignoring" else None)
            for app, automated in APPS.items()}
    directory = hub_dir(tmp_path / "hub", local_clusters[:1], apps)
    try:
        async with running_hub(directory) as hub:
            await hub.control.request_sync(app="held", trigger="manual:test")
            memory = hub.live.memory(cluster.name)

            async def both_settled() -> bool:
                for app in APPS:
                    status = await status_of(hub, app, cluster.name)
                    if status is None or status.sync is not SyncStatus.SYNCED:
                        return False
                    if not any(memory.settled(r.key) for r in status.resources):
                        return False
                return True

            await eventually(both_settled, within=60, what="both apps synced and noted")
            hub_client = await hub.pool.client(cluster.name)
            sent: list[tuple[str, str, bool]] = []
            send = hub_client.request

            async def recorded(**kwargs: Any) -> Any:
                dry = "dryRun" in (kwargs.get("query") or {})
                sent.append((kwargs["method"], kwargs["path"], dry))
                return await send(**kwargs)

            monkeypatch.setattr(hub_client, "request", recorded)
            changes: dict[str, str | None] = {
                path: configmap_yaml("settings", {"colour": "red"}) for path in files}
            changes |= {f"{app}/added.yaml": configmap_yaml("added", {"new": "yes"})
                        for app in APPS}
            upstream.commit(changes, "red, and a new ConfigMap")
            upstream.push("main")
            await push_webhook(directory.url, upstream)

            async def red(app: str) -> bool:
                data = await configmap_data(cluster, f"gc-{app}", "settings")
                return data == {"colour": "red"}

            async def held_out_of_sync() -> bool:
                status = await status_of(hub, "held", cluster.name)
                return status is not None and status.sync is SyncStatus.OUT_OF_SYNC

            await eventually(lambda: red("lean"), within=20, what="lean's ConfigMap red")
            await eventually(lambda: red("ignoring"), within=20, what="ignoring's red")
            await eventually(held_out_of_sync, within=20, what="held OutOfSync")

            def to(app: str, name: str = "settings") -> list[tuple[str, bool]]:
                path = f"/api/v1/namespaces/gc-{app}/configmaps/{name}"
                return [(method, dry) for method, p, dry in sent if p == path]

            async def added(app: str) -> bool:
                return await configmap_data(cluster, f"gc-{app}", "added") == {"new": "yes"}

            await eventually(lambda: added("lean"), within=20, what="lean's new ConfigMap")
            assert to("lean", "added") == [("PATCH", False)]  # created, never read first
            assert ("GET", False) in to("held", "added")  # a comparison reads it

            assert to("lean") == [("PATCH", False)]  # the apply alone
            assert ("PATCH", True) in to("held") and ("GET", False) in to("held")
            assert ("PATCH", False) not in to("held")
            assert to("ignoring")[0] == ("PATCH", True)  # dry-run first, then applied
            assert to("ignoring")[-1] == ("PATCH", False)
            held = await status_of(hub, "held", cluster.name)
            assert held is not None
            assert any("data.colour" in r.message for r in held.resources), held.resources
            assert await configmap_data(cluster, "gc-held", "settings") == {"colour": "blue"}

            # A new app's first sync: its inventory ConfigMap's watch has listed and never
            # saw it, so it is written without being read first.
            (directory.root / "apps" / "late.yaml").write_text(application_yaml(
                "late", upstream.url, "lean", "gc-late", automated=True))

            async def late_synced() -> bool:
                status = await status_of(hub, "late", cluster.name)
                return status is not None and status.sync is SyncStatus.SYNCED

            await eventually(late_synced, within=30, what="the late app synced")
            inventory = f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/" + (
                configmap_name("late"))
            assert [(method, dry) for method, p, dry in sent if p == inventory] == [
                ("PATCH", False)]
    finally:
        await clean_up(cluster, namespaces=[f"gc-{app}" for app in [*APPS, "late"]],
                       apps=[*APPS, "late"])
