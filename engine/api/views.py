"""What the hub shows the API about its apps, clusters and counters, as frozen values (pure).

The hub core builds these from its catalog, cluster registry and scheduler; the API only
reads them. They hold names, settings and numbers, never credentials or object bodies:
per-object state comes from the store's ``ResourceStatus`` (key, sync, health, message).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.model import TargetKey
from engine.model.diffs import ObjectDiff
from engine.model.tree import TreeNode

# Seconds; Prometheus' default buckets stretched to the minutes a sync can take.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip


@dataclass(frozen=True)
class TargetView:
    """One cluster an app deploys to, after per-cluster overrides."""

    key: TargetKey
    namespace: str
    path: str
    revision: str


@dataclass(frozen=True)
class RolloutSummary:
    """A progressive rollout now: its commit, phase, step, who has the commit, and, when
    halted, which cluster failed its gate and why."""

    revision: str
    phase: str
    step: int  # the step in progress (0-based)
    steps: int
    admitted: tuple[str, ...]
    waiting_approval: bool = False
    pause_left: float = 0.0  # seconds of a pause still to run
    failed: str = ""
    reason: str = ""
    rolled_back: bool = False


@dataclass(frozen=True)
class AppView:
    """One Application known to the hub, with the targets it expands to.

    ``destination`` describes the declared destination as a user wrote it
    (``server https://…``, ``name dev`` or ``selector env=prod``). ``automated_disabled``
    is set when a rollback turned automated sync off. ``warnings`` are fields the catalog
    ignored; ``errors`` are why the app cannot be reconciled (invalid, unknown cluster,
    project violation), in which case ``targets`` may be empty.
    """

    name: str
    project: str
    repo_url: str
    target_revision: str
    path: str
    destination: str
    namespace: str = ""
    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    automated_disabled: bool = False
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    targets: tuple[TargetView, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # the Application's own
    rollout: RolloutSummary | None = None  # its progressive rollout, if it has one now
    parent: str = ""  # the Application whose render defines it (app of apps), if any
    children: tuple[str, ...] = ()  # the Applications its render defines, by name

    @property
    def keys(self) -> tuple[TargetKey, ...]:
        """The (app, cluster) keys of this app's targets."""
        return tuple(t.key for t in self.targets)


@dataclass(frozen=True)
class ProjectView:
    """An AppProject: what its apps may use, as the API lists it."""

    name: str
    description: str = ""
    source_repos: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()  # "<server or name> <namespace>" as declared
    apps: int = 0


@dataclass(frozen=True)
class TargetDiff:
    """One cluster's comparison with Git, made on demand: the objects (differing or not),
    or why it could not be made."""

    cluster: str
    sync: str = "Unknown"
    objects: tuple[ObjectDiff, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class TargetTree:
    """One cluster's resource tree (``engine.hub.resourcetree``), or why it is not there."""

    cluster: str
    nodes: tuple[TreeNode, ...] = ()
    cut: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class DeletionView:
    """An app whose definition is gone while its objects are deleted (``Deleting``) or
    wait for a confirmation (``Held``): ``engine.hub.deletions``."""

    app: str
    project: str
    clusters: tuple[str, ...]  # where objects are still to be deleted
    propagation: str  # Foreground or Background
    state: str  # Held or Deleting
    message: str = ""  # why held, or the last failure
    since: float = 0.0
    who: str = ""


@dataclass(frozen=True)
class ClusterView:
    """A registered cluster: name, API server URL, labels and whether the hub reaches it.

    ``server`` is the URL alone; the API strips any user-info from it anyway.
    """

    name: str
    server: str
    labels: Mapping[str, str] = field(default_factory=dict)
    reachable: bool = True
    last_error: str = ""


@dataclass(frozen=True)
class Histogram:
    """Observations counted in cumulative buckets: ``(upper bound, count <= bound)``."""

    buckets: tuple[tuple[float, int], ...] = ()
    count: int = 0
    sum: float = 0.0

    @classmethod
    def of(cls, values: Sequence[float], bounds: Sequence[float] = DEFAULT_BUCKETS) -> Histogram:
        """The histogram of ``values`` over ``bounds``."""
        recorder = HistogramRecorder(bounds)
        for value in values:
            recorder.observe(value)
        return recorder.snapshot()


class HistogramRecorder:
    """A mutable histogram the hub observes into and snapshots for ``/metrics``."""

    def __init__(self, bounds: Sequence[float] = DEFAULT_BUCKETS) -> None:
        if list(bounds) != sorted(set(bounds)):
            raise ValueError("histogram bounds must be strictly increasing")
        self._bounds = tuple(float(b) for b in bounds)
        self._counts = [0] * len(self._bounds)
        self._count = 0
        self._sum = 0.0

    def observe(self, value: float) -> None:
        """Count one observation (seconds, bytes, ...)."""
        index = bisect.bisect_left(self._bounds, value)
        if index < len(self._counts):
            self._counts[index] += 1
        self._count += 1
        self._sum += value

    def snapshot(self) -> Histogram:
        """The observations so far, with cumulative bucket counts."""
        cumulative, total = [], 0
        for bound, count in zip(self._bounds, self._counts, strict=True):
            total += count
            cumulative.append((bound, total))
        return Histogram(tuple(cumulative), self._count, self._sum)


@dataclass(frozen=True)
class MetricsSnapshot:
    """The hub's counters and gauges at one moment, for ``GET /metrics``.

    Counters (monotonic since the hub started), keyed by a label value:
    ``reconciles`` by result (e.g. ``synced``, ``noop``, ``failed``, ``error``),
    ``syncs`` by operation phase (``Succeeded``, ``Failed``, ``Error``), ``git_fetches``
    by result (``ok``, ``error``), ``triggers`` by what queued a reconcile (``manual``,
    ``webhook``, ``drift``, ``periodic``, ...), ``renders`` by ``rendered`` (run now) or
    ``cached``; ``drift_events`` counts changes of
    tracked objects seen by the watches. Gauges: ``queue_depth``, ``running``.
    Histograms in seconds: ``sync_duration``, ``queue_wait``, ``git_fetch_duration``.
    ``started_at`` is the hub's start as a Unix time. ``step_seconds``: wall seconds the
    reconciles spent in each of their steps (``engine.hub.laps``), summed.
    """

    reconciles: Mapping[str, int] = field(default_factory=dict)
    syncs: Mapping[str, int] = field(default_factory=dict)
    git_fetches: Mapping[str, int] = field(default_factory=dict)
    renders: Mapping[str, int] = field(default_factory=dict)
    triggers: Mapping[str, int] = field(default_factory=dict)
    drift_events: int = 0
    queue_depth: int = 0
    running: int = 0
    sync_duration: Histogram = field(default_factory=Histogram)
    queue_wait: Histogram = field(default_factory=Histogram)
    git_fetch_duration: Histogram = field(default_factory=Histogram)
    started_at: float = 0.0
    step_seconds: Mapping[str, float] = field(default_factory=dict)
