"""The result of diffing one object, and the app-level summary (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.model import ResourceKey, SyncStatus

MISSING = "Missing"
EXTRA = "Extra"
DRIFT = "Drift"
IN_SYNC = "InSync"


@dataclass(frozen=True)
class Attribution:
    """Who owns a drifted field in the live object now: field manager, operation and time.

    ``manager`` is ``""`` when no manager other than fleetsync owns the field or a parent.
    """

    path: str
    manager: str
    operation: str
    time: str | None


@dataclass(frozen=True)
class ObjectDiff:
    """How one object's live state differs from Git: status, reason, paths and a unified diff."""

    key: ResourceKey
    status: SyncStatus
    reason: str
    paths: tuple[str, ...] = ()
    unified: str = ""
    drift: tuple[Attribution, ...] = ()


def summarise(diffs: Iterable[ObjectDiff]) -> SyncStatus:
    """App-level sync status: OutOfSync if any object differs, Unknown if any is unknown."""
    statuses = {d.status for d in diffs}
    if SyncStatus.OUT_OF_SYNC in statuses:
        return SyncStatus.OUT_OF_SYNC
    if SyncStatus.UNKNOWN in statuses:
        return SyncStatus.UNKNOWN
    return SyncStatus.SYNCED
