"""Apps whose path is not a directory of manifests, as Argo CD users bring them: a Helm
chart fails naming its Chart.yaml, a values file in a plain directory fails naming the
file, and a path that renders nothing is shown with a warning and Unknown health, never as
a healthy app; nothing of them reaches the cluster, and nothing is pruned."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.model.status import TargetStatus
from tests.support import hubkit as kit
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream

pytestmark = pytest.mark.timeout(180)

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: guestbook\nversion: 0.1.0\n",
    "chart/values.yaml": "replicaCount: 1\n",
    "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                               "  name: {{ .Release.Name }}\n",
}


async def test_apps_whose_path_holds_no_manifests_say_so(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster, run = local_clusters[0], uuid.uuid4().hex[:6]
    chart, values, web = (f"{name}-{run}" for name in ("chart", "values", "web"))
    upstream = new_upstream(git_daemon, tmp_path, f"shapes-{run}", {
        **CHART,
        "values/cm.yaml": kit.configmap_yaml("settings", {"a": "1"}),
        "values/values.yaml": "replicaCount: 2\n",
        "web/cm.yaml": kit.configmap_yaml("web", {"a": "1"}),
    })
    apps = {f"{name}.yaml": kit.application_yaml(name, upstream.url, path, name)
            for name, path in ((chart, "chart"), (values, "values"), (web, "web"))}
    directory = kit.hub_dir(tmp_path / "hub", local_clusters, apps)
    try:
        async with kit.running_hub(directory) as hub:

            async def reason(app: str, wanted: str) -> TargetStatus | None:
                status = await kit.status_of(hub, app, cluster.name)
                found = status and any(c.reason == wanted for c in status.conditions)
                return status if found else None

            def message(status: TargetStatus, wanted: str) -> str:
                return next(c.message for c in status.conditions if c.reason == wanted)

            status = await kit.eventually(lambda: reason(chart, "RenderFailed"), within=60,
                                          what="the chart app's RenderFailed")
            assert "chart: a Helm chart (Chart.yaml)" in message(status, "RenderFailed")
            status = await kit.eventually(lambda: reason(values, "RenderFailed"), within=60,
                                          what="the values app's RenderFailed")
            assert message(status, "RenderFailed").startswith(
                "values/values.yaml:1: not a Kubernetes object")
            assert not await kit.namespace_exists(cluster, chart)
            assert not await kit.namespace_exists(cluster, values)

            # The web app deploys, then its manifest is replaced by a README: nothing to
            # deploy is a warning, the ConfigMap stays (an empty render never prunes).
            await kit.eventually(lambda: kit.configmap_data(cluster, web, "web"), within=60,
                                 what="the web app's ConfigMap")
            upstream.commit({"web/cm.yaml": None, "web/README.md": "moved\n"}, "empty web")
            upstream.push("main")
            await hub.control.request_refresh(app=web)
            status = await kit.eventually(lambda: reason(web, "EmptyRender"), within=60,
                                          what="the web app's EmptyRender warning")
            assert "renders no objects" in message(status, "EmptyRender")
            assert next(c.type for c in status.conditions if c.reason == "EmptyRender") == \
                "Warning"
            assert status.health == "Unknown"
            assert await kit.configmap_data(cluster, web, "web") == {"a": "1"}
    finally:
        await kit.clean_up(cluster, namespaces=[chart, values, web], apps=[chart, values, web])
