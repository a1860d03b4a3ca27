"""A hub process killed (SIGKILL) in the middle of a sync resumes cleanly on restart: the
interrupted operation is recorded once, as Error "interrupted by hub restart", the target is
synced again, and no history entry is lost or duplicated.

The sync is held in the middle by sync waves: wave 0 is a Deployment whose pods kwok never
makes ready, so the sync waits on its health before wave 1; the test lets it through after
the restart by taking the never-ready label off the pods.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client

from engine.model import OperationPhase, TargetKey
from engine.model.status import Operation
from engine.store import Store
from engine.store.queries import INTERRUPTED
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    HubDir,
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
)

pytestmark = pytest.mark.timeout(180)
REPO_ROOT = Path(__file__).resolve().parents[3]
NEVER_READY = "kwok.fleetsync.io/never-ready"


def _slow_deployment(name: str) -> str:
    """Wave 0: a Deployment that stays Progressing (its pods never get ready)."""
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "annotations": {"argocd.argoproj.io/sync-wave": "0"}},
            "spec": {
                "replicas": 1,
                "progressDeadlineSeconds": 3600,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name, NEVER_READY: "true"}},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
                },
            },
        }
    )


def _second_wave(name: str) -> str:
    doc: dict[str, Any] = yaml.safe_load(configmap_yaml(name, {"wave": "1"}))
    doc["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": "1"}
    return yaml.safe_dump(doc)


@contextlib.contextmanager
def hub_process(directory: HubDir, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m engine.cli serve`` on ``directory``, killed (with its children) at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--config", str(directory.config)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


async def _serving(directory: HubDir, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the hub process answers on its API port."""

    async def healthy() -> bool:
        assert process.poll() is None, f"the hub exited:\n{_tail(log)}"
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{directory.url}/healthz") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(healthy, within=30, what="the hub process serving")


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


@contextlib.asynccontextmanager
async def reading(directory: HubDir) -> AsyncIterator[Store]:
    """The hub's store, opened by the test beside the hub (SQLite WAL allows it)."""
    store = await Store.open(directory.root / "data" / "fleetsync.db")
    try:
        yield store
    finally:
        await store.close()


async def _operation(store: Store, key: TargetKey) -> Operation | None:
    status = await store.get_status(key)
    return status.operation if status else None


async def _let_pods_get_ready(cluster: TestCluster, namespace: str) -> None:
    async with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        pods = await core.list_namespaced_pod(namespace, label_selector=NEVER_READY)
        for pod in pods.items:
            await core.patch_namespaced_pod(
                pod.metadata.name, namespace, {"metadata": {"labels": {NEVER_READY: None}}}
            )


async def test_hub_killed_mid_sync_records_it_once_and_syncs_again_after_restart(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    run = uuid.uuid4().hex[:6]
    app = namespace = f"rs-{run}"
    key = TargetKey(app, cluster.name)
    upstream = new_upstream(
        git_daemon,
        tmp_path,
        f"restart-{run}",
        {
            "app/deployment.yaml": _slow_deployment("slow"),
            "app/after.yaml": _second_wave("after"),
        },
    )
    sha = upstream.git("rev-parse", "HEAD")
    directory = hub_dir(
        tmp_path / "hub",
        [cluster],
        {"app.yaml": application_yaml(app, upstream.url, "app", namespace)},
    )
    log = tmp_path / "hub.log"
    try:
        # First hub: the sync starts, applies wave 0 and waits on its health.
        with hub_process(directory, log) as first:
            await _serving(directory, first, log)
            async with reading(directory) as store:

                async def running() -> Operation | None:
                    op = await _operation(store, key)
                    return op if op and op.phase is OperationPhase.RUNNING else None

                interrupted = await eventually(running, within=30, what="a Running sync")
                assert interrupted.revision == sha
            # Killed in the middle of it: wave 1 was never applied.
            assert await configmap_data(cluster, namespace, "after") is None
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)

        async with reading(directory) as store:
            op = await _operation(store, key)
            assert op is not None and op.id == interrupted.id
            assert op.phase is OperationPhase.RUNNING  # nobody could finish it
            assert await store.history(key) == []

        # Second hub on the same data directory.
        with hub_process(directory, log) as second:
            await _serving(directory, second, log)
            async with reading(directory) as store:

                async def resumed() -> Operation | None:
                    op = await _operation(store, key)
                    return op if op and op.id != interrupted.id else None

                # The interrupted sync is history, as an Error; a new sync of the same
                # commit has begun.
                again = await eventually(resumed, within=30, what="a new sync after restart")
                assert again.revision == sha
                [entry] = await store.history(key)
                assert entry.id == interrupted.id
                assert entry.phase is OperationPhase.ERROR
                assert entry.message == INTERRUPTED
                assert entry.trigger == interrupted.trigger

                # Let wave 0 get healthy: the new sync goes on to wave 1 and succeeds.
                await _let_pods_get_ready(cluster, namespace)

                async def succeeded() -> Operation | None:
                    op = await _operation(store, key)
                    return op if op and op.phase is OperationPhase.SUCCEEDED else None

                done = await eventually(succeeded, within=45, what="the new sync Succeeded")
                assert done.id == again.id
                assert await configmap_data(cluster, namespace, "after") == {"wave": "1"}

                # Exactly these two entries: nothing lost, nothing recorded twice.
                entries = await store.history(key)
                assert [(e.id, e.phase) for e in entries] == [
                    (again.id, OperationPhase.SUCCEEDED),
                    (interrupted.id, OperationPhase.ERROR),
                ]
                assert [e.message for e in entries].count(INTERRUPTED) == 1
    finally:
        await clean_up(cluster, namespaces=[namespace], apps=[app])
