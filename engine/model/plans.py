"""A plan of one revision across the fleet: what syncing each target at it would do (pure).

``fleetsync plan`` compares every target with the revision asked for by server-side dry
runs and writes nothing; these are its answers, per target and for the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from engine.model import ResourceKey, SyncStatus
from engine.model.diffs import EXTRA, MISSING, ObjectDiff


class PlanState(StrEnum):
    """What the plan found for one target."""

    CHANGES = "Changes"  # a sync at the revision would create, change or prune objects
    NO_CHANGES = "NoChanges"  # compared by dry run: nothing to do
    UNCHANGED = "Unchanged"  # no file its render reads differs from the base: not compared
    BLOCKED = "Blocked"  # its Application or AppProject forbids the sync
    ERROR = "Error"  # Git, the render or the cluster failed
    SKIPPED = "Skipped"  # not planned (the revision is not in its repository, or its form)


class Action(StrEnum):
    """What a sync would do to one object."""

    CREATE = "create"
    UPDATE = "update"
    PRUNE = "prune"
    KEEP = "keep"  # not in Git any more, but the app does not prune


def action_of(found: ObjectDiff, *, prune: bool) -> Action | None:
    """What a sync would do to a compared object (None: nothing)."""
    if found.status is SyncStatus.SYNCED:
        return None
    if found.reason == MISSING:
        return Action.CREATE
    if found.reason == EXTRA:
        return Action.PRUNE if prune else Action.KEEP
    return Action.UPDATE


@dataclass(frozen=True)
class TargetPlan:
    """One (app, cluster) target under the plan: its state, the commits compared, and each
    object a sync at ``revision`` would touch, with its diff (field paths in ``paths``)."""

    app: str
    cluster: str
    project: str
    state: PlanState
    base: str = ""  # the commit the target's files were compared from
    revision: str = ""  # the commit planned
    objects: tuple[ObjectDiff, ...] = ()
    prune: bool = False  # whether the app's sync prunes
    held: str = ""  # why the prune guard would hold the prune
    message: str = ""  # why blocked, failed, skipped or unchanged

    def acting(self) -> list[tuple[Action, ObjectDiff]]:
        """Each object the sync would act on, with the action."""
        found = ((action_of(d, prune=self.prune), d) for d in self.objects)
        return [(a, d) for a, d in found if a is not None]

    def keys(self, action: Action) -> list[ResourceKey]:
        """The objects the sync would ``action``."""
        return [d.key for a, d in self.acting() if a is action]


@dataclass(frozen=True)
class FleetPlan:
    """Every target planned for ``revision`` (as asked), compared from ``base``."""

    revision: str
    base: str  # "" : each target's own revision
    targets: tuple[TargetPlan, ...]

    def summary(self) -> dict[str, int]:
        """Counts for the fleet: targets by state, clusters and apps that change, objects
        created, changed and deleted by prune, prunes held."""
        changing = [t for t in self.targets if t.state is PlanState.CHANGES]
        counts = {state.value: sum(t.state is state for t in self.targets) for state in PlanState}
        return {
            "targets": len(self.targets),
            **counts,
            "clustersChanging": len({t.cluster for t in changing}),
            "appsChanging": len({t.app for t in changing}),
            "created": _count(changing, Action.CREATE),
            "changed": _count(changing, Action.UPDATE),
            "pruned": _count(changing, Action.PRUNE),
            "kept": _count(self.targets, Action.KEEP),
            "pruneHeld": sum(bool(t.held) for t in changing),
        }


def _count(targets: Iterable[TargetPlan], action: Action) -> int:
    return sum(len(t.keys(action)) for t in targets)
