"""A commit's tree is made from the tree before it, and a render the cache holds needs no
tree: after a commit that changes one app, the hub holds one tree on disk, made by writing
what changed, and the other app's render at the earlier commit is answered from the cache
without that commit's tree being written again."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import SyncStatus, TargetKey
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
APPS = ("one", "two")


async def test_commit_trees_are_made_from_the_last_and_cached_renders_need_none(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path,
) -> None:
    cluster = local_clusters[0]
    files = {f"{app}/cm.yaml": configmap_yaml("settings", {"colour": "blue"}) for app in APPS}
    upstream = new_upstream(git_daemon, tmp_path, "commit-trees", files)
    first = upstream.git("rev-parse", "HEAD")
    apps = {f"{app}.yaml": application_yaml(app, upstream.url, app, f"ct-{app}", automated=True)
            for app in APPS}  # fmt: skip
    directory = hub_dir(tmp_path / "hub", local_clusters[:1], apps)
    try:
        async with running_hub(directory) as hub:
            async def synced() -> bool:
                for app in APPS:
                    status = await status_of(hub, app, cluster.name)
                    if status is None or status.sync is not SyncStatus.SYNCED:
                        return False
                return True

            await eventually(synced, within=60, what="both apps synced")
            trees = hub.reconciler.parts.trees
            assert (trees.held, trees.updates) == (1, 0)

            upstream.commit({"two/cm.yaml": configmap_yaml("settings", {"colour": "red"})})
            upstream.push("main")
            await push_webhook(directory.url, upstream)

            async def red() -> bool:
                return await configmap_data(cluster, "ct-two", "settings") == {"colour": "red"}

            await eventually(red, within=30, what="two's ConfigMap red")
            assert (trees.held, trees.updates) == (1, 1)  # the first tree became the second

            reads = await hub.reconciler.read_paths(TargetKey("one", cluster.name), first)
            assert reads is not None and "one/cm.yaml" in reads
            assert (trees.held, trees.updates) == (1, 1)  # from the cache, no tree written
    finally:
        await clean_up(cluster, namespaces=[f"ct-{app}" for app in APPS], apps=list(APPS))
