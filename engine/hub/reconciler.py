"""The reconcile of one (app, cluster) target: a readable sequence of named steps.

check the Application and its project → map its options → resolve the revision → skip if
nothing changed → render (cached by SHA) → check the AppProject → compare → decide →
begin the operation → execute → finish (status and history).

What to do after the comparison is ``engine.hub.decisions.decide``, a pure function. A
failure before anything is applied (Git unreachable, bad YAML, a policy violation) leaves
the cluster and the last known state untouched and is recorded as a condition naming the
cause (``engine.hub.failures`` maps each step's error to its condition). Every write goes
through the target's ``StatusWriter`` session, and the reconcile calls nothing above it:
it returns a ``ReconcileReport`` (outcome, commit, files read, kinds, whether the cluster
answered) that the runtime hands to the poller, the watcher and the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from engine import policy
from engine.apply import Comparison, compare, execute
from engine.apply.options import SyncOptions
from engine.apps import AppTarget
from engine.apps.application import Source
from engine.apps.children import ChildSet, split_children
from engine.apps.helm import HelmOptions
from engine.clusters import ClusterClient, ClusterPool
from engine.clusters.watch import LiveWatcher
from engine.errors import (
    AppConflict,
    AppNotFound,
    ChartError,
    ClusterError,
    ConfigError,
    FleetsyncError,
    RenderError,
    SourceError,
)
from engine.health import CustomChecks
from engine.hub import status as st
from engine.hub.automation import Automation
from engine.hub.catalog import Catalog
from engine.hub.children import Children
from engine.hub.clusters import ClusterDirectory
from engine.hub.decisions import (
    Mode,
    Request,
    decide,
    outcome,
    syncs_differences,
    trigger_label,
)
from engine.hub.failures import (
    Problem,
    Step,
    condition,
    definition,
    empty_render,
    violation,
    warning,
)
from engine.hub.laps import Lap, StepSeconds
from engine.hub.ownership import Everything, Ownership, fenced
from engine.hub.report import ANY_PATH, Kind, ReconcileReport
from engine.hub.rollouts import Rollouts
from engine.hub.statuses import StatusWriter, TargetRecord
from engine.hub.syncoptions import sync_options
from engine.hub.trees import TreeCache
from engine.model import HealthStatus, OperationPhase, SyncStatus, TargetKey
from engine.model.reconciles import Outcome, Trigger
from engine.model.results import SyncResult
from engine.model.status import SyncSource, TargetStatus
from engine.names import api_version_problem, kind_problem
from engine.redaction import redact_url
from engine.render import HELM_CHART, RenderBudget, RenderCancelledError
from engine.render.loader import RepoReader
from engine.renderer.cache import RenderKey
from engine.renderer.fallback import build_or_fallback
from engine.renderer.helm import HelmRun
from engine.renderer.service import AsyncRenderCache
from engine.source import GitSource
from engine.source.charts import ChartRepositories
from engine.source.tree import touches

log = logging.getLogger(__name__)
SOURCES_SEPARATOR = ","  # between the revisions of a multi-source app's sources
MAX_READS = 4096  # renders whose file lists are remembered
MAX_DIFFS = 1024  # commit pairs whose changed paths are remembered
WATCH_READY_SECONDS = 3.0  # how long a reconcile waits for the watches of new kinds
_V = TypeVar("_V")


@dataclass
class Parts:
    """What a reconcile talks to."""

    catalog: Catalog
    source: GitSource
    trees: TreeCache
    renders: AsyncRenderCache
    pool: ClusterPool
    statuses: StatusWriter
    automation: Automation
    live: LiveWatcher
    clusters: ClusterDirectory
    kustomize: str | None = None
    helm: str | None = None  # the helm binary: Helm charts are refused without one
    charts: ChartRepositories | None = None  # Helm chart repositories (chart: sources)
    render_timeout: float = 60.0
    data_dir: str = ""  # the hub's own directory: never shown in a condition
    health_checks: CustomChecks | None = None  # the user's (Lua) checks from fleetsync.yaml
    ownership: Ownership = field(default_factory=Everything)  # clusters this replica runs
    rollouts: Rollouts | None = None  # which commit a target of a rolling app may have
    children: Children | None = None  # what parent Applications published (app of apps)
    steps: StepSeconds = field(default_factory=StepSeconds)  # where reconciles spend time


@dataclass(frozen=True)
class _Rendered:
    objects: list[dict[str, Any]]
    paths: frozenset[str] | None  # the repository paths the render read (None: no Git)
    fresh: bool  # rendered now, not taken from the cache
    children: ChildSet = field(default_factory=ChildSet)  # not applied: catalog children


@dataclass(frozen=True)
class Compared:
    """A comparison made on request (a diff, a plan), or the problems that kept it from
    being made."""

    comparison: Comparison | None = None
    problems: Sequence[Problem] = ()
    prune: bool = False  # whether a sync of this target prunes (its sync policy)


class Reconciler:
    """Runs the steps of one target's reconcile; the runtime calls ``reconcile``."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._reads: dict[RenderKey, frozenset[str]] = {}
        self._failed_renders: dict[RenderKey, RenderError] = {}
        # Whether each rendered directory is a Helm chart (what its render key holds): a
        # render in the cache is then found without the commit's tree on disk.
        self._charts_seen: dict[RenderKey, bool] = {}
        # Paths each commit pair changes, by (repository, old, new): one git diff per pair
        # for every plan and rollout that asks.
        self._diffs: dict[tuple[str, str, str], asyncio.Task[frozenset[str]]] = {}

    async def reconcile(
        self, key: TargetKey, trigger: Trigger, *, request: Request | None = None,
        dirty: bool = False,
    ) -> ReconcileReport:  # fmt: skip
        """Bring ``key`` in line with Git (or compare it); report how it went.

        ``request`` is a user's sync or rollback; ``dirty`` says something changed that a
        periodic resync cannot see (a new definition, a refresh), so it must compare.
        """
        target = self.parts.catalog.target(key)
        if target is None or not self.parts.ownership.owns(key):
            return ReconcileReport(key, Outcome.SUCCESS)  # gone, or another replica's
        lap = self.parts.steps.lap()
        with fenced(self.parts.ownership, key):  # its writes stop if the shard is lost
            async with self.parts.statuses.session(key) as record:
                lap.done("open")
                report = await self._steps(target, trigger, request, dirty, record, lap)
                # A chart repository has no poller to say a version appeared: each resync
                # resolves again (its index is kept for git.pollInterval).
                settled = None if target.options.chart or target.options.sources else _settled(
                    record.saved or record.previous, report)
        lap.done("close")  # a reconcile that stopped early: its last write, and the rest
        return replace(report, settled=settled)

    async def _steps(
        self, target: AppTarget, trigger: Trigger, request: Request | None, dirty: bool,
        record: TargetRecord, lap: Lap,
    ) -> ReconcileReport:  # fmt: skip
        key, previous = target.key, record.previous
        report = ReconcileReport(key, Outcome.SUCCESS, target)
        # Refuse a target whose Application or project is invalid, or whose project forbids
        # its repository or destination: checked before any Git access, so an Application
        # cannot make the hub contact a repository (or address) its project does not allow.
        problems = self._definition_problems(target) or self._target_violations(target)
        if problems:
            return await self._failed(record, report, None, problems, Outcome.PERMANENT_FAILURE)
        # Map the Application's sync options and diff rules (a bad one names its file).
        try:
            options = sync_options(target, request, health_checks=self.parts.health_checks,
                                   memory=self.parts.live.memory(key.cluster))
        except ConfigError as err:
            problem = condition(Step.OPTIONS, err, where=self._where(target))
            return await self._failed(record, report, None, [problem], Outcome.PERMANENT_FAILURE)
        # Resolve the revision (or the one a rollback or manual sync asked for).
        try:
            sha = await self._resolve(target, request)
        except SourceError as err:
            problem = condition(Step.RESOLVE, err)
            return await self._failed(record, report, None, [problem], _ending(err))
        report = replace(report, sha=sha)
        lap.done("resolve")
        # A progressive rollout may hold the target at the commit it runs (a user's sync is
        # not held). The poller is told the newest commit: the rollout queues it when due.
        if request is None and self.parts.rollouts is not None:
            allowed = self.parts.rollouts.gate(target, sha, previous)
            if allowed is None:
                return report  # it never synced, and its step has not come
            sha = allowed
        # Skip a periodic resync when neither the commit nor the live objects changed.
        live_version = self.parts.live.version(key)
        quiet = request is None and not dirty and trigger is Trigger.PERIODIC
        if quiet and _unchanged(previous, sha, live_version):
            return report
        # Render the commit (cached by repository, SHA, path and options).
        try:
            rendered = await self._render(target, sha)
        except (RenderError, SourceError) as err:  # a Git error: the tree was not written
            problem = condition(Step.RENDER, err)
            # Any change may fix a failed render (a Git error: nothing was read yet).
            paths = ANY_PATH if isinstance(err, RenderError) else None
            return await self._failed(record, replace(report, paths=paths), sha, [problem],
                                      Outcome.PERMANENT_FAILURE)
        report = replace(report, paths=rendered.paths, rendered=rendered.fresh)
        lap.done("render")
        if rendered.children.children and (problems := self._parent_problems(target)):
            return await self._failed(record, report, sha, problems, Outcome.PERMANENT_FAILURE)
        try:
            client = await self.parts.pool.client(key.cluster)
            # Enforce the AppProject before anything is applied.
            violations = await self._violations(target, rendered.objects, client)
            if violations:
                return await self._failed(record, report, sha, violations,
                                          Outcome.PERMANENT_FAILURE)
            lap.done("project")
            # Watch the app's kinds first: its own writes then count as its own, and the
            # version read now still holds after the sync (a later resync may skip it).
            live_version = await self.parts.live.ready(
                key, _kinds_of(rendered.objects), within=WATCH_READY_SECONDS)
            lap.done("watches")
            # Compare by server-side dry run; nothing is written. What will be synced
            # anyway needs no dry run when memory says only Git changed it.
            lean = syncs_differences(target=target, trigger=trigger, request=request,
                                     previous=previous, sha=sha,
                                     automation_off=self.parts.automation.is_off(key.app))
            comparison = await self._compare(target, client, rendered.objects,
                                             replace(options, syncs_differences=lean))
            comparison = self._with_children(target, comparison, rendered, previous, sha)
            lap.done("compare")
        except FleetsyncError as err:
            if err.temporary and isinstance(err, ClusterError):
                report = replace(report, reached=False, unreachable=str(err))
            problem = condition(Step.CLUSTER, err)
            return await self._failed(record, report, sha, [problem], _ending(err))
        # Decide: sync, or only compare (``decisions.decide``).
        mode = decide(target=target, trigger=trigger, request=request, previous=previous,
                      sha=sha, compared=comparison.result, complete=comparison.complete,
                      automation_off=self.parts.automation.is_off(key.app))
        empty = not rendered.objects and not rendered.children.children
        if mode is Mode.COMPARE:
            result = comparison.result
            await record.save(self._status(target, result, sha, previous, mode, live_version,
                                           empty=empty))
            lap.done("save")
        else:
            result = await self._sync(record, target, trigger, request, comparison, sha=sha,
                                      live_version=live_version, empty=empty, lap=lap)
            if (self.parts.children is not None and not empty
                    and result.phase is OperationPhase.SUCCEEDED):
                self.parts.children.publish(key.app, rendered.children)
            report = replace(report, synced=result.phase,
                             sync_seconds=result.finished - result.started)
        # Report what the parts around need: watch these kinds; the cluster answered or not.
        trouble = next((c.message for c in result.conditions if c.temporary), None)
        return replace(report, outcome=outcome(result), kinds=_kinds(result, rendered.objects),
                       reached=trouble is None, unreachable=trouble or "")

    async def diff(self, key: TargetKey) -> SyncResult:
        """Compare ``key`` with Git now, reading and dry-running every object (what the
        watches remember is not trusted); writes nothing, stores nothing. An app that cannot
        be compared raises AppConflict saying why, in the words of its status conditions."""
        found = await self.compare_now(key)
        if found.problems or found.comparison is None:
            raise AppConflict("; ".join(message for _, _, message in found.problems))
        return found.comparison.result

    async def compare_now(
        self, key: TargetKey, sha: str | None = None, *, remembered: bool = False,
        base: str | None = None,
    ) -> Compared:  # fmt: skip
        """Compare ``key`` at commit ``sha`` (default: its own revision, resolved now) with
        its cluster as ``diff`` does, or say why it cannot be compared (problems of the
        Application, its AppProject, Git, the render or the cluster). Writes nothing.
        ``remembered``: an object the watches saw unchanged since it agreed with the same
        manifest is taken as in sync without a request (a plan); else every object is read
        and dry-run (a diff a user asked for). ``base``, with ``remembered``: the commit the
        live objects came from; one the watches saw agree with its manifest there is diffed
        against that manifest after the dry run, not read (a plan)."""
        target = self.parts.catalog.target(key)
        if target is None:
            raise AppNotFound(f"app {key.app} does not deploy to cluster {key.cluster}")
        problems = self._definition_problems(target) or self._target_violations(target)
        if problems:
            return Compared(problems=problems)
        step = Step.OPTIONS
        try:
            options = sync_options(
                target, None, health_checks=self.parts.health_checks,
                memory=self.parts.live.memory(key.cluster) if remembered else None)
            step = Step.RESOLVE
            sha = sha or await self._resolve(target, None)
            step = Step.RENDER
            rendered = await self._render(target, sha)
            if remembered and base is not None and base != sha:
                options = replace(options, base=tuple(await self._base_objects(target, base)))
            step = Step.CLUSTER
            client = await self.parts.pool.client(key.cluster)
            violations = await self._violations(target, rendered.objects, client)
            if violations:
                return Compared(problems=violations)
            comparison = await self._compare(target, client, rendered.objects, options)
        except (ConfigError, SourceError, RenderError, ClusterError) as err:
            kind, reason, message = condition(step, err, where=self._where(target))
            message = st.without_path(redact_url(message), self.parts.data_dir)
            return Compared(problems=[(kind, reason, message)])
        return Compared(comparison=comparison, prune=options.prune)

    async def _base_objects(self, target: AppTarget, sha: str) -> list[dict[str, Any]]:
        """The objects of ``target``'s render at ``sha`` (none when it fails: then every
        changed object is read)."""
        try:
            return (await self._render(target, sha)).objects
        except (SourceError, RenderError):
            return []

    async def reads_changed(self, key: TargetKey, since: str, head: str) -> bool:
        """Whether commit ``head`` changes a file the render of ``key`` at ``since`` reads
        (True when that cannot be told: the render fails, or Git cannot diff)."""
        if since == head:
            return False
        target = self.parts.catalog.target(key)
        if target is None:
            raise AppNotFound(f"app {key.app} does not deploy to cluster {key.cluster}")
        changed = await self._changed_paths(target.repo_url, since, head)
        reads = await self.read_paths(key, since) if changed is not None else None
        return changed is None or reads is None or touches(changed, reads)

    async def _changed_paths(self, repo: str, old: str, new: str) -> frozenset[str] | None:
        """The paths ``new`` changes since ``old`` (None when Git cannot say), diffed once
        per pair while remembered; a failed diff is not remembered."""
        memo = (repo, old, new)
        task = self._diffs.get(memo)
        if task is None:
            task = asyncio.ensure_future(self.parts.source.changed_paths(
                repo=repo, old_sha=old, new_sha=new))
            self._diffs[memo] = task
            while len(self._diffs) > MAX_DIFFS:
                del self._diffs[next(iter(self._diffs))]
        try:
            return await asyncio.shield(task)  # one caller's cancel is not the others'
        except FleetsyncError as err:
            self._diffs.pop(memo, None)
            log.info("cannot diff %s..%s of %s: %s", old[:12], new[:12], redact_url(repo), err)
            return None

    async def read_paths(self, key: TargetKey, sha: str) -> frozenset[str] | None:
        """The repository paths the render of ``key`` at ``sha`` reads (the render is
        cached as any other), or None when that is not known (it fails, or no Git)."""
        target = self.parts.catalog.target(key)
        if target is None:
            raise AppNotFound(f"app {key.app} does not deploy to cluster {key.cluster}")
        try:
            return (await self._render(target, sha)).paths
        except (SourceError, RenderError):
            return None

    async def _sync(
        self, record: TargetRecord, target: AppTarget, trigger: Trigger,
        request: Request | None, comparison: Comparison, *, sha: str, live_version: str | None,
        empty: bool, lap: Lap,
    ) -> SyncResult:  # fmt: skip
        """Begin the operation, execute the comparison's plan, finish the operation.

        The operation is recorded as Running before it touches the cluster, so a hub killed
        in the middle finds it on restart.
        """
        operation = await record.begin(
            revision=sha, trigger=trigger_label(trigger, request),
            source=SyncSource(redact_url(target.repo_url), target.path),
        )
        lap.done("begin")
        try:
            result = await execute(comparison)
        except Exception as err:
            # A bug must not leave the operation Running until the next restart.
            status = replace(compared_status(target.key, comparison.result, sha),
                             sync=SyncStatus.UNKNOWN)
            await record.finish(operation, phase=OperationPhase.ERROR,
                                message=redact_url(f"internal error: {err!r}"), status=status)
            raise
        lap.done("execute")
        status = self._status(target, result, sha, record.previous, Mode.SYNC, live_version,
                              empty=empty)
        lap.done("status")
        await record.finish(operation, phase=result.phase, message=redact_url(result.message),
                            status=status,
                            history_limit=target.options.revision_history_limit)
        lap.done("finish")
        return result

    async def _compare(
        self, target: AppTarget, client: ClusterClient, objects: list[dict[str, Any]],
        options: SyncOptions,
    ) -> Comparison:  # fmt: skip
        async def desired() -> list[dict[str, Any]]:
            return objects

        return await compare(app=target.key.app, client=client, namespace=target.namespace,
                             render=desired, options=options)  # fmt: skip

    def _where(self, target: AppTarget) -> str:
        """The Application of ``target`` and the file it was read from, for messages."""
        app = self.parts.catalog.apps.applications.get(target.key.app)
        return f"{app.source_file}: Application {app.name}" if app else ""

    def _parent_problems(self, target: AppTarget) -> list[Problem]:
        """Why ``target`` may not publish the children it renders: an app of apps deploys
        to one cluster (its children would differ per cluster)."""
        clusters = sum(1 for key in self.parts.catalog.targets if key.app == target.key.app)
        if clusters <= 1:
            return []
        return [definition(f"Application {target.key.app} renders Applications or "
                           f"AppProjects but deploys to {clusters} clusters: an app of apps "
                           "must deploy to one")]

    def _with_children(
        self, target: AppTarget, comparison: Comparison, rendered: _Rendered,
        previous: TargetStatus | None, sha: str,
    ) -> Comparison:  # fmt: skip
        """The comparison, OutOfSync when the rendered children differ from those the
        parent published (a sync publishes them; an empty render never does). After a
        restart, the children of a parent that had synced this very commit are published
        again at once."""
        registry, children = self.parts.children, rendered.children
        if (registry is None or not (rendered.objects or children.children)
                or not registry.differs(target.key.app, children)):
            return comparison
        if (registry.published(target.key.app) is None and previous is not None
                and previous.revision == sha and previous.operation is not None
                and previous.operation.phase is OperationPhase.SUCCEEDED):
            registry.publish(target.key.app, children)
            return comparison
        result = replace(comparison.result, sync_status=SyncStatus.OUT_OF_SYNC)
        return replace(comparison, result=result)

    def _definition_problems(self, target: AppTarget) -> list[Problem]:
        found = self.parts.catalog.problems.get(target.key.app)
        return [definition(e) for e in found.errors] if found else []

    def _target_violations(self, target: AppTarget) -> list[Problem]:
        project = self.parts.catalog.project(target.project)
        if project is None:
            return [definition(f"project {target.project!r} not defined")]
        cluster = self.parts.clusters.info(target.key.cluster)
        found = policy.check_target(project, target, cluster=cluster)
        return [violation(v.rule, v.message) for v in found]

    async def _resolve(self, target: AppTarget, request: Request | None) -> str:
        revision = request.revision if request and request.revision else target.revision
        if target.options.sources:
            return await self._resolve_sources(target, request)
        if target.options.chart:  # a chart's version, from its repository's index
            return await self._charts().resolve(target.repo_url, target.options.chart,
                                                revision)  # fmt: skip
        return await self.parts.source.resolve(repo=target.repo_url, revision=revision)

    async def _resolve_sources(self, target: AppTarget, request: Request | None) -> str:
        """Each source's commit or chart version, joined by ``SOURCES_SEPARATOR`` (what
        history records, and what a rollback asks for again)."""
        asked = request.revision.split(SOURCES_SEPARATOR) if request and request.revision \
            else []  # fmt: skip
        found = []
        for index, source in enumerate(target.options.sources):
            wanted = asked[index] if index < len(asked) else source.target_revision
            if source.chart:
                found.append(await self._charts().resolve(source.repo_url, source.chart,
                                                          wanted))  # fmt: skip
            else:
                found.append(await self.parts.source.resolve(repo=source.repo_url,
                                                             revision=wanted))  # fmt: skip
        return SOURCES_SEPARATOR.join(found)

    async def _render_sources(self, target: AppTarget, revisions: str) -> _Rendered:
        """Every rendered source of a multi-source app, at its revision, in order, their
        objects together; Helm value files ``$<ref>/<path>`` read from the ref's source."""
        sources, found = target.options.sources, revisions.split(SOURCES_SEPARATOR)
        if len(found) != len(sources):
            raise RenderError(f"revision {revisions!r} does not name one revision per source")
        async with contextlib.AsyncExitStack() as stack:
            trees: dict[int, Path] = {}
            for index, source in enumerate(sources):
                if not source.chart:
                    trees[index] = await stack.enter_async_context(
                        self.parts.trees.lease(repo=source.repo_url, sha=found[index]))
            refs = {s.ref: trees.get(i) for i, s in enumerate(sources) if s.ref}
            objects: list[dict[str, Any]] = []
            for index, source in enumerate(sources):
                if source.renders:
                    objects += await self._render_source(target, source, found[index],
                                                         trees.get(index), refs)  # fmt: skip
        return _Rendered(objects, None, fresh=False)

    async def _render_source(
        self, target: AppTarget, source: Source, revision: str, tree: Path | None,
        refs: dict[str, Path | None],
    ) -> list[dict[str, Any]]:  # fmt: skip
        """One source (a Git path in ``tree``, or a chart from a Helm repository) of a
        multi-source app or a chart app, cached like any render."""
        if source.chart:
            directory = await self._charts().fetch(source.repo_url, source.chart, revision)
            root = directory
        else:
            assert tree is not None
            root = tree
            directory = tree / source.path if source.path not in ("", ".") else tree
        helm = self._helm(target, directory, source.helm, refs)
        if helm is None and source.chart:
            raise RenderError(f"chart {source.chart}: rendering it needs the helm binary "
                              "(render.helmBinary in fleetsync.yaml)")
        options_key = (("recurse", str(source.recurse)), ("kustomize", self.parts.kustomize or ""),
                       ("helm", self.parts.helm or ""), *(helm.key() if helm else ()),
                       *(source.jsonnet.key() if source.jsonnet else ()))
        key = RenderKey(self.parts.source.access_key(source.repo_url), revision,
                        source.path or source.chart, options_key)  # fmt: skip
        budget = RenderBudget(timeout=self.parts.render_timeout)

        def build() -> list[dict[str, Any]]:
            return build_or_fallback(directory, root=root, kustomize=self.parts.kustomize,
                                     recurse=source.recurse, budget=budget, helm=helm,
                                     shared=self.parts.renders.shared,
                                     helm_binary=self.parts.helm,
                                     jsonnet=source.jsonnet)  # fmt: skip

        return list(await self.parts.renders.render(key, build, budget=budget))

    def _charts(self) -> ChartRepositories:
        if self.parts.charts is None:
            raise ChartError("Helm chart repositories are not available in this hub")
        return self.parts.charts

    async def _render(self, target: AppTarget, sha: str) -> _Rendered:
        """The render of ``target`` at ``sha``: what to apply, and the children it holds."""
        rendered = await self._render_all(target, sha)
        objects, children = split_children(rendered.objects)
        return replace(rendered, objects=objects, children=children)

    async def _render_all(self, target: AppTarget, sha: str) -> _Rendered:
        if target.options.sources:
            return await self._render_sources(target, sha)
        if target.options.chart:  # a chart from a Helm repository, at version ``sha``
            chart = Source(target.repo_url, chart=target.options.chart, helm=target.options.helm)
            return _Rendered(await self._render_source(target, chart, sha, None, {}), None,
                             fresh=False)  # fmt: skip
        recurse, jsonnet = target.options.recurse, target.options.jsonnet
        options = (("recurse", str(recurse)), ("kustomize", self.parts.kustomize or ""),
                   ("helm", self.parts.helm or ""), *(jsonnet.key() if jsonnet else ()))
        # Keyed by access (URL + credential), never by the URL as written: it may hold a token.
        key = RenderKey(self.parts.source.access_key(target.repo_url), sha, target.path, options)
        failed = self._failed_renders.get(key)
        if failed is not None:  # the same commit failed before: no second try (hard refresh)
            raise failed.with_traceback(None)  # a fresh traceback: raised once per resync
        if (cached := self._cached_render(target, key)) is not None:
            return cached
        reads: set[str] = set()
        budget = RenderBudget(timeout=self.parts.render_timeout)
        try:
            async with self.parts.trees.lease(repo=target.repo_url, sha=sha) as tree:
                directory = tree / target.path if target.path not in ("", ".") else tree
                helm = self._helm(target, directory, target.options.helm)
                self._remember(self._charts_seen, key, helm is not None)
                if helm is not None:
                    key = _chart_key(key, helm)
                    if (failed := self._failed_renders.get(key)) is not None:
                        raise failed.with_traceback(None)

                def build() -> list[dict[str, Any]]:
                    return build_or_fallback(directory, root=tree, kustomize=self.parts.kustomize,
                                             recurse=recurse, reads=reads, budget=budget,
                                             shared=self.parts.renders.shared, helm=helm,
                                             helm_binary=self.parts.helm, jsonnet=jsonnet)

                objects = await self.parts.renders.render(key, build, budget=budget)
        except (RenderError, SourceError) as err:
            if isinstance(err, RenderError) and not isinstance(err, RenderCancelledError):
                self._remember_failure(key, err)
            raise
        if reads:  # rendered now (not from the cache): these files make the app
            self._remember(self._reads, key, frozenset(reads))
        return _Rendered(objects, self._reads.get(key, ANY_PATH), fresh=bool(reads))

    def _cached_render(self, target: AppTarget, key: RenderKey) -> _Rendered | None:
        """The render of ``key`` if the cache holds it, found without writing the commit's
        tree (whether the directory is a chart is known from an earlier render of it)."""
        chart = self._charts_seen.get(key)
        if chart is None:
            return None
        if chart:
            key = _chart_key(key, self._helm_run(target, target.options.helm))
        if key in self._failed_renders:
            return None  # raised again by the render path
        objects = self.parts.renders.cached(key)
        if objects is None:
            return None
        return _Rendered(objects, self._reads.get(key, ANY_PATH), fresh=False)

    @staticmethod
    def _remember(memo: dict[RenderKey, _V], key: RenderKey, value: _V) -> None:
        """Keep ``value`` for ``key``, forgetting the oldest over ``MAX_READS``."""
        memo[key] = value
        while len(memo) > MAX_READS:
            del memo[next(iter(memo))]

    def _helm(self, target: AppTarget, directory: Path, given: HelmOptions | None,
              refs: dict[str, Path | None] | None = None) -> HelmRun | None:  # fmt: skip
        """How to render ``directory`` for ``target`` if it is a Helm chart, with the
        source's options and its ``$ref`` value files from ``refs`` (None when it is not
        a chart, or without a helm binary: the render then says what is missing)."""
        if self.parts.helm is None or not (directory / HELM_CHART).is_file():
            return None
        return self._helm_run(target, given, refs)

    def _helm_run(self, target: AppTarget, given: HelmOptions | None,
                  refs: dict[str, Path | None] | None = None) -> HelmRun:  # fmt: skip
        """How a chart renders for ``target``: the source's options, release and namespace."""
        assert self.parts.helm is not None
        options = given or HelmOptions()
        return HelmRun(self.parts.helm, options, options.release_name or target.key.app,
                       target.namespace, _ref_values(options, refs) if refs else ())

    def _remember_failure(self, key: RenderKey, err: RenderError) -> None:
        """A render of one commit fails the same way every time (within its budget): a
        hostile or broken commit costs one render, not one per resync."""
        self._failed_renders[key] = err
        while len(self._failed_renders) > MAX_READS:
            del self._failed_renders[next(iter(self._failed_renders))]

    def forget_renders(self, repo_url: str) -> None:
        """A hard refresh: drop the cached renders of ``repo_url`` and let every failed
        render be tried again."""
        with contextlib.suppress(FleetsyncError):  # an invalid URL has no renders
            self.parts.renders.cache.invalidate(repo=self.parts.source.access_key(repo_url))
        self.parts.renders.shared.clear()
        self._failed_renders.clear()

    async def _violations(
        self, target: AppTarget, objects: Sequence[dict[str, Any]], client: ClusterClient
    ) -> list[Problem]:
        project = self.parts.catalog.project(target.project)
        cluster = self.parts.clusters.info(target.key.cluster)
        if project is None:
            return [definition(f"project {target.project!r} not defined")]
        scopes: dict[tuple[str, str], bool] = {}
        for api_version, kind in {(str(o.get("apiVersion")), str(o.get("kind"))) for o in objects}:
            try:
                res = await client.resource(api_version=api_version, kind=kind)
            except FleetsyncError as err:
                if err.temporary:  # the cluster is unreachable: report it, retry later
                    raise
                continue
            scopes[(res.group, kind)] = res.namespaced
        found = policy.check(project, target, objects, cluster=cluster,
                             is_namespaced=lambda group, kind: scopes.get((group, kind)))
        return [violation(v.rule, v.message) for v in found]

    def _status(
        self, target: AppTarget, result: SyncResult, sha: str, previous: TargetStatus | None,
        mode: Mode, live_version: str | None, *, empty: bool,
    ) -> TargetStatus:
        """The status to show after a comparison or sync; a render of no object is shown as
        a warning and Unknown health, never as a healthy app that deploys nothing."""
        extra = [*self._warnings(target), *([empty_render(target.path)] if empty else [])]
        found = st.from_result(
            key=target.key, result=result, sha=sha, previous=previous,
            extra=extra, now=datetime.now(UTC), synced=mode is Mode.SYNC,
        )
        cluster = target.key.cluster
        found = st.with_live_health(found, lambda k: self.parts.live.health(cluster, k), previous)
        if empty:
            found = replace(found, health=HealthStatus.UNKNOWN,
                            health_message="the app renders no objects")
        settled = found.sync is SyncStatus.SYNCED and self.parts.live.version(target.key)
        return replace(found, live_version=live_version if settled else None)

    def _warnings(self, target: AppTarget) -> list[Problem]:
        found = self.parts.catalog.problems.get(target.key.app)
        return [warning(w) for w in found.warnings] if found else []

    async def _failed(
        self, record: TargetRecord, report: ReconcileReport, sha: str | None,
        problems: Sequence[Problem], ending: Outcome,
    ) -> ReconcileReport:  # fmt: skip
        """Record why nothing was applied (the last known state stays); the report."""
        key = record.key
        target = self.parts.catalog.target(key)
        extra = self._warnings(target) if target else []
        problems = [(kind, reason, st.without_path(message, self.parts.data_dir))
                    for kind, reason, message in problems]
        status = st.failed_before_apply(key=key, previous=record.previous, sha=sha,
                                        problems=[*problems, *extra], now=datetime.now(UTC))
        log.warning("%s: %s", key, redact_url("; ".join(p[2] for p in problems)))
        await record.save(status)
        return replace(report, outcome=ending)


