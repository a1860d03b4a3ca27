"""How a progressive rollout moves on (``engine.hub.progress``): steps, parallelism,
soak, pauses and approvals, and the gates that halt it (and roll it back)."""

from __future__ import annotations

from collections.abc import Mapping

from engine.apps.rollout import Rollout, RolloutStep
from engine.apps.selector import ClusterNames, LabelSelector, Requirement
from engine.hub.progress import Member, RolloutPhase, RolloutState, advance, approve, begin
from engine.model import HealthStatus

OLD, NEW = "a" * 40, "b" * 40
HEALTHY, DEGRADED, PROGRESSING = HealthStatus.HEALTHY, HealthStatus.DEGRADED, \
    HealthStatus.PROGRESSING


def _spec(*, pause: float = 0.0, approval: bool = False, rollback: bool = False,
          deadline: float = 60.0) -> Rollout:
    return Rollout(steps=(RolloutStep(ClusterNames(("c1",)), pause=pause, approval=approval),
                          RolloutStep(ClusterNames(("c2", "c3")), max_parallel=1)),
                   soak=2.0, progress_deadline=deadline, rollback=rollback)


def _members(on_new: Mapping[str, HealthStatus], *,
             unchanged: tuple[str, ...] = ()) -> list[Member]:
    """c1 in step 0, c2 and c3 in step 1; those in ``on_new`` run NEW with that health."""
    steps = {"c1": 0, "c2": 1, "c3": 1}
    return [Member(c, steps[c], NEW if c in on_new else OLD, True, on_new.get(c, HEALTHY),
                   changes=c not in unchanged) for c in ("c1", "c2", "c3")]


def _admitted(state: RolloutState) -> list[str]:
    return sorted(state.admitted)


def test_a_healthy_change_walks_each_step_one_at_a_time_with_soak_and_pause() -> None:
    spec = _spec(pause=5.0)
    state = advance(spec, begin(NEW), _members({}), 0.0)
    assert _admitted(state) == ["c1"] and state.revision_for("c2", OLD) == OLD
    state = advance(spec, state, _members({"c1": HEALTHY}), 1.0)  # healthy, not soaked
    assert state.phase is RolloutPhase.PROGRESSING and _admitted(state) == ["c1"]
    state = advance(spec, state, _members({"c1": HEALTHY}), 3.0)  # soaked: the pause
    assert state.phase is RolloutPhase.PAUSED and state.pause_until == 8.0
    state = advance(spec, state, _members({"c1": HEALTHY}), 7.9)
    assert state.phase is RolloutPhase.PAUSED and _admitted(state) == ["c1"]
    state = advance(spec, state, _members({"c1": HEALTHY}), 8.0)  # maxParallel 1 of 2
    assert (state.step, _admitted(state)) == (1, ["c1", "c2"])
    state = advance(spec, state, _members({"c1": HEALTHY, "c2": HEALTHY}), 9.0)
    state = advance(spec, state, _members({"c1": HEALTHY, "c2": HEALTHY}), 11.0)
    assert _admitted(state) == ["c1", "c2", "c3"]
    everyone = {"c1": HEALTHY, "c2": HEALTHY, "c3": HEALTHY}
    state = advance(spec, state, _members(everyone), 12.0)
    state = advance(spec, state, _members(everyone), 14.0)
    assert state.phase is RolloutPhase.COMPLETED
    assert state.revision_for("c3", NEW) == NEW and state.revision_for("c9", None) == NEW


def test_a_target_that_stops_being_healthy_restarts_its_soak() -> None:
    spec = _spec()
    state = advance(spec, begin(NEW), _members({}), 0.0)
    state = advance(spec, state, _members({"c1": HEALTHY}), 1.0)
    state = advance(spec, state, _members({"c1": PROGRESSING}), 2.0)
    state = advance(spec, state, _members({"c1": HEALTHY}), 2.5)
    state = advance(spec, state, _members({"c1": HEALTHY}), 4.0)  # 1.5 s of the 2 s soak
    assert _admitted(state) == ["c1"]
    state = advance(spec, state, _members({"c1": HEALTHY}), 4.5)
    assert _admitted(state) == ["c1", "c2"]


def test_degraded_after_the_first_step_halts_and_leaves_the_others_alone() -> None:
    spec = _spec()
    state = advance(spec, begin(NEW), _members({}), 0.0)
    state = advance(spec, state, _members({"c1": DEGRADED}), 1.0)
    assert (state.phase, state.failed) == (RolloutPhase.HALTED, "c1")
    assert "Degraded" in state.reason
    assert state.revision_for("c1", NEW) == NEW  # halt: c1 stays where it went
    assert state.revision_for("c2", OLD) == OLD
    assert advance(spec, state, _members({"c1": HEALTHY}), 50.0) == state  # stays halted


def test_a_rollback_sends_the_admitted_targets_back_to_their_commits() -> None:
    spec = _spec(rollback=True)
    state = advance(spec, begin(NEW), _members({}), 0.0)
    state = advance(spec, state, _members({"c1": DEGRADED}), 1.0)
    assert state.rolled_back
    assert state.revision_for("c1", NEW) == OLD and state.revision_for("c2", OLD) == OLD


def test_a_target_not_healthy_within_the_progress_deadline_halts() -> None:
    spec = _spec(deadline=30.0)
    state = advance(spec, begin(NEW), _members({}), 0.0)
    state = advance(spec, state, _members({"c1": PROGRESSING}), 30.0)
    assert state.phase is RolloutPhase.PROGRESSING
    state = advance(spec, state, _members({"c1": PROGRESSING}), 30.5)
    assert (state.phase, state.failed) == (RolloutPhase.HALTED, "c1")
    assert "progress deadline" in state.reason


def test_an_approval_pause_waits_until_approved() -> None:
    spec = _spec(approval=True)
    state = advance(spec, begin(NEW), _members({}), 0.0)
    state = advance(spec, state, _members({"c1": HEALTHY}), 1.0)
    state = advance(spec, state, _members({"c1": HEALTHY}), 3.0)
    assert state.phase is RolloutPhase.PAUSED
    state = advance(spec, state, _members({"c1": HEALTHY}), 3600.0)
    assert state.phase is RolloutPhase.PAUSED and _admitted(state) == ["c1"]
    state = advance(spec, approve(state), _members({"c1": HEALTHY}), 3601.0)
    assert (state.phase, _admitted(state)) == (RolloutPhase.PROGRESSING, ["c1", "c2"])


def test_targets_the_commit_does_not_change_move_at_once_and_gate_nothing() -> None:
    spec = _spec()
    state = advance(spec, begin(NEW), _members({}, unchanged=("c1", "c3")), 0.0)
    # c1 (step 0) needs nothing: the walk goes on to step 1 and admits c2; c3 moves too.
    assert _admitted(state) == ["c1", "c2", "c3"] and state.step == 1


def test_a_cluster_no_step_selects_follows_the_last_step() -> None:
    spec = Rollout(steps=(RolloutStep(ClusterNames(("canary",))),
                          RolloutStep(LabelSelector((Requirement("env", "In", ("prod",)),)))))
    assert spec.step_of("canary", {}) == 0
    assert spec.step_of("p1", {"env": "prod"}) == 1
    assert spec.step_of("dev-1", {"env": "dev"}) == 1
    assert RolloutStep(ClusterNames(("a",)), max_percent=25).parallel(10) == 2
    assert RolloutStep(ClusterNames(("a",)), max_percent=25).parallel(3) == 1
    assert RolloutStep(ClusterNames(("a",))).parallel(7) == 7
