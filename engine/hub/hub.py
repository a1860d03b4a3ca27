"""The hub: builds every part and runs them under one task group until ``stop()``.

``Hub(config).run()`` opens the store (recovering syncs a killed hub left Running), loads
clusters and Applications, then runs side by side: the scheduler (one reconcile per queued
(app, cluster) key, through the ``Runtime``), the Git poller (one fetch per repository
per poll), the live watches (drift and health), the ``ConfigFollower`` (changes of the app
files and the cluster registration apply without restart), the ``StatusWriter``'s health
flush, and the HTTP server (API, dashboard, webhook, /metrics) over the
``HubController``. Each background loop is supervised: an unexpected error is logged and
the loop restarted after a backoff, so that no part can take the hub down.

The parts (``engine.hub.*``): ``catalog`` (which targets exist), ``clusters`` (the
registered clusters), ``follower`` (reloads), ``runtime`` (what asks for reconciles and
where their reports go), ``reconciler`` + ``decisions`` (one reconcile, step by step),
``statuses`` (the one writer of statuses), ``automation`` (rollback's switch), ``live``
(watches), ``trees`` (commit trees on disk), ``metrics`` (counters), ``controller`` (the
API's view and actions).

``fleetsync.yaml`` itself is read once at start; a change to it needs a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial

from aiohttp import web

from engine.api.feed import ChangeFeed
from engine.api.server import create_app
from engine.api.views import AppView, MetricsSnapshot
from engine.api.webhook import WebhookReceiver
from engine.auth.service import Authenticator
from engine.backoff import Backoff, FailureStreak
from engine.clusters import ClusterPool, ClusterRegistry
from engine.clusters.client import USER_AGENT
from engine.clusters.leases import Leases
from engine.clusters.watch import LiveWatcher
from engine.config.hub import HubConfig, ScaleOut
from engine.health.lua import LuaHealthChecks
from engine.hub import wiring
from engine.hub.appsources import GitAppSources
from engine.hub.automation import Automation
from engine.hub.catalog import Catalog
from engine.hub.children import Children
from engine.hub.clusters import ClusterDirectory
from engine.hub.controller import HubController
from engine.hub.deletions import Deletions
from engine.hub.follower import ConfigFollower
from engine.hub.metrics import HubMetrics
from engine.hub.ownership import Everything, Ownership, Shards, record_fence
from engine.hub.plans import Planner
from engine.hub.reconciler import Parts, Reconciler
from engine.hub.rollouts import Rollouts
from engine.hub.runtime import Runtime
from engine.hub.statuses import StatusWriter
from engine.hub.trees import TreeCache
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.redaction import LogRedaction, redact
from engine.renderer.service import AsyncRenderCache
from engine.scheduler import WorkQueue
from engine.shards import app_shard, app_shards
from engine.source.charts import ChartRepositories
from engine.source.poller import GitPoller
from engine.store import Store

log = logging.getLogger(__name__)
STOP_GRACE = 20.0
RESTART_DELAY = 1.0  # a background loop that failed is restarted after this, doubling
MAX_RESTART_DELAY = 60.0
FORWARD_POLL = 1.0  # seconds between looks for actions other replicas left for this one


class Hub:
    """One fleetsync hub process: its parts, and the loops that run them."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.catalog = Catalog(config.apps,
                               implicit_default_project=config.implicit_default_project)
        self.clusters = ClusterDirectory()
        self.counters = HubMetrics()
        self.listening: tuple[str, int] | None = None
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._takeovers: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- running
    async def run(self) -> None:
        """Run until ``stop()``; every part is closed on the way out."""
        async with AsyncExitStack() as stack:
            await self.open(stack)
            await self._serve_http(stack)
            async with asyncio.TaskGroup() as group:
                background = [
                    group.create_task(self._supervised("git poller", self.poller.run)),
                    group.create_task(self._supervised("live watches", self.live.run)),
                    group.create_task(self._supervised("config follower", self.follower.run)),
                    group.create_task(self._supervised("health writer", self._flush_health)),
                    group.create_task(self._supervised("rollouts", self.rollouts.run)),
                ]
                if isinstance(self.ownership, Shards):
                    background.append(group.create_task(
                        self._supervised("shards", self.ownership.run)))
                    background.append(group.create_task(
                        self._supervised("forwarded actions", self._forwarded)))
                scheduler = group.create_task(self.scheduler.run())
                self.ready.set()
                await self._stopping.wait()
                await self.scheduler.stop(grace=STOP_GRACE)
                await scheduler
                self.poller.stop()
                for task in background:
                    task.cancel()

    def _release(self, key: TargetKey) -> None:
        """A rollout admitted ``key`` (or rolls it back): compare and sync it now."""
        self.runtime.enqueue_from_git(key, Trigger.WEBHOOK)

    def stop(self) -> None:
        """Ask ``run`` to finish: in-flight syncs get a grace period, then are cancelled."""
        self._stopping.set()

    async def open(self, stack: AsyncExitStack) -> None:
        """Build every part (closed by ``stack``), recover interrupted syncs and load the
        configuration; nothing runs yet (``run`` does this first)."""
        await self._build(stack)
        # The last line of defence for secrets: no log record of this process shows one.
        self.redaction.install()
        stack.callback(self.redaction.uninstall)
        if await self.auth.ensure_admin():
            log.warning("the admin account's first password is in %s (readable by this user "
                        "only); log in with it and change it: fleetsync login, then "
                        "fleetsync account update-password", self.auth.initial_password_file)
        # A replica recovers a cluster's interrupted syncs when it takes the cluster over
        # (``_gained``): the others' Running operations are not its to end.
        interrupted = await self.store.recover() if self.config.scale_out is None else []
        await self.follower.reload(force=True)
        for key in interrupted:
            self.scheduler.enqueue(key, Trigger.RETRY)

    async def _supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run one background loop until it returns; an unexpected error is logged and the
        loop restarted after a backoff, so that no part can take the hub down."""
        streak = FailureStreak(Backoff(duration=RESTART_DELAY, factor=2.0,
                                       max_duration=MAX_RESTART_DELAY))
        while True:
            started = time.monotonic()
            try:
                await loop()
                return
            except Exception:
                if time.monotonic() - started > MAX_RESTART_DELAY:
                    streak.reset()  # it ran well for a while: this is a new failure
                delay = streak.failed()
                log.error("%s failed; restarting it in %.0f s:\n%s", name, delay,
                          redact(traceback.format_exc()))  # fmt: skip
            await asyncio.sleep(delay)

    async def _build(self, stack: AsyncExitStack) -> None:
        config, data, limits = self.config, self.config.data_dir, self.config.limits
        data.mkdir(parents=True, exist_ok=True)
        if config.postgres_dsn is not None:
            self.store = await Store.connect(config.postgres_dsn.read())
        else:
            self.store = await Store.open(data / "fleetsync.db")
        stack.push_async_callback(self.store.close)
        self.auth = await Authenticator.open(config=config.auth, store=self.store.accounts,
                                       data_dir=data)
        self.registry = ClusterRegistry.load(config.clusters)
        self.redaction = LogRedaction(wiring.secrets(config, self.registry))
        self.pool = await stack.enter_async_context(ClusterPool(
            self.registry, user_agent=user_agent(self.config.scale_out)))
        self.source = wiring.git_source(config, data / "git",
                                        allow_local=config.git.allow_local_repos)
        # Repositories of Applications named in fleetsync.yaml itself are the operator's
        # choice, so they may be local; Application authors get ``self.source`` only.
        self.apps_source = wiring.git_source(config, data / "git-apps", allow_local=True)
        self.renders = AsyncRenderCache()
        stack.callback(self.renders.close)  # renders still running stop at their next check
        self.changes = ChangeFeed()
        self.statuses = StatusWriter(self.store, on_change=self.changes.changed)
        self.automation = Automation(self.store)
        queue = WorkQueue(concurrency=limits.concurrency, cluster_limit=limits.per_cluster)
        self.runtime = Runtime(metrics=self.counters, queue=queue, statuses=self.statuses,
                               automation=self.automation)
        self.scheduler = self.runtime.scheduler
        self.poller = GitPoller(self.source, self.runtime.enqueue_from_git,
                                interval=config.git.poll_interval)
        checks = LuaHealthChecks(config.health_checks) if config.health_checks else None
        self.live = LiveWatcher(pool=self.pool, on_drift=self.runtime.drifted,
                                on_health=self.statuses.health_seen, checks=checks)
        self.charts = ChartRepositories(data / "charts", index_ttl=config.git.poll_interval)
        stack.push_async_callback(self.charts.close)
        self.ownership = self._ownership()
        if isinstance(self.ownership, Shards):
            self.store.fence = partial(record_fence, self.ownership)
        self.children = Children()
        self.rollouts = Rollouts(catalog=self.catalog, clusters=self.clusters, store=self.store,
                                 release=self._release)
        self.reconciler = Reconciler(Parts(
            catalog=self.catalog, source=self.source, trees=TreeCache(self.source, data / "trees"),
            renders=self.renders, pool=self.pool, statuses=self.statuses,
            automation=self.automation, live=self.live, clusters=self.clusters,
            kustomize=str(config.kustomize_binary) if config.kustomize_binary else None,
            helm=str(config.helm_binary) if config.helm_binary else None,
            charts=self.charts,
            render_timeout=limits.render_timeout, data_dir=str(data), health_checks=checks,
            ownership=self.ownership, rollouts=self.rollouts, children=self.children,
            steps=self.counters.steps,
        ))
        self.rollouts.connect(self.reconciler.reads_changed)
        self.runtime.connect(reconciler=self.reconciler, poller=self.poller, live=self.live)
        self.deletions = Deletions(pool=self.pool, share=limits.delete_share,
                                   ownership=self.ownership)
        stack.push_async_callback(self.deletions.close)
        self.follower = ConfigFollower(
            config=config, registry=self.registry, pool=self.pool, catalog=self.catalog,
            clusters=self.clusters, git_apps=GitAppSources(config, self.apps_source),
            runtime=self.runtime,
            live=self.live, redaction=self.redaction, cluster_refresh=self._cluster_infos,
            deletions=self.deletions, children=self.children, on_catalog=self._project_roles,
        )
        self.control = HubController(
            catalog=self.catalog, store=self.store, runtime=self.runtime,
            directory=self.clusters, automation=self.automation, counters=self.counters,
            renders=self.reconciler, changes=self.changes, deletions=self.deletions,
            pool=self.pool, ownership=self.ownership,
            planner=Planner(self.catalog, self.source, self.reconciler),
            rollouts=self.rollouts,
        )

    async def _serve_http(self, stack: AsyncExitStack) -> None:
        secret = self.config.webhook_secret.read() if self.config.webhook_secret else None
        receiver = WebhookReceiver(on_push=self.poller.on_push, secret=secret)
        hosts = (self.config.listen_host, *self.config.allowed_hosts)
        runner = web.AppRunner(create_app(self.control, auth=self.auth,
                                          webhook_handler=receiver.handle, allowed_hosts=hosts))
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, self.config.listen_host, self.config.listen_port)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.listening = (str(host), int(port))
        log.info("fleetsync hub listening on http://%s:%d", host, port)

    # Two steps of the parts, run through the Hub so that a test can inject faults into
    # them and see the supervision (tests/integration/security/test_hostile_app_files_hub).
    async def _flush_health(self) -> None:
        """The status writer's health flush, forever."""
        await self.statuses.run()

    def _ownership(self) -> Ownership:
        """Every cluster, or this replica's shards (``scaleOut``)."""
        scale = self.config.scale_out
        if scale is None:
            return Everything()

        async def leases() -> Leases:
            client = await self.pool.client(scale.lease_cluster)
            return Leases(client, namespace=scale.namespace, identity=scale.identity,
                          duration=scale.lease_duration)

        return Shards(identity=scale.identity, leases=leases, duration=scale.lease_duration,
                      shards=self._shards, shard_of=self._shard_of,
                      on_gained=self._gained, on_lost=self._lost,
                      busy=lambda s: any(self._shard_of(k) == s
                                         for k in self.scheduler.queue.running))  # fmt: skip

    def _shards(self) -> list[str]:
        """Every shard of the registered clusters (``appShards`` splits a cluster by app)."""
        return [shard for name, spec in self.registry.clusters.items()
                for shard in app_shards(name, spec.app_shards)]  # fmt: skip

    def _shard_of(self, key: TargetKey) -> str:
        spec = self.registry.clusters.get(key.cluster)
        return app_shard(key.cluster, key.app, spec.app_shards if spec else 1)

        if isinstance(self.ownership, Shards):
            self.store.fence = partial(record_fence, self.ownership)
    async def _forwarded(self) -> None:
        """Carry out, every ``FORWARD_POLL`` seconds, the actions that other replicas'
        APIs left in the store for the clusters this one reconciles."""
        assert isinstance(self.ownership, Shards)
        while True:
            await self.control.carry_out_stored(self.ownership)
            await asyncio.sleep(FORWARD_POLL)

    def _gained(self, shard: str) -> None:
        """A shard this replica now reconciles: end the syncs its previous owner left
        Running, then compare each of its targets at once."""
        task = asyncio.create_task(self._take_over(shard), name=f"take over {shard}")
        self._takeovers.add(task)
        task.add_done_callback(self._takeovers.discard)

    def _lost(self, shard: str) -> None:
        """A shard another replica reconciles now: stop watching for its targets."""
        self.live.forget_targets(lambda key: self._shard_of(key) == shard)
        self.statuses.written_elsewhere(lambda key: self._shard_of(key) == shard)

    async def _take_over(self, shard: str) -> None:
        assert isinstance(self.ownership, Shards)
        claim = self.ownership.claim(shard)
        if claim is None or not await self.store.claim_shard(*claim):
            log.warning("shards: shard %s was claimed at a later generation; not taken", shard)
            return
        interrupted = set(await self.store.recover(only=lambda k: self._shard_of(k) == shard))
        self.statuses.written_elsewhere(lambda k: self._shard_of(k) == shard)
        for key in self.catalog.targets:
            if self._shard_of(key) == shard:
                self.runtime.invalidate(key)
                self.scheduler.enqueue(key, Trigger.RETRY if key in interrupted
                                       else Trigger.PERIODIC)

    def _project_roles(self) -> None:
        """RBAC with the roles of the AppProjects now in the catalog."""
        projects = self.catalog.apps.projects.values()
        self.auth.use_project_roles([line for p in projects for line in p.policy_lines()])

    async def _cluster_infos(self) -> None:
        """The follower's refresh of the cluster directory."""
        await self.clusters.refresh(self.registry, self.pool)

    # What callers holding the Hub (tests, the load test) read; the API uses ``control``.
    def apps(self) -> list[AppView]:
        """Every Application in the catalog (``HubController.apps``)."""
        return self.control.apps()

    def metrics(self) -> MetricsSnapshot:
        """The hub's counters and gauges now (``HubController.metrics``)."""
        return self.control.metrics()

    async def request_refresh(self, *, app: str, hard: bool = False) -> list[TargetKey]:
        """Queue a comparison of ``app`` (``HubController.request_refresh``)."""
        return await self.control.request_refresh(app=app, hard=hard)


def user_agent(scale: ScaleOut | None) -> str:
    """What the hub's requests to clusters say they come from (audit logs record it): with
    scale-out, which replica."""
    return USER_AGENT if scale is None else f"{USER_AGENT} (replica {scale.identity})"
