"""``GET /metrics``: the hub's state in Prometheus' text exposition format 0.0.4 (pure).

Each family is written as ``# HELP``, ``# TYPE`` and then its samples, all names
prefixed ``fleetsync_``. HELP text escapes ``\\`` and newline; label values escape ``\\``,
``"`` and newline. Histograms have cumulative ``_bucket`` samples ending at
``le="+Inf"``, then ``_sum`` and ``_count``. Besides the hub's own counters
(``MetricsSnapshot``) the page has one ``fleetsync_target_info`` sample per
(app, cluster) with its sync and health, and ``fleetsync_cluster_up`` per cluster.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.api.views import AppView, ClusterView, Histogram, MetricsSnapshot
from engine.model.status import TargetStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "fleetsync_"

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sample:
    """One line of a family: the name's suffix (``_bucket``...), labels and value."""

    suffix: str
    labels: Labels
    value: float


@dataclass(frozen=True)
class Family:
    """A metric family: name (without prefix), type, help text and samples."""

    name: str
    type: str
    help: str
    samples: tuple[Sample, ...]


def number(value: float) -> str:
    """A sample value as Prometheus writes it: integers bare, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def escape_label(value: str) -> str:
    """A label value with ``\\``, ``"`` and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text with ``\\`` and newline escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def render(families: Iterable[Family]) -> str:
    """The exposition text of ``families``, ending in a newline."""
    lines: list[str] = []
    for family in families:
        name = PREFIX + family.name
        lines.append(f"# HELP {name} {escape_help(family.help)}")
        lines.append(f"# TYPE {name} {family.type}")
        for sample in family.samples:
            labels = ",".join(f'{k}="{escape_label(v)}"' for k, v in sample.labels)
            braces = f"{{{labels}}}" if labels else ""
            lines.append(f"{name}{sample.suffix}{braces} {number(sample.value)}")
    return "\n".join(lines) + "\n"


def rollout_family(apps: Iterable[AppView]) -> Family:
    """``fleetsync_rollout_info``: one sample per app with a rollout, labelled with its
    phase, step and (when halted) the cluster that failed its gate."""
    samples = tuple(
        Sample("", (("app", v.name), ("phase", v.rollout.phase), ("step", str(v.rollout.step + 1)),
                    ("failed", v.rollout.failed)), 1)
        for v in apps if v.rollout is not None)
    return Family("rollout_info", "gauge", "Each progressive rollout: phase, step, failed "
                  "cluster.", samples)


def counter(name: str, help: str, values: Mapping[str, float], label: str) -> Family:
    """A counter family with one sample per label value, sorted."""
    samples = tuple(Sample("", ((label, k),), v) for k, v in sorted(values.items()))
    return Family(name, "counter", help, samples)


def scalar(name: str, kind: str, help: str, value: float) -> Family:
    """A family of one unlabelled sample."""
    return Family(name, kind, help, (Sample("", (), value),))


def histogram(name: str, help: str, hist: Histogram) -> Family:
    """A histogram family: cumulative buckets, ``+Inf``, sum and count."""
    buckets = [Sample("_bucket", (("le", number(b)),), c) for b, c in hist.buckets]
    buckets.append(Sample("_bucket", (("le", "+Inf"),), hist.count))
    tail = (Sample("_sum", (), hist.sum), Sample("_count", (), hist.count))
    return Family(name, "histogram", help, (*buckets, *tail))


def hub_families(snap: MetricsSnapshot) -> list[Family]:
    """The families of the hub's own counters, gauges and histograms."""
    return [
        counter("reconciles_total", "Reconciles finished, by result.", snap.reconciles, "result"),
        counter("syncs_total", "Sync operations finished, by phase.", snap.syncs, "phase"),
        counter(
            "reconcile_triggers_total",
            "Reconciles queued, by what triggered them.",
            snap.triggers,
            "trigger",
        ),
        counter("git_fetches_total", "Git fetches, by result.", snap.git_fetches, "result"),
        counter("renders_total", "Renders reconciles needed: run now (rendered) or taken "
                "from the cache (cached).", snap.renders, "result"),
        counter("reconcile_step_seconds_total", "Wall seconds reconciles spent in each step "
                "(waits included).", snap.step_seconds, "step"),
        scalar(
            "drift_events_total",
            "counter",
            "Changes of tracked objects seen by the cluster watches.",
            snap.drift_events,
        ),
        scalar("queue_depth", "gauge", "Targets waiting in the work queue.", snap.queue_depth),
        scalar("reconciles_running", "gauge", "Reconciles running now.", snap.running),
        histogram("sync_duration_seconds", "Duration of sync operations.", snap.sync_duration),
        histogram(
            "queue_wait_seconds", "Time from queueing a target to starting it.", snap.queue_wait
        ),
        histogram(
            "git_fetch_duration_seconds", "Duration of Git fetches.", snap.git_fetch_duration
        ),
        scalar(
            "start_time_seconds", "gauge", "Start time of the hub, Unix seconds.", snap.started_at
        ),
    ]


def state_families(
    *, apps: int, statuses: Sequence[TargetStatus], clusters: Sequence[ClusterView]
) -> list[Family]:
    """Families describing the fleet: apps, each target's status, each cluster's reach."""
    info = tuple(
        Sample(
            "",
            (
                ("app", s.key.app),
                ("cluster", s.key.cluster),
                ("sync_status", s.sync.value),
                ("health_status", s.health.value),
            ),
            1,
        )
        for s in sorted(statuses, key=lambda s: s.key)
    )
    up = tuple(Sample("", (("cluster", c.name),), int(c.reachable)) for c in clusters)
    return [
        scalar("apps", "gauge", "Applications in the catalog.", apps),
        Family("target_info", "gauge", "Sync and health of each (app, cluster) target.", info),
        Family("cluster_up", "gauge", "Whether the hub reaches the cluster (1) or not (0).", up),
    ]
