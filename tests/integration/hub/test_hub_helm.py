"""A Helm chart from Git through the hub, from an Argo CD Application as its users write it
(``source.helm`` with a value file and a parameter): rendered by the pinned helm in the
render sandbox, applied, and rendered again when a commit changes the value file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.local.toolchain import find_binaries
from engine.model import SyncStatus, TargetKey
from tests.support.charts import chart_repo
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
NAMESPACE = "helm-web"
CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "colour: blue\nsize: small\n",
    "charts/web/values-prod.yaml": "colour: green\n",
    "charts/web/templates/settings.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n"
        "data:\n  colour: {{ .Values.colour | quote }}\n  size: {{ .Values.size | quote }}\n"),
}


async def test_a_chart_from_git_with_a_value_file_and_a_parameter(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    helm = find_binaries() / "helm"
    cluster = local_clusters[0]
    upstream = new_upstream(git_daemon, tmp_path, "helm-web", dict(CHART))
    spec = {"source": {"repoURL": upstream.url, "path": "charts/web", "helm": {
        "valueFiles": ["values-prod.yaml"], "parameters": [{"name": "size", "value": "large"}]}}}
    app = yaml.safe_load(application_yaml("shop", upstream.url, "charts/web", NAMESPACE))
    app["spec"]["source"] = spec["source"]
    directory = hub_dir(tmp_path / "hub", local_clusters[:1], {"shop.yaml": yaml.safe_dump(app)},
                        extra={"render": {"helmBinary": str(helm)}})
    try:
        async with running_hub(directory) as hub:
            async def shows(colour: str) -> bool:
                status = await status_of(hub, "shop", cluster.name)
                data = await configmap_data(cluster, NAMESPACE, "shop-settings")
                return (status is not None and status.sync is SyncStatus.SYNCED
                        and data == {"colour": colour, "size": "large"})

            await eventually(lambda: shows("green"), within=60, what="the chart applied")
            status = await status_of(hub, "shop", cluster.name)
            assert status is not None and not status.conditions

            upstream.commit({"charts/web/values-prod.yaml": "colour: purple\n"}, "purple")
            upstream.push("main")
            await push_webhook(directory.url, upstream)
            await eventually(lambda: shows("purple"), within=60, what="the new value applied")
    finally:
        await clean_up(cluster, namespaces=[NAMESPACE], apps=["shop"])


async def test_a_chart_from_a_chart_repository_follows_its_version_constraint(
    local_clusters: list[TestCluster], tmp_path: Path
) -> None:
    helm = find_binaries() / "helm"
    cluster = local_clusters[0]
    template = {"templates/settings.yaml": CHART["charts/web/templates/settings.yaml"],
                "values.yaml": "colour: blue\nsize: small\n"}
    with chart_repo(tmp_path / "served") as repo:
        repo.add("web", "0.1.0", template)
        app = yaml.safe_load(application_yaml("repo", repo.url, "", "helm-repo"))
        app["spec"]["source"] = {"repoURL": repo.url, "chart": "web", "targetRevision": "0.*",
                                 "helm": {"valuesObject": {"size": "medium"}}}
        apps = {"repo.yaml": yaml.safe_dump(app)}
        directory = hub_dir(tmp_path / "hub", local_clusters[:1], apps,
                            extra={"render": {"helmBinary": str(helm)},
                                   "git": {"pollInterval": "1s", "timeout": "10s"}})
        try:
            async with running_hub(directory) as hub:
                async def at(version: str, colour: str) -> bool:
                    status = await status_of(hub, "repo", cluster.name)
                    data = await configmap_data(cluster, "helm-repo", "repo-settings")
                    return (status is not None and status.revision == version
                            and data == {"colour": colour, "size": "medium"})

                await eventually(lambda: at("0.1.0", "blue"), within=60, what="0.1.0 applied")
                # A newer version within the constraint is taken at the next resync.
                repo.add("web", "0.2.0", {**template, "values.yaml": "colour: red\nsize: s\n"})
                repo.add("web", "1.0.0", {**template, "values.yaml": "colour: no\nsize: s\n"})
                await eventually(lambda: at("0.2.0", "red"), within=60, what="0.2.0 applied")
        finally:
            await clean_up(cluster, namespaces=["helm-repo"], apps=["repo"])


async def test_multiple_sources_a_chart_with_values_from_another_repository(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    helm = find_binaries() / "helm"
    cluster = local_clusters[0]
    charts = new_upstream(git_daemon, tmp_path, "ms-charts", dict(CHART))
    config = new_upstream(git_daemon, tmp_path, "ms-config", {
        "envs/prod/values.yaml": "colour: teal\nsize: huge\n",
        "extra/cm.yaml": configmap_yaml("extra", {"from": "config"})})
    app = yaml.safe_load(application_yaml("multi", charts.url, "charts/web", "helm-multi"))
    del app["spec"]["source"]
    app["spec"]["sources"] = [
        {"repoURL": charts.url, "targetRevision": "main", "path": "charts/web",
         "helm": {"valueFiles": ["values-prod.yaml", "$values/envs/prod/values.yaml"]}},
        {"repoURL": config.url, "targetRevision": "main", "ref": "values"},
        {"repoURL": config.url, "targetRevision": "main", "path": "extra"}]
    directory = hub_dir(tmp_path / "hub", local_clusters[:1], {"multi.yaml": yaml.safe_dump(app)},
                        extra={"render": {"helmBinary": str(helm)}})
    try:
        async with running_hub(directory) as hub:
            async def shows(colour: str) -> bool:
                status = await status_of(hub, "multi", cluster.name)
                data = await configmap_data(cluster, "helm-multi", "multi-settings")
                return (status is not None and status.sync is SyncStatus.SYNCED
                        and data == {"colour": colour, "size": "huge"})

            await eventually(lambda: shows("teal"), within=60, what="values from the ref")
            assert await configmap_data(cluster, "helm-multi", "extra") == {"from": "config"}
            status = await status_of(hub, "multi", cluster.name)
            assert status is not None and status.revision is not None
            assert status.revision.count(",") == 2  # one revision per source

            # A commit to the values repository alone is applied (at the next resync).
            config.commit({"envs/prod/values.yaml": "colour: plum\nsize: huge\n"}, "plum")
            config.push("main")
            await eventually(lambda: shows("plum"), within=60, what="the new values applied")

            # A rollback syncs every source at the revisions history recorded.
            first = (await hub.store.history(TargetKey("multi", cluster.name)))[-1]
            assert first.revision.count(",") == 2
            await hub.control.rollback(app="multi", cluster=cluster.name, entry_id=first.id,
                                       trigger="manual:tester")
            async def teal_again() -> bool:
                data = await configmap_data(cluster, "helm-multi", "multi-settings")
                return data == {"colour": "teal", "size": "huge"}

            await eventually(teal_again, within=60, what="rolled back to teal")
    finally:
        await clean_up(cluster, namespaces=["helm-multi"], apps=["multi"])
