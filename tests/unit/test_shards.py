"""Rendezvous assignment of shards to replicas (pure): every replica computes the same owner,
a replica that leaves moves only its own shards, one that joins takes only what it now
outweighs, and the load spreads."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from engine.shards import app_shard, app_shards, assignment, cluster_of, moves, owner

CLUSTERS = [f"cluster-{i:03d}" for i in range(100)]
REPLICAS = [f"fleetsync-{i}" for i in range(10)]


def test_the_owner_does_not_depend_on_the_order_replicas_are_listed_in() -> None:
    for cluster in CLUSTERS[:20]:
        assert owner(cluster, REPLICAS) == owner(cluster, list(reversed(REPLICAS)))
    assert owner("x", []) is None and assignment(CLUSTERS, []) == {}


def test_without_a_cap_a_replica_that_leaves_moves_only_its_own_shards() -> None:
    before = assignment(CLUSTERS, REPLICAS, balance=None)
    gone = "fleetsync-3"
    after = assignment(CLUSTERS, [r for r in REPLICAS if r != gone], balance=None)
    owned = [c for c, r in before.items() if r == gone]
    assert moves(before, after) == len(owned)
    assert all(after[c] == r for c, r in before.items() if r != gone)


@given(st.sets(st.text(min_size=1, max_size=12), min_size=2, max_size=12),
       st.text(min_size=1, max_size=12))
def test_without_a_cap_a_replica_that_joins_takes_from_nobody_else(members: set[str],
                                                                   new: str) -> None:
    before = assignment(CLUSTERS, members, balance=None)
    after = assignment(CLUSTERS, members | {new}, balance=None)
    assert all(after[c] in (before[c], new) for c in CLUSTERS)


def test_the_cap_spreads_the_fleet_and_a_leaving_replica_still_moves_few() -> None:
    before = assignment(CLUSTERS, REPLICAS)
    assert max(Counter(before.values()).values()) <= 13  # ceil(100 / 10 * 1.25)
    assert max(Counter(assignment(CLUSTERS, REPLICAS, balance=None).values()).values()) > 13
    for gone in REPLICAS:
        after = assignment(CLUSTERS, [r for r in REPLICAS if r != gone])
        assert max(Counter(after.values()).values()) <= 14  # ceil(100 / 9 * 1.25)
        assert moves(before, after) <= 20, gone


@given(st.sets(st.text(min_size=1, max_size=12), min_size=1, max_size=12),
       st.sets(st.text(min_size=1, max_size=12), max_size=40))
def test_every_shard_gets_an_owner_within_the_cap(members: set[str], shards: set[str]) -> None:
    found = assignment(shards, members)
    assert set(found) == shards and set(found.values()) <= members


def test_a_split_cluster_spreads_its_apps_over_its_parts() -> None:
    assert app_shard("big", "web", 1) == "big"
    parts = Counter(app_shard("big", f"app-{i}", 4) for i in range(400))
    assert set(parts) == {"big#0", "big#1", "big#2", "big#3"} and min(parts.values()) > 60
    assert app_shard("big", "web", 4) == app_shard("big", "web", 4)
    assert app_shards("big", 1) == ["big"] and app_shards("big", 3) == ["big#0", "big#1", "big#2"]
    assert {cluster_of(s) for s in app_shards("big", 3)} == {"big"} and cluster_of("big") == "big"
