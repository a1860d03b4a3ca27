"""The result of diffing one object, and the app-level summary (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from engine.diff.unified import unified
from engine.model import ResourceKey, SyncStatus

MISSING = "Missing"
EXTRA = "Extra"
DRIFT = "Drift"
IN_SYNC = "InSync"


def writer_name(manager: str, subresource: str = "") -> str:
    """``kubectl``, or ``kubectl via the scale subresource`` for a write through one."""
    via = f" via the {subresource} subresource" if subresource else ""
    return f"{manager or 'someone'}{via}"


@dataclass(frozen=True)
class Attribution:
    """Who owns a drifted field in the live object now: field manager, operation and time.

    ``manager`` is ``""`` when no manager other than fleetsync owns the field or a parent;
    ``subresource`` names the one it wrote through (``scale`` for ``kubectl scale``), if any.
    """

    path: str
    manager: str
    operation: str
    time: str | None
    subresource: str = ""

    @property
    def who(self) -> str:
        """The manager as users read it: ``kubectl via the scale subresource``."""
        return writer_name(self.manager, self.subresource)


@dataclass(frozen=True)
class ObjectDiff:
    """How one object's live state differs from Git: status, reason, paths and a unified diff.

    ``sides`` holds the normalised (and, for Secrets, masked) live and desired objects; the
    ``unified`` text is written from them on first use only, since a hub compares far more
    objects than anyone reads diffs of.
    """

    key: ResourceKey
    status: SyncStatus
    reason: str
    paths: tuple[str, ...] = ()
    drift: tuple[Attribution, ...] = ()
    sides: tuple[dict[str, Any] | None, dict[str, Any] | None] | None = field(
        default=None, compare=False, repr=False
    )

    @cached_property
    def unified(self) -> str:
        """Unified YAML diff of live against desired ("" when in sync)."""
        return unified(self.key, *self.sides) if self.sides is not None else ""


def summarise(diffs: Iterable[ObjectDiff]) -> SyncStatus:
    """App-level sync status: OutOfSync if any object differs, Unknown if any is unknown."""
    statuses = {d.status for d in diffs}
    if SyncStatus.OUT_OF_SYNC in statuses:
        return SyncStatus.OUT_OF_SYNC
    if SyncStatus.UNKNOWN in statuses:
        return SyncStatus.UNKNOWN
    return SyncStatus.SYNCED
