"""What a sync or a diff reports: per-resource results and conditions are data, never
exceptions (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from engine.model import ConditionReason, HealthStatus, OperationPhase, ResourceKey, SyncStatus
from engine.model.diffs import ObjectDiff
from engine.model.inventory import Inventory


class ResultCode(StrEnum):
    """What happened to one object."""

    UNCHANGED = "Unchanged"
    CREATED = "Created"
    CONFIGURED = "Configured"
    CONFLICT = "Conflict"
    APPLY_FAILED = "ApplyFailed"
    NOT_APPLIED = "NotApplied"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"
    PRUNE_FAILED = "PruneFailed"


@dataclass(frozen=True)
class SyncCondition:
    """A failed step: reason, a message a user can act on, and whether a retry may help."""

    reason: ConditionReason
    message: str
    temporary: bool = False


@dataclass(frozen=True)
class ResourceResult:
    """The outcome and health of one object of the sync."""

    key: ResourceKey
    code: ResultCode
    message: str = ""
    wave: int | None = None
    health: HealthStatus | None = None
    health_message: str = ""


class HookStatus(StrEnum):
    """How one run of a hook ended."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class HookResult:
    """One hook run in one phase: the object (named as the server named it, for a
    ``generateName`` hook), how it ended and why."""

    key: ResourceKey
    phase: str
    status: HookStatus
    message: str = ""

    def __str__(self) -> str:
        return f"{self.phase} {self.key.kind}/{self.key.name} {self.status.value}"


@dataclass(frozen=True)
class SyncResult:
    """The outcome of one sync (or diff) of one app on one cluster."""

    app: str
    cluster: str
    namespace: str
    phase: OperationPhase
    sync_status: SyncStatus
    health: HealthStatus
    conditions: tuple[SyncCondition, ...] = ()
    resources: tuple[ResourceResult, ...] = ()
    diffs: tuple[ObjectDiff, ...] = ()
    inventory: Inventory = field(default_factory=Inventory)
    started: float = 0.0
    finished: float = 0.0
    hooks: tuple[HookResult, ...] = ()

    @property
    def message(self) -> str:
        """One line: the conditions, or what was done (and which hooks ran)."""
        ran = f"; hooks: {', '.join(map(str, self.hooks))}" if self.hooks else ""
        if self.conditions:
            return "; ".join(f"{c.reason.value}: {c.message}" for c in self.conditions) + ran
        changed = [r for r in self.resources if r.code is not ResultCode.UNCHANGED]
        return f"{len(self.resources)} object(s), {len(changed)} changed{ran}"
