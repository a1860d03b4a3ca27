"""The one writer of targets' statuses in the store: reconciles and the watches' health.

A reconcile opens a ``session`` on its target: the session holds the target's lock for the
whole reconcile and is the only way it writes (``save``, ``begin``, ``finish``), so the
status it computed from ``previous`` is never interleaved with another write. Health the
watches see between reconciles is buffered (``health_seen``) and written every half
second (``run``) into targets no reconcile holds; a held target's reconcile reads the
watches' health itself, and what stays buffered is written after it. An object out of
sync keeps the message that says why (the drift and who made it) when its health changes.

The writer remembers the status the store holds for each target it last read or wrote
(``KnownStatuses``), so a reconcile or a flush reads the store only for a target it has
not seen: each target is written by one writer (one hub, or the replica whose shard holds
it), and what it writes is what the store then holds (the codec loses nothing). A write
that fails, a Running operation begun, a forgotten target and a shard taken over (whose
statuses another replica wrote) drop what is remembered; the next read goes to the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from engine.health import HealthResult
from engine.hub import status as st
from engine.model import OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.model.status import ResourceStatus, SyncSource, TargetStatus
from engine.store import Store, StoreFenced

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.5
# Resource rows of the statuses remembered, all targets together (about 0.5 KB each):
# 3,000 targets of 4 objects hold 24,000 (with their inventories).
MAX_KNOWN_ROWS = 65_536


class KnownStatuses:
    """The status the store holds for each target, as last read or written here; bounded
    by ``max_rows`` resource and inventory rows in all, the oldest forgotten first."""

    def __init__(self, max_rows: int = MAX_KNOWN_ROWS) -> None:
        self._statuses: dict[TargetKey, TargetStatus] = {}
        self._rows = 0
        self._max_rows = max_rows

    def get(self, key: TargetKey) -> TargetStatus | None:
        """The status remembered for ``key``, or None when the store must be read."""
        return self._statuses.get(key)

    def keep(self, status: TargetStatus) -> None:
        """``status`` is what the store now holds for its target."""
        self.drop(status.key)
        self._statuses[status.key] = status
        self._rows += _rows(status)
        while self._rows > self._max_rows and self._statuses:
            self.drop(next(iter(self._statuses)))

    def drop(self, key: TargetKey) -> None:
        """Forget ``key``'s status: the store may hold another now."""
        status = self._statuses.pop(key, None)
        if status is not None:
            self._rows -= _rows(status)

    def drop_all(self, only: Callable[[TargetKey], bool]) -> None:
        """Forget the statuses of every target ``only`` accepts."""
        for key in [k for k in self._statuses if only(k)]:
            self.drop(key)


def _rows(status: TargetStatus) -> int:
    return 1 + len(status.resources) + len(status.inventory)


@dataclass
class TargetRecord:
    """One reconcile's writes to its target; ``previous`` is the status it started from."""

    store: Store
    key: TargetKey
    previous: TargetStatus | None
    known: KnownStatuses
    saved: TargetStatus | None = None  # the status this reconcile wrote, if any

    def __post_init__(self) -> None:
        # The target's last operation as the store holds it; unknown once one was begun.
        self._operation = self.previous.operation if self.previous else None
        self._operation_known = True

    async def save(self, status: TargetStatus) -> None:
        """Record a status without an operation (a comparison, or a failure before it)."""
        self.known.drop(self.key)
        await self.store.save_status(status)
        self.saved = status
        if self._operation_known:  # the store keeps the target's last operation
            self.known.keep(replace(status, operation=self._operation))

    async def begin(self, *, revision: str, trigger: str, source: SyncSource) -> int:
        """Record a Running operation before anything touches the cluster; its id."""
        self.known.drop(self.key)
        self._operation_known = False
        return await self.store.begin_operation(self.key, revision=revision, trigger=trigger,
                                                source=source)  # fmt: skip

    async def finish(
        self, operation: int, *, phase: OperationPhase, message: str, status: TargetStatus,
        history_limit: int | None = None,
    ) -> None:  # fmt: skip
        """Complete ``operation`` with its status and history entry, in one transaction."""
        self.known.drop(self.key)
        finished = await self.store.finish_operation(
            operation, phase=phase, message=message, status=status,
            history_limit=history_limit)  # fmt: skip
        self.saved = status
        # An operation finished before (recovered) is returned as it was, ``status`` unsaved.
        if (finished.phase, finished.message) == (phase, message):
            self._operation, self._operation_known = finished, True
            self.known.keep(replace(status, operation=finished))


