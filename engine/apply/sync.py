"""``sync``: make one cluster match Git for one app, as a sequence of named steps.

render → plan → diff (``compare``, which writes nothing) → PreSync hooks → apply by waves
(each wave's Sync hooks after its objects) → prune → health → PostSync hooks, and the
SyncFail hooks of a sync that failed (``execute``); ``sync`` is both, and the hub decides
between them what to do. Each step that fails becomes a condition (``RenderFailed``,
``PlanFailed``, ``ApplyFailed``, ``HookFailed``, ``PruneFailed``, ``PruneHeld``,
``HealthCheckFailed``) with a message; per-object outcomes are results, not exceptions.
Nothing is pruned unless every apply and hook succeeded and every wave became healthy.

Before anything is created, the inventory is widened to include it ("record before
create"), so a sync cut short by a crash or a cancel never leaves an object that carries
the tracking id but that no inventory remembers; after pruning it is narrowed to what is
desired plus what could not be pruned (Flux keeps failed deletes the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import groupby
from typing import Any, TypeVar

import orjson

from engine import names
from engine.apply.hooks import run_hooks
from engine.apply.objects import (
    OK_HEALTH,
    apply_step,
    ensure_namespace,
    healths,
    predict,
    prune_one,
    read_inventory,
    read_live,
    resource_of,
    wait_established,
    wait_healthy,
    write_inventory,
)
from engine.apply.options import SyncOptions
from engine.clusters import ClusterClient
from engine.diff import diff_object, summarise
from engine.diff.normalise import fingerprint
from engine.errors import FleetsyncError, PlanError
from engine.health import HealthResult, aggregate, assess, missing
from engine.hooks import Phase
from engine.model import ConditionReason, HealthStatus, OperationPhase, ResourceKey, SyncStatus
from engine.model.diffs import CHANGED_IN_GIT, IN_SYNC, MISSING, ObjectDiff
from engine.model.inventory import Inventory
from engine.model.results import (
    HookResult,
    HookStatus,
    ResourceResult,
    ResultCode,
    SyncCondition,
    SyncResult,
)
from engine.plan import HookStep, Plan, Step, is_crd, is_selected, is_tracked, plan, tier

Render = Callable[[], Awaitable[Sequence[Mapping[str, Any]]]]
T = TypeVar("T")
CRD_TIMEOUT = 60.0
DEFAULTS = SyncOptions()
_FAILED_APPLY = (ResultCode.CONFLICT, ResultCode.APPLY_FAILED)
_DONE = (ResultCode.UNCHANGED, ResultCode.CREATED, ResultCode.CONFIGURED, ResultCode.PRUNED)
_EARLY = (ConditionReason.RENDER_FAILED, ConditionReason.PLAN_FAILED)  # nothing was written
_UNHEALTHY = ConditionReason.HEALTH_CHECK_FAILED


@dataclass
class Comparison:
    """What ``compare`` learnt about one app on one cluster, and what ``execute`` needs.

    ``result`` is the comparison as a ``SyncResult`` (diffs, the inventory as it was; what
    ``diff`` returns). ``complete`` is False when the comparison stopped early (a render or
    plan error, an unreachable cluster): then there is nothing to execute.
    """

    result: SyncResult
    _run: _Run
    _plan: Plan | None = None
    _extras: Mapping[ResourceKey, Mapping[str, Any] | None] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every object was planned and diffed (so the sync may go on)."""
        return self._plan is not None

    @property
    def held(self) -> str | None:
        """Why the prune guard would hold the prune this comparison planned, or None."""
        return self._plan.held if self._plan is not None else None


async def compare(
    *,
    app: str,
    client: ClusterClient,
    namespace: str,
    render: Render,
    options: SyncOptions = DEFAULTS,
) -> Comparison:
    """Render, plan and diff ``app`` on ``client`` by server-side dry run; write nothing."""
    run = _Run(app=app, client=client, namespace=namespace, options=options)
    try:
        # Render, plan, and diff each object by server-side dry run (unchanged objects will
        # not be written); a render error stops here and prunes nothing.
        the_plan, extras = await _render_plan_diff(run, render)
    except FleetsyncError as err:
        run.fail(err)
        return Comparison(run.result(), run)
    return Comparison(_comparison(run, the_plan), run, the_plan, extras)


