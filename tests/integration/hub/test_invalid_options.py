"""An Application that parses but whose diff rules are invalid: its reconcile names the
real cause (InvalidSpec, the Application's file and the field), never a cluster problem,
and nothing of it reaches the cluster."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support import hubkit as kit
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream

pytestmark = pytest.mark.timeout(120)


async def test_a_string_where_a_list_belongs_in_ignore_differences_is_invalid_spec(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster, run = local_clusters[0], uuid.uuid4().hex[:6]
    app = namespace = f"badopts-{run}"
    upstream = new_upstream(git_daemon, tmp_path, app, {"m/cm.yaml": kit.configmap_yaml("m", {})})
    rules = [{"kind": "ConfigMap", "jsonPointers": "/data"}]  # a string, not a list
    text = kit.application_yaml(app, upstream.url, "m", namespace,
                            extra_spec={"ignoreDifferences": rules})
    directory = kit.hub_dir(tmp_path / "hub", local_clusters, {"bad-options.yaml": text})
    try:
        async with kit.running_hub(directory) as hub:

            async def refused() -> str:
                status = await kit.status_of(hub, app, cluster.name)
                found = [c for c in (status.conditions if status else ())
                         if c.reason == "InvalidSpec"]  # fmt: skip
                return found[0].message if found else ""

            message = await kit.eventually(refused, within=60, what="InvalidSpec condition")
            assert "bad-options.yaml" in message and "jsonPointers" in message
            status = await kit.status_of(hub, app, cluster.name)
            assert status is not None
            assert {c.type for c in status.conditions} == {"InvalidSpecError"}
            assert not await kit.namespace_exists(cluster, namespace)
    finally:
        await kit.clean_up(cluster, namespaces=[namespace], apps=[app])
