"""Replicas dividing shards through real Leases (``engine.hub.ownership.Shards``): every
shard has exactly one owner once all have stepped, a replica that stops hands its shards
over at once, a shard assigned away is kept while a sync still runs on it, and a replica
that does not renew stops owning before anyone else may take over."""

from __future__ import annotations

import pytest

from engine.clusters import ClusterClient
from engine.clusters.leases import Leases
from engine.hub.ownership import SAFETY, Shards

pytestmark = pytest.mark.timeout(60)
CLUSTERS = [f"cluster-{i}" for i in range(6)]
DURATION = 3.0


class Replica:
    """One replica's Shards, with what it was told it gained and lost."""

    def __init__(self, client: ClusterClient, namespace: str, name: str,
                 clock: list[float]) -> None:  # fmt: skip
        self.gained: list[str] = []
        self.lost: list[str] = []
        self.busy: set[str] = set()

        async def leases() -> Leases:
            return Leases(client, namespace=namespace, identity=name, duration=DURATION,
                          clock=lambda: clock[0])

        self.shards = Shards(identity=name, leases=leases, shards=lambda: CLUSTERS,
                             duration=DURATION, on_gained=self.gained.append,
                             on_lost=self.lost.append, busy=lambda c: c in self.busy,
                             clock=lambda: clock[0])  # fmt: skip


async def _rounds(replicas: list[Replica], count: int = 3) -> None:
    for _ in range(count):
        for replica in replicas:
            await replica.shards.step()


async def test_replicas_divide_hand_over_and_keep_a_busy_shard(
    kube_client: ClusterClient, namespace: str
) -> None:
    clock = [1000.0]  # one clock for all: the test moves time, the API server stays real
    a, b, c = (Replica(kube_client, namespace, n, clock) for n in ("a", "b", "c"))
    await _rounds([a, b, c])
    owned = [r.shards.owned() for r in (a, b, c)]
    assert sorted(s for shards in owned for s in shards) == CLUSTERS, owned  # each once
    assert all(owned) and a.shards.members == {"a", "b", "c"}

    # c stops: its shards are released and taken at the next step, no expiry to wait for.
    of_c = c.shards.owned()
    await c.shards.release_all()
    assert c.lost == of_c and c.shards.owned() == []
    await _rounds([a, b], count=2)
    assert sorted(a.shards.owned() + b.shards.owned()) == CLUSTERS
    assert a.shards.members == {"a", "b"}

    # c comes back while a is syncing on a shard now assigned to c: a keeps its Lease
    # (owning no more: no new sync starts) until the sync ends; then c takes it.
    c2 = Replica(kube_client, namespace, "c", clock)
    await c2.shards.step()
    a.busy, b.busy = set(a.shards.owned()), set(b.shards.owned())
    claims = {s: r.shards.claim(s) for r in (a, b) for s in r.busy}
    await _rounds([a, b, c2], count=2)
    moving = (set(a.lost) & a.busy) | (set(b.lost) & b.busy)
    assert moving, "some shards move to c"
    assert not moving & set(c2.shards.owned())  # still held by their busy owners
    assert not moving & set(a.shards.owned() + b.shards.owned())  # who start nothing there
    # ... while the syncs running there keep writing under the claim they began with.
    assert all((a.shards.claim(s) or b.shards.claim(s)) == claims[s] for s in moving)
    a.busy, b.busy = set(), set()
    await _rounds([a, b, c2], count=2)
    assert moving <= set(c2.shards.owned())
    assert sorted(a.shards.owned() + b.shards.owned() + c2.shards.owned()) == CLUSTERS
    assert not any(a.shards.claim(s) or b.shards.claim(s) for s in moving)  # handed over


async def test_a_replica_that_cannot_renew_stops_owning_before_others_may_take_over(
    kube_client: ClusterClient, namespace: str
) -> None:
    clock = [1000.0]
    a = Replica(kube_client, namespace, "a", clock)
    await _rounds([a], count=1)
    assert a.shards.owned() == CLUSTERS
    clock[0] += DURATION * SAFETY  # no step: no renewal
    assert a.shards.owned() == []  # while the Leases still hold for everyone else