async def execute(comparison: Comparison) -> SyncResult:
    """Apply by waves, prune and assess health as ``comparison`` planned; the sync's result.

    A comparison that is not ``complete`` is returned as it is: nothing is written.
    """
    run, the_plan, extras = comparison._run, comparison._plan, comparison._extras
    if the_plan is None:
        return comparison.result
    client, namespace, options = run.client, run.namespace, run.options
    untouched: set[ResourceKey] = set()  # prune candidates a selective sync leaves tracked
    if options.only is not None:
        whole, the_plan = the_plan, the_plan.selected(options.only)
        untouched = set(whole.prune) - set(the_plan.prune)
        _not_selected(run, [s for s in whole.steps if not is_selected(s.key, options.only)])
    try:
        # Apply: destination namespace, inventory widened first, then wave after wave.
        run.stage = ConditionReason.APPLY_FAILED
        if options.create_namespace and await ensure_namespace(client=client, name=namespace,
                                                               memory=options.memory):
            run.created_namespace = True
        await run.store(the_plan.desired.union(the_plan.previous), the_plan.previous)
        # PreSync hooks, then the waves (each with its Sync hooks); a selective sync runs
        # no hooks, as in Argo CD.
        hooks = options.only is None
        applied = await _pre_sync(run, the_plan) if hooks else True
        applied = applied and await _apply_waves(run, the_plan, hooks=hooks)
        # Prune what Git no longer declares, only after every apply and wave succeeded.
        run.stage = ConditionReason.PRUNE_FAILED
        kept = await _prune(run, the_plan, extras) if applied else set(the_plan.prune)
        kept |= untouched
        await run.store(
            the_plan.desired.union(the_plan.previous.restricted(kept)),
            the_plan.desired.union(the_plan.previous),
        )
        # Health of every desired object, waiting for it when asked to.
        run.stage = ConditionReason.HEALTH_CHECK_FAILED
        await _health(run, the_plan)
        if hooks and applied and not _failed(run):
            await _post_sync(run, the_plan)
    except FleetsyncError as err:
        run.fail(err)
    if options.only is None and _failed(run):
        await _sync_fail(run, the_plan)
    return run.result()


async def sync(
    *, app: str, client: ClusterClient, namespace: str, render: Render,
    options: SyncOptions = DEFAULTS,
) -> SyncResult:  # fmt: skip
    """Render, plan, diff, apply by waves, prune and assess health for ``app`` on ``client``."""
    return await execute(await compare(app=app, client=client, namespace=namespace,
                                       render=render, options=options))  # fmt: skip


async def diff(
    *, app: str, client: ClusterClient, namespace: str, render: Render,
    options: SyncOptions = DEFAULTS,
) -> SyncResult:  # fmt: skip
    """What ``sync`` would change: render, plan and diff only; nothing is written."""
    found = await compare(app=app, client=client, namespace=namespace, render=render,
                          options=options)  # fmt: skip
    return found.result


def _comparison(run: _Run, the_plan: Plan) -> SyncResult:
    """The result of comparing only: the diffs, and the inventory as it was."""
    status = summarise(run.diffs.values()) if not run.conditions else None
    return replace(run.result(status=status), inventory=the_plan.previous)


async def _render_plan_diff(
    run: _Run, render: Render
) -> tuple[Plan, Mapping[ResourceKey, Mapping[str, Any] | None]]:
    """Render the desired objects, plan them against the stored inventory, and diff them."""
    run.stage = ConditionReason.RENDER_FAILED
    objects = list(await render())
    # Every identity goes into REST paths (discovery, reads, applies): check them all first.
    run.stage = ConditionReason.PLAN_FAILED
    check_identities(objects, namespace=run.namespace)
    # Plan order and prune candidates from the inventory stored in the cluster.
    the_plan = await _plan(run, objects)
    return the_plan, await _diff(run, the_plan)


def check_identities(objects: Sequence[Mapping[str, Any]], *, namespace: str) -> None:
    """Refuse (``PlanError``) a destination namespace or object identity Kubernetes would not
    accept, naming each object and field, before any of them reaches the cluster."""
    problems = [f"destination namespace: {p}"] if (p := _namespace_problem(namespace)) else []
    for index, obj in enumerate(objects):
        found = names.identity_problems(obj)
        if found:
            problems.append(f"object {index + 1} ({names.describe(obj)}): {'; '.join(found)}")
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise PlanError(f"invalid object identity: {shown}{more}")