def compared_status(key: TargetKey, compared: SyncResult, sha: str) -> TargetStatus:
    """A minimal status from a comparison, for recording an operation that crashed."""
    return st.from_result(key=key, result=compared, sha=sha, previous=None, extra=(),
                          now=datetime.now(UTC), synced=False)


def _chart_key(key: RenderKey, helm: HelmRun) -> RenderKey:
    """The render key of a chart directory: a chart renders per release and namespace."""
    return replace(key, options=key.options + helm.key())


def _ending(err: FleetsyncError) -> Outcome:
    return Outcome.TEMPORARY_FAILURE if err.temporary else Outcome.PERMANENT_FAILURE


def _settled(status: TargetStatus | None, report: ReconcileReport) -> str | None:
    """The live version at which ``status`` is settled at the report's commit, if it is."""
    if status is None or report.sha is None:
        return None
    return status.live_version if _unchanged(status, report.sha, status.live_version) else None


def _unchanged(previous: TargetStatus | None, sha: str, live_version: str | None) -> bool:
    return (
        previous is not None
        and live_version is not None
        and previous.live_version == live_version
        and previous.target_revision == sha
        and previous.revision == sha
        and previous.sync is SyncStatus.SYNCED
        and not previous.conditions
    )


def _kinds(result: SyncResult, objects: Sequence[dict[str, Any]]) -> frozenset[Kind]:
    """The kinds to watch: the inventory's and the render's."""
    inventory = {(api, key.kind) for key, api in result.inventory.entries.items()}
    return _valid(inventory) | _kinds_of(objects)


