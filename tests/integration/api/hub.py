"""A real hub, opened but not running, for the API's tests: the real ``HubController``
over a real store, a catalog read from real Application files and a real cluster
registration (its servers are never contacted: nothing runs the scheduler).

``open_hub`` writes the hub directory, opens every part of ``Hub`` as ``fleetsync serve``
does (store, registry, catalog, runtime, controller) and seeds the store with the
statuses and history the tests read (``seed``). ``ServedHub`` runs the same hub with its
HTTP server on loopback in a thread of its own, for callers that cannot share the test's
event loop (the CLI's ``asyncio.run``, Chromium).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from engine.api.server import create_app
from engine.config.hub import load_config
from engine.hub.hub import Hub
from engine.hub.report import ReconcileReport
from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.model.reconciles import Outcome, Trigger
from engine.model.status import AUTOMATED, Condition, ResourceStatus, SyncSource, TargetStatus
from engine.store import Store
from tests.integration.api.recording import StoreHub
from tests.support.auth import admin_token

__all__ = ["ServedHub", "StoreHub", "open_hub", "seed"]  # StoreHub: the security tests'
REPO = "https://git.example/demo.git"
SECRET_VALUE = "c3VwZXItc2VjcmV0LXRva2Vu"  # what a Secret's data would hold
CLUSTER_TOKEN = "hunter2-cluster-token"
BROKEN_NAME = '<img id="injected" src="x">.yaml'  # a file name is shown in an error
BROKEN_FILE = "kind: Application\nmetadata: {name: [\n"
# Accounts of the auth tests: alice runs the demo apps, bob reads the fleet app, ci is
# automation that reads everything.
AUTH = {
    "accounts": {"alice": ["login"], "bob": ["login"], "ci": ["apiKey"]},
    "policy": "\n".join([
        "p, role:demo, applications, *, default/demo-*, allow",
        "p, role:demo, clusters, get, dev, allow",
        "p, role:fleet-reader, applications, get, default/fleet, allow",
        "g, alice, role:demo",
        "g, bob, role:fleet-reader",
        "g, ci, role:readonly",
    ]),
}


def _application(name: str, path: str, namespace: str, destination: dict[str, Any],
                 automated: dict[str, bool] | None, api: str = "argoproj.io/v1alpha1",
                 labels: dict[str, str] | None = None) -> str:  # fmt: skip
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": REPO, "targetRevision": "main", "path": path},
        "destination": {**destination, "namespace": namespace},
    }
    if automated is not None:
        spec["syncPolicy"] = {"automated": automated}
    return yaml.safe_dump({"apiVersion": api, "kind": "Application",
                           "metadata": {"name": name, "labels": labels or {}}, "spec": spec})


APPS = {
    "demo-dev.yaml": _application("demo-dev", "overlays/dev", "dev", {"name": "dev"},
                                  {"prune": True, "selfHeal": True},
                                  labels={"team": "demo", "tier": "dev"}),
    "demo-prod.yaml": _application("demo-prod", "overlays/prod", "prod", {"name": "prod"},
                                   {"prune": True}, labels={"team": "demo"}),
    "fleet.yaml": _application("fleet", "overlays/fleet", "fleet",
                               {"clusterSelector": {"matchExpressions": [
                                   {"key": "env", "operator": "In", "values": ["dev", "prod"]}]}},
                               None, api="fleetsync.io/v1alpha1"),
    "broken.yaml": _application("broken", "overlays/broken", "x", {"name": "gone"}, None),
    BROKEN_NAME: BROKEN_FILE,
}


def write_hub_dir(root: Path) -> Path:
    """A hub directory: two registered clusters (never contacted), the apps above."""
    (root / "apps").mkdir(parents=True)
    for name, text in APPS.items():
        (root / "apps" / name).write_text(text)
    (root / "token").write_text(CLUSTER_TOKEN)
    clusters = [
        {"name": "dev", "labels": {"env": "dev"}, "server": "https://127.0.0.1:6443",
         "insecureSkipTLSVerify": True, "tokenFile": "token"},
        {"name": "prod", "labels": {"env": "prod"}, "server": "https://127.0.0.1:7443",
         "insecureSkipTLSVerify": True, "tokenFile": "token"},
    ]  # fmt: skip
    (root / "clusters.yaml").write_text(yaml.safe_dump({"clusters": clusters}))
    config = {"clusters": "clusters.yaml", "dataDir": "data", "apps": ["apps"],
              "implicitDefaultProject": True, "auth": AUTH}
    (root / "fleetsync.yaml").write_text(yaml.safe_dump(config))
    return root / "fleetsync.yaml"


@asynccontextmanager
async def open_hub(root: Path) -> AsyncIterator[Hub]:
    """The hub of a fresh directory under ``root``, opened and seeded, not running."""
    hub = Hub(load_config(write_hub_dir(root)))
    async with AsyncExitStack() as stack:
        await hub.open(stack)
        hub.ids = await seed(hub.store)  # type: ignore[attr-defined]
        # What the runtime learnt from reconciles: counted, and prod could not be reached.
        for trigger, outcome in ((Trigger.PERIODIC, Outcome.SUCCESS),
                                 (Trigger.MANUAL, Outcome.TEMPORARY_FAILURE)):  # fmt: skip
            hub.counters.triggered(trigger)
            hub.runtime.take(ReconcileReport(TargetKey("fleet", "prod"), outcome, reached=False,
                                             unreachable="connection refused"))
        yield hub


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
    """The opened hub and its HTTP server on 127.0.0.1, in a thread with its own loop."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""
        self.token = ""
        self.hub: Hub
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
        self._opened = open_hub(self._directory / "hub")
        self.hub = await self._opened.__aenter__()
        self.ids = self.hub.ids  # type: ignore[attr-defined]
        self.token = await admin_token(self.hub)
        self._runner = web.AppRunner(create_app(self.hub.control, auth=self.hub.auth),
                                     access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        await self._runner.cleanup()
        await self._opened.__aexit__(None, None, None)
