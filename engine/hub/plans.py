"""A fleet-wide plan of one revision: what syncing every target at it would do, written
nowhere (``fleetsync plan``, ``GET /api/v1/plan``).

For each target: resolve the revision in the target's repository and its base (``--base``,
else the revision the target follows); if no file its render at the base reads changed
between the two commits (the render records its reads, as the Git poller uses them), it
is ``Unchanged`` and costs no request to its cluster. Otherwise it is rendered at the
revision, checked against its AppProject and compared with its cluster by server-side dry
runs, exactly as a sync would begin, with one request per changed object: an object the
watches saw agree with its manifest at the base, and unchanged since, is diffed against
that manifest after the dry run of the new one (not read), and one that agrees with its new
manifest is not even dry-run. Targets are compared ``CONCURRENCY`` at once; each cluster's
own client limits (qps, concurrent requests) hold below that.

Decisions: apps with several sources or a chart from a Helm repository are ``Skipped``
(their revision is not one commit of one repository); a revision that does not resolve in
an app's repository skips that app (a PR's commit lives in one repository of many); one
plan runs at a time per hub, of at most ``MAX_TARGETS`` targets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from typing import Protocol

from engine.errors import InvalidRequest, RevisionNotFound, SourceError
from engine.hub.catalog import Catalog
from engine.hub.reconciler import Compared, Reconciler
from engine.model import ConditionType, SyncStatus, TargetKey
from engine.model.plans import FleetPlan, PlanState, TargetPlan
from engine.source import GitSource

MAX_TARGETS = 5000
CONCURRENCY = 16


class Resolve(Protocol):
    """Resolves a revision of a repository to a commit, once per plan."""

    def __call__(self, repo: str, wanted: str, *, fresh: bool) -> Awaitable[str]: ...


class Planner:
    """Plans revisions for the hub's catalog through its reconciler (never its runtime:
    nothing is queued, recorded or written)."""

    def __init__(self, catalog: Catalog, source: GitSource, reconciler: Reconciler) -> None:
        self.catalog = catalog
        self.source = source
        self.reconciler = reconciler
        self._one_at_a_time = asyncio.Lock()

    async def plan(self, keys: Sequence[TargetKey], *, revision: str,
                   base: str | None = None) -> FleetPlan:  # fmt: skip
        """Plan ``revision`` (from ``base``) for the targets ``keys``."""
        if not revision:
            raise InvalidRequest("a plan needs a revision")
        if len(keys) > MAX_TARGETS:
            raise InvalidRequest(f"a plan covers at most {MAX_TARGETS} targets "
                                 f"({len(keys)} asked): name the apps")  # fmt: skip
        slots = asyncio.Semaphore(CONCURRENCY)
        resolved: dict[tuple[str, str, bool], asyncio.Task[str]] = {}

        def resolve(repo: str, wanted: str, *, fresh: bool) -> asyncio.Task[str]:
            """Each revision of each repository is resolved once per plan (the planned one
            from the repository as it is now: one ls-remote, not one per target)."""
            if (repo, wanted, fresh) not in resolved:
                resolved[repo, wanted, fresh] = asyncio.ensure_future(self.source.resolve(
                    repo=repo, revision=wanted, max_age=0 if fresh else None))
            return resolved[repo, wanted, fresh]

        async def bounded(key: TargetKey) -> TargetPlan:
            async with slots:
                return await self.target(key, revision=revision, base=base, resolve=resolve)

        async with self._one_at_a_time:
            found = await asyncio.gather(*(bounded(k) for k in keys))
        return FleetPlan(revision, base or "", tuple(found))

    async def target(self, key: TargetKey, *, revision: str, base: str | None,
                     resolve: Resolve) -> TargetPlan:  # fmt: skip
        """Plan one target: Unchanged, or compared at the revision (or why not)."""
        target = self.catalog.target(key)
        if target is None:
            raise InvalidRequest(f"app {key.app} does not deploy to cluster {key.cluster}")
        plan = TargetPlan(key.app, key.cluster, target.project, PlanState.SKIPPED)
        if target.options.sources or target.options.chart:
            return replace(plan, message="several sources or a Helm repository chart: not planned")
        repo = target.repo_url
        try:  # asked for now: the repository is read again, not its last snapshot
            sha = await resolve(repo, revision, fresh=True)
        except RevisionNotFound:
            return replace(plan, message=f"revision {revision!r} is not in its repository")
        except SourceError as err:
            return replace(plan, state=PlanState.ERROR, message=str(err))
        try:
            since = await resolve(repo, base or target.revision, fresh=False)
        except SourceError as err:
            return replace(plan, state=PlanState.ERROR, revision=sha,
                         message=f"base {base or target.revision!r}: {err}")
        plan = replace(plan, base=since, revision=sha)
        if not await self.reconciler.reads_changed(key, since, sha):
            return replace(plan, state=PlanState.UNCHANGED,
                         message="no file its render reads changed")
        # Objects whose manifest at the revision is the one they agree with live need no
        # request (the watches say so): one dry run per changed object, as the floor does.
        # An object that agrees live with its manifest at the base is diffed against that
        # manifest after its dry run, without a read.
        return _compared(plan, await self.reconciler.compare_now(key, sha, remembered=True,
                                                                 base=since))


def _compared(plan: TargetPlan, found: Compared) -> TargetPlan:
    """The plan of a target compared at its revision (or the problems that stopped it)."""
    if found.problems:
        blocked = {ConditionType.INVALID_SPEC, ConditionType.POLICY_VIOLATION}
        state = PlanState.BLOCKED if all(p[0] in blocked for p in found.problems) \
            else PlanState.ERROR  # fmt: skip
        return replace(plan, state=state, message="; ".join(m for _, _, m in found.problems))
    assert found.comparison is not None
    result = found.comparison.result
    if result.conditions:  # the comparison stopped early (a plan error, the cluster)
        return replace(plan, state=PlanState.ERROR, message=result.message)
    objects = tuple(d for d in result.diffs if d.status is not SyncStatus.SYNCED)
    plan = replace(plan, objects=objects, prune=found.prune, held=found.comparison.held or "")
    return replace(plan, state=PlanState.CHANGES if plan.acting() else PlanState.NO_CHANGES)

