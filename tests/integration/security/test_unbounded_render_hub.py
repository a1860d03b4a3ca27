"""Class 6 of the security review in a running hub: a render without bound costs one render.

A commit whose kustomizations fan out (components listing two components of the next
level, twenty levels deep) is stopped by the render budget; the app reports why, another
app of the same hub syncs as usual, and the failed commit is not rendered again at every
resync (every 5 s here): it fails the same way until a new commit or a hard refresh.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.hub.hub import Hub
from engine.model import TargetKey
from tests.security.test_unbounded_render import component_fan_out
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
)

pytestmark = pytest.mark.timeout(180)


def fan_out_files(scratch: Path) -> dict[str, str | None]:
    component_fan_out(scratch)
    return {str(p.relative_to(scratch)): p.read_text() for p in scratch.rglob("*") if p.is_file()}


async def render_failure(hub: Hub, app: str, cluster: str) -> str | None:
    status = await hub.store.get_status(TargetKey(app, cluster))
    found = [c.message for c in (status.conditions if status else ()) if c.reason == "RenderFailed"]
    return found[0] if found else None


async def test_unbounded_render_fails_once_per_commit_and_never_starves_other_apps(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path
) -> None:
    cluster = local_clusters[0]
    files = {f"bomb/{k}": v for k, v in fan_out_files(tmp_path / "scratch").items()}
    files["good/cm.yaml"] = configmap_yaml("good", {"k": "v"})
    repo = new_upstream(git_daemon, tmp_path, "render-bomb", files)
    apps = {"bomb.yaml": application_yaml("render-bomb", repo.url, "bomb", "render-bomb"),
            "good.yaml": application_yaml("render-good", repo.url, "good", "render-good")}
    directory = hub_dir(tmp_path / "hub", local_clusters, apps)
    try:
        async with running_hub(directory) as hub:
            message = await eventually(
                lambda: render_failure(hub, "render-bomb", cluster.name), within=60,
                what="the fan-out stopped by the render budget")
            assert "more than 2000 kustomization directories" in message, message
            assert str(directory.root) not in message  # the hub's own paths are not shown
            await eventually(lambda: configmap_data(cluster, "render-good", "good"), within=60,
                             what="the other app synced")
            renders = hub.renders.cache.stats.misses
            await asyncio.sleep(12)  # two resyncs of the failed app
            assert hub.renders.cache.stats.misses == renders, "the failed commit re-rendered"
            await hub.request_refresh(app="render-bomb", hard=True)  # a user asks: once more
            await eventually(lambda: _rendered_again(hub, renders), within=30,
                             what="a hard refresh renders the commit again")
    finally:
        await clean_up(cluster, namespaces=["render-good", "render-bomb"],
                       apps=["render-good", "render-bomb"])


async def _rendered_again(hub: Hub, before: int) -> bool:
    return hub.renders.cache.stats.misses > before
