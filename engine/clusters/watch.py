"""Live state of every tracked object: one watch per (cluster, kind), shared by all apps.

Each watch lists and then follows the objects of one kind in all namespaces that carry
``app.kubernetes.io/managed-by=fleetsync``; the tracking annotation says which app owns
each one. For every event the watcher decides what it means:

- a change of spec, labels or annotations made by another field manager, directly or
  through any subresource but ``status`` (``kubectl scale``, an autoscaler), or a deletion:
  **drift** → the owning target is reported to ``on_drift`` (self-heal or OutOfSync);
- a change fleetsync made itself (its managedFields entry got a new time or more fields,
  and no other entry outside the ``status`` subresource is as new): nothing to do;
- a status-only change: a new **health** for that object → ``on_health``.

``version(target)`` changes whenever one of the target's objects drifted; together with the
commit SHA it lets a periodic resync skip a target that nothing touched. It is ``None``
until every kind of the target is watched, so the first reconcile after start never skips.

``memory(cluster)`` is what syncs remember of one cluster's objects between runs: that an
object agreed with a manifest (a dry run found it in sync, or fleetsync wrote it), and an
app's stored inventory. Each note is tied to the object's fingerprint as the watch sees it
and vanishes with the next change or deletion, so a note is never older than the object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from engine.backoff import Backoff, FailureStreak
from engine.clusters import ApiResource, ClusterClient, ClusterPool
from engine.clusters.errors import ApiError
from engine.diff.attribution import OwnWrite, changed_by_fleetsync, other_writer, own_write
from engine.diff.normalise import fingerprint
from engine.errors import FleetsyncError
from engine.health import CustomChecks, HealthResult, assess
from engine.model import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    TRACKING_ANNOTATION,
    ResourceKey,
    TargetKey,
    parse_tracking_id,
)
from engine.model.inventory import Inventory

log = logging.getLogger(__name__)

Kind = tuple[str, str]  # (apiVersion, kind)
OnDrift = Callable[[TargetKey, ResourceKey, str], None]
OnHealth = Callable[[TargetKey, ResourceKey, HealthResult], None]
WATCH_SECONDS = 290
RETRY_MAX = 30.0


@dataclass
class _Seen:
    fingerprint: str
    health: HealthResult
    owner: TargetKey | None
    own: OwnWrite  # fleetsync's mark, to tell its own writes from others'
    note: Note | None = None  # what a sync learnt of this very version (``ClusterMemory``)


@dataclass(frozen=True)
class Note:
    """What a sync learnt of one object at one fingerprint: the digest of a manifest it
    agrees with (``engine.apply`` decides what that digest covers), or an app's inventory
    when the object is the ConfigMap holding it."""

    manifest: str = ""
    inventory: Inventory | None = None


PENDING_MAX = 100_000  # notes waiting for their watch event; beyond, the oldest go


@dataclass
class _KindWatch:
    task: asyncio.Task[None]
    synced: asyncio.Event = field(default_factory=asyncio.Event)


class LiveWatcher:
    """Watches the kinds each cluster's targets manage and reports drift and health."""

    def __init__(self, *, pool: ClusterPool, on_drift: OnDrift, on_health: OnHealth,
                 checks: CustomChecks | None = None) -> None:
        self._pool = pool
        self._on_drift = on_drift
        self._on_health = on_health
        self._checks = checks
        self._epoch = uuid.uuid4().hex[:8]
        self._wanted: dict[TargetKey, frozenset[Kind]] = {}
        self._needed: Counter[tuple[str, Kind]] = Counter()  # targets wanting each watch
        self._watches: dict[tuple[str, Kind], _KindWatch] = {}
        self._seen: dict[tuple[str, ResourceKey], _Seen] = {}
        self._drifts: dict[TargetKey, int] = {}
        # Notes on objects written before their watch event came: (fingerprint, note).
        self._pending: dict[tuple[str, ResourceKey], tuple[str, Note]] = {}
        self._group: asyncio.TaskGroup | None = None

    async def run(self) -> None:
        """Own the watch tasks until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            self._reconcile_watches()
            await asyncio.Event().wait()

    def want(self, target: TargetKey, kinds: frozenset[Kind]) -> None:
        """Watch ``kinds`` for ``target`` (replacing what it wanted before)."""
        self._set_wanted(target, kinds)
        self._reconcile_watches()

    async def ready(self, target: TargetKey, kinds: frozenset[Kind], *,
                    within: float) -> str | None:
        """Watch ``kinds`` for ``target`` too, wait (at most ``within`` s) until each is
        listed, and return the target's version (``version``).

        Called before a sync: the sync's own writes are then seen as its own, so the
        version read here still holds after it and the next periodic resync can skip
        the target, where starting the watches after the sync made every target compare
        once more (the objects could have changed before their watch began).
        """
        self._set_wanted(target, self._wanted.get(target, frozenset()) | kinds)
        self._reconcile_watches()
        waits = [watch.synced.wait() for kind in self._wanted[target]
                 if (watch := self._watches.get((target.cluster, kind))) is not None
                 and not watch.synced.is_set()]
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), within)
        return self.version(target)

    def forget(self, target: TargetKey) -> None:
        """Stop watching for ``target``."""
        self._set_wanted(target, frozenset())
        self._wanted.pop(target)
        self._drifts.pop(target, None)
        self._reconcile_watches()

    def forget_cluster(self, cluster: str) -> None:
        """Stop every watch of ``cluster`` (removed or changed registration)."""
        self.forget_targets(lambda target: target.cluster == cluster)
        self._pending = {k: v for k, v in self._pending.items() if k[0] != cluster}

    def forget_targets(self, which: Callable[[TargetKey], bool]) -> None:
        """Stop watching for the targets ``which`` accepts (a shard another replica took);
        a watch other targets still need stays."""
        for target in [t for t in self._wanted if which(t)]:
            self._set_wanted(target, frozenset())
            self._wanted.pop(target)
        self._reconcile_watches()

    def version(self, target: TargetKey) -> str | None:
        """Changes when an object of ``target`` drifts; None until all its kinds are watched."""
        kinds = self._wanted.get(target)
        if kinds is None:
            return None
        for kind in kinds:
            watch = self._watches.get((target.cluster, kind))
            if watch is None or not watch.synced.is_set():
                return None
        return f"{self._epoch}:{self._drifts.get(target, 0)}"

    def listed(self, cluster: str, kind: Kind) -> bool:
        """Whether ``kind`` is watched on ``cluster`` and its first list is done."""
        watch = self._watches.get((cluster, kind))
        return watch is not None and watch.synced.is_set()

    def fingerprint(self, cluster: str, key: ResourceKey) -> str | None:
        """The fingerprint (``engine.diff.fingerprint``) of one object as last seen, if
        it is watched; None if it is not, or is absent."""
        seen = self._seen.get((cluster, key))
        return seen.fingerprint if seen else None

    def health(self, cluster: str, key: ResourceKey) -> HealthResult | None:
        """The latest health seen for one object, if it is watched."""
        seen = self._seen.get((cluster, key))
        return seen.health if seen else None

    def memory(self, cluster: str) -> ClusterMemory:
        """What syncs remember of ``cluster``'s objects (see the module's docstring)."""
        return ClusterMemory(self, cluster)

    def note(self, cluster: str, key: ResourceKey) -> Note | None:
        """The note on one object, if one was made at the fingerprint the watch last saw."""
        seen = self._seen.get((cluster, key))
        return seen.note if seen else None

    def keep_note(self, cluster: str, key: ResourceKey, live: str, note: Note) -> None:
        """Note ``note`` on one object as it is at fingerprint ``live``: now if the watch
        has seen that version, else when it does (a write the watch has not reported)."""
        seen = self._seen.get((cluster, key))
        if seen is not None and seen.fingerprint == live:
            seen.note = note
            return
        if len(self._pending) >= PENDING_MAX:
            del self._pending[next(iter(self._pending))]
        self._pending[(cluster, key)] = (live, note)

    def _set_wanted(self, target: TargetKey, kinds: frozenset[Kind]) -> None:
        """Record what ``target`` wants watched, keeping the
        count of targets per watch: at fleet scale the watches are looked at on every sync,
        so they must not be worked out again from every target each time."""
        before = self._wanted.pop(target, frozenset())
        for kind in before - kinds:
            self._needed[(target.cluster, kind)] -= 1
            if self._needed[(target.cluster, kind)] <= 0:
                del self._needed[(target.cluster, kind)]
        for kind in kinds - before:
            self._needed[(target.cluster, kind)] += 1
        self._wanted[target] = kinds

    def _reconcile_watches(self) -> None:
        if self._group is None:
            return
        needed = self._needed.keys()
        for stale in self._watches.keys() - needed:
            self._watches.pop(stale).task.cancel()
            self._forget_notes(*stale)
        for cluster, kind in needed - self._watches.keys():
            synced = asyncio.Event()
            task = self._group.create_task(self._follow(cluster, kind, synced))
            self._watches[(cluster, kind)] = _KindWatch(task, synced)

    async def _follow(self, cluster: str, kind: Kind, synced: asyncio.Event) -> None:
        """List then watch one kind on one cluster, forever. A watch the server ends (its
        timeout) resumes from the last version seen, as client-go's reflector does: only an
        expired version (410) or an error lists again, since a list reads every object."""
        streak = FailureStreak(Backoff(duration=1.0, factor=2.0, max_duration=RETRY_MAX))
        while True:
            try:
                client = await self._pool.client(cluster)
                res = await client.resource(api_version=kind[0], kind=kind[1])
                version = await self._list(client, res, synced)
                while True:
                    began = time.monotonic()
                    version = await self._stream(client, res, version)
                    streak.reset()
                    if time.monotonic() - began < 1.0:  # ended at once: do not spin
                        await asyncio.sleep(1.0)
            except asyncio.CancelledError:
                raise
            except _Expired:
                continue
            except (FleetsyncError, aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
                self._forget_notes(cluster, kind)  # events may be missed until listed again
                delay = streak.failed()
                log.warning("watch %s %s on %s: %s; retrying in %.0fs",
                            kind[0], kind[1], cluster, err, delay)
                await asyncio.sleep(delay)

    async def _list(self, client: ClusterClient, res: ApiResource, synced: asyncio.Event) -> str:
        listing = await client.request(
            method="GET", path=res.path(), query={"labelSelector": _SELECTOR}
        )
        present = set()
        for item in listing.get("items") or []:
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", res.kind)
            present.add(ResourceKey.of(item))
            self._observe(client.name, "ADDED", item)
        for cluster, key in list(self._seen):
            same_kind = key.kind == res.kind and key.group == res.group
            if cluster == client.name and same_kind and key not in present:
                self._gone(cluster, key)
        synced.set()
        return str((listing.get("metadata") or {}).get("resourceVersion") or "")

    async def _stream(self, client: ClusterClient, res: ApiResource, version: str) -> str:
        """Follow one watch request until the server ends it; the last version seen (events
        and bookmarks), to resume from."""
        query = [
            ("watch", "1"), ("labelSelector", _SELECTOR), ("allowWatchBookmarks", "true"),
            ("resourceVersion", version), ("timeoutSeconds", str(WATCH_SECONDS)),
        ]
        response = await client.api.call_api(
            res.path(), "GET", query_params=query,
            header_params={"Accept": "application/json"}, auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=aiohttp.ClientTimeout(total=None, sock_read=WATCH_SECONDS + 30),
        )
        async with response:
            if response.status != 200:
                raise ApiError(cluster=client.name, request=f"WATCH {res.path()}",
                               status=response.status, reason="", message=await response.text())
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        event = orjson.loads(line)
                        self._event(client.name, res, event)
                        version = _version_of(event) or version
        return version

    def _event(self, cluster: str, res: ApiResource, event: Mapping[str, Any]) -> None:
        kind, obj = str(event.get("type")), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired()
            raise ValueError(f"watch error: {obj.get('message')}")
        if kind == "BOOKMARK":
            return
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        if kind == "DELETED":
            self._gone(cluster, ResourceKey.of(obj), obj)
        else:
            self._observe(cluster, kind, obj)

    def _observe(self, cluster: str, kind: str, obj: dict[str, Any]) -> None:
        key = ResourceKey.of(obj)
        owner = _owner(cluster, obj)
        current = fingerprint(obj)
        health = assess(obj, self._checks)
        before = self._seen.get((cluster, key))
        self._seen[(cluster, key)] = _Seen(current, health, owner, own_write(obj),
                                           self._carried_note(cluster, key, current, before))
        if owner is None:
            return
        if (before is not None and before.fingerprint != current
                and not changed_by_fleetsync(obj, before=before.own)):
            self._drift(owner, key, f"{key.kind}/{key.name} changed by {_last_manager(obj)}")
        if before is None or before.health != health:
            self._on_health(owner, key, health)

    def forget_notes(self, target: TargetKey) -> None:
        """Drop the notes on ``target``'s objects (a hard refresh: dry-run them all again)."""
        for seen in self._seen.values():
            if seen.owner == target:
                seen.note = None
        self._pending = {k: v for k, v in self._pending.items() if k[0] != target.cluster}

    def _forget_notes(self, cluster: str, kind: Kind) -> None:
        """Drop the notes on objects of one watched kind: unwatched, they may go stale."""
        group = kind[0].rpartition("/")[0]
        for (where, key), seen in self._seen.items():
            if where == cluster and key.kind == kind[1] and key.group == group:
                seen.note = None
        self._pending = {k: v for k, v in self._pending.items()
                         if not (k[0] == cluster and k[1].kind == kind[1]
                                 and k[1].group == group)}

    def _carried_note(self, cluster: str, key: ResourceKey, current: str,
                      before: _Seen | None) -> Note | None:
        """The note still true of the version just seen: one waiting for exactly this
        fingerprint, or the last one if only status or bookkeeping changed."""
        pending = self._pending.pop((cluster, key), None)
        if pending is not None and pending[0] == current:
            return pending[1]
        return before.note if before is not None and before.fingerprint == current else None

    def _gone(self, cluster: str, key: ResourceKey, obj: dict[str, Any] | None = None) -> None:
        self._pending.pop((cluster, key), None)
        seen = self._seen.pop((cluster, key), None)
        owner = _owner(cluster, obj) if obj is not None else (seen.owner if seen else None)
        if owner is not None:
            self._drift(owner, key, f"{key.kind}/{key.name} was deleted")

    def _drift(self, target: TargetKey, key: ResourceKey, why: str) -> None:
        self._drifts[target] = self._drifts.get(target, 0) + 1
        self._on_drift(target, key, why)


