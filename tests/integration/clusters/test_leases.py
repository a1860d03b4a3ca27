"""Leases on a real API server: one holder at a time, renewals, a takeover only after the
holder stopped renewing for a whole duration (by the taker's own clock), the fencing
generation moving on each takeover, an immediate handover on release, and exactly one
winner when replicas race for a new Lease."""

from __future__ import annotations

import asyncio

import pytest

from engine.clusters import ClusterClient
from engine.clusters.leases import Held, Leases

pytestmark = pytest.mark.timeout(60)
DURATION = 2.0


def _replicas(client: ClusterClient, namespace: str, *names: str) -> list[Leases]:
    return [Leases(client, namespace=namespace, identity=n, duration=DURATION) for n in names]


async def test_one_holder_renewals_and_a_takeover_after_the_holder_stops(
    kube_client: ClusterClient, namespace: str
) -> None:
    a, b = _replicas(kube_client, namespace, "replica-a", "replica-b")
    assert await a.try_hold("shard-dev") == Held("shard-dev", "replica-a", 0)
    assert await b.try_hold("shard-dev") is None
    for _ in range(3):  # a renews faster than the duration: b never gets it
        await asyncio.sleep(DURATION / 2)
        assert await a.try_hold("shard-dev") == Held("shard-dev", "replica-a", 0)
        assert await b.try_hold("shard-dev") is None
    # a stops renewing; b takes over only after a whole duration of silence.
    assert await b.try_hold("shard-dev") is None
    await asyncio.sleep(DURATION + 0.3)
    assert await b.try_hold("shard-dev") == Held("shard-dev", "replica-b", 1)
    assert await a.try_hold("shard-dev") is None  # a lost it, and sees so
    assert await b.holders(selector="") == {"shard-dev": "replica-b"}


async def test_a_released_lease_is_taken_at_once(
    kube_client: ClusterClient, namespace: str
) -> None:
    a, b = _replicas(kube_client, namespace, "replica-a", "replica-b")
    assert await a.try_hold("shard-prod", labels={"fleetsync.io/lease": "shard"}) is not None
    await a.release("shard-prod")
    assert await b.try_hold("shard-prod") == Held("shard-prod", "replica-b", 1)
    assert await a.holders(selector="fleetsync.io/lease=shard") == {"shard-prod": "replica-b"}


async def test_of_replicas_racing_for_a_new_lease_exactly_one_wins(
    kube_client: ClusterClient, namespace: str
) -> None:
    replicas = _replicas(kube_client, namespace, *(f"replica-{i}" for i in range(5)))
    won = await asyncio.gather(*(r.try_hold("shard-race") for r in replicas))
    winners = [h for h in won if h is not None]
    assert len(winners) == 1 and winners[0].generation == 0
    # And renewing it while the others try again keeps it theirs.
    holder = next(r for r in replicas if r.identity == winners[0].holder)
    again = await asyncio.gather(*(r.try_hold("shard-race") for r in replicas))
    assert [h for h in again if h is not None] == [Held("shard-race", holder.identity, 0)]
