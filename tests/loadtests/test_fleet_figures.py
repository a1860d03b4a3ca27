"""How the fleet load test turns readings into figures (pure, no servers): percentiles,
outage ratios, the API servers' request counters, the drift-then-heal predicate, the
floor's objects, and the completeness check of a result file."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pytest
import yaml

from loadtests import common, fleet, floor, kube, observe, report
from loadtests.fleetgen import Target
from tests.support.clusters import TestCluster
from tests.support.hubkit import hub_dir

METRICS = """\
# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 7
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="All",group="apps",resource="deployments",scope="resource",subresource="",verb="APPLY",version="v1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="status",verb="PUT",version="v1"} 2
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/healthz",verb="GET",version=""} 1
apiserver_request_duration_seconds_count{verb="GET"} 99
"""  # noqa: E501


def test_request_totals_sum_codes_and_keep_dry_runs_apart() -> None:
    totals = kube.parse_request_totals(METRICS)
    assert totals[("APPLY", "", "configmaps", "")] == 10
    assert kube.by_verb(totals) == {"APPLY": 10, "APPLY (dry run)": 4, "GET": 1, "PUT": 2}
    assert kube.by_resource(totals)["PUT deployments/status"] == 2
    assert kube.by_resource(totals)["APPLY (dry run) deployments"] == 4


def test_request_difference_keeps_only_what_grew() -> None:
    # a server restarted in between counts from zero again: no negative requests
    before = Counter({("GET", "", "pods", ""): 5, ("PUT", "", "leases", ""): 1,
                      ("LIST", "", "pods", ""): 9})
    after = Counter({("GET", "", "pods", ""): 8, ("PUT", "", "leases", ""): 1,
                     ("LIST", "", "pods", ""): 2, ("APPLY", "", "configmaps", ""): 2})
    delta = kube.difference(after, before)
    assert dict(delta) == {("GET", "", "pods", ""): 3, ("APPLY", "", "configmaps", ""): 2}
    assert kube.by_verb(delta) == {"APPLY": 2, "GET": 3}


def test_percentiles_of_many_one_and_no_samples() -> None:
    many = observe.percentiles([float(i) for i in range(1, 101)])
    assert many["n"] == 100
    assert many["p50_s"] == pytest.approx(50.5)
    assert many["p95_s"] == pytest.approx(95.05)
    assert many["p99_s"] == pytest.approx(99.01)
    assert many["max_s"] == 100
    one = observe.percentiles([0.25])
    assert (one["p50_s"], one["p99_s"]) == (0.25, 0.25)
    assert observe.percentiles([])["p99_s"] is None


def test_outage_ratio_is_within_20_percent_only_when_every_percentile_is() -> None:
    normal = {"p50_s": 1.0, "p95_s": 2.0, "p99_s": 4.0}
    assert observe.ratio({"p50_s": 1.2, "p95_s": 2.2, "p99_s": 4.0}, normal)[
        "within_20_percent"]
    worse = observe.ratio({"p50_s": 1.0, "p95_s": 2.0, "p99_s": 5.0}, normal)
    assert worse["p99_ratio"] == pytest.approx(1.25)
    assert not worse["within_20_percent"]
    assert not observe.ratio({"p50_s": None}, {"p50_s": None})["within_20_percent"]


def test_healed_counts_only_after_the_drift_was_seen() -> None:
    healed = observe.after(observe.data_is("shared", "intruder"),
                           observe.data_is("shared", "v0"))
    before = {"metadata": {}, "data": {"shared": "v0"}}
    assert not healed(before)  # the state before the drift is not a heal
    assert not healed({"metadata": {}, "data": {"shared": "intruder"}})
    assert healed(before)


def test_recreated_needs_another_uid() -> None:
    check = observe.recreated("old")
    assert not check(None)
    assert not check({"metadata": {"uid": "old"}})
    assert check({"metadata": {"uid": "new"}})


def test_floor_sends_what_the_hub_sends() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a-common"},
          "data": {"shared": "v0"}}
    work = floor.plan([Target(0, "app-0000", "app-0000-local-1", "local-1", "app-0000")], {0: [cm]})
    [sent] = work["local-1"].objects
    assert sent["metadata"]["namespace"] == "app-0000"
    assert sent["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "fleetsync"}
    assert sent["metadata"]["annotations"] == {
        "fleetsync.io/tracking-id": "app-0000-local-1:/ConfigMap:app-0000/a-common"}
    assert [n["metadata"]["name"] for n in work["local-1"].namespaces] == ["app-0000"]
    assert "namespace" not in cm["metadata"]  # the rendered object is left alone
    update = floor.shared_update(work, "floor-1")
    assert update["local-1"].objects[0]["data"]["shared"] == "floor-1"
    assert work["local-1"].objects[0]["data"]["shared"] == "v0"


def test_object_paths_of_the_fleet_kinds() -> None:
    assert kube.object_path({"apiVersion": "apps/v1", "kind": "Deployment",
                             "metadata": {"name": "w", "namespace": "n"}}) == (
        "/apis/apps/v1/namespaces/n/deployments/w")
    assert kube.object_path({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": "n"}}) == "/api/v1/namespaces/n"


def test_missing_names_absent_and_empty_fields() -> None:
    assert "floor.apply.seconds" in report.missing({"floor": {"apply": {}}})
    assert "when" in report.missing({"when": None})
    assert "when" not in report.missing({"when": "20261202T000000Z"})


def test_smoke_settings_and_options() -> None:
    parser = argparse.ArgumentParser()
    fleet.add_arguments(parser)
    smoke = fleet.settings_from(parser.parse_args(["--smoke", "--apps", "7"]))
    assert (smoke.clusters, smoke.apps, smoke.plots, smoke.smoke) == (2, 7, False, True)
    full = fleet.settings_from(parser.parse_args(["--mode", "fleet", "--no-plots"]))
    assert (full.clusters, full.apps, full.mode, full.plots) == (3, 100, "fleet", False)
    assert fleet.hub_extra(full) == {"git": {"pollInterval": "30s", "timeout": "30s"}}
    tuned = fleet.settings_from(parser.parse_args(["--hub-per-cluster", "16"]))
    assert fleet.hub_extra(tuned)["limits"] == {"perCluster": 16}


def test_cluster_limits_reach_every_cluster_entry(tmp_path: Path) -> None:
    clusters = [TestCluster(f"local-{i}", tmp_path / f"local-{i}.kubeconfig",
                            "https://127.0.0.1:1", {"env": "dev"}) for i in (1, 2)]
    directory = hub_dir(tmp_path / "hub", clusters, {})
    untouched = (directory.root / "clusters.yaml").read_text()
    fleet.write_cluster_limits(directory, fleet.cluster_limits(fleet.Settings()))
    assert (directory.root / "clusters.yaml").read_text() == untouched
    tuned = fleet.Settings(cluster_qps=500.0, cluster_applies=16)
    fleet.write_cluster_limits(directory, fleet.cluster_limits(tuned))
    entries = yaml.safe_load((directory.root / "clusters.yaml").read_text())["clusters"]
    assert [e["limits"] for e in entries] == [{"qps": 500.0, "concurrentApplies": 16}] * 2
    assert [e["name"] for e in entries] == ["local-1", "local-2"]


def test_reconcile_steps_are_mean_milliseconds_per_reconcile_between_two_readings() -> None:
    before = {'reconciles_total{result="success"}': 10.0,
              'reconcile_step_seconds_total{step="render"}': 1.0,
              'reconcile_step_seconds_total{step="execute"}': 2.0}
    after = {'reconciles_total{result="success"}': 13.0,
             'reconciles_total{result="temporary"}': 1.0,
             'reconcile_step_seconds_total{step="render"}': 1.2,
             'reconcile_step_seconds_total{step="execute"}': 2.0,
             'reconcile_step_seconds_total{step="finish"}': 0.4,
             'renders_total{result="rendered"}': 5.0}
    assert common.reconcile_steps_ms(before, after) == {
        "reconciles": 4, "mean_ms": {"finish": 100.0, "render": 50.0}}
    assert common.reconcile_steps_ms(after, after) == {"reconciles": 0, "mean_ms": {}}


def test_shared_base_is_judged_by_the_medians_of_its_runs() -> None:
    hub = {"samples_s": [30.0, 20.0, 24.0]}
    floor_runs = {"seconds": 16.0, "each_s": [14.0, 18.0, 16.0]}
    found = report._shared_base(hub, floor_runs)
    assert (found["shared_base_all_applied_s"], found["shared_base_floor_dry_run_then_apply_s"],
            found["shared_base_over_floor"]) == (24.0, 16.0, 1.5)
    assert found["shared_base_all_applied_each_s"] == [30.0, 20.0, 24.0]
    assert found["shared_base_floor_each_s"] == [14.0, 18.0, 16.0]
    # an even count takes the lower middle run; a result from before repeats: its one run
    assert report._shared_base({"samples_s": [20.0, 30.0]}, {"seconds": 10.0})[
        "shared_base_over_floor"] == 2.0
