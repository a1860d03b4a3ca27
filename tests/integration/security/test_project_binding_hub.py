"""Class 9 against a real hub: the operator binds each apps source to its projects.

A tenant's Git source is bound to ``team-a``. Its Application naming ``platform`` is
refused and nothing of it is applied; its file redefining the name of an app the operator
defined (listed first, so "the first definition wins" would hand it over) takes nothing
over: the app becomes invalid, nothing is applied from either definition, and the objects
the original applied stay.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import yaml

from engine.hub.hub import Hub
from engine.model import SyncStatus
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    namespace_exists,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(180)
RECONCILE = 5.0  # timeout.reconcile of application_yaml


def _projects() -> str:
    return "---\n".join(yaml.safe_dump({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": name},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
    }) for name in ("team-a", "platform"))  # fmt: skip


async def _synced(hub: Hub, app: str, cluster: str) -> bool:
    status = await status_of(hub, app, cluster)
    return bool(status and status.sync is SyncStatus.SYNCED)


def _errors(hub: Hub, app: str) -> tuple[str, ...]:
    return next((a.errors for a in hub.apps() if a.name == app), ())


async def test_class9_a_source_bound_to_team_a_cannot_use_platform_nor_take_over_an_app(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
) -> None:
    cluster, run = local_clusters[0], uuid.uuid4().hex[:6]
    ok, grab, web = f"bind-{run}-ok", f"bind-{run}-grab", f"bind-{run}-web"
    manifests = new_upstream(git_daemon, tmp_path, f"bind-manifests-{run}", {
        "ok/cm.yaml": configmap_yaml("ok", {"v": "ok"}),
        "grab/cm.yaml": configmap_yaml("grab", {"v": "grab"}),
        "web/cm.yaml": configmap_yaml("web", {"v": "original"}),
        "stolen/cm.yaml": configmap_yaml("stolen", {"v": "stolen"}),
    })
    url = manifests.url
    tenant = new_upstream(git_daemon, tmp_path, f"bind-tenant-{run}", {
        "apps/ok.yaml": application_yaml(ok, url, "ok", ok, project="team-a"),
        "apps/grab.yaml": application_yaml(grab, url, "grab", grab, project="platform"),
    })
    extra = {"apps": [{"repo": tenant.url, "revision": "main", "path": "apps",
                       "projects": ["team-a"]}, "apps/"],
             "git": {"pollInterval": "2s", "timeout": "10s"}}  # fmt: skip
    apps = {"projects.yaml": _projects(),
            "web.yaml": application_yaml(web, url, "web", web, project="team-a")}
    directory = hub_dir(tmp_path / "hub", [cluster], apps, extra=extra,
                        implicit_default_project=False)
    try:
        async with running_hub(directory) as hub:
            for app in (ok, web):
                await eventually(lambda app=app: _synced(hub, app, cluster.name), within=60,
                                 what=f"{app} synced")  # fmt: skip
            # The Application naming a project its source is not bound to is refused.
            (error,) = _errors(hub, grab)
            assert "'platform' is not allowed" in error and tenant.url in error
            assert not any(k.app == grab for k in hub.catalog.targets)

            # A second definition of web, from the source listed first, takes nothing over.
            tenant.commit({"apps/web.yaml": application_yaml(web, url, "stolen", web,
                                                             project="team-a")}, "take web")
            tenant.push("main")
            async def web_errors() -> tuple[str, ...]:
                return _errors(hub, web)

            async def web_refused() -> bool:
                status = await status_of(hub, web, cluster.name)
                return bool(status and any("defined 2 times" in c.message
                                           for c in status.conditions))

            errors = await eventually(web_errors, within=30, what="web reported defined twice")
            assert "defined 2 times" in errors[0] and "web.yaml" in errors[0]
            assert tenant.url in errors[0] and str(directory.root / "apps") in errors[0]
            await asyncio.sleep(3 * RECONCILE)  # several reconcile rounds of every target
            assert await configmap_data(cluster, web, "web") == {"v": "original"}
            assert await configmap_data(cluster, web, "stolen") is None
            assert not await namespace_exists(cluster, grab)
            await eventually(web_refused, within=30, what="web's status says it is refused")
    finally:
        await clean_up(cluster, namespaces=[ok, grab, web], apps=[ok, grab, web])
