"""Exclusive ownership through ``coordination.k8s.io/v1`` Leases, as client-go's leader
election does it, for any number of named Leases (one per shard, one per member).

``try_hold(name)`` creates the Lease if it does not exist, renews it if this identity holds
it, or takes it over when its holder stopped renewing. Every write carries the
resourceVersion last read (an update) or fails if the Lease appeared meanwhile (a create), so
of replicas racing for one Lease exactly one wins. Expiry is judged by this process's own
clock, never by the renewTime another replica wrote: a Lease held by someone else is expired
only after its record stayed unchanged for a whole ``leaseDurationSeconds`` since this
process first saw that version (clock skew between replicas cannot shorten it). A takeover
increments ``leaseTransitions``: with the holder it is the fencing token (``Held``) that
writes made in the Lease's name carry, so a replica that lost a Lease can be told apart from
the one that holds it now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.clusters.client import ClusterClient
from engine.errors import Conflict, NotFound

API_VERSION = "coordination.k8s.io/v1"


@dataclass(frozen=True)
class Held:
    """A Lease this identity holds: its name and the fencing generation of this holding."""

    name: str
    holder: str
    generation: int


@dataclass(frozen=True)
class _Seen:
    version: str
    at: float  # this process's monotonic clock when the version was first seen


class Leases:
    """Leases in one namespace of one cluster, held as ``identity``."""

    def __init__(self, client: ClusterClient, *, namespace: str, identity: str,
                 duration: float, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._client, self._namespace, self._identity = client, namespace, identity
        self._duration, self._clock = duration, clock
        self._seen: dict[str, _Seen] = {}

    @property
    def identity(self) -> str:
        """Who holds what this object acquires."""
        return self._identity

    async def try_hold(self, name: str, *, labels: dict[str, str] | None = None) -> Held | None:
        """Hold Lease ``name`` (create, renew or take over); None while another holds it or
        another replica won the race for it."""
        res = await self._client.resource(api_version=API_VERSION, kind="Lease")
        try:
            live = await self._client.get(res=res, namespace=self._namespace, name=name)
        except NotFound:
            return await self._create(res, name, labels)
        spec = live.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder != self._identity:
            if holder and not self._expired(name, live):
                return None
            transitions += 1  # a takeover: the fencing generation moves on
        body = self._lease(name, transitions, labels, live)
        try:
            written = await self._client.request(method="PUT", path=res.path(
                namespace=self._namespace, name=name), body=body)
        except (Conflict, NotFound):
            return None  # someone else wrote it first: read again next time
        self._observe(name, written)
        return Held(name, self._identity, transitions)

    async def release(self, name: str) -> None:
        """Give Lease ``name`` up at once if this identity holds it (others take it without
        waiting for its expiry)."""
        res = await self._client.resource(api_version=API_VERSION, kind="Lease")
        try:
            live = await self._client.get(res=res, namespace=self._namespace, name=name)
        except NotFound:
            return
        spec = live.get("spec") or {}
        if spec.get("holderIdentity") != self._identity:
            return
        body = self._lease(name, int(spec.get("leaseTransitions") or 0), None, live)
        body["spec"]["holderIdentity"] = ""
        try:
            await self._client.request(method="PUT", path=res.path(
                namespace=self._namespace, name=name), body=body)
        except (Conflict, NotFound):
            return

    async def holders(self, *, selector: str) -> dict[str, str]:
        """The Leases matching label ``selector`` that are held and not expired, by name."""
        res = await self._client.resource(api_version=API_VERSION, kind="Lease")
        found = await self._client.list(res=res, namespace=self._namespace,
                                        label_selector=selector)
        held = {}
        for lease in found:
            name = str((lease.get("metadata") or {}).get("name") or "")
            holder = str((lease.get("spec") or {}).get("holderIdentity") or "")
            mine = holder == self._identity
            if holder and (mine or not self._expired(name, lease)):
                held[name] = holder
        return held

    async def _create(self, res: Any, name: str, labels: dict[str, str] | None) -> Held | None:
        body = self._lease(name, 0, labels, None)
        try:
            written = await self._client.request(method="POST", path=res.path(
                namespace=self._namespace), body=body)
        except Conflict:
            return None  # created by another replica a moment ago
        self._observe(name, written)
        return Held(name, self._identity, 0)

    def _lease(self, name: str, transitions: int, labels: dict[str, str] | None,
               live: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        meta: dict[str, Any] = {"name": name, "namespace": self._namespace}
        old = (live or {}).get("metadata") or {}
        if old.get("resourceVersion"):
            meta["resourceVersion"] = old["resourceVersion"]  # the write's precondition
        meta["labels"] = {**(old.get("labels") or {}), **(labels or {})}
        spec = (live or {}).get("spec") or {}
        acquired = spec.get("acquireTime") if spec.get("holderIdentity") == self._identity else now
        return {"apiVersion": API_VERSION, "kind": "Lease", "metadata": meta,
                "spec": {"holderIdentity": self._identity,
                         "leaseDurationSeconds": max(1, round(self._duration)),
                         "acquireTime": acquired or now, "renewTime": now,
                         "leaseTransitions": transitions}}  # fmt: skip

    def _observe(self, name: str, lease: dict[str, Any]) -> None:
        version = str((lease.get("metadata") or {}).get("resourceVersion") or "")
        seen = self._seen.get(name)
        if seen is None or seen.version != version:
            self._seen[name] = _Seen(version, self._clock())

    def _expired(self, name: str, lease: dict[str, Any]) -> bool:
        """Whether the Lease stayed as it is for its whole duration since first seen."""
        self._observe(name, lease)
        spec = lease.get("spec") or {}
        duration = float(spec.get("leaseDurationSeconds") or self._duration)
        return self._clock() - self._seen[name].at >= duration
