"""Deleting Applications: what happens to the objects of an app whose definition is gone.

An Application removed from its file or Git directory is untracked at once. Its objects are
deleted only when it carried Argo CD's resources finalizer (``engine.apps.cascade_propagation``):
then, on every cluster it targeted, each at its own pace, what its inventory tracks is
deleted in reverse wave order (``engine.apply.cascade``), retried with backoff until done.
Without the finalizer the objects, their tracking annotations and the inventory are left as
they are: a definition restored later adopts them again, as Argo CD's does.

Safety first: when one reload removes, with the finalizer, more than ``share`` of the apps
defined before it (and more than one app), nothing is deleted; the deletions are held,
listed by the API and the CLI, until each is confirmed (``fleetsync app delete``, which may
also drop the cascade) or its definition comes back. A target dropped because its cluster
left an app's selection, or its cluster's registration, is only untracked, never deleted: a
label typo must not empty a cluster. Held deletions live in memory: a restart forgets
them, which leaves the objects in place (never the other way round).

A definition that comes back while its deletion runs stops the deletion; the next sync
applies what is missing again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from engine.apply.cascade import delete_app
from engine.apps import AppTarget
from engine.backoff import Backoff, FailureStreak
from engine.clusters import ClusterPool
from engine.errors import FleetsyncError
from engine.hub.ownership import Everything, Ownership, fenced
from engine.model import TargetKey
from engine.model.inventory import INVENTORY_NAMESPACE
from engine.plan import deletion_guard

log = logging.getLogger(__name__)

RETRY = Backoff(duration=5.0, factor=2.0, max_duration=300.0)
WAVE_TIMEOUT = 300.0  # seconds one wave may take to be gone before the deletion retries


class DeletionState(StrEnum):
    """Where a deletion stands."""

    HELD = "Held"  # waits for a confirmation or the definition's return
    DELETING = "Deleting"  # running (or waiting to retry after a failure)


@dataclass
class PendingDeletion:
    """One app's deletion across the clusters it targeted."""

    app: str
    project: str
    targets: dict[str, AppTarget]  # by cluster; a cluster leaves when its objects are gone
    propagation: str
    state: DeletionState
    message: str = ""
    since: float = field(default_factory=time.time)
    who: str = "removed from its source"


class NotHeld(Exception):
    """There is no held deletion of that app."""


class Deletions:
    """The deletions of removed apps: decided, held, carried out, retried."""

    def __init__(self, *, pool: ClusterPool, share: float, wave_timeout: float = WAVE_TIMEOUT,
                 ownership: Ownership | None = None) -> None:  # fmt: skip
        self._pool, self._share, self._wave_timeout = pool, share, wave_timeout
        # Another replica deletes the targets it reconciles.
        self._ownership: Ownership = ownership or Everything()
        self._pending: dict[str, PendingDeletion] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # ----------------------------------------------------------------- what changed
    def removed(
        self, gone: Mapping[TargetKey, AppTarget], *, defined: Collection[str], apps: int
    ) -> None:
        """Targets the catalog dropped: those of apps no longer ``defined`` with the
        resources finalizer are deleted, or held when there are too many (``apps``: how
        many apps were defined before the reload)."""
        by_app: dict[str, dict[str, AppTarget]] = {}
        for key, target in gone.items():
            if (key.app not in defined and target.options.cascade is not None
                    and self._ownership.owns(key)):
                by_app.setdefault(key.app, {})[key.cluster] = target
        if not by_app:
            return
        held = deletion_guard(deleting=len(by_app), apps=apps, share=self._share)
        for app, targets in by_app.items():
            first = next(iter(targets.values()))
            pending = PendingDeletion(
                app=app, project=first.project, targets=targets,
                propagation=first.options.cascade or "Foreground",
                state=DeletionState.HELD if held else DeletionState.DELETING,
                message=held or "",
            )  # fmt: skip
            self._pending[app] = pending
            if held:
                log.warning("app %s: its deletion is held: %s", app, held)
            else:
                self._start(pending)

    def restored(self, defined: Collection[str]) -> None:
        """The apps ``defined`` now: the held or running deletion of any of them stops."""
        for app in [a for a in self._pending if a in defined]:
            del self._pending[app]
            log.info("app %s is defined again: its deletion stops", app)
            task = self._tasks.pop(app, None)
            if task is not None:
                task.cancel()

    # -------------------------------------------------------------- asked for
    def pending(self) -> list[PendingDeletion]:
        """Every held or running deletion, by app name."""
        return [self._pending[app] for app in sorted(self._pending)]

    def find(self, app: str) -> PendingDeletion | None:
        """The deletion of ``app``, if one is held or running."""
        return self._pending.get(app)

    def confirm(self, app: str, *, cascade: bool, propagation: str | None, who: str) -> None:
        """Carry out the held deletion of ``app`` (NotHeld if there is none): delete its
        objects, or with ``cascade`` False only drop it and leave them."""
        pending = self._pending.get(app)
        if pending is None or pending.state is not DeletionState.HELD:
            raise NotHeld(f"no deletion of {app} is held")
        if not cascade:
            del self._pending[app]
            log.info("app %s: deletion confirmed by %s without cascade; its objects are left",
                     app, who)  # fmt: skip
            return
        pending.state, pending.message, pending.who = DeletionState.DELETING, "", who
        pending.propagation = propagation or pending.propagation
        log.info("app %s: deletion confirmed by %s", app, who)
        self._start(pending)

    async def close(self) -> None:
        """Stop every running deletion (the next start forgets them; objects stay)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ carrying out
    def _start(self, pending: PendingDeletion) -> None:
        self._tasks[pending.app] = asyncio.create_task(self._delete(pending),
                                                       name=f"delete {pending.app}")

    async def _delete(self, pending: PendingDeletion) -> None:
        """Delete the app's objects on every cluster at once, one cluster's trouble not
        holding the others; done when no cluster is left."""
        clusters = list(pending.targets)
        await asyncio.gather(*(self._delete_on(pending, c) for c in clusters))
        if self._pending.get(pending.app) is pending:
            del self._pending[pending.app]
        self._tasks.pop(pending.app, None)
        log.info("app %s: deleted from %s", pending.app, ", ".join(clusters))

    async def _delete_on(self, pending: PendingDeletion, cluster: str) -> None:
        # This task's deletes are sent only while the target is this replica's.
        with fenced(self._ownership, TargetKey(pending.app, cluster)):
            await self._delete_until_done(pending, cluster)

    async def _delete_until_done(self, pending: PendingDeletion, cluster: str) -> None:
        streak = FailureStreak(RETRY)
        while True:
            try:
                client = await self._pool.client(cluster)
                done = await delete_app(app=pending.app, client=client,
                                        inventory_namespace=INVENTORY_NAMESPACE,
                                        propagation=pending.propagation,
                                        wave_timeout=self._wave_timeout)  # fmt: skip
                problem = done.message
            except FleetsyncError as err:
                problem = str(err)
            if not problem:
                pending.targets.pop(cluster, None)
                return
            pending.message = f"{cluster}: {problem}"
            delay = streak.failed()
            log.warning("app %s: deleting on %s: %s; trying again in %.0f s",
                        pending.app, cluster, problem, delay)  # fmt: skip
            await asyncio.sleep(delay)
