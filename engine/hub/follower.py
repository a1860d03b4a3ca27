"""Following the configuration while the hub runs: clusters and Applications.

``clusters.yaml`` and the local app files are looked at every ``FOLLOW_INTERVAL`` (a stat of
each file; parsing only when something changed, off the event loop), or less often when
looking costs more than ``FOLLOW_SHARE`` of a core (thousands of app files), but at least
every ``FOLLOW_INTERVAL_MAX``. Applications from
Git entries of ``apps:`` are read once per commit, when their own Git poller sees the
entry move (``engine.hub.appsources``), and the reload runs at once then. A reload
refreshes the cluster directory, re-reads the catalog and hands the change (targets added,
removed, changed) to the runtime, which tracks and untracks them. One bad reload is
logged and the next one tried; the catalog keeps its last good state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from engine.apps import AppSource
from engine.clusters import ClusterPool, ClusterRegistry
from engine.clusters.watch import LiveWatcher
from engine.config.hub import HubConfig
from engine.hub import wiring
from engine.hub.appsources import GitAppSources, describe
from engine.hub.catalog import Catalog, CatalogChange
from engine.hub.children import Children
from engine.hub.clusters import ClusterDirectory
from engine.hub.deletions import Deletions
from engine.hub.runtime import Runtime
from engine.redaction import LogRedaction, redact

log = logging.getLogger(__name__)
FOLLOW_INTERVAL = 2.0
FOLLOW_INTERVAL_MAX = 30.0
FOLLOW_SHARE = 0.0025  # of one core, at most, for looking at unchanged files


def follow_interval(cost: float) -> float:
    """Seconds until the next look, when the last one took ``cost`` seconds."""
    return min(FOLLOW_INTERVAL_MAX, max(FOLLOW_INTERVAL, cost / FOLLOW_SHARE))


@dataclass(kw_only=True)
class ConfigFollower:
    """Reloads clusters and Applications when their files (or Git entries) change.

    ``cluster_refresh`` replaces ``refresh_clusters`` when given (the Hub passes its own).
    """

    config: HubConfig
    registry: ClusterRegistry
    pool: ClusterPool
    catalog: Catalog
    clusters: ClusterDirectory
    git_apps: GitAppSources
    runtime: Runtime
    live: LiveWatcher
    redaction: LogRedaction
    cluster_refresh: Callable[[], Awaitable[None]] | None = None
    deletions: Deletions | None = None
    children: Children | None = None  # what parent Applications published (app of apps)
    on_catalog: Callable[[], None] | None = None  # after a reload changed the catalog

    async def run(self) -> None:
        """Poll the apps' repositories, and reload every ``FOLLOW_INTERVAL`` or as soon as
        an entry moved, until cancelled; a failed reload is logged."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.git_apps.poller.run())
            interval = FOLLOW_INTERVAL
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await self._woken()
                started = time.monotonic()
                try:
                    changed = await self.reload(force=False)
                except Exception as err:  # one bad reload must not stop the following ones
                    log.warning("reloading configuration: %s", redact(describe(err)))
                    changed = True
                if not changed:  # what a look costs, not a reload
                    interval = follow_interval(time.monotonic() - started)

    async def _woken(self) -> None:
        """Until a Git entry of ``apps:`` moved or a parent published new children."""
        events = [self.git_apps.changed] + ([self.children.changed] if self.children else [])
        waits = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def refresh_clusters(self) -> None:
        """Read every registered cluster's server and labels into the directory."""
        await self.clusters.refresh(self.registry, self.pool)

    async def reload(self, *, force: bool) -> bool:
        """Reload what changed (everything when ``force``) and apply the catalog's change;
        whether anything was reloaded."""
        change = self.registry.reload()
        if change:
            self.redaction.add(wiring.secrets(self.config, self.registry))
            await self.pool.update(change)
            for name in change.changed | change.removed:
                self.live.forget_cluster(name)
        git, git_moved = await self.git_apps.sources()
        self.catalog.listings, listed = await self.git_apps.listings(self.catalog.wanted)
        disk = await asyncio.to_thread(self.catalog.changed_on_disk)
        adopted = self.children is not None and self.children.changed.is_set()
        if not (force or change or git_moved or disk or listed or adopted):
            return False
        await (self.cluster_refresh or self.refresh_clusters)()
        before, apps_before = self.catalog.targets, len(self.catalog.defined())
        catalog_change = await self._reload_catalog(git, self._children())
        if self.catalog.wanted - self.catalog.listings.keys():
            self.git_apps.changed.set()  # new git generators: read them, reload at once
        changed = change.changed if change else frozenset()
        await self.runtime.apply(catalog_change, self.catalog.targets,
                                  changed_clusters=changed)
        if self.on_catalog is not None:
            self.on_catalog()
        if self.children is not None:  # a parent gone: its children go at the next reload
            self.children.drop_missing(self.catalog.defined())
        if self.deletions is not None:
            defined = self.catalog.defined()
            self.deletions.restored(defined)
            self.deletions.removed({k: before[k] for k in catalog_change.removed},
                                   defined=defined, apps=apps_before)
        return True

    def _children(self) -> dict[str, AppSource]:
        """The sources of the children parents published, read now (the event cleared)."""
        if self.children is None:
            return {}
        self.children.changed.clear()
        return self.children.sources(self.catalog.apps, self.config.apps)

    async def _reload_catalog(
        self, git: dict[int, AppSource], children: dict[str, AppSource]
    ) -> CatalogChange:
        catalog = self.catalog
        try:
            # Parsing runs in a thread: a large or hostile file never blocks the event loop.
            prepared = await asyncio.to_thread(
                catalog.prepare, list(self.clusters.infos.values()), git, children)
        except Exception:  # keep the last catalog; the error is the catalog's, not the hub's
            log.error("reading Applications failed; keeping the last ones read:\n%s",
                      redact(traceback.format_exc()))  # fmt: skip
            return CatalogChange()
        if prepared is None:
            return CatalogChange()
        known = set(catalog.general_errors)
        change = catalog.commit(prepared)
        for error in catalog.general_errors:
            if error not in known:  # each problem once, when it appears
                log.warning("apps: %s", error)
        return change
