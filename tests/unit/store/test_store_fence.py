"""Fenced writes (scale-out): a cluster claimed by a later generation refuses the writes of
the replica that held it before, whatever that replica still believes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import OperationPhase, TargetKey
from engine.model.status import SyncSource, TargetStatus
from engine.store import Store, StoreFenced

KEY = TargetKey("web", "dev")
SOURCE = SyncSource("https://git.example/web.git", "app")


async def test_a_later_generation_fences_the_earlier_holder_out(tmp_path: Path) -> None:
    path = tmp_path / "fleetsync.db"
    async with await Store.open(path) as a, await Store.open(path) as b:
        held = {"a": ("dev", "a", 0), "b": ("dev", "b", 1)}
        a.fence = lambda key: held["a"] if key.cluster == "dev" else None
        b.fence = lambda key: held["b"] if key.cluster == "dev" else None
        assert await a.claim_shard("dev", "a", 0)
        op = await a.begin_operation(KEY, revision="r1", trigger="automated", source=SOURCE)
        assert await b.claim_shard("dev", "b", 1)  # b took the Lease over
        with pytest.raises(StoreFenced, match="claimed by b"):
            await a.finish_operation(op, phase=OperationPhase.SUCCEEDED, message="",
                                     status=TargetStatus(KEY))
        with pytest.raises(StoreFenced):
            await a.save_status(TargetStatus(KEY))
        assert not await a.claim_shard("dev", "a", 0)  # a stale claim changes nothing
        await b.save_status(TargetStatus(KEY))  # the new owner writes
        with pytest.raises(StoreFenced):  # nobody has claimed this cluster for a
            await a.save_status(TargetStatus(TargetKey("web", "prod")))
        assert a.fence is not None
        a.fence = None  # one hub: nothing is fenced
        await a.save_status(TargetStatus(TargetKey("web", "prod")))


async def test_the_shards_of_a_split_cluster_are_fenced_apart(tmp_path: Path) -> None:
    web, api = TargetKey("web", "big"), TargetKey("api", "big")
    shard = {web: "big#0", api: "big#1"}
    async with await Store.open(tmp_path / "fleetsync.db") as a:
        a.fence = lambda key: (shard[key], "a", 1)
        assert await a.claim_shard("big#0", "a", 1)
        assert await a.claim_shard("big#1", "b", 1)  # the other part is b's
        await a.save_status(TargetStatus(web))
        with pytest.raises(StoreFenced, match="big#1 is claimed by b"):
            await a.save_status(TargetStatus(api))
