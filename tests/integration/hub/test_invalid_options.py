"""An Application that parses but whose diff rules are invalid is refused when it is
loaded: the error names its file and field (never a cluster problem), and nothing of it
reaches the cluster. One that was valid before keeps its targets, which show the same
error as an InvalidSpec condition."""

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
    app, late = f"badopts-{run}", f"lateopts-{run}"
    files = {"m/cm.yaml": kit.configmap_yaml("m", {"a": "1"})}
    upstream = new_upstream(git_daemon, tmp_path, app, files)
    rules = [{"kind": "ConfigMap", "jsonPointers": "/data"}]  # a string, not a list
    bad = {"ignoreDifferences": rules}
    late_ok = kit.application_yaml(late, upstream.url, "m", late)
    directory = kit.hub_dir(tmp_path / "hub", local_clusters, {
        "bad-options.yaml": kit.application_yaml(app, upstream.url, "m", app, extra_spec=bad),
        "late.yaml": late_ok,
    })
    try:
        async with kit.running_hub(directory) as hub:
            views = {v.name: v for v in hub.control.apps()}
            (error,) = views[app].errors
            assert "bad-options.yaml: Application" in error
            assert "spec.ignoreDifferences[0]" in error and "jsonPointers" in error
            assert views[app].targets == ()
            assert await kit.status_of(hub, app, cluster.name) is None

            # An app synced before, then given the same bad rule: its target shows why.
            await kit.eventually(lambda: kit.configmap_data(cluster, late, "m"), within=60,
                                 what="the late app's ConfigMap")
            directory.write_apps({
                "bad-options.yaml": kit.application_yaml(app, upstream.url, "m", app,
                                                         extra_spec=bad),
                "late.yaml": kit.application_yaml(late, upstream.url, "m", late,
                                                  extra_spec=bad),
            })

            async def refused() -> str:
                status = await kit.status_of(hub, late, cluster.name)
                found = [c for c in (status.conditions if status else ())
                         if c.reason == "InvalidSpec"]  # fmt: skip
                return found[0].message if found else ""

            message = await kit.eventually(refused, within=60, what="InvalidSpec condition")
            assert "late.yaml" in message and "jsonPointers" in message
            status = await kit.status_of(hub, late, cluster.name)
            assert status is not None
            assert {c.type for c in status.conditions} == {"InvalidSpecError"}
            assert not await kit.namespace_exists(cluster, app)
    finally:
        await kit.clean_up(cluster, namespaces=[app, late], apps=[app, late])
