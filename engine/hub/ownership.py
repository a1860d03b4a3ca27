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

Writes are fenced twice, by the claim (shard, holder, Lease generation) a reconcile began
under (``fenced``). Every write to a cluster checks just before it is sent that the claim
is still held (``engine.clusters.client.WRITE_GUARD``): a replica that lost a shard while
its requests waited (stopped, or cut off mid-sync) sends none of them, not even after it
takes the shard back (a new claim). The API servers cannot check a token, so a request
already on the wire when the replica lost the shard still arrives; that is the one window
left, a request's length. The store refuses a record made under a claim older than the
shard's last (``Store.claim_shard``, ``Store.fence``): a replica cut off mid-sync cannot
record a sync over its successor's.

Gained shards are compared at once (``on_gained``); lost ones forgotten (``on_lost``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from engine.clusters.client import WRITE_GUARD
from engine.clusters.leases import Leases
from engine.errors import FleetsyncError, ShardLost
from engine.model import TargetKey
from engine.shards import assignment

log = logging.getLogger(__name__)

LEASE_LABEL = "fleetsync.io/lease"
SAFETY = 0.7  # of the lease duration: a shard not renewed for longer is not reconciled


Claim = tuple[str, str, int]  # (shard, holder, generation): see ``Shards.claim``


class Ownership(Protocol):
    """Whether this replica reconciles a target now, and under which claim."""

    def owns(self, key: TargetKey) -> bool: ...

    def fence(self, key: TargetKey) -> Claim | None: ...


class Everything:
    """The single hub: it reconciles every target, under no claim."""

    def owns(self, key: TargetKey) -> bool:
        """Always."""
        return True

    def fence(self, key: TargetKey) -> Claim | None:
        """Nothing to fence."""
        return None


# The target the current task reconciles (or deletes) and the claim it began under.
_HELD: ContextVar[tuple[TargetKey, Claim | None] | None] = ContextVar("held", default=None)


@contextmanager
def fenced(ownership: Ownership, key: TargetKey) -> Iterator[None]:
    """Run a reconcile or deletion of ``key`` under the claim held now: every write to a
    cluster from this task (and the tasks it starts) checks first that the claim is still
    held (``WRITE_GUARD``), and its records carry that claim (``record_fence``). A shard
    lost and taken back since has a new claim, so a stale sync stays stopped."""
    claim = ownership.fence(key)

    def check() -> None:
        if ownership.fence(key) != claim:
            raise ShardLost(f"{key.cluster}: {key.app} was reconciled by another replica "
                            "since this sync began; this replica's write was not sent")

    held, guarded = _HELD.set((key, claim)), WRITE_GUARD.set(check)
    try:
        yield
    finally:
        WRITE_GUARD.reset(guarded)
        _HELD.reset(held)


def record_fence(ownership: Ownership, key: TargetKey) -> Claim | None:
    """The claim a record of ``key`` is written under: that of the reconcile running in
    this task, else the one held now (``Store.fence``)."""
    held = _HELD.get()
    return held[1] if held is not None and held[0] == key else ownership.fence(key)


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
        self._leaving: set[str] = set()  # held, assigned elsewhere; released once not busy
        self.members: frozenset[str] = frozenset()

    async def _leases(self) -> Leases:
        """The Leases, on the Lease cluster's client (made at the first step that can)."""
        if self._leases_now is None:
            self._leases_now = await self._make_leases()
        return self._leases_now

    def _recent(self, shard: str) -> bool:
        renewed = self._renewed.get(shard)
        return renewed is not None and self._clock() - renewed < self._duration * SAFETY

    def holds(self, shard: str) -> bool:
        """Whether ``shard`` is this replica's to reconcile: its Lease held and renewed
        recently enough, and the shard not being handed over."""
        return shard not in self._leaving and self._recent(shard)

    def owns(self, key: TargetKey) -> bool:
        """Whether this replica reconciles ``key`` now (it holds the target's shard)."""
        return self.holds(self.shard_of(key))

    def claim(self, shard: str) -> Claim | None:
        """(``shard``, this replica, the generation it holds the shard at): what its writes
        for the shard's targets are made under; None unless its Lease is held and renewed
        recently (a shard being handed over keeps it until the syncs there end)."""
        generation = self._generations.get(shard) if self._recent(shard) else None
        return None if generation is None else (shard, self.identity, generation)

    def fence(self, key: TargetKey) -> Claim | None:
        """The claim held on ``key``'s shard now, or None."""
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
        for shard in sorted(set(self._renewed) - mine - self._leaving):
            self._leaving.add(shard)  # no new reconcile starts here
            log.info("shards: %s no longer reconciles shard %s", self.identity, shard)
            self._on_lost(shard)
        back = mine & self._leaving  # assigned back before it was handed over
        self._leaving -= back
        for shard in sorted(self._leaving):
            lease = lease_name("shard", shard)
            if self._busy(shard):  # kept until the syncs running there have ended
                got = await leases.try_hold(lease, labels={LEASE_LABEL: "shard"})
                if got is None or got.generation != self._generations.get(shard):
                    self._lose(shard)
                else:
                    self._renewed[shard] = self._clock()
            else:
                await leases.release(lease)
                self._lose(shard)
        for shard in sorted(mine):
            was = self.holds(shard) and shard not in back
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
        for shard in list(self._renewed):
            self._lose(shard)
            if leases is not None:
                with contextlib.suppress(FleetsyncError):
                    await leases.release(lease_name("shard", shard))
        if leases is not None:
            with contextlib.suppress(FleetsyncError):
                await leases.release(lease_name("member", self.identity))

    def _lose(self, shard: str) -> None:
        """Forget ``shard``'s Lease (said lost already if it was being handed over)."""
        leaving = shard in self._leaving
        self._leaving.discard(shard)
        self._generations.pop(shard, None)
        if self._renewed.pop(shard, None) is not None and not leaving:
            log.info("shards: %s no longer reconciles shard %s", self.identity, shard)
            self._on_lost(shard)