def _namespace_problem(namespace: str) -> str | None:
    return names.namespace_problem(namespace) if namespace else None


class _Run:
    """What one sync has learnt and done so far; ``result`` freezes it."""

    def __init__(
        self, *, app: str, client: ClusterClient, namespace: str, options: SyncOptions
    ) -> None:
        self.app, self.client, self.namespace, self.options = app, client, namespace, options
        self.stage = ConditionReason.RENDER_FAILED
        self.started = time.time()
        self.conditions: list[SyncCondition] = []
        self.results: dict[ResourceKey, ResourceResult] = {}
        self.diffs: dict[ResourceKey, ObjectDiff] = {}
        self.live: dict[ResourceKey, Mapping[str, Any] | None] = {}  # as the diff read them
        self.inventory = Inventory()
        self.stored: Inventory | None = None
        self.health = HealthStatus.UNKNOWN
        self.created_namespace = False
        self.manifests: dict[ResourceKey, str] = {}  # digests of what memory may keep
        self.hooks: list[HookResult] = []  # the hooks run, in order
        self.known: dict[ResourceKey, HealthResult] = {}  # in sync by memory, not read
        self.base: dict[ResourceKey, Mapping[str, Any]] = {}  # options.base, as planned

    def condition(self, reason: ConditionReason, message: str, *, temporary: bool = False) -> None:
        self.conditions.append(SyncCondition(reason, message, temporary))

    def fail(self, err: FleetsyncError) -> None:
        self.condition(self.stage, str(err), temporary=err.temporary)

    def record(self, results: Iterable[ResourceResult]) -> None:
        for result in results:
            self.results[result.key] = result

    async def store(self, inventory: Inventory, previous: Inventory) -> None:
        await write_inventory(
            client=self.client,
            app=self.app,
            namespace=self.options.inventory_namespace,
            inventory=inventory,
            previous=self.stored or previous,
            memory=self.options.memory,
        )
        self.inventory = self.stored = inventory

    def result(self, *, status: SyncStatus | None = None) -> SyncResult:
        if status is None:
            pending = any(r.code not in _DONE for r in self.results.values())
            unhealthy_only = all(c.reason is _UNHEALTHY for c in self.conditions)
            status = SyncStatus.SYNCED if unhealthy_only and not pending else SyncStatus.OUT_OF_SYNC
            if self.stage in _EARLY and self.conditions:
                status = SyncStatus.UNKNOWN
        return SyncResult(
            app=self.app,
            cluster=self.client.name,
            namespace=self.namespace,
            phase=_phase(self.conditions),
            sync_status=status,
            health=self.health,
            conditions=tuple(self.conditions),
            resources=tuple(self.results.values()),
            diffs=tuple(self.diffs.values()),
            inventory=self.inventory,
            started=self.started,
            finished=time.time(),
            hooks=tuple(self.hooks),
        )


def _phase(conditions: Sequence[SyncCondition]) -> OperationPhase:
    if not conditions:
        return OperationPhase.SUCCEEDED
    if any(c.reason in _EARLY or c.temporary for c in conditions):
        return OperationPhase.ERROR
    return OperationPhase.FAILED


async def _all(coros: Iterable[Awaitable[T]]) -> list[T]:
    """Run concurrently; re-raise the first fleetsync error rather than a group. One (most
    waves, most diffs of one changed object) is awaited in place: no task, no group."""
    pending = list(coros)
    if len(pending) <= 1:
        return [await c for c in pending]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_wrap(c)) for c in pending]
    except BaseExceptionGroup as errors:
        first = _first_leaf(errors)
        if isinstance(first, FleetsyncError):
            raise first from None
        raise
    return [t.result() for t in tasks]


async def _each(steps: Sequence[Step], known: Callable[[Step], T | None],
                ask: Callable[[Step], Awaitable[T]]) -> list[T]:
    """Each step's ``known`` result, else what ``ask`` gives (those asked together), in the
    steps' order: a step known at once (most of a sync that changes one object) needs no
    task."""
    found = {s.key: r for s in steps if (r := known(s)) is not None}
    asked = [s for s in steps if s.key not in found]
    found.update(zip((s.key for s in asked), await _all(ask(s) for s in asked), strict=True))
    return [found[s.key] for s in steps]


