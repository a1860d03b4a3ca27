"""Class 5 against a real hub: Applications read from a real git daemon repository that
also holds hostile files (not UTF-8, 2,000 and 1,000,000 nested brackets, an alias bomb,
a file over the size limit). The hub keeps running, the good app syncs, each bad file is
reported as its own error, and a restart works the same. An unexpected error in a
background loop, or in the reading of Applications, never stops the hub."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from engine.hub import hub as hub_module
from engine.hub.catalog import Catalog
from engine.hub.hub import Hub
from engine.model import SyncStatus
from tests.security.test_hostile_app_files import HOSTILE
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, Upstream, new_upstream
from tests.support.hubkit import (
    HubDir,
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(180)


def _apps_repo(git_daemon: Daemon, tmp_path: Path, run: str, manifests: str) -> Upstream:
    """An apps repository: one good Application and every hostile file of the pure tests."""
    good = application_yaml(f"hostile-{run}-good", manifests, "good", f"hostile-{run}")
    repo = new_upstream(git_daemon, tmp_path, f"hostile-apps-{run}", {"apps/good.yaml": good})
    for name, data in HOSTILE.items():
        (repo.work / "apps" / name).write_bytes(data)
    repo.commit({}, "hostile files")
    repo.push("main")
    return repo


def _hub(tmp_path: Path, clusters: list[TestCluster], repo: Upstream) -> HubDir:
    extra = {"apps": [{"repo": repo.url, "revision": "main", "path": "apps",
                       "projects": ["default"]}],
             "git": {"pollInterval": "2s", "timeout": "10s"}}  # fmt: skip
    return hub_dir(tmp_path / "hub", clusters, {}, extra=extra)


async def _good_synced(hub: Hub, app: str, cluster: str) -> bool:
    status = await status_of(hub, app, cluster)
    return bool(status and status.sync is SyncStatus.SYNCED)


def _file_errors(hub: Hub) -> dict[str, str]:
    return {name: next((e for e in hub.catalog.general_errors if f"/apps/{name}@" in e), "")
            for name in HOSTILE}  # fmt: skip


async def test_class5_hostile_app_files_from_git_never_stop_the_hub(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
) -> None:
    cluster, run = local_clusters[0], uuid.uuid4().hex[:6]
    app, namespace = f"hostile-{run}-good", f"hostile-{run}"
    manifests = new_upstream(git_daemon, tmp_path, f"hostile-manifests-{run}",
                             {"good/cm.yaml": configmap_yaml("good", {"ok": "yes"})})
    directory = _hub(tmp_path, [cluster], _apps_repo(git_daemon, tmp_path, run, manifests.url))
    try:
        for _start in range(2):  # a restart reads the same files and starts just as well
            async with running_hub(directory) as hub:
                await eventually(lambda: _good_synced(hub, app, cluster.name), within=60,
                                 what="the good Application synced beside the hostile files")
                assert await configmap_data(cluster, namespace, "good") == {"ok": "yes"}
                errors = _file_errors(hub)
                assert "not UTF-8" in errors["latin1.yaml"]
                assert "nest" in errors["brackets-2000.yaml"]
                assert "nest" in errors["brackets-1000000.yaml"]
                assert "expands to more than" in errors["bomb.yaml"]
                assert "larger than" in errors["huge.yaml"]
                assert [a.name for a in hub.apps()] == [app]
                await asyncio.sleep(5)  # a few follow rounds (a crashed hub fails the exit)
    finally:
        await clean_up(cluster, namespaces=[namespace], apps=[app])


async def test_class5_unexpected_errors_in_background_work_never_stop_the_hub(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    cluster, run = local_clusters[0], uuid.uuid4().hex[:6]
    app, namespace = f"faults-{run}", f"faults-{run}"
    manifests = new_upstream(git_daemon, tmp_path, f"faults-{run}",
                             {"m/cm.yaml": configmap_yaml("m", {"n": "1"})})
    directory = hub_dir(tmp_path / "hub", [cluster], {})
    faults = {"health": 1, "clusters": 1, "prepare": 1}
    threads: list[bool] = []
    restarted = asyncio.Event()
    real_flush, real_infos, real_prepare = Hub._flush_health, Hub._cluster_infos, Catalog.prepare

    async def flush_health(self: Hub) -> None:  # fails once, then works
        if faults["health"]:
            faults["health"] -= 1
            raise RuntimeError("health writer bug")
        restarted.set()
        await real_flush(self)

    async def cluster_infos(self: Hub) -> None:  # fails once, on a reload while following
        if faults["clusters"] and self.ready.is_set():
            faults["clusters"] -= 1
            raise KeyError("cluster infos bug")
        await real_infos(self)

    def prepare(self: Catalog, *args: Any) -> Any:
        threads.append(threading.current_thread() is not threading.main_thread())
        if faults["prepare"] and len(threads) > 1:
            faults["prepare"] -= 1
            raise ValueError("catalog bug")
        return real_prepare(self, *args)

    monkeypatch.setattr(Hub, "_flush_health", flush_health)
    monkeypatch.setattr(Hub, "_cluster_infos", cluster_infos)
    monkeypatch.setattr(Catalog, "prepare", prepare)
    monkeypatch.setattr(hub_module, "RESTART_DELAY", 0.2)
    caplog.set_level(logging.INFO, logger="engine.hub.hub")
    try:
        async with running_hub(directory):
            await asyncio.wait_for(restarted.wait(), timeout=30)
            # Each follow round after the faults still reads the app files.
            for _ in range(2):
                directory.write_apps({"a.yaml": application_yaml(app, manifests.url, "m",
                                                                  namespace)})  # fmt: skip
                await asyncio.sleep(2.5)
            await eventually(lambda: configmap_data(cluster, namespace, "m"), within=60,
                             what="an app added after the faults applied")
            assert faults == {"health": 0, "clusters": 0, "prepare": 0}
            assert threads and all(threads), "Applications are parsed off the event loop"
        logs = caplog.text
        assert "health writer failed; restarting it" in logs and "RuntimeError" in logs
        assert "reloading configuration: KeyError" in logs
        assert "config follower failed" not in logs  # the follow loop kept going itself
        assert "reading Applications failed; keeping the last ones read" in logs
    finally:
        await clean_up(cluster, namespaces=[namespace], apps=[app])
