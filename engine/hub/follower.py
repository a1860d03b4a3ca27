"""Following the configuration while the hub runs: clusters and Applications.

``clusters.yaml`` and the local app files are looked at every ``FOLLOW_INTERVAL`` (a stat of
each file; parsing only when something changed, off the event loop). Applications from
Git entries of ``apps:`` are read once per commit. A reload refreshes the cluster
directory, re-reads the catalog and hands the change (targets added, removed, changed) to
the runtime, which tracks and untracks them. One bad reload is logged and the next one
tried; the catalog keeps its last good state.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from engine.apps import AppSource
from engine.clusters import ClusterPool, ClusterRegistry
from engine.config import AppsFromGit, HubConfig
from engine.errors import FleetsyncError
from engine.hub import wiring
from engine.hub.catalog import Catalog, CatalogChange, failed_git_source, git_app_source
from engine.hub.clusters import ClusterDirectory
from engine.hub.live import LiveWatcher
from engine.hub.runtime import Runtime
from engine.redaction import LogRedaction, redact, redact_url
from engine.source import GitSource

log = logging.getLogger(__name__)
FOLLOW_INTERVAL = 2.0


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
    apps_source: GitSource
    runtime: Runtime
    live: LiveWatcher
    redaction: LogRedaction
    cluster_refresh: Callable[[], Awaitable[None]] | None = None
    # Per Git entry of ``apps:``: (commit, its files), and why it could not be read.
    _git_apps: dict[int, tuple[str, AppSource]] = field(default_factory=dict, init=False)
    _git_app_errors: dict[int, str] = field(default_factory=dict, init=False)

    async def run(self) -> None:
        """Reload every ``FOLLOW_INTERVAL`` until cancelled; a failed reload is logged."""
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL)
            try:
                await self.reload(force=False)
            except Exception as err:  # one bad reload must not stop the following ones
                log.warning("reloading configuration: %s", redact(describe(err)))

    async def refresh_clusters(self) -> None:
        """Read every registered cluster's server and labels into the directory."""
        await self.clusters.refresh(self.registry, self.pool)

    async def reload(self, *, force: bool) -> None:
        """Reload what changed (everything when ``force``) and apply the catalog's change."""
        change = self.registry.reload()
        if change:
            self.redaction.add(wiring.secrets(self.config, self.registry))
            await self.pool.update(change)
            for name in change.changed | change.removed:
                self.live.forget_cluster(name)
        git, git_moved = await self._git_app_sources()
        disk = await asyncio.to_thread(self.catalog.changed_on_disk)
        if not (force or change or git_moved or disk):
            return
        await (self.cluster_refresh or self.refresh_clusters)()
        catalog_change = await self._reload_catalog(git)
        changed = change.changed if change else frozenset()
        await self.runtime.apply(catalog_change, self.catalog.targets,
                                  changed_clusters=changed)

    async def _reload_catalog(self, git: dict[int, AppSource]) -> CatalogChange:
        catalog = self.catalog
        try:
            # Parsing runs in a thread: a large or hostile file never blocks the event loop.
            prepared = await asyncio.to_thread(
                catalog.prepare, list(self.clusters.infos.values()), git)
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

    async def _git_app_sources(self) -> tuple[dict[int, AppSource], bool]:
        """The Git entries of ``apps:`` as sources, and whether any moved since last time.

        A commit is read once: until the entry's revision moves, its files are reused. An
        entry that cannot be read is a failed source (its apps keep their definitions).
        """
        sources: dict[int, AppSource] = {}
        moved = False
        for index, entry in enumerate(self.config.apps):
            if not isinstance(entry, AppsFromGit):
                continue
            try:
                sha = await self.apps_source.resolve(repo=entry.repo, revision=entry.revision,
                                                      max_age=self.config.git.poll_interval)
                cached = self._git_apps.get(index)
                if cached is None or cached[0] != sha:
                    files = await self.apps_source.read_files(repo=entry.repo, sha=sha,
                                                               path=entry.path)
                    self._git_apps[index] = (sha, git_app_source(index, entry, sha, files))
                    moved = True
                sources[index] = self._git_apps[index][1]
                self._git_app_errors.pop(index, None)
            except Exception as err:  # unreachable, or anything else: this entry's problem
                reason = redact(describe(err))
                if self._git_app_errors.get(index) != reason:  # once, not every 2 s
                    log.warning("apps from %s: %s", redact_url(entry.repo), reason)
                self._git_app_errors[index] = reason
                moved = moved or self._git_apps.pop(index, None) is not None
                sources[index] = failed_git_source(index, entry, reason)
        return sources, moved


def describe(err: Exception) -> str:
    """An error for a log line: our own errors by message, others by type too."""
    return str(err) if isinstance(err, FleetsyncError) else f"{type(err).__name__}: {err}"
