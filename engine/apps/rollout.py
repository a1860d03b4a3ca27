"""``spec.strategy.rollout`` of a fleetsync Application: a new commit goes to the clusters
step by step, each step gated on health (pure; the hub's ``engine.hub.rollouts`` runs it)::

    spec:
      strategy:
        rollout:
          steps:
          - clusters: [canary-1]                 # cluster names, or a label selector
            pause: approval                      # wait for `fleetsync app approve`
          - clusters: {matchLabels: {env: prod}}
            maxParallel: 25%                     # at most this many updating at once
            pause: 10m                           # wait this long after the step is healthy
          soak: 2m                               # Healthy and still Healthy this long
          progressDeadline: 10m                  # not Healthy this long after admission: halt
          onFailure: rollback                    # or halt (the default)

A cluster belongs to the first step that selects it; clusters no step selects follow the
last step. It needs ``apiVersion: fleetsync.io/v1alpha1``, a ``clusterSelector`` (a rollout
across one cluster is a sync), automated sync, one source from Git and no per-cluster
``targetRevision`` (a rollout moves every cluster to one commit).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.apps.fields import Fields
from engine.apps.selector import ClusterNames, LabelSelector, parse_clusters

DEFAULT_PROGRESS_DEADLINE = 600.0
MAX_STEPS = 20
APPROVAL = "approval"
_PERCENT = re.compile(r"^([1-9][0-9]?|100)%$")
_ROLLOUT_FIELDS = {"steps", "soak", "progressDeadline", "onFailure"}
_STEP_FIELDS = {"clusters", "maxParallel", "pause"}


@dataclass(frozen=True)
class RolloutStep:
    """One step: the clusters it selects, how many may update at once (a count, or a
    percentage of the step), and the pause after it (seconds, or until approved)."""

    clusters: LabelSelector | ClusterNames
    max_parallel: int | None = None  # None: the whole step at once
    max_percent: int | None = None
    pause: float = 0.0
    approval: bool = False

    def parallel(self, size: int) -> int:
        """How many of a step of ``size`` targets may be updating at once (at least one)."""
        if self.max_percent is not None:
            return max(1, math.floor(size * self.max_percent / 100))
        return max(1, min(size, self.max_parallel or size))

    def selects(self, name: str, labels: Mapping[str, str]) -> bool:
        """Whether the cluster ``name`` with ``labels`` is one of this step's."""
        if isinstance(self.clusters, ClusterNames):
            return self.clusters.matches_cluster(name)
        return self.clusters.matches(labels)


@dataclass(frozen=True)
class Rollout:
    """The steps, the health gates and what a failure does."""

    steps: tuple[RolloutStep, ...]
    soak: float = 0.0
    progress_deadline: float = DEFAULT_PROGRESS_DEADLINE
    rollback: bool = False  # onFailure: rollback (else halt)

    def step_of(self, name: str, labels: Mapping[str, str]) -> int:
        """The index of the step cluster ``name`` belongs to (the last when none selects
        it)."""
        return next((i for i, s in enumerate(self.steps) if s.selects(name, labels)),
                    len(self.steps) - 1)  # fmt: skip


def parse_rollout(raw: Any, fields: Fields, path: str) -> Rollout:
    """``spec.strategy.rollout``; ConfigError naming the field for anything wrong."""
    if not isinstance(raw, dict):
        raise fields.error(path, "must be a mapping")
    extra = sorted(set(raw) - _ROLLOUT_FIELDS)
    if extra:
        raise fields.error(f"{path}.{extra[0]}",
                           f"is not a rollout field ({', '.join(sorted(_ROLLOUT_FIELDS))})")
    steps = fields.items(raw, "steps", path)
    if not steps or len(steps) > MAX_STEPS:
        raise fields.error(f"{path}.steps", f"must list 1 to {MAX_STEPS} steps")
    failure = fields.string(raw, "onFailure", path, "halt")
    if failure not in ("halt", "rollback"):
        raise fields.error(f"{path}.onFailure", "must be halt or rollback")
    deadline = fields.duration(raw, "progressDeadline", path)
    return Rollout(
        steps=tuple(_step(s, fields, f"{path}.steps[{i}]") for i, s in enumerate(steps)),
        soak=fields.duration(raw, "soak", path) or 0.0,
        progress_deadline=DEFAULT_PROGRESS_DEADLINE if deadline is None else deadline,
        rollback=failure == "rollback",
    )


def _step(raw: Any, fields: Fields, path: str) -> RolloutStep:
    if not isinstance(raw, dict):
        raise fields.error(path, "must be a mapping")
    extra = sorted(set(raw) - _STEP_FIELDS)
    if extra:
        raise fields.error(f"{path}.{extra[0]}",
                           f"is not a step field ({', '.join(sorted(_STEP_FIELDS))})")
    if "clusters" not in raw:
        raise fields.error(f"{path}.clusters", "is required")
    count, percent = _parallel(raw.get("maxParallel"), fields, f"{path}.maxParallel")
    pause = raw.get("pause")
    approval = pause == APPROVAL
    return RolloutStep(
        clusters=parse_clusters(raw["clusters"], fields, f"{path}.clusters"),
        max_parallel=count,
        max_percent=percent,
        pause=0.0 if approval else (fields.duration(raw, "pause", path) or 0.0),
        approval=approval,
    )


def _parallel(value: Any, fields: Fields, path: str) -> tuple[int | None, int | None]:
    """``maxParallel``: a positive count or a percentage (``25%``)."""
    if value is None:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, None
    if isinstance(value, str) and (match := _PERCENT.match(value)):
        return None, int(match.group(1))
    raise fields.error(path, "must be a positive count or a percentage like 25%")


def rollout_problem(*, selector: bool, automated: bool, sources: Sequence[Any], chart: str,
                    revision_overrides: bool) -> str | None:  # fmt: skip
    """Why an Application with these traits cannot roll out, or None."""
    if not selector:
        return "needs spec.destination.clusterSelector (a rollout goes over several clusters)"
    if not automated:
        return "needs syncPolicy.automated (the rollout syncs each step itself)"
    if sources or chart:
        return "needs one source from Git (one commit to roll out)"
    if revision_overrides:
        return "cannot be combined with an override's targetRevision (one commit for all)"
    return None
