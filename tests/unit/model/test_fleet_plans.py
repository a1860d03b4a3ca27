"""A fleet plan's answers: the action a sync would take on each object, and the counts."""

from __future__ import annotations

from engine.model import ResourceKey, SyncStatus
from engine.model.diffs import DRIFT, EXTRA, IN_SYNC, MISSING, ObjectDiff
from engine.model.plans import Action, FleetPlan, PlanState, TargetPlan


def _diff(name: str, reason: str) -> ObjectDiff:
    status = SyncStatus.SYNCED if reason == IN_SYNC else SyncStatus.OUT_OF_SYNC
    return ObjectDiff(ResourceKey("", "ConfigMap", "ns", name), status, reason)


OBJECTS = (_diff("same", IN_SYNC), _diff("new", MISSING), _diff("edited", DRIFT),
           _diff("dropped", EXTRA))


def test_a_target_acts_on_what_differs_and_prunes_only_when_its_app_prunes() -> None:
    pruning = TargetPlan("web", "c1", "default", PlanState.CHANGES, objects=OBJECTS, prune=True)
    assert [(a, d.key.name) for a, d in pruning.acting()] == [
        (Action.CREATE, "new"), (Action.UPDATE, "edited"), (Action.PRUNE, "dropped")]
    keeping = TargetPlan("web", "c1", "default", PlanState.CHANGES, objects=OBJECTS)
    assert keeping.keys(Action.KEEP) == [OBJECTS[3].key]
    assert keeping.keys(Action.PRUNE) == []


def test_the_summary_counts_clusters_apps_and_objects_of_the_targets_that_change() -> None:
    plan = FleetPlan("pr-1", "", (
        TargetPlan("web", "c1", "p", PlanState.CHANGES, objects=OBJECTS, prune=True,
                   held="pruning 1 of 1"),
        TargetPlan("web", "c2", "p", PlanState.CHANGES, objects=OBJECTS[:2]),
        TargetPlan("db", "c1", "p", PlanState.UNCHANGED),
        TargetPlan("db", "c2", "p", PlanState.BLOCKED, message="destination not permitted"),
        TargetPlan("api", "c3", "p", PlanState.ERROR, message="render failed"),
    ))
    summary = plan.summary()
    assert summary == {
        "targets": 5, "Changes": 2, "NoChanges": 0, "Unchanged": 1, "Blocked": 1, "Error": 1,
        "Skipped": 0, "clustersChanging": 2, "appsChanging": 1, "created": 2, "changed": 1,
        "pruned": 1, "kept": 0, "pruneHeld": 1,
    }