async def _wrap(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _plan(run: _Run, objects: list[Mapping[str, Any]]) -> Plan:
    base = list(run.options.base or ())
    kinds = {(str(o.get("apiVersion") or ""), str(o.get("kind") or ""))
             for o in [*objects, *base]}  # fmt: skip
    # One after another: discovery is cached (a first lookup of a group version reads it
    # once), so tasks to run them together would cost more than they save.
    served = [await resource_of(client=run.client, api_version=v, kind=k) for v, k in kinds]
    scopes = {(r.group, r.kind): r.namespaced for r in served if r is not None}
    previous = await read_inventory(
        client=run.client, app=run.app, namespace=run.options.inventory_namespace,
        memory=run.options.memory,
    )
    run.inventory = previous

    def planned(found: list[Mapping[str, Any]]) -> Plan:
        return plan(
            app=run.app,
            objects=found,
            namespace=run.namespace,
            previous=previous,
            scope=lambda group, kind: scopes.get((group, kind)),
            prune_share=run.options.prune_share,
            allow_large_prune=run.options.allow_large_prune,
        )

    if base:  # the base's objects as a sync would apply them (the digests memory knows)
        with contextlib.suppress(FleetsyncError):  # a base that cannot be planned: read all
            run.base = {step.key: step.obj for step in planned(base).steps}
    return planned(objects)


async def _diff(run: _Run, the_plan: Plan) -> Mapping[ResourceKey, Mapping[str, Any] | None]:
    """Diff desired objects and tracked extras; return the live extras for the prune."""

    memory = run.options.memory
    rules = _rules_digest(run.options.ignore) if memory is not None else ""
    # Ignore rules may leave a Git change out of the diff: then it must not be applied.
    lean = run.options.syncs_differences and not run.options.ignore

    def remembered(step: Step) -> ObjectDiff | None:
        """The diff memory alone tells (no request), or None."""
        manifest = _manifest_digest(step.obj, rules) if memory is not None else None
        if manifest is not None:
            run.manifests[step.key] = manifest
            # Agreed with this very manifest, and unchanged since: in sync, not even dry-run.
            known = memory.agreed(step.key, manifest) if memory is not None else None
            if known is not None:
                run.known[step.key] = known
                return ObjectDiff(step.key, SyncStatus.SYNCED, IN_SYNC)
            # As it was when it agreed with an earlier manifest, and any difference will be
            # applied: the apply is the one request (what it changes, its answer shows).
            if lean and memory is not None and memory.settled(step.key):
                return ObjectDiff(step.key, SyncStatus.OUT_OF_SYNC, CHANGED_IN_GIT)
        # Not there as far as its watch knows, and about to be applied: created, not read.
        if lean and memory is not None and memory.absent(step.key, step.api_version):
            run.live[step.key] = None
            return ObjectDiff(step.key, SyncStatus.OUT_OF_SYNC, MISSING)
        return None

    async def one(step: Step) -> ObjectDiff:
        manifest = run.manifests.get(step.key)
        # An object a watch saw, which the dry run leaves as seen, is in sync: not read.
        seen = memory.fingerprint(step.key) if memory is not None else None
        predicted = await predict(client=run.client, step=step, exists=True) if seen else None
        if predicted is not None and fingerprint(predicted) == seen:
            live: dict[str, Any] | None = predicted
        elif predicted is not None and (
                earlier := _agreed_base(run, step.key, rules)) is not None:
            # Live is its base manifest as applied, and the dry run took the new one: the
            # difference is the manifests' (a plan's), with no read.
            run.live[step.key] = predicted
            return diff_object(desired=dict(step.obj), predicted=dict(step.obj),
                               live=dict(earlier), ignore=run.options.ignore)
        else:
            live = await read_live(client=run.client, key=step.key, api_version=step.api_version)
            if seen is None or live is None:
                predicted = await predict(client=run.client, step=step, exists=live is not None)
        run.live[step.key] = live
        found = diff_object(
            desired=dict(step.obj), predicted=predicted, live=live, ignore=run.options.ignore
        )
        if memory is not None and manifest is not None and live is not None \
                and found.status is SyncStatus.SYNCED:
            memory.agree(step.key, manifest, seen if live is predicted and seen else
                         fingerprint(live))
        return found

    diffs = await _each(the_plan.steps, remembered, one)  # what memory tells: no task
    extras = dict(
        zip(
            the_plan.prune,
            await _all(
                read_live(client=run.client, key=k, api_version=the_plan.previous.entries[k])
                for k in the_plan.prune
            ),
            strict=True,
        )
    )
    for key, live in extras.items():
        if live is not None and is_tracked(app=run.app, key=key, live=live):
            diffs.append(diff_object(desired=None, predicted=None, live=live))
    run.diffs = {d.key: d for d in diffs}
    return extras


def _agreed_base(run: _Run, key: ResourceKey, rules: str) -> Mapping[str, Any] | None:
    """The object's base manifest (``SyncOptions.base``) when its watch saw it agree with
    that manifest and it is unchanged since; else None."""
    earlier = run.base.get(key)
    memory = run.options.memory
    if earlier is None or memory is None:
        return None
    manifest = _manifest_digest(earlier, rules)
    return earlier if manifest is not None and memory.agreed(key, manifest) is not None \
        else None  # fmt: skip


async def _apply_waves(run: _Run, the_plan: Plan, *, hooks: bool = True) -> bool:
    """Apply wave after wave, running each wave's Sync hooks after its objects; stop at a
    failed apply or hook, or a wave that does not get healthy."""
    crds = {_crd_target(s): s for s in the_plan.steps if is_crd(s.key)}
    waiting: dict[ResourceKey, str | None] = {}
    waves = {w.number: w for w in the_plan.waves}
    sync_hooks = the_plan.hooks_of(Phase.SYNC) if hooks else ()
    numbers = sorted(waves.keys() | {h.wave for h in sync_hooks})
    for index, number in enumerate(numbers):
        later = [w for w in the_plan.waves if w.number > number]
        wave = waves.get(number)
        steps_of_wave = wave.steps if wave is not None else ()
        for _rank, together in groupby(steps_of_wave, key=tier):
            steps = list(together)
            blocked = await _await_crds(run, steps, crds, waiting)
            run.record(await _each(steps, partial(_not_to_apply, run, blocked=blocked),
                                   partial(_apply_one, run)))
        failed = [
            run.results[s.key] for s in steps_of_wave if run.results[s.key].code in _FAILED_APPLY
        ]
        if failed:
            run.condition(ConditionReason.APPLY_FAILED, _list(failed, "failed to apply"))
            _not_applied(run, later)
            return False
        if not await _run_hooks(run, [h for h in sync_hooks if h.wave == number]):
            _not_applied(run, later, "a Sync hook failed")
            return False
        if index + 1 < len(numbers) and steps_of_wave and not await _wave_healthy(
            run, number, steps_of_wave
        ):
            _not_applied(run, later)
            return False
    return True


async def _run_hooks(run: _Run, hooks: Sequence[HookStep]) -> bool:
    """Run ``hooks`` (``engine.apply.hooks``); whether all succeeded. A failure is a
    ``HookFailed`` condition naming each failed hook and why."""
    if not hooks:
        return True
    ended = await run_hooks(client=run.client, hooks=hooks, within=run.options.wave_timeout,
                            checks=run.options.health_checks)  # fmt: skip
    run.hooks.extend(ended)
    failed = [r for r in ended if r.status is HookStatus.FAILED]
    if failed:
        run.condition(ConditionReason.HOOK_FAILED, "; ".join(
            f"{r.phase} hook {r.key.kind}/{r.key.name}: {r.message}" for r in failed[:5]))
    return not failed


async def _pre_sync(run: _Run, the_plan: Plan) -> bool:
    """The PreSync hooks; when one fails, nothing of the app is applied."""
    if await _run_hooks(run, the_plan.hooks_of(Phase.PRE_SYNC)):
        return True
    _not_applied(run, the_plan.waves, "a PreSync hook failed")
    return False


async def _post_sync(run: _Run, the_plan: Plan) -> None:
    """The PostSync hooks, once every object of the app is healthy (as in Argo CD)."""
    hooks = the_plan.hooks_of(Phase.POST_SYNC)
    if not hooks:
        return
    found = await wait_healthy(client=run.client, steps=the_plan.steps,
                               within=run.options.wave_timeout, checks=run.options.health_checks)
    bad = [f"{key}: {h.status.value}" for key, h in found.items() if h.status not in OK_HEALTH]
    if bad:
        run.condition(ConditionReason.HOOK_FAILED, "PostSync hooks not run: not healthy after "
                      f"{run.options.wave_timeout:.0f}s: " + "; ".join(bad[:5]))
        return
    await _run_hooks(run, hooks)


async def _sync_fail(run: _Run, the_plan: Plan) -> None:
    """The SyncFail hooks of a sync that failed; their own failure is one more condition."""
    try:
        await _run_hooks(run, the_plan.hooks_of(Phase.SYNC_FAIL))
    except FleetsyncError as err:
        run.condition(ConditionReason.HOOK_FAILED, f"SyncFail hooks: {err}")


def _failed(run: _Run) -> bool:
    """Whether the sync failed (an app that is only unhealthy has not)."""
    return any(c.reason is not _UNHEALTHY for c in run.conditions)


def _crd_target(step: Step) -> tuple[str, str]:
    spec = step.obj.get("spec") or {}
    return (str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or ""))


