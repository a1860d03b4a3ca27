"""A recording ``HubControl`` over a real store, for the security tests of the HTTP layer.

``StoreHub`` serves a fixed catalog and cluster list and records every action it is asked
for in ``calls``, so a test can prove that a refused request never reached the hub
(tests/integration/security/test_dns_rebinding_http.py, tests/security/
test_webhook_nesting.py). It does not decide anything as the hub does: the API's own tests
run against the real controller (``tests.integration.api.hub.open_hub``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from engine.api.control import AppConflict, AppNotFound, InvalidRequest
from engine.api.feed import ChangeFeed
from engine.api.views import (
    AppView,
    ClusterView,
    Histogram,
    MetricsSnapshot,
    ProjectView,
    TargetView,
)
from engine.model import TargetKey
from engine.model.status import AUTOMATED_SYNC_DISABLED
from engine.store import Store

REPO = "https://git.example/demo.git"


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
    changes: ChangeFeed = field(default_factory=ChangeFeed)

    def apps(self) -> list[AppView]:
        return sorted(self.views, key=lambda v: v.name)

    def clusters(self) -> list[ClusterView]:
        return list(CLUSTERS)

    def source_errors(self) -> list[str]:
        return list(SOURCE_ERRORS)

    def projects(self) -> list[ProjectView]:
        return [ProjectView("default", "", ("*",), ("* *",), len(self.views))]

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
            raise AppNotFound(f"no app named {app}")
        if view.errors:
            raise AppConflict(f"app {app} is invalid: {view.errors[0]}")
        keys = [k for k in view.keys if cluster in (None, k.cluster)]
        if not keys:
            raise AppNotFound(f"app {app} does not deploy to cluster {cluster}")
        return keys

    async def request_sync(
        self, *, app: str, cluster: str | None = None, revision: str | None = None,
        prune: bool | None = None, trigger: str,
    ) -> list[TargetKey]:  # fmt: skip
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
                raise AppNotFound(f"app {app} has no history entry {entry_id}")
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
