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
        held = {"a": ("a", 0), "b": ("b", 1)}
        a.fence = lambda cluster: held["a"] if cluster == "dev" else None
        b.fence = lambda cluster: held["b"] if cluster == "dev" else None
        assert await a.claim_shard("dev", "a", 0)
        op = await a.begin_operation(KEY, revision="r1", trigger="automated", source=SOURCE)
        assert await b.claim_shard("dev", "b", 1)  # b took the Lease over
        with pytest.raises(StoreFenced, match="reconciled by b"):
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