class ClusterMemory:
    """The ``LiveWatcher``'s notes on one cluster's objects, as a sync uses them
    (``engine.apply.options.Memory``)."""

    def __init__(self, watcher: LiveWatcher, cluster: str) -> None:
        self._watcher, self._cluster = watcher, cluster

    def fingerprint(self, key: ResourceKey) -> str | None:
        """The watch's fingerprint of the object; None when it is not watched or absent."""
        return self._watcher.fingerprint(self._cluster, key)

    def agreed(self, key: ResourceKey, manifest: str) -> HealthResult | None:
        """The object's health as watched when it agrees with ``manifest`` as it is now;
        None when that is not known (never checked, or changed since)."""
        note = self._watcher.note(self._cluster, key)
        if note is None or note.manifest != manifest:
            return None
        return self._watcher.health(self._cluster, key)

    def agree(self, key: ResourceKey, manifest: str, live: str) -> None:
        """The object at fingerprint ``live`` agrees with ``manifest``."""
        self._watcher.keep_note(self._cluster, key, live, Note(manifest=manifest))

    def settled(self, key: ResourceKey) -> bool:
        """Whether the object agreed with some manifest and the watch saw no change since."""
        note = self._watcher.note(self._cluster, key)
        return note is not None and bool(note.manifest)

    def absent(self, key: ResourceKey, api_version: str) -> bool:
        """Whether the watch of the object's kind has listed and has not seen it."""
        return (self._watcher.listed(self._cluster, (api_version, key.kind))
                and self._watcher.fingerprint(self._cluster, key) is None)

    def inventory(self, key: ResourceKey) -> Inventory | None:
        """The inventory held by ConfigMap ``key`` as it is now, if known."""
        note = self._watcher.note(self._cluster, key)
        return note.inventory if note is not None else None

    def keep_inventory(self, key: ResourceKey, live: str, inventory: Inventory) -> None:
        """ConfigMap ``key`` at fingerprint ``live`` holds ``inventory``."""
        self._watcher.keep_note(self._cluster, key, live, Note(inventory=inventory))


def _version_of(event: Mapping[str, Any]) -> str:
    """The resourceVersion a watch event (or bookmark) carries, if any."""
    obj = event.get("object")
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""


class _Expired(Exception):
    """The watch's resourceVersion is too old (410): list again."""


_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"


def _owner(cluster: str, obj: Mapping[str, Any] | None) -> TargetKey | None:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    parsed = parse_tracking_id(str(annotations.get(TRACKING_ANNOTATION) or ""))
    return TargetKey(parsed[0], cluster) if parsed else None


def _last_manager(obj: Mapping[str, Any]) -> str:
    writer = other_writer(obj)
    return str(writer) if writer else "someone"
