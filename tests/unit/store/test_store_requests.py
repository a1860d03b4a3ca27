"""Actions left in the store for the replica that reconciles a cluster (SQLite here; the
same on PostgreSQL in tests/integration/store): taken once, oldest first, per cluster."""

from __future__ import annotations

from pathlib import Path

from engine.model import TargetKey
from engine.store import Store

DEV, PROD = TargetKey("web", "dev"), TargetKey("web", "prod")


async def test_actions_are_taken_once_oldest_first_by_cluster(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        await store.queue_request(DEV, "sync", {"trigger": "manual:a", "prune": True})
        await store.queue_request(PROD, "refresh", None)
        await store.queue_request(DEV, "hard-refresh", None)
        assert await store.take_requests(["dev"]) == [
            (DEV, "sync", {"trigger": "manual:a", "prune": True}),
            (DEV, "hard-refresh", None)]
        assert await store.take_requests(["dev"]) == []
        assert await store.take_requests(["prod", "other"]) == [(PROD, "refresh", None)]


async def test_a_cluster_split_by_app_gives_each_owner_only_its_targets(tmp_path: Path) -> None:
    mine, theirs = TargetKey("web", "dev"), TargetKey("api", "dev")
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        await store.queue_request(mine, "sync", None)
        await store.queue_request(theirs, "refresh", None)
        assert await store.take_requests(["dev"], only=lambda key: key.app == "web") == [
            (mine, "sync", None)]
        assert await store.take_requests(["dev"], only=lambda key: key.app == "web") == []
        assert await store.take_requests(["dev"]) == [(theirs, "refresh", None)]