async def _await_crds(
    run: _Run,
    steps: list[Step],
    crds: Mapping[tuple[str, str], Step],
    done: dict[ResourceKey, str | None],
) -> dict[ResourceKey, str]:
    """Wait for the CRDs of these steps' kinds to be Established; the steps still blocked."""
    blocked: dict[ResourceKey, str] = {}
    for step in steps:
        crd = crds.get((step.key.group, step.key.kind))
        if crd is None:
            continue
        if crd.key not in done:
            done[crd.key] = await wait_established(client=run.client, crd=crd, within=CRD_TIMEOUT)
        problem = done[crd.key]
        if problem:
            blocked[step.key] = problem
    return blocked


def _not_to_apply(run: _Run, step: Step, *,
                  blocked: Mapping[ResourceKey, str]) -> ResourceResult | None:  # fmt: skip
    """The result of a step that is not applied (its CRD is not there, or it is in sync)."""
    if step.key in blocked:
        return ResourceResult(step.key, ResultCode.APPLY_FAILED, blocked[step.key], step.wave)
    found = run.diffs.get(step.key)
    if found is not None and found.status is SyncStatus.SYNCED:
        return ResourceResult(step.key, ResultCode.UNCHANGED, wave=step.wave)
    return None


async def _apply_one(run: _Run, step: Step) -> ResourceResult:
    found = run.diffs.get(step.key)
    exists = found is None or found.reason != MISSING
    return await apply_step(client=run.client, step=step, exists=exists, force=run.options.force,
                            checks=run.options.health_checks, memory=run.options.memory,
                            manifest=run.manifests.get(step.key))


