"""The one writer of targets' statuses in the store: reconciles and the watches' health.

A reconcile opens a ``session`` on its target: the session holds the target's lock for the
whole reconcile and is the only way it writes (``save``, ``begin``, ``finish``), so the
status it computed from ``previous`` is never interleaved with another write. Health the
watches see between reconciles is buffered (``health_seen``) and written every half
second (``run``) into targets no reconcile holds; a held target's reconcile reads the
watches' health itself, and what stays buffered is written after it. An object out of
sync keeps the message that says why (the drift and who made it) when its health changes.
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


@dataclass
class TargetRecord:
    """One reconcile's writes to its target; ``previous`` is the status it started from."""

    store: Store
    key: TargetKey
    previous: TargetStatus | None
    saved: TargetStatus | None = None  # the status this reconcile wrote, if any

    async def save(self, status: TargetStatus) -> None:
        """Record a status without an operation (a comparison, or a failure before it)."""
        await self.store.save_status(status)
        self.saved = status

    async def begin(self, *, revision: str, trigger: str, source: SyncSource) -> int:
        """Record a Running operation before anything touches the cluster; its id."""
        return await self.store.begin_operation(self.key, revision=revision, trigger=trigger,
                                                source=source)  # fmt: skip

    async def finish(
        self, operation: int, *, phase: OperationPhase, message: str, status: TargetStatus,
        history_limit: int | None = None,
    ) -> None:  # fmt: skip
        """Complete ``operation`` with its status and history entry, in one transaction."""
        await self.store.finish_operation(operation, phase=phase, message=message,
                                          status=status, history_limit=history_limit)
        self.saved = status


class StatusWriter:
    """Serialises every write of a target's status; buffers and writes watched health."""

    def __init__(self, store: Store, *, interval: float = FLUSH_INTERVAL,
                 on_change: Callable[[str], None] = lambda _app: None) -> None:  # fmt: skip
        self._store = store
        self._interval = interval
        self._on_change = on_change  # told the app of every status written
        self._locks: defaultdict[TargetKey, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._health: defaultdict[TargetKey, dict[ResourceKey, HealthResult]] = (
            defaultdict(dict))  # fmt: skip

    @asynccontextmanager
    async def session(self, key: TargetKey) -> AsyncIterator[TargetRecord]:
        """Hold ``key`` for one reconcile: the last status read, and the way to write it."""
        async with self._locks[key]:
            record = TargetRecord(self._store, key, await self._store.get_status(key))
            try:
                yield record
            finally:
                if record.saved is not None:
                    self._on_change(key.app)

    def health_seen(self, target: TargetKey, key: ResourceKey, health: HealthResult) -> None:
        """A watch saw ``key`` of ``target`` reach ``health``: written at the next flush."""
        self._health[target][key] = health

    async def forget(self, key: TargetKey) -> None:
        """Drop ``key``'s status (its app is gone) and whatever was buffered for it."""
        async with self._locks[key]:
            self._health.pop(key, None)
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
        status = await self._store.get_status(target)
        if status is None or not status.resources or not found:
            return
        resources = tuple(_with_health(r, found[r.key]) if r.key in found else r
                          for r in status.resources)
        if resources == status.resources:
            return
        if st.renders_nothing(status):  # objects kept from before: not the app's health
            await self._store.save_status(replace(status, resources=resources))
        else:
            app = st.app_health(resources)
            await self._store.save_status(replace(status, resources=resources,
                                                  health=app.status, health_message=app.message))
        self._on_change(target.app)


def _with_health(row: ResourceStatus, health: HealthResult) -> ResourceStatus:
    """``row`` with a new health; an object out of sync keeps the message saying why."""
    keep = row.sync is SyncStatus.OUT_OF_SYNC and row.message
    return replace(row, health=health.status, message=row.message if keep else health.message)
