"""The hub's decisions, as pure functions: sync or only compare, and how a result ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from engine.apps import AppTarget, Automated, TargetOptions
from engine.hub.decisions import (
    Mode,
    Request,
    decide,
    outcome,
    syncs_differences,
    trigger_label,
)
from engine.hub.syncoptions import sync_options
from engine.model import (
    ConditionReason,
    HealthStatus,
    OperationPhase,
    ResourceKey,
    SyncStatus,
    TargetKey,
)
from engine.model.reconciles import Outcome, Trigger
from engine.model.results import ResourceResult, ResultCode, SyncCondition, SyncResult
from engine.model.status import Operation, SyncSource, TargetStatus

KEY = TargetKey("web", "dev")
OLD, NEW = "a" * 40, "b" * 40
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CM = ResourceKey("", "ConfigMap", "web", "settings")


def target(*, automated: Automated | None = None) -> AppTarget:
    return AppTarget(KEY, "default", "https://git.example/web.git", "main", "app", "web",
                     TargetOptions(automated=automated))  # fmt: skip


AUTO = Automated(prune=True)
HEAL = Automated(prune=True, self_heal=True)


def compared(sync: SyncStatus = SyncStatus.OUT_OF_SYNC, *conditions: SyncCondition) -> SyncResult:
    return SyncResult("web", "dev", "web", OperationPhase.SUCCEEDED, sync, HealthStatus.HEALTHY,
                      conditions=conditions)  # fmt: skip


def previous(revision: str = OLD, phase: OperationPhase | None = OperationPhase.SUCCEEDED,
             ) -> TargetStatus:  # fmt: skip
    op = None if phase is None else Operation(1, KEY, revision, "automated",
                                              SyncSource("r", "app"), phase, "", T0, T0)
    return TargetStatus(KEY, SyncStatus.SYNCED, revision=revision, target_revision=revision,
                        operation=op)  # fmt: skip


def mode(*, app: AppTarget, trigger: Trigger = Trigger.PERIODIC,
         request: Request | None = None, before: TargetStatus | None = None,
         sha: str = OLD, result: SyncResult | None = None, complete: bool = True,
         off: bool = False) -> Mode:  # fmt: skip
    return decide(target=app, trigger=trigger, request=request, previous=before, sha=sha,
                  compared=result or compared(), complete=complete, automation_off=off)


def test_a_manual_sync_syncs_even_an_app_in_sync_without_automation() -> None:
    request = Request("manual:alice")
    assert mode(app=target(), request=request, before=previous(),
                result=compared(SyncStatus.SYNCED)) is Mode.SYNC


def test_a_rollback_syncs_although_it_turned_automation_off() -> None:
    request = Request("rollback:3", revision=OLD)
    assert mode(app=target(automated=AUTO), request=request, before=previous(NEW),
                off=True) is Mode.SYNC


def test_without_automated_sync_a_difference_is_only_compared() -> None:
    assert mode(app=target(), before=previous(), sha=NEW) is Mode.COMPARE


def test_automated_sync_syncs_a_new_commit() -> None:
    assert mode(app=target(automated=AUTO), before=previous(OLD), sha=NEW) is Mode.SYNC


@pytest.mark.parametrize(("app", "request_", "before", "sha", "off", "syncs"), [
    (target(), Request("manual:alice"), previous(), OLD, False, True),
    (target(), None, previous(), NEW, False, False),
    (target(automated=AUTO), None, previous(OLD), NEW, False, True),
    (target(automated=AUTO), None, previous(OLD), NEW, True, False),
    (target(automated=AUTO), None, previous(OLD), OLD, False, False),  # drift, no selfHeal
    (target(automated=HEAL), None, previous(OLD), OLD, False, True),
    (target(automated=AUTO), None, previous(OLD, OperationPhase.FAILED), OLD, False, True),
])
def test_syncs_differences_says_before_comparing_what_decide_does_with_a_difference(
    app: AppTarget, request_: Request | None, before: TargetStatus, sha: str, off: bool,
    syncs: bool,
) -> None:
    known = syncs_differences(target=app, trigger=Trigger.PERIODIC, request=request_,
                              previous=before, sha=sha, automation_off=off)
    assert known is syncs
    decided = mode(app=app, request=request_, before=before, sha=sha, off=off)
    assert (decided is Mode.SYNC) is syncs


def test_automated_sync_syncs_the_first_time_it_sees_a_target() -> None:
    assert mode(app=target(automated=AUTO), before=None) is Mode.SYNC


def test_automated_sync_of_a_target_in_sync_records_nothing() -> None:
    assert mode(app=target(automated=HEAL), before=previous(OLD), sha=NEW,
                result=compared(SyncStatus.SYNCED)) is Mode.COMPARE


def test_a_rollback_turned_automation_off_so_a_new_commit_is_only_compared() -> None:
    assert mode(app=target(automated=AUTO), before=previous(OLD), sha=NEW,
                off=True) is Mode.COMPARE


@pytest.mark.parametrize("phase", [OperationPhase.FAILED, OperationPhase.ERROR,
                                   OperationPhase.RUNNING])  # fmt: skip
def test_automated_sync_tries_again_when_the_last_operation_did_not_succeed(
    phase: OperationPhase,
) -> None:
    assert mode(app=target(automated=AUTO), before=previous(OLD, phase)) is Mode.SYNC


def test_a_retry_syncs_the_same_commit() -> None:
    assert mode(app=target(automated=AUTO), trigger=Trigger.RETRY,
                before=previous(OLD)) is Mode.SYNC


def test_drift_on_the_same_commit_is_healed_only_with_self_heal() -> None:
    before = previous(OLD)
    assert mode(app=target(automated=HEAL), trigger=Trigger.DRIFT, before=before) is Mode.SYNC
    assert mode(app=target(automated=AUTO), trigger=Trigger.DRIFT,
                before=before) is Mode.COMPARE


def test_an_unreachable_cluster_is_never_synced_even_when_asked() -> None:
    refused = SyncCondition(ConditionReason.PLAN_FAILED, "connection refused", temporary=True)
    down = compared(SyncStatus.UNKNOWN, refused)
    assert mode(app=target(automated=HEAL), before=None, result=down) is Mode.COMPARE
    assert mode(app=target(), request=Request("manual:bob"), result=down) is Mode.COMPARE


def test_a_comparison_that_stopped_early_is_never_synced() -> None:
    invalid = SyncCondition(ConditionReason.PLAN_FAILED, "invalid name")
    broken = compared(SyncStatus.UNKNOWN, invalid)
    assert mode(app=target(automated=HEAL), request=Request("manual:bob"), result=broken,
                complete=False) is Mode.COMPARE


def test_the_trigger_recorded_names_the_request_else_what_queued_it() -> None:
    assert trigger_label(Trigger.MANUAL, Request("rollback:4")) == "rollback:4"
    assert trigger_label(Trigger.WEBHOOK, None) == "webhook"
    assert trigger_label(Trigger.DRIFT, None) == "drift"
    assert trigger_label(Trigger.MANUAL, None) == "manual:unknown"
    assert trigger_label(Trigger.PERIODIC, None) == "automated"
    assert trigger_label(Trigger.RETRY, None) == "automated"


def test_a_request_may_override_the_prune_policy_but_not_prune_false() -> None:
    app = target(automated=AUTO)
    assert sync_options(app, None).prune is True
    assert sync_options(app, Request("manual:a", prune=False)).prune is False
    assert sync_options(target(), Request("manual:a", prune=True)).prune is True
    no_prune = replace(app, options=replace(app.options, sync=replace(app.options.sync,
                                                                      prune=False)))
    assert sync_options(no_prune, Request("manual:a", prune=True)).prune is False


def test_sync_options_carry_the_hubs_checks_and_memory() -> None:
    checks, memory = object(), object()
    found = sync_options(target(), None, health_checks=checks, memory=memory)  # type: ignore[arg-type]
    assert found.health_checks is checks and found.memory is memory
    assert sync_options(target(), None).memory is None


def _result(*conditions: SyncCondition, code: ResultCode = ResultCode.CONFIGURED) -> SyncResult:
    return replace(compared(SyncStatus.SYNCED, *conditions),
                   resources=(ResourceResult(CM, code),))


def _failed(reason: ConditionReason, message: str, *, temporary: bool = False) -> SyncCondition:
    return SyncCondition(reason, message, temporary)


@pytest.mark.parametrize(("result", "expected"), [
    (_result(), Outcome.SUCCESS),
    (_result(_failed(ConditionReason.HEALTH_CHECK_FAILED, "Degraded")), Outcome.SUCCESS),
    (_result(_failed(ConditionReason.PLAN_FAILED, "refused", temporary=True)),
     Outcome.TEMPORARY_FAILURE),
    (_result(_failed(ConditionReason.APPLY_FAILED, "conflict"), code=ResultCode.APPLY_FAILED),
     Outcome.TEMPORARY_FAILURE),
    (_result(_failed(ConditionReason.PRUNE_HELD, "more than half")), Outcome.PERMANENT_FAILURE),
    (_result(_failed(ConditionReason.PLAN_FAILED, "invalid name")), Outcome.PERMANENT_FAILURE),
])  # fmt: skip
def test_how_a_result_ends_for_the_scheduler(result: SyncResult, expected: Outcome) -> None:
    assert outcome(result) is expected


def test_a_commit_whose_hook_failed_is_not_synced_again_by_automation() -> None:
    failed = Operation(2, KEY, NEW, "automated", SyncSource("r", "app"), OperationPhase.FAILED,
                       "HookFailed: PreSync hook Job/migrate: Job failed", T0, T0)
    before = replace(previous(OLD), operation=failed)  # a comparison since: no conditions
    assert mode(app=target(automated=HEAL), before=before, sha=NEW) is Mode.COMPARE
    assert mode(app=target(automated=AUTO), before=before, sha="c" * 40) is Mode.SYNC  # newer
    assert mode(app=target(automated=AUTO), before=before, sha=NEW,
                request=Request("manual:alice")) is Mode.SYNC
    other = replace(before, operation=replace(failed, message="ApplyFailed: 1 object(s)"))
    assert mode(app=target(automated=AUTO), before=other, sha=NEW) is Mode.SYNC