def _not_selected(run: _Run, steps: Iterable[Step]) -> None:
    """Objects a selective sync leaves alone: unchanged if in sync, else still to apply
    (so the target stays OutOfSync)."""
    for step in steps:
        found = run.diffs.get(step.key)
        in_sync = found is not None and found.status is SyncStatus.SYNCED
        code = ResultCode.UNCHANGED if in_sync else ResultCode.NOT_APPLIED
        run.record([ResourceResult(step.key, code, "" if in_sync else "not selected",
                                   step.wave)])  # fmt: skip


async def _wave_healthy(run: _Run, number: int, steps: Sequence[Step]) -> bool:
    found = await wait_healthy(client=run.client, steps=steps, within=run.options.wave_timeout,
                               checks=run.options.health_checks)
    for key, health in found.items():  # fresher than the apply's answer: the sync reports it
        if (result := run.results.get(key)) is not None:
            run.results[key] = replace(result, health=health.status,
                                       health_message=health.message)
    bad = [
        f"{key}: {h.status.value} {h.message}".strip()
        for key, h in found.items()
        if h.status not in OK_HEALTH
    ]
    if bad:
        run.condition(
            ConditionReason.HEALTH_CHECK_FAILED,
            f"wave {number} not healthy after "
            f"{run.options.wave_timeout:.0f}s: " + "; ".join(bad[:5]),
        )
    return not bad


def _not_applied(run: _Run, waves: Iterable[Any], why: str = "an earlier wave failed") -> None:
    run.record(
        ResourceResult(s.key, ResultCode.NOT_APPLIED, why, s.wave)
        for w in waves
        for s in w.steps
    )


