"""The reconcile of one (app, cluster) target: a readable sequence of named steps.

resolve the revision → skip if nothing changed → render (cached by SHA) → check the
AppProject → sync (or only compare) → record status and history → watch what it manages.

Whether to sync or only compare follows Argo CD: a manual sync or rollback always syncs;
automated sync syncs a new commit (or one whose last sync failed), and live drift only with
``selfHeal``; without automated sync, or after a rollback turned it off, the target is
compared and reported OutOfSync. A failure before anything is applied (Git unreachable, bad
YAML, a policy violation) leaves the cluster and the last known state untouched and is
recorded as a condition naming the cause.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from engine import policy
from engine.api.views import HistogramRecorder
from engine.apply import compare, execute
from engine.apply.results import SyncResult
from engine.apps import AppTarget, ClusterInfo
from engine.clusters import ClusterClient, ClusterPool
from engine.errors import FleetsyncError, RenderError, SourceError
from engine.health import CustomChecks
from engine.hub import status as st
from engine.hub.catalog import Catalog
from engine.hub.decisions import Mode, Request, decide, outcome, sync_options, trigger_label
from engine.hub.live import Kind, LiveWatcher
from engine.hub.trees import TreeCache
from engine.model import OperationPhase, SyncStatus, TargetKey
from engine.names import api_version_problem, kind_problem
from engine.redaction import redact_url
from engine.render import RenderBudget, RenderCancelledError
from engine.render.aio import AsyncRenderCache
from engine.render.cache import RenderKey
from engine.render.fallback import build_or_fallback
from engine.scheduler import Trigger
from engine.scheduler.runner import Outcome
from engine.source import GitSource
from engine.store import Store
from engine.store.model import AUTOMATED_SYNC_DISABLED, SyncSource, TargetStatus

log = logging.getLogger(__name__)
Problem = tuple[str, str, str]  # condition type, reason, message
MAX_READS = 4096  # renders whose file lists are remembered


@dataclass
class Parts:
    """What a reconcile talks to."""

    catalog: Catalog
    source: GitSource
    trees: TreeCache
    renders: AsyncRenderCache
    pool: ClusterPool
    store: Store
    live: LiveWatcher
    clusters: dict[str, ClusterInfo]
    kustomize: str | None = None
    render_timeout: float = 60.0
    data_dir: str = ""  # the hub's own directory: never shown in a condition
    health_checks: CustomChecks | None = None  # the user's (Lua) checks from fleetsync.yaml
    # Told which repository paths a target's render read, to poll for changes of those only.
    on_paths: Callable[[AppTarget, str, frozenset[str]], None] = lambda target, sha, paths: None


class Reconciler:
    """Runs the steps of one target's reconcile; the scheduler calls ``reconcile``."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._requests: dict[TargetKey, Request] = {}
        self._dirty: set[TargetKey] = set()
        self._reads: dict[RenderKey, frozenset[str]] = {}
        self._failed_renders: dict[RenderKey, RenderError] = {}
        self.syncs: Counter[str] = Counter()  # finished syncs by operation phase
        self.sync_seconds = HistogramRecorder()  # wall time of each sync (not comparisons)
        self.unreachable: dict[str, str] = {}  # cluster → why the last reconcile failed on it

    def invalidate(self, key: TargetKey) -> None:
        """Make the next reconcile of ``key`` compare even if nothing seems to have changed."""
        self._dirty.add(key)

    def request(self, key: TargetKey, request: Request) -> None:
        """Make the next reconcile of ``key`` a sync as ``request`` says."""
        self._requests[key] = request

    async def reconcile(self, key: TargetKey, trigger: Trigger) -> Outcome:
        """Bring ``key`` in line with Git (or compare it); return how it went."""
        target = self.parts.catalog.target(key)
        if target is None:
            return Outcome.SUCCESS
        request = self._requests.pop(key, None)
        dirty = key in self._dirty
        self._dirty.discard(key)
        previous = await self.parts.store.get_status(key)
        # Refuse a target whose Application or project is invalid, or whose project forbids
        # its repository or destination: checked before any Git access, so an Application
        # cannot make the hub contact a repository (or address) its project does not allow.
        problems = self._definition_problems(target) or self._target_violations(target)
        if problems:
            await self._save_failure(key, previous, None, problems)
            return Outcome.PERMANENT_FAILURE
        # Resolve the revision (or the one a rollback or manual sync asked for).
        try:
            sha = await self._resolve(target, request)
        except SourceError as err:
            await self._save_failure(key, previous, None, [(st.COMPARISON_ERROR, "SourceFailed",
                                                            str(err))])
            return Outcome.TEMPORARY_FAILURE if err.temporary else Outcome.PERMANENT_FAILURE
        # Skip a periodic resync when neither the commit nor the live objects changed.
        live_version = self.parts.live.version(key)
        quiet = request is None and not dirty and trigger is Trigger.PERIODIC
        if quiet and _unchanged(previous, sha, live_version):
            return Outcome.SUCCESS
        # Render the commit (cached by repository, SHA, path and options).
        try:
            objects = await self._render(target, sha)
        except (RenderError, SourceError) as err:
            await self._save_failure(key, previous, sha, [(st.COMPARISON_ERROR, "RenderFailed",
                                                           str(err))])
            return Outcome.PERMANENT_FAILURE
        try:
            client = await self.parts.pool.client(key.cluster)
            # Enforce the AppProject before anything is applied.
            violations = await self._violations(target, objects, client)
            if violations:
                await self._save_failure(key, previous, sha, violations)
                return Outcome.PERMANENT_FAILURE
            # Compare, decide, and sync when the decision says so.
            result, operation = await self._run(target, client, objects, trigger, request,
                                                previous, sha=sha)
        except FleetsyncError as err:
            if err.temporary:
                self.unreachable[key.cluster] = str(err)
            await self._save_failure(key, previous, sha, [(st.SYNC_ERROR, "ClusterUnavailable",
                                                           str(err))])
            return Outcome.TEMPORARY_FAILURE if err.temporary else Outcome.PERMANENT_FAILURE
        trouble = next((c.message for c in result.conditions if c.temporary), None)
        if trouble is None:
            self.unreachable.pop(key.cluster, None)
        else:
            self.unreachable[key.cluster] = trouble
        mode = Mode.COMPARE if operation is None else Mode.SYNC
        status = self._status(target, result, sha, previous, mode, live_version)
        await self._record(target, operation, result, status)
        # Watch the kinds it manages, so drift and health reach us at once.
        self.parts.live.want(key, _kinds(result, objects))
        return outcome(result)

    def _definition_problems(self, target: AppTarget) -> list[Problem]:
        found = self.parts.catalog.problems.get(target.key.app)
        return [(st.INVALID_SPEC, "InvalidSpec", e) for e in found.errors] if found else []

    def _target_violations(self, target: AppTarget) -> list[Problem]:
        project = self.parts.catalog.project(target.project)
        if project is None:
            return [(st.INVALID_SPEC, "InvalidSpec", f"project {target.project!r} not defined")]
        cluster = self.parts.clusters.get(target.key.cluster) or ClusterInfo(target.key.cluster)
        found = policy.check_target(project, target, cluster=cluster)
        return [("PolicyViolation", v.rule, v.message) for v in found]

    async def _resolve(self, target: AppTarget, request: Request | None) -> str:
        revision = request.revision if request and request.revision else target.revision
        return await self.parts.source.resolve(repo=target.repo_url, revision=revision)

    async def _render(self, target: AppTarget, sha: str) -> list[dict[str, Any]]:
        recurse = target.options.recurse
        options = (("recurse", str(recurse)), ("kustomize", self.parts.kustomize or ""))
        # Keyed by access (URL + credential), never by the URL as written: it may hold a token.
        key = RenderKey(self.parts.source.access_key(target.repo_url), sha, target.path, options)
        failed = self._failed_renders.get(key)
        if failed is not None:  # the same commit failed before: no second try (hard refresh)
            self.parts.on_paths(target, sha, frozenset({""}))
            raise failed
        reads: set[str] = set()
        budget = RenderBudget(timeout=self.parts.render_timeout)
        try:
            async with self.parts.trees.lease(repo=target.repo_url, sha=sha) as tree:
                directory = tree / target.path if target.path not in ("", ".") else tree

                def build() -> list[dict[str, Any]]:
                    return build_or_fallback(directory, root=tree, kustomize=self.parts.kustomize,
                                             recurse=recurse, reads=reads, budget=budget)

                objects = await self.parts.renders.render(key, build, budget=budget)
        except RenderError as err:
            self.parts.on_paths(target, sha, frozenset({""}))  # unknown: any change may fix it
            if not isinstance(err, RenderCancelledError):
                self._remember_failure(key, err)
            raise
        if reads:  # rendered now (not from the cache): these files make the app
            self._reads[key] = frozenset(reads)
            while len(self._reads) > MAX_READS:
                del self._reads[next(iter(self._reads))]
        self.parts.on_paths(target, sha, self._reads.get(key, frozenset({""})))
        return objects

    def _remember_failure(self, key: RenderKey, err: RenderError) -> None:
        """A render of one commit fails the same way every time (within its budget): a
        hostile or broken commit costs one render, not one per resync."""
        self._failed_renders[key] = err
        while len(self._failed_renders) > MAX_READS:
            del self._failed_renders[next(iter(self._failed_renders))]

    def forget_render_failures(self) -> None:
        """Let every failed render be tried again (a hard refresh)."""
        self._failed_renders.clear()

    async def _violations(
        self, target: AppTarget, objects: Sequence[dict[str, Any]], client: ClusterClient
    ) -> list[Problem]:
        project = self.parts.catalog.project(target.project)
        cluster = self.parts.clusters.get(target.key.cluster) or ClusterInfo(target.key.cluster)
        if project is None:
            return [(st.INVALID_SPEC, "InvalidSpec", f"project {target.project!r} not defined")]
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
        return [("PolicyViolation", v.rule, v.message) for v in found]

    async def _run(
        self, target: AppTarget, client: ClusterClient, objects: list[dict[str, Any]],
        trigger: Trigger, request: Request | None, previous: TargetStatus | None, *, sha: str,
    ) -> tuple[SyncResult, int | None]:
        """Compare; decide; then sync when the decision says so.

        A sync is recorded as a Running operation before it touches the cluster (returned
        with the result), so a hub killed in the middle finds it on restart.
        """
        options = replace(sync_options(target, request), health_checks=self.parts.health_checks)

        async def desired() -> list[dict[str, Any]]:
            return objects

        key = target.key
        comparison = await compare(app=key.app, client=client, namespace=target.namespace,
                                   render=desired, options=options)
        off = await self.parts.store.get_app_setting(key.app, AUTOMATED_SYNC_DISABLED)
        mode = decide(target=target, trigger=trigger, request=request, previous=previous,
                      sha=sha, compared=comparison.result, complete=comparison.complete,
                      automation_off=bool(off))
        if mode is Mode.COMPARE:
            return comparison.result, None
        operation = await self.parts.store.begin_operation(
            key, revision=sha, trigger=trigger_label(trigger, request),
            source=SyncSource(redact_url(target.repo_url), target.path),
        )
        try:
            return await execute(comparison), operation
        except Exception as err:
            # A bug must not leave the operation Running until the next restart.
            status = replace(compared_status(key, comparison.result, sha),
                             sync=SyncStatus.UNKNOWN)
            await self.parts.store.finish_operation(
                operation, phase=OperationPhase.ERROR,
                message=redact_url(f"internal error: {err!r}"), status=status,
            )
            raise

    def _status(
        self, target: AppTarget, result: SyncResult, sha: str, previous: TargetStatus | None,
        mode: Mode, live_version: str | None,
    ) -> TargetStatus:
        found = st.from_result(
            key=target.key, result=result, sha=sha, previous=previous,
            extra=self._warnings(target), now=datetime.now(UTC), synced=mode is Mode.SYNC,
        )
        cluster = target.key.cluster
        found = st.with_live_health(found, lambda k: self.parts.live.health(cluster, k), previous)
        settled = found.sync is SyncStatus.SYNCED and self.parts.live.version(target.key)
        return replace(found, live_version=live_version if settled else None)

    def _warnings(self, target: AppTarget) -> list[Problem]:
        found = self.parts.catalog.problems.get(target.key.app)
        return [(st.WARNING, "UnsupportedField", w) for w in found.warnings] if found else []

    async def _record(
        self, target: AppTarget, operation: int | None, result: SyncResult,
        status: TargetStatus,
    ) -> None:
        store = self.parts.store
        if operation is None:
            await store.save_status(status)
            return
        await store.finish_operation(operation, phase=result.phase,
                                     message=redact_url(result.message),
                                     status=status,
                                     history_limit=target.options.revision_history_limit)
        self.syncs[result.phase.value] += 1
        self.sync_seconds.observe(max(0.0, result.finished - result.started))

    async def _save_failure(
        self, key: TargetKey, previous: TargetStatus | None, sha: str | None,
        problems: Sequence[Problem],
    ) -> None:
        target = self.parts.catalog.target(key)
        extra = self._warnings(target) if target else []
        problems = [(kind, reason, st.without_path(message, self.parts.data_dir))
                    for kind, reason, message in problems]
        status = st.failed_before_apply(key=key, previous=previous, sha=sha,
                                        problems=[*problems, *extra], now=datetime.now(UTC))
        log.warning("%s: %s", key, redact_url("; ".join(p[2] for p in problems)))
        await self.parts.store.save_status(status)


def compared_status(key: TargetKey, compared: SyncResult, sha: str) -> TargetStatus:
    """A minimal status from a comparison, for recording an operation that crashed."""
    return st.from_result(key=key, result=compared, sha=sha, previous=None, extra=(),
                          now=datetime.now(UTC), synced=False)


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
    """The kinds to watch; a kind a hostile render made up (refused by the sync) is not."""
    kinds = {(api, key.kind) for key, api in result.inventory.entries.items()}
    kinds |= {(str(o.get("apiVersion")), str(o.get("kind"))) for o in objects}
    return frozenset((api, kind) for api, kind in kinds
                     if api_version_problem(api) is None and kind_problem(kind) is None)


__all__ = ["Parts", "Reconciler"]
