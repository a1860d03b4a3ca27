"""Which clusters this hub replica reconciles: all of them alone, its shards with others.

``Everything`` is the single hub. ``Shards`` is one of several replicas that share a store
(``store.postgres``) and divide the fleet through Leases in a cluster they all reach
(``scaleOut`` in fleetsync.yaml):

- each replica holds a member Lease (``fleetsync-member-<identity>``), renewed every third of
  the lease duration; the live members are the holders of unexpired member Leases;
- every replica computes the same assignment of registered clusters to live members
  (``engine.shards``) and tries to hold the shard Lease (``fleetsync-shard-<cluster>``) of
  each cluster assigned to it; a cluster becomes its own only once that Lease is held (the
  previous owner's Lease expires, or is released, first), so no cluster has two owners;
- a replica owns a shard only while its last renewal is recent (``SAFETY`` of the
  duration): one that cannot renew, cut off from the Lease cluster, stops reconciling the
  shard before anyone else may take it;
- a cluster assigned elsewhere gets no new reconcile here and is released as soon as the
  reconciles running on it have ended (until then its Lease is renewed, so its next owner
  waits), and a replica that stops releases everything: a planned handover does not wait
  for the expiry. A replica cut off from the Lease cluster in the middle of a long sync
  may still send that sync's last applies to the cluster (the API servers have no fence),
  but the store refuses its record of it.

Gained clusters are compared at once (``on_gained``); lost ones forgotten (``on_lost``).
The store refuses this replica's writes for a cluster unless it holds the cluster at the
generation last claimed there (``Store.claim_shard``, ``Store.fence``): a replica cut off
mid-sync cannot record a sync over its successor's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from engine.clusters.leases import Leases
from engine.errors import FleetsyncError
from engine.shards import assignment

log = logging.getLogger(__name__)

LEASE_LABEL = "fleetsync.io/lease"
SAFETY = 0.7  # of the lease duration: a shard not renewed for longer is not reconciled


class Ownership(Protocol):
    """Whether this replica reconciles a cluster now."""

    def owns(self, cluster: str) -> bool: ...


class Everything:
    """The single hub: it reconciles every cluster."""

    def owns(self, cluster: str) -> bool:
        """Always."""
        return True


def lease_name(kind: str, name: str) -> str:
    """A Lease name for a member or shard: DNS-safe, unique even when ``name`` is not."""
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40]
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"fleetsync-{kind}-{safe}-{digest}"


class Shards:
    """This replica's shards, kept by a loop (``run``) over Leases."""

    def __init__(self, *, identity: str, leases: Callable[[], Awaitable[Leases]],
                 clusters: Callable[[], Iterable[str]], duration: float,
                 on_gained: Callable[[str], None], on_lost: Callable[[str], None],
                 busy: Callable[[str], bool] = lambda cluster: False,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.identity = identity
        self._make_leases = leases
        self._leases_now: Leases | None = None
        self._clusters, self._duration = clusters, duration
        self._on_gained, self._on_lost, self._clock = on_gained, on_lost, clock
        self._busy = busy
        self._renewed: dict[str, float] = {}  # cluster → when its Lease was last renewed
        self._generations: dict[str, int] = {}  # cluster → its Lease's transitions, held
        self._leaving: set[str] = set()  # assigned elsewhere; released once not busy
        self.members: frozenset[str] = frozenset()

    async def _leases(self) -> Leases:
        """The Leases, on the Lease cluster's client (made at the first step that can)."""
        if self._leases_now is None:
            self._leases_now = await self._make_leases()
        return self._leases_now

    def owns(self, cluster: str) -> bool:
        """Whether ``cluster``'s shard Lease is held and was renewed recently enough."""
        renewed = self._renewed.get(cluster)
        return renewed is not None and self._clock() - renewed < self._duration * SAFETY

    def fence(self, cluster: str) -> tuple[str, int] | None:
        """(this replica, the generation it holds ``cluster`` at): what its writes for the
        cluster are made under (``Store.fence``); None if the cluster is not its own."""
        generation = self._generations.get(cluster) if self.owns(cluster) else None
        return None if generation is None else (self.identity, generation)

    def owned(self) -> list[str]:
        """The clusters this replica reconciles now."""
        return sorted(c for c in self._renewed if self.owns(c))

    async def run(self) -> None:
        """Keep membership and shards, every third of the lease duration, until cancelled;
        then hand everything over."""
        try:
            while True:
                try:
                    await self.step()
                except FleetsyncError as err:  # the Lease cluster is unreachable: retry
                    log.warning("shards: %s", err)
                await asyncio.sleep(self._duration / 3)
        finally:
            await asyncio.shield(self.release_all())

    async def step(self) -> None:
        """Renew membership, compute the assignment, take and give back shards."""
        leases = await self._leases()
        member = lease_name("member", self.identity)
        await leases.try_hold(member, labels={LEASE_LABEL: "member"})
        held = await leases.holders(selector=f"{LEASE_LABEL}=member")
        self.members = frozenset({*held.values(), self.identity})
        mine = {c for c, m in assignment(self._clusters(), self.members).items()
                if m == self.identity}  # fmt: skip
        for cluster in sorted(set(self._renewed) - mine):
            self._lose(cluster)  # no new reconcile starts here
            self._leaving.add(cluster)
        for cluster in sorted(self._leaving):
            shard = lease_name("shard", cluster)
            if cluster in mine:
                self._leaving.discard(cluster)  # assigned back: taken again below
            elif self._busy(cluster):  # kept until the syncs running there have ended
                await leases.try_hold(shard, labels={LEASE_LABEL: "shard"})
            else:
                await leases.release(shard)
                self._leaving.discard(cluster)
        for cluster in sorted(mine):
            was = self.owns(cluster)
            got = await leases.try_hold(lease_name("shard", cluster),
                                        labels={LEASE_LABEL: "shard"})  # fmt: skip
            if got is None:
                if cluster in self._renewed:
                    self._lose(cluster)  # taken by another: it was not ours any more
                continue
            self._renewed[cluster] = self._clock()
            self._generations[cluster] = got.generation
            if not was:
                log.info("shards: %s now reconciles cluster %s", self.identity, cluster)
                self._on_gained(cluster)

    async def release_all(self) -> None:
        """Give up every shard and the membership (a replica that stops); what cannot be
        released now expires on its own."""
        leases = self._leases_now
        for cluster in [*self._renewed, *self._leaving]:
            self._lose(cluster)
            self._leaving.discard(cluster)
            if leases is not None:
                with contextlib.suppress(FleetsyncError):
                    await leases.release(lease_name("shard", cluster))
        if leases is not None:
            with contextlib.suppress(FleetsyncError):
                await leases.release(lease_name("member", self.identity))

    def _lose(self, cluster: str) -> None:
        self._generations.pop(cluster, None)
        if self._renewed.pop(cluster, None) is not None:
            log.info("shards: %s no longer reconciles cluster %s", self.identity, cluster)
            self._on_lost(cluster)
