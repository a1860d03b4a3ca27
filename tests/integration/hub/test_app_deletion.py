"""Deleting Applications on a real cluster: an app removed without Argo CD's resources
finalizer leaves its objects; one with it deletes them, the highest sync wave first, except
what says ``Delete=false``; removing several apps at once holds their deletions until one
is confirmed through the API (or its file comes back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from engine.model.inventory import INVENTORY_NAMESPACE, configmap_name
from tests.support.auth import admin_token, bearer
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    at_once,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(240)
FINALIZER = "resources-finalizer.argocd.argoproj.io"
APPS = ("cascade", "orphan", "mass-1", "mass-2", "mass-3")
WAVE = "argocd.argoproj.io/sync-wave"


def _cm(name: str, **annotations: str) -> str:
    doc = yaml.safe_load(configmap_yaml(name, {"k": name}))
    if annotations:
        doc["metadata"]["annotations"] = annotations
    return yaml.safe_dump(doc)


async def test_removed_apps_are_deleted_by_their_finalizer_and_many_at_once_are_held(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = local_clusters[0]
    files = {
        "cascade/early.yaml": _cm("early"),
        "cascade/late.yaml": _cm("late", **{WAVE: "1"}),
        "cascade/kept.yaml": _cm("kept", **{"argocd.argoproj.io/sync-options": "Delete=false"}),
        **{f"{app}/cm.yaml": _cm("settings") for app in APPS if app != "cascade"},
    }
    upstream = new_upstream(git_daemon, tmp_path, "deletion", files)
    definitions = {
        app: application_yaml(app, upstream.url, app, f"ad-{app}",
                              finalizers=None if app == "orphan" else [FINALIZER])
        for app in APPS}
    directory = hub_dir(tmp_path / "hub", local_clusters[:1],
                        {f"{app}.yaml": text for app, text in definitions.items()})
    apps_dir = directory.root / "apps"
    try:
        async with running_hub(directory) as hub:
            async def all_synced() -> bool:
                for app in APPS:
                    status = await status_of(hub, app, cluster.name)
                    if status is None or status.sync.value != "Synced":
                        return False
                return True

            await eventually(all_synced, within=60, what="every app synced")
            deleted: list[str] = []
            hub_client = await hub.pool.client(cluster.name)
            send = hub_client.request

            async def recorded(**kwargs: Any) -> Any:
                if kwargs["method"] == "DELETE":
                    deleted.append(kwargs["path"].rsplit("/", 1)[1])
                return await send(**kwargs)

            monkeypatch.setattr(hub_client, "request", recorded)

            def defined(app: str) -> bool:
                return any(v.name == app for v in hub.apps())

            # Without the finalizer: untracked, its objects and inventory left.
            (apps_dir / "orphan.yaml").unlink()
            await eventually(lambda: at_once(not defined("orphan")), within=20,
                             what="orphan untracked")
            assert await configmap_data(cluster, "ad-orphan", "settings") == {"k": "settings"}
            assert await configmap_data(cluster, INVENTORY_NAMESPACE,
                                        configmap_name("orphan")) is not None

            # With it: the later wave first, Delete=false kept, the inventory dropped.
            (apps_dir / "cascade.yaml").unlink()

            async def cascade_gone() -> bool:
                return (await configmap_data(cluster, "ad-cascade", "early") is None
                        and await configmap_data(cluster, INVENTORY_NAMESPACE,
                                                 configmap_name("cascade")) is None)

            await eventually(cascade_gone, within=60, what="cascade's objects deleted")
            assert await configmap_data(cluster, "ad-cascade", "late") is None
            assert await configmap_data(cluster, "ad-cascade", "kept") == {"k": "kept"}
            assert [n for n in deleted if n in ("early", "late", "kept")] == ["late", "early"]
            assert hub.control.deletions_pending() == []

            # Two of the three apps left at once: held, nothing deleted.
            (apps_dir / "mass-1.yaml").unlink()
            (apps_dir / "mass-2.yaml").unlink()

            async def held() -> list[str]:
                found = [d.app for d in hub.control.deletions_pending() if d.state == "Held"]
                return found if found == ["mass-1", "mass-2"] else []

            await eventually(held, within=20, what="both deletions held")
            assert "2 of 3" in hub.control.deletions_pending()[0].message
            for app in ("mass-1", "mass-2"):
                assert await configmap_data(cluster, f"ad-{app}", "settings") is not None

            # A file that comes back ends its hold; the other is confirmed by the API.
            (apps_dir / "mass-1.yaml").write_text(definitions["mass-1"])
            await eventually(lambda: at_once([d.app for d in hub.control.deletions_pending()]
                                            == ["mass-2"]), within=20, what="mass-1 restored")
            host, port = hub.listening
            headers = bearer(await admin_token(hub))
            async with aiohttp.ClientSession(f"http://{host}:{port}", headers=headers) as http:
                async with http.delete("/api/v1/apps/mass-1") as answer:
                    assert answer.status == 409, await answer.text()  # still defined
                async with http.delete("/api/v1/apps/nowhere") as answer:
                    assert answer.status == 404
                async with http.get("/api/v1/deletions") as answer:
                    listed = (await answer.json())["deletions"]
                assert [(d["app"], d["state"]) for d in listed] == [("mass-2", "Held")]
                async with http.delete("/api/v1/apps/mass-2") as answer:
                    assert answer.status == 202
                    assert (await answer.json())["state"] == "Deleting"

            async def mass_2_gone() -> bool:
                return await configmap_data(cluster, "ad-mass-2", "settings") is None

            await eventually(mass_2_gone, within=60, what="mass-2's objects deleted")
            await eventually(lambda: at_once(hub.control.deletions_pending() == []), within=20,
                             what="no deletion left")
            assert await configmap_data(cluster, "ad-mass-1", "settings") is not None
    finally:
        await clean_up(cluster, namespaces=[f"ad-{app}" for app in APPS], apps=list(APPS))