class StatusWriter:
    """Serialises every write of a target's status; buffers and writes watched health."""

    def __init__(self, store: Store, *, interval: float = FLUSH_INTERVAL,
                 on_change: Callable[[str], None] = lambda _app: None) -> None:  # fmt: skip
        self._store = store
        self._interval = interval
        self._on_change = on_change  # told the app of every status written
        self._locks: defaultdict[TargetKey, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._known = KnownStatuses()
        self._health: defaultdict[TargetKey, dict[ResourceKey, HealthResult]] = (
            defaultdict(dict))  # fmt: skip

    @asynccontextmanager
    async def session(self, key: TargetKey) -> AsyncIterator[TargetRecord]:
        """Hold ``key`` for one reconcile: the last status read, and the way to write it."""
        async with self._locks[key]:
            record = TargetRecord(self._store, key, await self._read(key), self._known)
            try:
                yield record
            finally:
                if record.saved is not None:
                    self._on_change(key.app)

    async def _read(self, key: TargetKey) -> TargetStatus | None:
        """The status the store holds for ``key`` (remembered once read)."""
        status = self._known.get(key)
        if status is None:
            status = await self._store.get_status(key)
            if status is not None:
                self._known.keep(status)
        return status

    def written_elsewhere(self, only: Callable[[TargetKey], bool]) -> None:
        """The targets ``only`` accepts may have been written by another replica: their
        statuses are read from the store again."""
        self._known.drop_all(only)

    def health_seen(self, target: TargetKey, key: ResourceKey, health: HealthResult) -> None:
        """A watch saw ``key`` of ``target`` reach ``health``: written at the next flush."""
        self._health[target][key] = health

    async def forget(self, key: TargetKey) -> None:
        """Drop ``key``'s status (its app is gone) and whatever was buffered for it."""
        async with self._locks[key]:
            self._health.pop(key, None)
            self._known.drop(key)
            await self._store.forget(key)

    async def run(self) -> None:
        """Write buffered health into the targets' statuses, every interval, forever."""
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        """Write buffered health now into every target no reconcile holds."""
        for target in list(self._health):
            lock = self._locks[target]
            if lock.locked():
                continue
            async with lock:
                try:
                    await self._write_health(target, self._health.pop(target, {}))
                except StoreFenced:  # another replica's target now: its owner writes it
                    log.info("health of %s left to the replica that reconciles it", target)

    async def _write_health(
        self, target: TargetKey, found: dict[ResourceKey, HealthResult]
    ) -> None:
        if not found:
            return
        status = await self._read(target)
        if status is None or not status.resources:
            return
        resources = tuple(_with_health(r, found[r.key]) if r.key in found else r
                          for r in status.resources)
        if resources == status.resources:
            return
        if st.renders_nothing(status):  # objects kept from before: not the app's health
            status = replace(status, resources=resources)
        else:
            app = st.app_health(resources)
            status = replace(status, resources=resources, health=app.status,
                             health_message=app.message)
        self._known.drop(target)
        await self._store.save_status(status)
        self._known.keep(status)
        self._on_change(target.app)


def _with_health(row: ResourceStatus, health: HealthResult) -> ResourceStatus:
    """``row`` with a new health; an object out of sync keeps the message saying why."""
    keep = row.sync is SyncStatus.OUT_OF_SYNC and row.message
    return replace(row, health=health.status, message=row.message if keep else health.message)