def _kinds_of(objects: Sequence[dict[str, Any]]) -> frozenset[Kind]:
    """The kinds of rendered objects, and those of the inventory ConfigMap and the
    namespaces fleetsync creates (what the sync's memory knows through the watches);
    a kind a hostile render made up is not watched."""
    return _valid({(str(o.get("apiVersion")), str(o.get("kind"))) for o in objects}) \
        | MEMORY_KINDS


MEMORY_KINDS: frozenset[Kind] = frozenset({("v1", "ConfigMap"), ("v1", "Namespace")})


def _valid(kinds: set[Kind]) -> frozenset[Kind]:
    return frozenset((api, kind) for api, kind in kinds
                     if api_version_problem(api) is None and kind_problem(kind) is None)


__all__ = ["Parts", "Reconciler"]


def _ref_values(
    options: HelmOptions, refs: dict[str, Path | None]
) -> tuple[tuple[str, bytes], ...]:
    """The ``$<ref>/<path>`` value files of ``options``, read (bounded, inside the ref's
    tree) from the trees of the sources they name; a missing one is left out (the render
    then says so, or ignores it when asked to)."""
    found = []
    for name in options.value_files:
        if not name.startswith("$"):
            continue
        ref, _, rest = name[1:].partition("/")
        tree = refs.get(ref)
        if tree is None:
            raise RenderError(f"value file {name}: the source with ref {ref!r} is a chart, "
                              "not a repository")
        reader = RepoReader(tree)
        path = reader.resolve(tree / rest)
        if path.is_file():
            found.append((name, reader.read_bytes(path)))
    return tuple(found)
