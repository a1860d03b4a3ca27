"""The discovery cache: concurrent lookups in one group version share one request."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.clusters.discovery import Discovery

APPS = {
    "groupVersion": "apps/v1",
    "resources": [
        {"name": kind.lower() + "s", "kind": kind, "namespaced": True, "verbs": ["get"]}
        for kind in ("Deployment", "StatefulSet", "DaemonSet")
    ],
}


async def test_concurrent_lookups_in_one_group_version_share_one_request() -> None:
    fetched: list[str] = []
    release = asyncio.Event()

    async def fetch(path: str) -> Any:
        fetched.append(path)
        await release.wait()
        return APPS

    discovery = Discovery(fetch)
    lookups = [asyncio.create_task(discovery.lookup(api_version="apps/v1", kind=kind))
               for kind in ("Deployment", "StatefulSet", "DaemonSet", "Deployment")]  # fmt: skip
    await asyncio.sleep(0)
    release.set()
    found = await asyncio.gather(*lookups)
    assert [r.plural for r in found if r is not None] == [
        "deployments", "statefulsets", "daemonsets", "deployments"]  # fmt: skip
    assert fetched == ["/apis/apps/v1"]
    assert await discovery.lookup(api_version="apps/v1", kind="Deployment") is not None
    assert fetched == ["/apis/apps/v1"]  # cached
