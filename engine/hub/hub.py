"""The hub: every part wired together, run under one task group, and seen by the API.

``Hub(config).run()`` opens the store (recovering syncs a killed hub left Running), loads
clusters and Applications, then runs side by side until ``stop()``: the scheduler (one
reconcile per queued (app, cluster) key), the Git poller (one fetch per repository per
poll), the live watches (drift and health), a follower of the app files and the cluster
registration (changes apply without restart), a health writer, and the HTTP server (API,
dashboard, webhook, /metrics). ``Hub`` is also the API's ``HubControl``.

``fleetsync.yaml`` itself is read once at start; a change to it needs a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from aiohttp import web

from engine.api.control import Conflict, InvalidRequest, NotFound
from engine.api.server import create_app
from engine.api.views import AppView, ClusterView, MetricsSnapshot, TargetView
from engine.api.webhook import WebhookReceiver
from engine.apps import Application, AppSource, ClusterInfo
from engine.clusters import ClusterPool, ClusterRegistry
from engine.config import AppsFromGit, HubConfig
from engine.errors import FleetsyncError
from engine.health.lua import LuaHealthChecks
from engine.hub import wiring
from engine.hub.automation import Automation
from engine.hub.catalog import Catalog, CatalogChange, failed_git_source, git_app_source
from engine.hub.decisions import Request
from engine.hub.live import LiveWatcher
from engine.hub.metrics import HubMetrics
from engine.hub.reconciler import Parts, Reconciler
from engine.hub.runtime import Runtime
from engine.hub.statuses import StatusWriter
from engine.hub.trees import TreeCache
from engine.model import OperationPhase, TargetKey
from engine.redaction import LogRedaction, redact, redact_url
from engine.render.aio import AsyncRenderCache
from engine.scheduler import Trigger, WorkQueue
from engine.scheduler.poller import GitPoller
from engine.store import Store
from engine.store.model import HistoryEntry, rollback_trigger

log = logging.getLogger(__name__)
FOLLOW_INTERVAL = 2.0
HEALTH_FLUSH_INTERVAL = 0.5
STOP_GRACE = 20.0
RESTART_DELAY = 1.0  # a background loop that failed is restarted after this, doubling
MAX_RESTART_DELAY = 60.0


class Hub:
    """One fleetsync hub process (and the API's ``HubControl``)."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.catalog = Catalog(config.apps,
                               implicit_default_project=config.implicit_default_project)
        self._git_apps: dict[int, tuple[str, AppSource]] = {}  # entry → (commit, its files)
        self._git_app_errors: dict[int, str] = {}  # entry → why it could not be read
        self.cluster_infos: dict[str, ClusterInfo] = {}
        self.cluster_errors: dict[str, str] = {}
        self.listening: tuple[str, int] | None = None
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self.metrics_ = HubMetrics()

    # ----------------------------------------------------------------- running
    async def run(self) -> None:
        """Run until ``stop()``; every part is closed on the way out."""
        async with AsyncExitStack() as stack:
            await self._open(stack)
            # The last line of defence for secrets: no log record of this process shows one.
            self._redaction = LogRedaction(wiring.secrets(self.config, self.registry))
            self._redaction.install()
            stack.callback(self._redaction.uninstall)
            interrupted = await self._store.recover()
            await self._reload(force=True)
            for key in interrupted:
                self.scheduler.enqueue(key, Trigger.RETRY)
            await self._serve_http(stack)
            async with asyncio.TaskGroup() as group:
                background = [
                    group.create_task(self._supervised("git poller", self.poller.run)),
                    group.create_task(self._supervised("live watches", self.live.run)),
                    group.create_task(self._supervised("config follower", self._follow_config)),
                    group.create_task(self._supervised("health writer", self._flush_health)),
                ]
                scheduler = group.create_task(self.scheduler.run())
                self.ready.set()
                await self._stopping.wait()
                await self.scheduler.stop(grace=STOP_GRACE)
                await scheduler
                self.poller.stop()
                for task in background:
                    task.cancel()

    def stop(self) -> None:
        """Ask ``run`` to finish: in-flight syncs get a grace period, then are cancelled."""
        self._stopping.set()

    async def _supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run one background loop until it returns; an unexpected error is logged and the
        loop restarted after a backoff, so that no part can take the hub down."""
        delay = RESTART_DELAY
        while True:
            started = time.monotonic()
            try:
                await loop()
                return
            except Exception:
                log.error("%s failed; restarting it in %.0f s:\n%s", name, delay,
                          redact(traceback.format_exc()))  # fmt: skip
            if time.monotonic() - started > MAX_RESTART_DELAY:
                delay = RESTART_DELAY  # it ran well for a while: this is a new failure
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)

    async def _open(self, stack: AsyncExitStack) -> None:
        data = self.config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self._store = await Store.open(data / "fleetsync.db")
        stack.push_async_callback(self._store.close)
        self.registry = ClusterRegistry.load(self.config.clusters)
        self.pool = await stack.enter_async_context(ClusterPool(self.registry))
        self.source = wiring.git_source(self.config, data / "git",
                                        allow_local=self.config.git.allow_local_repos)
        # Repositories of Applications named in fleetsync.yaml itself are the operator's
        # choice, so they may be local; Application authors get ``self.source`` only.
        self.apps_source = wiring.git_source(self.config, data / "git-apps", allow_local=True)
        self.renders = AsyncRenderCache()
        stack.callback(self.renders.close)  # renders still running stop at their next check
        self.statuses = StatusWriter(self._store)
        self.automation = Automation(self._store)
        limits = self.config.limits
        queue = WorkQueue(concurrency=limits.concurrency, cluster_limit=limits.per_cluster)
        self.runtime = Runtime(metrics=self.metrics_, queue=queue)
        self.scheduler = self.runtime.scheduler
        self.poller = GitPoller(self.source, self.runtime.enqueue_from_git,
                                interval=self.config.git.poll_interval)
        checks = LuaHealthChecks(self.config.health_checks) if self.config.health_checks else None
        self.live = LiveWatcher(pool=self.pool, on_drift=self.runtime.drifted,
                                on_health=self.statuses.health_seen, checks=checks)
        kustomize = str(self.config.kustomize_binary) if self.config.kustomize_binary else None
        self.reconciler = Reconciler(Parts(
            catalog=self.catalog, source=self.source, trees=TreeCache(self.source, data / "trees"),
            renders=self.renders, pool=self.pool, statuses=self.statuses,
            automation=self.automation, live=self.live, clusters=self.cluster_infos,
            kustomize=kustomize, render_timeout=limits.render_timeout, data_dir=str(data),
            health_checks=checks,
        ))
        self.runtime.connect(reconciler=self.reconciler, poller=self.poller, live=self.live)

    async def _serve_http(self, stack: AsyncExitStack) -> None:
        secret = self.config.webhook_secret.read() if self.config.webhook_secret else None
        receiver = WebhookReceiver(on_push=self.poller.on_push, secret=secret)
        hosts = (self.config.listen_host, *self.config.allowed_hosts)
        runner = web.AppRunner(create_app(self, webhook_handler=receiver.handle,
                                          allowed_hosts=hosts))
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, self.config.listen_host, self.config.listen_port)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.listening = (str(host), int(port))
        log.info("fleetsync hub listening on http://%s:%d", host, port)

    # ------------------------------------------------- following configuration
    async def _follow_config(self) -> None:
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL)
            try:
                await self._reload(force=False)
            except Exception as err:  # one bad reload must not stop the following ones
                log.warning("reloading configuration: %s", redact(_describe(err)))

    async def _reload(self, *, force: bool) -> None:
        change = self.registry.reload()
        if change:
            self._redaction.add(wiring.secrets(self.config, self.registry))
            await self.pool.update(change)
            for name in change.changed | change.removed:
                self.live.forget_cluster(name)
        git, git_moved = await self._git_app_sources()
        disk = await asyncio.to_thread(self.catalog.changed_on_disk)
        if not (force or change or git_moved or disk):
            return
        await self._cluster_infos()
        try:
            # Parsing runs in a thread: a large or hostile file never blocks the event loop.
            prepared = await asyncio.to_thread(
                self.catalog.prepare, list(self.cluster_infos.values()), git)
        except Exception:  # keep the last catalog; the error is the catalog's, not the hub's
            log.error("reading Applications failed; keeping the last ones read:\n%s",
                      redact(traceback.format_exc()))  # fmt: skip
            prepared = None
        catalog_change = CatalogChange()
        if prepared is not None:
            known = set(self.catalog.general_errors)
            catalog_change = self.catalog.commit(prepared)
            for error in self.catalog.general_errors:
                if error not in known:  # each problem once, when it appears
                    log.warning("apps: %s", error)
        changed = change.changed if change else frozenset()
        await self._apply(catalog_change, changed_clusters=changed)

    async def _cluster_infos(self) -> None:
        infos: dict[str, ClusterInfo] = {}
        for name, spec in self.registry.clusters.items():
            try:
                server = (await self.pool.client(name)).server
                self.cluster_errors.pop(name, None)
            except FleetsyncError as err:
                server, self.cluster_errors[name] = "", str(err)
            infos[name] = ClusterInfo(name, server, dict(spec.labels))
        self.cluster_infos.clear()
        self.cluster_infos.update(infos)

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
                reason = redact(_describe(err))
                if self._git_app_errors.get(index) != reason:  # once, not every 2 s
                    log.warning("apps from %s: %s", redact_url(entry.repo), reason)
                self._git_app_errors[index] = reason
                moved = moved or self._git_apps.pop(index, None) is not None
                sources[index] = failed_git_source(index, entry, reason)
        return sources, moved

    async def _apply(self, change: CatalogChange, *, changed_clusters: frozenset[str]) -> None:
        for key in change.removed:
            self.scheduler.untrack(key)
            self.poller.unwatch(key)
            self.live.forget(key)
            await self.statuses.forget(key)
        for key in change.added | change.changed:
            target = self.catalog.targets[key]
            self.runtime.invalidate(key)
            if key in change.changed:
                await self.automation.turn_on(key.app)
            else:
                await self.automation.restore(key.app)
            self.scheduler.track(key, interval=target.options.reconcile_interval,
                                 backoff=wiring.backoff(target.options.retry))
        for key in self.catalog.targets:
            if key.cluster in changed_clusters:
                self.runtime.invalidate(key)
                self.scheduler.enqueue(key, Trigger.PERIODIC)

    async def _flush_health(self) -> None:
        """The health writer's loop (a method here so that its supervision can be tested)."""
        await self.statuses.run()

    # ------------------------------------------------------------- HubControl
    @property
    def store(self) -> Store:
        """The hub's store (statuses and history)."""
        return self._store

    def apps(self) -> list[AppView]:
        """Every Application in the catalog, valid or not, sorted by name."""
        targets: dict[str, list[TargetView]] = defaultdict(list)
        for key, target in sorted(self.catalog.targets.items()):
            targets[key.app].append(TargetView(key, target.namespace, target.path,
                                               target.revision))
        views = [self._app_view(app, tuple(targets.get(app.name, ())))
                 for app in self.catalog.apps.applications.values()]
        for name, problems in self.catalog.problems.items():
            if name not in self.catalog.apps.applications:
                views.append(AppView(name=name, project="", repo_url="", target_revision="",
                                     path="", destination="", errors=_shown(problems.errors)))
        return sorted(views, key=lambda v: v.name)

    def _app_view(self, app: Application, targets: tuple[TargetView, ...]) -> AppView:
        dest = app.destination
        where = (f"selector {dest.cluster_selector}" if dest.cluster_selector is not None
                 else f"name {dest.name}" if dest.name else f"server {dest.server}")
        problems = self.catalog.problems.get(app.name)
        automated = app.sync_policy.automated
        return AppView(
            name=app.name, project=app.project, repo_url=redact_url(app.source.repo_url),
            target_revision=app.source.target_revision, path=app.source.path,
            destination=where, namespace=dest.namespace, automated=automated is not None,
            prune=bool(automated and automated.prune),
            self_heal=bool(automated and automated.self_heal),
            automated_disabled=self.automation.is_off(app.name),
            warnings=_shown(problems.warnings) if problems else (),
            errors=_shown(problems.errors) if problems else (), targets=targets,
        )

    def source_errors(self) -> list[str]:
        """Errors of the app sources not tied to one app (broken files, ignored AppProjects,
        unreadable repositories), URLs redacted."""
        return list(_shown(self.catalog.general_errors))

    def clusters(self) -> list[ClusterView]:
        """Every registered cluster, sorted by name; unreachable if its last reconcile said so."""
        down = {**self.runtime.unreachable, **self.cluster_errors}
        return [
            ClusterView(name=i.name, server=i.server, labels=dict(i.labels),
                        reachable=name not in down, last_error=down.get(name, ""))
            for name, i in sorted(self.cluster_infos.items())
        ]

    def metrics(self) -> MetricsSnapshot:
        """Counters and gauges now."""
        return self.metrics_.snapshot(self.scheduler.metrics())

    async def request_sync(
        self, *, app: str, cluster: str | None = None, revision: str | None = None,
        prune: bool | None = None, trigger: str,
    ) -> list[TargetKey]:
        """Queue a sync of ``app`` (on one cluster if given)."""
        keys = self._keys(app, cluster)
        for key in keys:
            self.runtime.request(key, Request(trigger, revision, prune))
        return keys

    async def request_refresh(self, *, app: str, hard: bool = False) -> list[TargetKey]:
        """Queue a comparison of ``app`` (dropping its renders first when ``hard``)."""
        keys = self._keys(app, None)
        for key in keys:
            if hard:
                repo = self.catalog.targets[key].repo_url
                with contextlib.suppress(FleetsyncError):  # an invalid URL has no renders
                    self.renders.cache.invalidate(repo=self.source.access_key(repo))
                self.reconciler.forget_render_failures()
            self.runtime.invalidate(key)
            self.scheduler.enqueue(key, Trigger.MANUAL)
        return keys

    async def rollback(
        self, *, app: str, cluster: str | None = None, entry_id: int | None = None,
        trigger: str,
    ) -> list[TargetKey]:
        """Sync an earlier revision from history and turn automated sync off for ``app``."""
        chosen = []
        for key in self._keys(app, cluster):
            entry = await self._rollback_entry(key, entry_id)
            if entry is not None:
                chosen.append((key, entry.id, entry.revision))
        if entry_id is not None and not chosen:
            raise NotFound(f"no history entry {entry_id} for app {app}")
        if not chosen:
            raise InvalidRequest(f"app {app}: no earlier successful revision to roll back to")
        await self.automation.turn_off(app)
        for key, entry_number, revision in chosen:
            self.runtime.request(key, Request(rollback_trigger(entry_number), revision))
        return [key for key, _, _ in chosen]

    async def _rollback_entry(self, key: TargetKey, entry_id: int | None) -> HistoryEntry | None:
        if entry_id is not None:
            return await self._store.history_entry(key, entry_id)
        status = await self._store.get_status(key)
        current = status.revision if status else None
        for entry in await self._store.history(key):
            if entry.phase is OperationPhase.SUCCEEDED and entry.revision != current:
                return entry
        return None

    def _keys(self, app: str, cluster: str | None) -> list[TargetKey]:
        if app not in self.catalog.apps.applications and app not in self.catalog.problems:
            raise NotFound(f"no application named {app}")
        problems = self.catalog.problems.get(app)
        if problems and problems.errors:
            raise Conflict(f"application {app} is invalid: {problems.errors[0]}")
        keys = [k for k in sorted(self.catalog.targets) if k.app == app]
        if cluster is not None:
            keys = [k for k in keys if k.cluster == cluster]
            if not keys:
                raise NotFound(f"application {app} does not target cluster {cluster}")
        return keys


def _describe(err: Exception) -> str:
    """An error for a log line: our own errors by message, others by type too."""
    return str(err) if isinstance(err, FleetsyncError) else f"{type(err).__name__}: {err}"


def _shown(messages: tuple[str, ...]) -> tuple[str, ...]:
    """Messages as the API shows them: no URL credentials (an app's repoURL may hold some)."""
    return tuple(redact_url(m) for m in messages)
