"""A user's Lua health check from fleetsync.yaml decides an object's health in the running
hub (the sync's assessment and the watches' later ones), over the built-in rule for its
kind, and the app's health message names the worst object first."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.hub.hub import Hub
from engine.model import HealthStatus, TargetKey
from engine.model.status import TargetStatus
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    eventually,
    hub_dir,
    running_hub,
)

pytestmark = pytest.mark.timeout(180)

# Argo CD's format: a ConfigMap is as healthy as its data says (a stand-in for a CRD).
CHECK = """
hs = {status = "Healthy", message = "ready"}
if obj.data ~= nil and obj.data.state == "broken" then
  hs.status = "Degraded"
  hs.message = "the lamp says " .. obj.data.state
end
return hs
"""
# A Deployment judged by the user's check instead of the built-in rule, from its status.
DEPLOYMENT_CHECK = """
hs = {status = "Progressing", message = "lua: 0 ready"}
if obj.status ~= nil and obj.status.readyReplicas ~= nil then
  hs.message = "lua: " .. obj.status.readyReplicas .. " ready"
  if obj.status.readyReplicas == obj.spec.replicas then hs.status = "Healthy" end
end
return hs
"""


def deployment(name: str) -> str:
    labels = {"app": name}
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "lamp:1"}]}}},
    })  # fmt: skip


def configmap(name: str, state: str) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name}, "data": {"state": state}})


async def app_health(hub: Hub, cluster: str, want: HealthStatus) -> TargetStatus | None:
    status = await hub.store.get_status(TargetKey("lamp", cluster))
    return status if status is not None and status.health is want else None


async def test_a_lua_health_check_from_fleetsync_yaml_decides_health_in_the_hub(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    repo = new_upstream(git_daemon, tmp_path, "lamp", {
        "lamp/a.yaml": configmap("a-lamp", "broken"), "lamp/b.yaml": configmap("b-lamp", "ok"),
        "lamp/d.yaml": deployment("lamp")})
    apps = {"lamp.yaml": application_yaml("lamp", repo.url, "lamp", "lamp")}
    directory = hub_dir(tmp_path / "hub", local_clusters, apps,
                        extra={"health": {"customizations": {
                            "ConfigMap": CHECK, "apps/Deployment": DEPLOYMENT_CHECK}}})
    try:
        async with running_hub(directory) as hub:
            found = await eventually(lambda: app_health(hub, cluster.name, HealthStatus.DEGRADED),
                                     within=60, what="the Lua check makes the app Degraded")
            assert found.health_message.startswith("ConfigMap/a-lamp: the lamp says broken")
            # The Deployment becomes ready after the sync: its health is the check's verdict.
            async def deployment_row() -> str | None:
                status = await hub.store.get_status(TargetKey("lamp", cluster.name))
                rows = [r for r in (status.resources if status else ())
                        if r.key.kind == "Deployment"]
                ready = rows and rows[0].health is HealthStatus.HEALTHY
                return rows[0].message if ready else None

            message = await eventually(deployment_row, within=60,
                                       what="the Deployment Healthy by the user's check")
            assert "lua: 1 ready" in message
    finally:
        await clean_up(cluster, namespaces=["lamp"], apps=["lamp"])
