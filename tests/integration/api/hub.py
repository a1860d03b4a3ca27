"""A small real ``HubControl`` over a real ``Store``: the API's stand-in for the hub core.

``StoreHub`` serves a fixed catalog and cluster list, reads and writes a real SQLite
store, and records every action it is asked for in ``calls`` so tests can check what
reached the hub. ``seed`` fills the store with the statuses and history the tests read.
``ServedHub`` runs store, hub and HTTP server on loopback in a thread of its own, for
callers that cannot share the test's event loop (the CLI's ``asyncio.run``, Chromium).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from engine.api.control import Conflict, InvalidRequest, NotFound
from engine.api.server import create_app
from engine.api.views import AppView, ClusterView, Histogram, MetricsSnapshot, TargetView
from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.store import (
    AUTOMATED,
    AUTOMATED_SYNC_DISABLED,
    Condition,
    ResourceStatus,
    Store,
    SyncSource,
    TargetStatus,
)

REPO = "https://git.example/demo.git"
SECRET_VALUE = "c3VwZXItc2VjcmV0LXRva2Vu"  # what a Secret's data would hold


def _app(name: str, path: str, namespace: str, *clusters: str, **kw: Any) -> AppView:
    targets = tuple(TargetView(TargetKey(name, c), namespace, path, "main") for c in clusters)
    return AppView(
        name=name,
        project="default",
        repo_url=REPO,
        target_revision="main",
        path=path,
        destination=f"name {clusters[0]}" if clusters else "name gone",
        namespace=namespace,
        targets=targets,
        **kw,
    )


APPS = [
    _app("demo-dev", "overlays/dev", "dev", "dev", automated=True, prune=True, self_heal=True),
    _app("demo-prod", "overlays/prod", "prod", "prod", automated=True, prune=True),
    _app("fleet", "overlays/fleet", "fleet", "dev", "prod"),
    _app("broken", "overlays/broken", "x", errors=("destination name 'gone' is not registered",)),
]
SOURCE_ERRORS = ["apps/broken.yaml: not valid YAML (line 3): <img id=\"injected\" src=\"x\">"]
CLUSTERS = [
    ClusterView("dev", "https://127.0.0.1:6443", {"env": "dev"}),
    ClusterView(
        "prod",
        "https://admin:hunter2@127.0.0.1:7443",
        {"env": "prod"},
        reachable=False,
        last_error="connection refused",
    ),
]


@dataclass
class StoreHub:
    """The test implementation of ``HubControl``."""

    store: Store
    views: list[AppView] = field(default_factory=lambda: list(APPS))
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def apps(self) -> list[AppView]:
        return sorted(self.views, key=lambda v: v.name)

    def clusters(self) -> list[ClusterView]:
        return list(CLUSTERS)

    def source_errors(self) -> list[str]:
        return list(SOURCE_ERRORS)

    def metrics(self) -> MetricsSnapshot:
        return MetricsSnapshot(
            reconciles={"synced": 3, "noop": 10, "failed": 1},
            syncs={"Succeeded": 3, "Failed": 1},
            git_fetches={"ok": 5},
            triggers={"manual": 1, "periodic": 12},
            drift_events=2,
            queue_depth=4,
            running=1,
            sync_duration=Histogram.of([0.2, 1.5, 40.0]),
            started_at=1_700_000_000.0,
        )

    def _targets(self, app: str, cluster: str | None) -> list[TargetKey]:
        view = next((v for v in self.views if v.name == app), None)
        if view is None:
            raise NotFound(f"no app named {app}")
        if view.errors:
            raise Conflict(f"app {app} is invalid: {view.errors[0]}")
        keys = [k for k in view.keys if cluster in (None, k.cluster)]
        if not keys:
            raise NotFound(f"app {app} does not deploy to cluster {cluster}")
        return keys

    async def request_sync(
        self,
        *,
        app: str,
        cluster: str | None = None,
        revision: str | None = None,
        prune: bool | None = None,
        trigger: str,
    ) -> list[TargetKey]:
        keys = self._targets(app, cluster)
        self.calls.append(
            (
                "sync",
                dict(app=app, cluster=cluster, revision=revision, prune=prune, trigger=trigger),
            )
        )
        return keys

    async def request_refresh(self, *, app: str, hard: bool = False) -> list[TargetKey]:
        keys = self._targets(app, None)
        self.calls.append(("refresh", dict(app=app, hard=hard)))
        return keys

    async def rollback(
        self, *, app: str, cluster: str | None = None, entry_id: int | None = None, trigger: str
    ) -> list[TargetKey]:
        keys = self._targets(app, cluster)
        if entry_id is not None:
            found = [k for k in keys if await self.store.history_entry(k, entry_id)]
            if not found:
                raise NotFound(f"app {app} has no history entry {entry_id}")
            keys = found
        elif len(keys) > 1:
            raise InvalidRequest("name a cluster or a history entry")
        await self.store.set_app_setting(app, AUTOMATED_SYNC_DISABLED, True)
        self.views = [
            replace(v, automated_disabled=True) if v.name == app else v for v in self.views
        ]
        self.calls.append(
            ("rollback", dict(app=app, cluster=cluster, entry_id=entry_id, trigger=trigger))
        )
        return keys


T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _resources(ns: str) -> tuple[ResourceStatus, ...]:
    return (
        ResourceStatus(ResourceKey("", "Namespace", "", ns), SyncStatus.SYNCED),
        ResourceStatus(
            ResourceKey("apps", "Deployment", ns, "web"),
            SyncStatus.SYNCED,
            HealthStatus.HEALTHY,
            "3/3 replicas available",
        ),
        ResourceStatus(
            ResourceKey("", "Service", ns, "web"),
            SyncStatus.OUT_OF_SYNC,
            HealthStatus.HEALTHY,
            "spec.ports[0].port differs",
        ),
        ResourceStatus(
            ResourceKey("", "Secret", ns, "web-token"),
            SyncStatus.SYNCED,
            None,
            "data differs (values hidden)",
        ),
    )


async def seed(store: Store) -> dict[str, int]:
    """Two syncs of demo-dev on dev, one of demo-prod, one failed of fleet on prod."""
    ids: dict[str, int] = {}
    for label, key, rev, phase in (
        ("dev1", TargetKey("demo-dev", "dev"), "a" * 40, OperationPhase.SUCCEEDED),
        ("dev2", TargetKey("demo-dev", "dev"), "b" * 40, OperationPhase.SUCCEEDED),
        ("prod1", TargetKey("demo-prod", "prod"), "a" * 40, OperationPhase.SUCCEEDED),
        ("fleet1", TargetKey("fleet", "prod"), "c" * 40, OperationPhase.FAILED),
    ):
        ns = {"demo-dev": "dev", "demo-prod": "prod"}.get(key.app, "fleet")
        op = await store.begin_operation(
            key, revision=rev, trigger=AUTOMATED, source=SyncSource(REPO, f"overlays/{ns}")
        )
        ok = phase is OperationPhase.SUCCEEDED
        status = TargetStatus(
            key,
            sync=SyncStatus.SYNCED if ok else SyncStatus.OUT_OF_SYNC,
            health=HealthStatus.HEALTHY if ok else HealthStatus.DEGRADED,
            revision=rev,
            target_revision=rev,
            resources=_resources(ns),
            conditions=()
            if ok
            else (Condition("SyncError", "ApplyFailed", "Deployment web: forbidden", T0),),
            reconciled_at=T0 + timedelta(minutes=len(ids)),
        )
        await store.finish_operation(
            op, phase=phase, message=f"{phase.value} {rev[:7]}", status=status
        )
        ids[label] = op
    return ids


class ServedHub:
    """Store, ``StoreHub`` and HTTP server on 127.0.0.1 in a thread with its own loop."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""
        self.hub: StoreHub
        self.ids: dict[str, int] = {}

    def __enter__(self) -> ServedHub:
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` in the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def _start(self) -> None:
        store = await Store.open(self._directory / "fleetsync.db")
        self.ids = await seed(store)
        self.hub = StoreHub(store)
        self._runner = web.AppRunner(create_app(self.hub), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        await self._runner.cleanup()
        await self.hub.store.close()