async def _prune(
    run: _Run, the_plan: Plan, extras: Mapping[ResourceKey, Mapping[str, Any] | None]
) -> set[ResourceKey]:
    """Delete stale objects still tracked by this app; return the keys to keep tracking."""
    if not the_plan.prune:
        return set()
    if the_plan.held is not None or not run.options.prune:
        why = the_plan.held or "pruning is off for this app"
        run.record(ResourceResult(k, ResultCode.PRUNE_SKIPPED, why) for k in the_plan.prune)
        if the_plan.held is not None:
            run.condition(ConditionReason.PRUNE_HELD, the_plan.held)
        return set(the_plan.prune)
    results = []
    for key in the_plan.prune:  # one by one, in reverse apply order
        results.append(
            await prune_one(
                client=run.client,
                app=run.app,
                key=key,
                api_version=the_plan.previous.entries[key],
                live=extras.get(key),
                propagation=run.options.propagation,
            )
        )
    run.record(results)
    failed = [r for r in results if r.code is ResultCode.PRUNE_FAILED]
    if failed:
        run.condition(ConditionReason.PRUNE_FAILED, _list(failed, "failed to prune"))
    return {
        r.key
        for r in results
        if r.code is ResultCode.PRUNE_FAILED
        or (r.code is ResultCode.PRUNE_SKIPPED and _still_ours(run, r.key, extras))
    }


def _still_ours(
    run: _Run, key: ResourceKey, extras: Mapping[ResourceKey, Mapping[str, Any] | None]
) -> bool:
    live = extras.get(key)
    return live is not None and is_tracked(app=run.app, key=key, live=live)


async def _health(run: _Run, the_plan: Plan) -> None:
    steps = the_plan.steps
    if run.options.health_timeout > 0:
        found = await wait_healthy(
            client=run.client, steps=steps, within=run.options.health_timeout,
            checks=run.options.health_checks,
        )
    else:
        found = await _health_now(run, steps)
    for key, health in found.items():
        result = run.results.get(key) or ResourceResult(key, ResultCode.UNCHANGED)
        run.results[key] = replace(result, health=health.status, health_message=health.message)
    run.health = aggregate(h.status for h in found.values())
    bad = [
        f"{k}: {h.status.value} {h.message}".strip()
        for k, h in found.items()
        if h.status is HealthStatus.DEGRADED
        or (run.options.health_timeout > 0 and h.status not in OK_HEALTH)
    ]
    if bad:
        run.condition(ConditionReason.HEALTH_CHECK_FAILED, "; ".join(bad[:5]))


async def _health_now(run: _Run, steps: Sequence[Step]) -> dict[ResourceKey, HealthResult]:
    """Each object's health from what this sync already holds: the apply's answer for an
    object it wrote, the diff's read for one it left alone; read again only the rest
    (a failed apply). No second read per object: at fleet scale, reads bound the sync."""
    found: dict[ResourceKey, HealthResult] = {}
    unread = []
    for step in steps:
        result = run.results.get(step.key)
        if result is not None and result.health is not None:
            found[step.key] = HealthResult(result.health, result.health_message)
        elif step.key in run.known and (result is None or result.code is ResultCode.UNCHANGED):
            found[step.key] = run.known[step.key]
        elif step.key in run.live and (result is None or result.code is ResultCode.UNCHANGED):
            live = run.live[step.key]
            found[step.key] = missing() if live is None else assess(live,
                                                                    run.options.health_checks)
        else:
            unread.append(step)
    found |= await healths(client=run.client, steps=unread, checks=run.options.health_checks)
    return {step.key: found[step.key] for step in steps}


def _rules_digest(ignore: Sequence[object]) -> str:
    """The ignore rules as part of every manifest digest: they decide what is in sync."""
    return hashlib.blake2b(repr(tuple(ignore)).encode(), digest_size=8).hexdigest()


def _manifest_digest(obj: Mapping[str, Any], rules: str) -> str | None:
    """A digest of one desired object and the app's ignore rules (what a dry run and the
    diff judge); None for an object orjson cannot encode (it is then always dry-run)."""
    try:
        encoded = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return None
    return rules + hashlib.blake2b(encoded, digest_size=16).hexdigest()


def _list(results: Sequence[ResourceResult], what: str) -> str:
    shown = "; ".join(f"{r.key}: {r.message}" for r in results[:5])
    more = f" (and {len(results) - 5} more)" if len(results) > 5 else ""
    return f"{len(results)} object(s) {what}: {shown}{more}"
