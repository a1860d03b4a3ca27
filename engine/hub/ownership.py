"""Which targets this hub replica reconciles: all of them alone, its shards with others.

``Everything`` is the single hub. ``Shards`` is one of several replicas that share a store
(``store.postgres``) and divide the fleet through Leases in a cluster they all reach
(``scaleOut`` in fleetsync.yaml). A shard is a registered cluster, or, for a cluster
registered with ``appShards: N`` (too large for one replica), one of N parts of its apps
(``<cluster>#<k>``, ``engine.shards.app_shard``); a target belongs to one shard.

- each replica holds a member Lease (``fleetsync-member-<identity>``), renewed every third of
  the lease duration; the live members are the holders of unexpired member Leases;
- every replica computes the same assignment of shards to live members (``engine.shards``)
  and tries to hold the shard Lease (``fleetsync-shard-<shard>``) of each shard assigned to
  it; a shard becomes its own only once that Lease is held (the previous owner's Lease
  expires, or is released, first), so no shard has two owners;
- a replica owns a shard only while its last renewal is recent (``SAFETY`` of the
  duration, by its monotonic clock): one that cannot renew (cut off from the Lease
  cluster, or stopped) stops reconciling the shard before anyone else may take it;
- a shard assigned elsewhere gets no new reconcile here and is released as soon as the
  reconciles running on it have ended (until then its Lease is renewed, so its next owner
  waits), and a replica that stops releases everything: a planned handover does not wait
  for the expiry.

Writes are fenced twice. Every write to a cluster is checked against ownership just before
it is sent (``guard``, through ``engine.clusters.client.WRITE_GUARD``): a replica that lost
a shard while its requests waited (stopped, or cut off mid-sync) sends none of them. The
API servers cannot check a token, so a request already on the wire when the replica lost
the shard still arrives; that is the one window left, a request's length. The store
refuses this replica's records for a shard unless it holds the shard at the generation
last claimed there (``Store.claim_shard``, ``Store.fence``): a replica cut off mid-sync
cannot record a sync over its successor's.

Gained shards are compared at once (``on_gained``); lost ones forgotten (``on_lost``).
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
from engine.errors import FleetsyncError, ShardLost
from engine.model import TargetKey
from engine.shards import assignment

log = logging.getLogger(__name__)

LEASE_LABEL = "fleetsync.io/lease"
SAFETY = 0.7  # of the lease duration: a shard not renewed for longer is not reconciled


class Ownership(Protocol):
    """Whether this replica reconciles a target now."""

    def owns(self, key: TargetKey) -> bool: ...


class Everything:
    """The single hub: it reconciles every target."""

    def owns(self, key: TargetKey) -> bool:
        """Always."""
        return True


def guard(owns: Callable[[TargetKey], bool], key: TargetKey) -> Callable[[], None]:
    """A write guard for a reconcile or deletion of ``key`` (``WRITE_GUARD``): it raises
    ``ShardLost`` once this replica no longer ``owns`` the target."""

    def check() -> None:
        if not owns(key):
            raise ShardLost(
                f"{key.cluster}: {key.app} is reconciled by another replica now; "
                "this replica's write was not sent"
            )

    return check


def lease_name(kind: str, name: str) -> str:
    """A Lease name for a member or shard: DNS-safe, unique even when ``name`` is not."""
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40]
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"fleetsync-{kind}-{safe}-{digest}"


def whole_clusters(key: TargetKey) -> str:
    """The shard of ``key`` when no cluster is split by app: its cluster."""
    return key.cluster


class Shards:
    """This replica's shards, kept by a loop (``run``) over Leases."""

    def __init__(self, *, identity: str, leases: Callable[[], Awaitable[Leases]],
                 shards: Callable[[], Iterable[str]], duration: float,
                 on_gained: Callable[[str], None], on_lost: Callable[[str], None],
                 shard_of: Callable[[TargetKey], str] = whole_clusters,
                 busy: Callable[[str], bool] = lambda shard: False,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.identity = identity
        self._make_leases = leases
        self._leases_now: Leases | None = None
        self._shards, self.shard_of, self._duration = shards, shard_of, duration
        self._on_gained, self._on_lost, self._clock = on_gained, on_lost, clock
        self._busy = busy
        self._renewed: dict[str, float] = {}  # shard → when its Lease was last renewed
        self._generations: dict[str, int] = {}  # shard → its Lease's transitions, held
        self._leaving: set[str] = set()  # assigned elsewhere; released once not busy
        self.members: frozenset[str] = frozenset()

    async def _leases(self) -> Leases:
        """The Leases, on the Lease cluster's client (made at the first step that can)."""
        if self._leases_now is None:
            self._leases_now = await self._make_leases()
        return self._leases_now

    def holds(self, shard: str) -> bool:
        """Whether ``shard``'s Lease is held and was renewed recently enough."""
        renewed = self._renewed.get(shard)
        return renewed is not None and self._clock() - renewed < self._duration * SAFETY

    def owns(self, key: TargetKey) -> bool:
        """Whether this replica reconciles ``key`` now (it holds the target's shard)."""
        return self.holds(self.shard_of(key))

    def claim(self, shard: str) -> tuple[str, str, int] | None:
        """(``shard``, this replica, the generation it holds the shard at): what its writes
        for the shard's targets are made under; None if the shard is not its own."""
        generation = self._generations.get(shard) if self.holds(shard) else None
        return None if generation is None else (shard, self.identity, generation)

    def fence(self, key: TargetKey) -> tuple[str, str, int] | None:
        """The claim ``key``'s records are written under (``Store.fence``), or None."""
        return self.claim(self.shard_of(key))

    def owned(self) -> list[str]:
        """The shards this replica reconciles now."""
        return sorted(s for s in self._renewed if self.holds(s))

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
        mine = {s for s, m in assignment(self._shards(), self.members).items()
                if m == self.identity}  # fmt: skip
        for shard in sorted(set(self._renewed) - mine):
            self._lose(shard)  # no new reconcile starts here
            self._leaving.add(shard)
        for shard in sorted(self._leaving):
            lease = lease_name("shard", shard)
            if shard in mine:
                self._leaving.discard(shard)  # assigned back: taken again below
            elif self._busy(shard):  # kept until the syncs running there have ended
                await leases.try_hold(lease, labels={LEASE_LABEL: "shard"})
            else:
                await leases.release(lease)
                self._leaving.discard(shard)
        for shard in sorted(mine):
            was = self.holds(shard)
            got = await leases.try_hold(lease_name("shard", shard),
                                        labels={LEASE_LABEL: "shard"})  # fmt: skip
            if got is None:
                if shard in self._renewed:
                    self._lose(shard)  # taken by another: it was not ours any more
                continue
            self._renewed[shard] = self._clock()
            self._generations[shard] = got.generation
            if not was:
                log.info("shards: %s now reconciles shard %s", self.identity, shard)
                self._on_gained(shard)

    async def release_all(self) -> None:
        """Give up every shard and the membership (a replica that stops); what cannot be
        released now expires on its own."""
        leases = self._leases_now
        for shard in [*self._renewed, *self._leaving]:
            self._lose(shard)
            self._leaving.discard(shard)
            if leases is not None:
                with contextlib.suppress(FleetsyncError):
                    await leases.release(lease_name("shard", shard))
        if leases is not None:
            with contextlib.suppress(FleetsyncError):
                await leases.release(lease_name("member", self.identity))

    def _lose(self, shard: str) -> None:
        self._generations.pop(shard, None)
        if self._renewed.pop(shard, None) is not None:
            log.info("shards: %s no longer reconciles shard %s", self.identity, shard)
            self._on_lost(shard)
