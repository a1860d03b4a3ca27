"""A Jsonnet app through the hub on a real cluster, as Argo CD users write it: its
``directory.jsonnet`` extVars and tlas reach the evaluation, a library in ``libs`` is
imported, and a commit that changes only that library re-renders the app and applies
the change (the library is one of the app's files)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from tests.support import hubkit as kit
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream

pytestmark = pytest.mark.timeout(180)


def _library(colour: str) -> str:
    return ("{ settings(name, env, size):: { apiVersion: 'v1', kind: 'ConfigMap', metadata:"
            f" {{ name: name }}, data: {{ env: env, size: std.toString(size), colour: '{colour}'"
            " } } }\n")


async def test_a_jsonnet_app_renders_with_its_variables_and_follows_its_library(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster, name = local_clusters[0], f"jsonnet-{uuid.uuid4().hex[:6]}"
    upstream = new_upstream(git_daemon, tmp_path, name, {
        "app/main.jsonnet": "local lib = import 'settings.libsonnet';\n"
                            "function(size) [lib.settings('settings', std.extVar('env'), size)]\n",
        "vendor/settings.libsonnet": _library("blue"),
    })
    app = yaml.safe_load(kit.application_yaml(name, upstream.url, "app", name))
    app["spec"]["source"]["directory"] = {"jsonnet": {
        "extVars": [{"name": "env", "value": "staging"}],
        "tlas": [{"name": "size", "value": "3", "code": True}],
        "libs": ["vendor"]}}
    directory = kit.hub_dir(tmp_path / "hub", local_clusters, {f"{name}.yaml": yaml.safe_dump(app)})
    try:
        async with kit.running_hub(directory):
            found = await kit.eventually(lambda: kit.configmap_data(cluster, name, "settings"),
                                         within=60, what="the rendered ConfigMap")
            assert found == {"env": "staging", "size": "3", "colour": "blue"}
            upstream.commit({"vendor/settings.libsonnet": _library("green")}, "green library")
            upstream.push("main")
            await kit.push_webhook(directory.url, upstream)

            async def green() -> bool:
                data = await kit.configmap_data(cluster, name, "settings")
                return bool(data and data["colour"] == "green")

            await kit.eventually(green, within=60, what="the library's change applied")
    finally:
        await kit.clean_up(cluster, namespaces=[name], apps=[name])
