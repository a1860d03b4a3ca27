"""How a progressive rollout moves on (pure): which clusters may have the new commit now.

A rollout of commit R walks the app's ``strategy.rollout`` steps in order. In a step it
admits up to ``maxParallel`` targets at a time; an admitted target syncs R. A step is done
when each of its targets runs R, is Healthy, and has stayed Healthy for ``soak``; then the
step's pause runs (a duration, or until approved) and the next step starts. The rollout
halts, admitting nobody more, when an admitted target running R turns Degraded or is not
Healthy ``progressDeadline`` after its admission; with ``onFailure: rollback`` the targets
it admitted go back to the commit each ran before. Targets whose files R does not change
are admitted at once and never gate anything. ``advance`` is called on every tick with
what the targets look like now and returns the next state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from engine.apps.rollout import Rollout
from engine.model import HealthStatus


class RolloutPhase(StrEnum):
    """Where a rollout stands."""

    PROGRESSING = "Progressing"  # admitting and waiting for the current step
    PAUSED = "Paused"  # a step is done: its pause runs, or it waits for approval
    HALTED = "Halted"  # a target failed its gate: nobody more gets the commit
    COMPLETED = "Completed"  # every target runs the commit


@dataclass(frozen=True)
class Member:
    """One target of the rollout as it is now."""

    cluster: str
    step: int
    revision: str | None  # the commit it last synced (None: never synced)
    synced: bool  # Synced with that commit
    health: HealthStatus
    # Whether the commit changes the files it renders, from the commit it ran before it
    # was admitted (so a target that took the commit still counts as changed).
    changes: bool = True


@dataclass(frozen=True)
class RolloutState:
    """One rollout of ``revision`` for an app."""

    revision: str
    step: int = 0
    phase: RolloutPhase = RolloutPhase.PROGRESSING
    admitted: Mapping[str, float] = field(default_factory=dict)  # cluster → when
    previous: Mapping[str, str] = field(default_factory=dict)  # cluster → commit it ran
    healthy_since: Mapping[str, float] = field(default_factory=dict)
    pause_until: float = 0.0
    approved: bool = False  # the pause of the current step was approved
    failed: str = ""  # the cluster that halted it
    reason: str = ""  # why
    roll_back: bool = False  # halted with onFailure: rollback

    @property
    def rolled_back(self) -> bool:
        """Whether the admitted targets go back to the commits they ran before."""
        return self.phase is RolloutPhase.HALTED and self.roll_back

    def revision_for(self, cluster: str, current: str | None) -> str | None:
        """The commit ``cluster`` may run now: the rollout's once admitted (its previous
        one after a rollback), else the one it runs (None: none yet, it waits)."""
        if self.phase is RolloutPhase.COMPLETED:
            return self.revision
        if cluster not in self.admitted:
            return current
        if self.rolled_back and cluster in self.previous:
            return self.previous[cluster]
        return self.revision


def begin(revision: str) -> RolloutState:
    """A new rollout of ``revision`` from the first step."""
    return RolloutState(revision=revision)


def approve(state: RolloutState) -> RolloutState:
    """The operator approves the pause the rollout waits in (a no-op otherwise)."""
    return replace(state, approved=True)


def advance(spec: Rollout, state: RolloutState, members: Sequence[Member],
            now: float) -> RolloutState:  # fmt: skip
    """The rollout's next state, given its targets as they are ``now``."""
    if state.phase in (RolloutPhase.HALTED, RolloutPhase.COMPLETED):
        return state
    state = _admit_free(state, members, now)
    state = _watch_health(spec, state, members, now)
    if state.phase is RolloutPhase.HALTED:
        return state
    if state.phase is RolloutPhase.PAUSED:
        if not _pause_over(spec, state, now):
            return state
        state = replace(state, phase=RolloutPhase.PROGRESSING, step=state.step + 1,
                        approved=False)  # fmt: skip
    return _walk(spec, state, members, now)


def _admit_free(state: RolloutState, members: Sequence[Member], now: float) -> RolloutState:
    """Admit at once who needs no gate: targets the commit does not change, and targets
    that joined a step already done (a cluster registered during the rollout)."""
    free = [m for m in members if m.cluster not in state.admitted
            and (not m.changes or m.step < state.step)]  # fmt: skip
    if not free:
        return state
    return replace(state, admitted={**state.admitted, **{m.cluster: now for m in free}},
                   previous={**state.previous, **{m.cluster: m.revision for m in free
                                                  if m.revision}})  # fmt: skip


def _watch_health(spec: Rollout, state: RolloutState, members: Sequence[Member],
                  now: float) -> RolloutState:  # fmt: skip
    """Note when each admitted target became Healthy on the commit; halt on a failure."""
    healthy = dict(state.healthy_since)
    for m in members:
        if m.cluster not in state.admitted or not m.changes:
            continue
        on_it = m.revision == state.revision and m.synced
        if on_it and m.health is HealthStatus.HEALTHY:
            healthy.setdefault(m.cluster, now)
            continue
        healthy.pop(m.cluster, None)
        if on_it and m.health is HealthStatus.DEGRADED:
            return _halt(spec, state, m.cluster, "Degraded after syncing the commit")
        if now - state.admitted[m.cluster] > spec.progress_deadline:
            return _halt(spec, state, m.cluster, f"not Healthy within the progress deadline "
                                                 f"({spec.progress_deadline:g}s)")  # fmt: skip
    return replace(state, healthy_since=healthy)


def _walk(spec: Rollout, state: RolloutState, members: Sequence[Member],
          now: float) -> RolloutState:  # fmt: skip
    """Admit the next targets of the current step, or finish the step (and the ones after
    it that have nothing to wait for)."""
    while True:
        step = spec.steps[state.step]
        mine = sorted((m for m in members if m.step == state.step and m.changes),
                      key=lambda m: m.cluster)  # fmt: skip
        done = [m for m in mine if _soaked(spec, state, m.cluster, now)]
        busy = [m for m in mine if m.cluster in state.admitted and m not in done]
        waiting = [m for m in mine if m.cluster not in state.admitted]
        room = step.parallel(len(mine)) - len(busy) if mine else 0
        if waiting and room > 0:
            chosen = {m.cluster: now for m in waiting[:room]}
            previous = {m.cluster: m.revision for m in waiting[:room] if m.revision}
            return replace(state, admitted={**state.admitted, **chosen},
                           previous={**state.previous, **previous})  # fmt: skip
        if len(done) < len(mine):
            return state
        if state.step == len(spec.steps) - 1:
            return replace(state, phase=RolloutPhase.COMPLETED)
        if mine and (step.approval or step.pause > 0):  # a step of nobody has no pause
            return replace(state, phase=RolloutPhase.PAUSED, pause_until=now + step.pause,
                           approved=False)  # fmt: skip
        state = replace(state, step=state.step + 1)


def _soaked(spec: Rollout, state: RolloutState, cluster: str, now: float) -> bool:
    since = state.healthy_since.get(cluster)
    return since is not None and now - since >= spec.soak


def _pause_over(spec: Rollout, state: RolloutState, now: float) -> bool:
    step = spec.steps[state.step]
    return state.approved if step.approval else now >= state.pause_until


def _halt(spec: Rollout, state: RolloutState, cluster: str, reason: str) -> RolloutState:
    return replace(state, phase=RolloutPhase.HALTED, failed=cluster, reason=reason,
                   roll_back=spec.rollback)  # fmt: skip
