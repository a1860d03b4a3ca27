"""What the store keeps about each (app, cluster) target, as frozen values (pure).

These types are shared by the store, the API and the dashboard; they do no I/O.
A ``HistoryEntry`` is a finished ``Operation``: the same id names both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey

# Triggers: who or what started an operation, as users see it in history.
AUTOMATED = "automated"
WEBHOOK = "webhook"
DRIFT = "drift"

# App setting: automated sync turned off (by a rollback, as Argo CD does).
AUTOMATED_SYNC_DISABLED = "automated-sync-disabled"

JSONValue = Any
"""A value orjson can write: str, int, float, bool, None, lists and dicts of them."""


def manual_trigger(user: str) -> str:
    """The trigger of a sync a user asked for."""
    return f"manual:{user}"


def rollback_trigger(history_id: int) -> str:
    """The trigger of a rollback to history entry ``history_id``."""
    return f"rollback:{history_id}"


@dataclass(frozen=True)
class SyncSource:
    """Where an operation's manifests came from: repository URL and path in it."""

    repo: str
    path: str


@dataclass(frozen=True)
class ResourceStatus:
    """One object of a target: in sync or not, its health (None if it has none), why."""

    key: ResourceKey
    sync: SyncStatus
    health: HealthStatus | None = None
    message: str = ""


@dataclass(frozen=True)
class Condition:
    """A problem or fact about a target, with a reason a program can match on."""

    type: str
    reason: str
    message: str
    last_transition: datetime


@dataclass(frozen=True)
class Operation:
    """One sync of a target: Running from begin until finished or recovered."""

    id: int
    key: TargetKey
    revision: str
    trigger: str
    source: SyncSource
    phase: OperationPhase
    message: str
    started_at: datetime
    finished_at: datetime | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """A finished operation, as listed in a target's sync history."""

    id: int
    key: TargetKey
    revision: str
    started_at: datetime
    finished_at: datetime
    phase: OperationPhase
    message: str
    trigger: str
    source: SyncSource


@dataclass(frozen=True)
class TargetStatus:
    """Everything the hub reports about one (app, cluster) target.

    ``revision`` is the commit last synced, ``target_revision`` the commit Git declares
    now. ``live_version`` is the live-cache generation last compared: when it and the
    target revision are unchanged, a periodic resync has nothing to do. ``operation`` is
    owned by ``begin_operation``/``finish_operation``; ``save_status`` ignores it.
    """

    key: TargetKey
    sync: SyncStatus = SyncStatus.UNKNOWN
    health: HealthStatus = HealthStatus.UNKNOWN
    health_message: str = ""
    revision: str | None = None
    target_revision: str | None = None
    operation: Operation | None = None
    resources: tuple[ResourceStatus, ...] = ()
    conditions: tuple[Condition, ...] = ()
    inventory: frozenset[ResourceKey] = frozenset()
    live_version: str | None = None
    reconciled_at: datetime | None = None
