"""Which replica of the hub owns which shard of the fleet (pure).

A shard is a cluster's name (a cluster too large for one replica may be split into
``<cluster>#<k>`` shards by app, ``app_shard``). Ownership is rendezvous hashing (highest
random weight): every (shard, replica) pair gets a weight from SHA-256 and the replica with
the highest weight owns the shard. Every replica computes the same owner from the same
member list, with no coordinator. Pure rendezvous moves the least possible (a replica
that leaves moves only its own shards) but spreads unevenly (100 clusters on 10 replicas:
6 to 19 each); ``assignment`` therefore caps each replica at ``BALANCE`` times its fair
share, which costs a few more moves (``loadtests/shard_moves.py``).
``engine.clusters.leases`` makes the ownership exclusive.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping

BALANCE = 1.25  # at most this many times the fair share of shards per member


def weight(shard: str, member: str) -> int:
    """The pair's weight: the first 8 bytes of SHA-256 over both names."""
    digest = hashlib.sha256(f"{shard}\0{member}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def owner(shard: str, members: Iterable[str]) -> str | None:
    """The member that owns ``shard`` (None without members); ties go to the greater name."""
    return max(members, key=lambda m: (weight(shard, m), m), default=None)


def assignment(
    shards: Iterable[str], members: Iterable[str], *, balance: float | None = BALANCE
) -> dict[str, str]:
    """Every shard's owner among ``members`` (empty without members). With ``balance``, no
    member owns more than ``balance`` times its fair share: shards, in name order, go to
    the highest-weight member that still has room (bounded loads, as in Argo CD's
    consistent-hashing sharding); None gives pure rendezvous."""
    chosen = sorted(set(members))
    if not chosen:
        return {}
    ordered = sorted(set(shards))
    if balance is None:
        return {shard: str(owner(shard, chosen)) for shard in ordered}
    cap = math.ceil(len(ordered) / len(chosen) * balance)
    load = dict.fromkeys(chosen, 0)
    found = {}
    for shard in ordered:
        ranked = sorted(chosen, key=lambda m: (weight(shard, m), m), reverse=True)
        member = next(m for m in ranked if load[m] < cap)  # the caps add up to >= shards
        load[member] += 1
        found[shard] = member
    return found


def moves(before: Mapping[str, str], after: Mapping[str, str]) -> int:
    """How many shards of ``before`` have another owner in ``after``."""
    return sum(1 for shard, member in before.items() if after.get(shard) != member)


def app_shard(cluster: str, app: str, parts: int) -> str:
    """The shard of ``app`` on ``cluster`` when the cluster is split into ``parts``."""
    if parts <= 1:
        return cluster
    bucket = int.from_bytes(hashlib.sha256(app.encode()).digest()[:4], "big") % parts
    return f"{cluster}#{bucket}"


def app_shards(cluster: str, parts: int) -> list[str]:
    """Every shard of ``cluster`` when split into ``parts`` (just the cluster for one)."""
    return [cluster] if parts <= 1 else [f"{cluster}#{k}" for k in range(parts)]


def cluster_of(shard: str) -> str:
    """The cluster a shard belongs to (cluster names hold no ``#``)."""
    return shard.partition("#")[0]
