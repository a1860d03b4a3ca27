"""The /metrics page is valid Prometheus text format, checked by a strict parser."""

from __future__ import annotations

import pytest

from engine.api import metrics
from engine.api.views import ClusterView, Histogram, HistogramRecorder, MetricsSnapshot
from engine.model import HealthStatus, SyncStatus, TargetKey
from engine.model.status import TargetStatus
from tests.unit.api.exposition import parse


def page(snapshot: MetricsSnapshot, statuses=(), clusters=()) -> str:
    families = metrics.hub_families(snapshot) + metrics.state_families(
        apps=2, statuses=list(statuses), clusters=list(clusters)
    )
    return metrics.render(families)


def test_an_empty_hub_page_is_valid() -> None:
    families = parse(page(MetricsSnapshot()))
    assert families["fleetsync_queue_depth"].samples == [("fleetsync_queue_depth", {}, 0.0)]
    assert families["fleetsync_reconciles_total"].samples == []
    hist = families["fleetsync_sync_duration_seconds"]
    assert hist.type == "histogram"
    assert [s[0] for s in hist.samples] == [
        "fleetsync_sync_duration_seconds_bucket",
        "fleetsync_sync_duration_seconds_sum",
        "fleetsync_sync_duration_seconds_count",
    ]


def test_every_name_has_the_prefix_and_one_help_and_type() -> None:
    text = page(MetricsSnapshot())
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert all(n.startswith("fleetsync_") for n in names)
    assert len(names) == len(set(names))


def test_a_full_snapshot_round_trips() -> None:
    snap = MetricsSnapshot(
        reconciles={"synced": 3, "failed": 1},
        syncs={"Succeeded": 3},
        git_fetches={"ok": 7},
        renders={"rendered": 2, "cached": 5},
        triggers={"webhook": 2},
        drift_events=5,
        queue_depth=2,
        running=1,
        sync_duration=Histogram.of([0.003, 0.2, 0.2, 9.0, 1000.0]),
        queue_wait=Histogram.of([0.0]),
        started_at=1_700_000_000.5,
    )
    families = parse(page(snap))
    assert families["fleetsync_reconciles_total"].samples == [
        ("fleetsync_reconciles_total", {"result": "failed"}, 1.0),
        ("fleetsync_reconciles_total", {"result": "synced"}, 3.0),
    ]
    samples = {
        (s[0], s[1].get("le")): s[2] for s in families["fleetsync_sync_duration_seconds"].samples
    }
    name = "fleetsync_sync_duration_seconds"
    assert samples[(f"{name}_bucket", "0.005")] == 1
    assert samples[(f"{name}_bucket", "0.25")] == 3
    assert samples[(f"{name}_bucket", "300")] == 4
    assert samples[(f"{name}_bucket", "+Inf")] == samples[(f"{name}_count", None)] == 5
    assert samples[(f"{name}_sum", None)] == pytest.approx(1009.403)
    assert families["fleetsync_renders_total"].samples == [
        ("fleetsync_renders_total", {"result": "cached"}, 5.0),
        ("fleetsync_renders_total", {"result": "rendered"}, 2.0),
    ]
    assert families["fleetsync_start_time_seconds"].samples[0][2] == 1_700_000_000.5


def test_step_seconds_are_a_counter_by_step() -> None:
    snap = MetricsSnapshot(step_seconds={"render": 1.25, "execute": 3.0})
    family = parse(page(snap))["fleetsync_reconcile_step_seconds_total"]
    assert family.type == "counter"
    assert family.samples == [
        ("fleetsync_reconcile_step_seconds_total", {"step": "execute"}, 3.0),
        ("fleetsync_reconcile_step_seconds_total", {"step": "render"}, 1.25),
    ]


def test_label_values_are_escaped_and_read_back_unchanged() -> None:
    tricky = 'a"b\\c\nd'
    statuses = [TargetStatus(TargetKey(tricky, "dev"), SyncStatus.SYNCED, HealthStatus.HEALTHY)]
    clusters = [
        ClusterView("dev", "https://x"),
        ClusterView('we"ird', "https://y", reachable=False),
    ]
    text = page(MetricsSnapshot(), statuses, clusters)
    assert r'app="a\"b\\c\nd"' in text
    families = parse(text)
    [(_, labels, value)] = families["fleetsync_target_info"].samples
    assert (
        labels
        == {"app": tricky, "cluster": "dev", "sync_status": "Synced", "health_status": "Healthy"}
        and value == 1
    )
    up = {s[1]["cluster"]: s[2] for s in families["fleetsync_cluster_up"].samples}
    assert up == {"dev": 1, 'we"ird': 0}


def test_help_text_escapes_backslash_and_newline() -> None:
    family = metrics.Family("x", "gauge", "one\\two\nthree", (metrics.Sample("", (), 1),))
    text = metrics.render([family])
    assert text.splitlines()[0] == "# HELP fleetsync_x one\\\\two\\nthree"
    parse(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (3, "3"),
        (2.5, "2.5"),
        (1e-7, "1e-07"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
        (1e20, "1e+20"),
    ],
)
def test_numbers(value: float, text: str) -> None:
    assert metrics.number(value) == text


@pytest.mark.parametrize(
    "bad",
    [
        "fleetsync_x 1\n",  # sample before TYPE
        "# TYPE fleetsync_x gauge\nfleetsync_x 1\n",  # TYPE without HELP
        '# HELP fleetsync_x h\n# TYPE fleetsync_x gauge\nfleetsync_x{a="\n"} 1\n',
        "# HELP fleetsync_x h\n# TYPE fleetsync_x gauge\nfleetsync_x one\n",
        "# HELP fleetsync_x h\n# TYPE fleetsync_x counter\nfleetsync_x 1\n",  # no _total
        "# HELP fleetsync_x h\n# TYPE fleetsync_x gauge\nfleetsync_x 1\nfleetsync_x 2\n",
        "# HELP fleetsync_x h\n# TYPE fleetsync_x gauge\nfleetsync_x 1",  # no final newline
    ],
)
def test_the_checker_is_strict(bad: str) -> None:
    with pytest.raises(AssertionError):
        parse(bad)


def test_recorder_counts_cumulatively_and_at_the_bound() -> None:
    recorder = HistogramRecorder([1.0, 2.0])
    for value in (0.5, 1.0, 1.5, 3.0):
        recorder.observe(value)
    assert recorder.snapshot() == Histogram(((1.0, 2), (2.0, 3)), 4, 6.0)
    with pytest.raises(ValueError):
        HistogramRecorder([2.0, 1.0])
