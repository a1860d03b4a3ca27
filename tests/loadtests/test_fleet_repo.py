"""The fleet load test's generated repository and Applications (pure, no servers): each app
renders to exactly K objects on the shared bases, a one-app commit touches only that app,
a shared-base commit reaches every app, and the two modes name the pairs the hub will run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.render import build
from loadtests import fleetgen

CLUSTERS = ["local-1", "local-2", "local-3"]


def _write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def _render(root: Path, index: int) -> list[dict]:
    return build(root / fleetgen.app_path(index), root=root)


@pytest.mark.parametrize("objects", [1, 2, 3, 4, 7])
def test_every_app_renders_to_exactly_k_objects(tmp_path: Path, objects: int) -> None:
    root = _write(tmp_path, fleetgen.repository(4, objects))
    for index in range(4):
        rendered = _render(root, index)
        assert len(rendered) == objects
        assert {o["metadata"]["name"] for o in rendered} >= {fleetgen.common_name(index)}
        assert all(o["metadata"]["name"].startswith(f"{fleetgen.app_name(index)}-")
                   for o in rendered)


def test_apps_share_bases_and_differ_by_overlay(tmp_path: Path) -> None:
    root = _write(tmp_path, fleetgen.repository(3, 4))
    kinds = [sorted(o["kind"] for o in _render(root, i)) for i in range(3)]
    assert kinds == [["ConfigMap", "ConfigMap", "Deployment", "Service"]] * 3
    deployments = [next(o for o in _render(root, i) if o["kind"] == "Deployment")
                   for i in range(3)]
    assert {d["metadata"]["name"] for d in deployments} == {
        fleetgen.deployment_name(i) for i in range(3)}
    assert all(d["spec"]["replicas"] == 1 for d in deployments)  # the overlay's patch
    env = deployments[0]["spec"]["template"]["spec"]["containers"][0]
    assert env["envFrom"] == [{"configMapRef": {"name": fleetgen.common_name(0)}}]


def test_one_app_change_touches_only_that_app(tmp_path: Path) -> None:
    root = _write(tmp_path, fleetgen.repository(3, 4))
    before = [_render(root, i) for i in range(3)]
    change = fleetgen.one_app_change(1, 4, 7)
    assert all(path.startswith(fleetgen.app_path(1) + "/") for path in change)
    _write(root, change)
    after = [_render(root, i) for i in range(3)]
    assert after[0] == before[0] and after[2] == before[2]
    assert all(o["metadata"]["annotations"][fleetgen.REVISION] == "7" for o in after[1])


def test_shared_base_change_reaches_every_app(tmp_path: Path) -> None:
    root = _write(tmp_path, fleetgen.repository(5, 4))
    _write(root, fleetgen.base_change("v9"))
    for index in range(5):
        common = next(o for o in _render(root, index)
                      if o["metadata"]["name"] == fleetgen.common_name(index))
        assert common["data"]["shared"] == "v9"


def test_argocd_mode_has_an_application_per_pair() -> None:
    files = fleetgen.application_files("argocd", 4, CLUSTERS, "git://127.0.0.1:1/f.git", "30s")
    assert len(files) == 4 * len(CLUSTERS)
    doc = yaml.safe_load(files["app-0002-local-3.yaml"])
    assert doc["apiVersion"] == "argoproj.io/v1alpha1"
    assert doc["spec"]["destination"] == {"namespace": "app-0002", "name": "local-3"}
    assert doc["spec"]["source"]["path"] == "apps/app-0002"
    assert "timeout.reconcile=30s" in doc["spec"]["syncPolicy"]["syncOptions"]
    assert {t.application for t in fleetgen.targets("argocd", 4, CLUSTERS)} == {
        name.removesuffix(".yaml") for name in files}


def test_fleet_mode_has_one_application_per_app_selecting_clusters_by_label() -> None:
    files = fleetgen.application_files("fleet", 4, CLUSTERS, "git://127.0.0.1:1/f.git", "30s")
    assert sorted(files) == [f"app-000{i}.yaml" for i in range(4)]
    doc = yaml.safe_load(files["app-0003.yaml"])
    assert doc["apiVersion"] == "fleetsync.io/v1alpha1"
    assert doc["spec"]["destination"] == {"namespace": "app-0003", "clusterSelector": {
        "matchExpressions": [{"key": "env", "operator": "Exists"}]}}
    targets = fleetgen.targets("fleet", 4, CLUSTERS)
    assert len(targets) == 4 * len(CLUSTERS)
    assert {t.application for t in targets} == {f"app-000{i}" for i in range(4)}


def test_unknown_mode_and_empty_apps_are_refused() -> None:
    with pytest.raises(ValueError, match="--mode"):
        fleetgen.targets("flux", 1, CLUSTERS)
    with pytest.raises(ValueError, match="--objects"):
        fleetgen.repository(1, 0)


def test_apps_may_share_namespaces_and_the_floor_creates_each_once() -> None:
    from loadtests import floor

    targets = fleetgen.targets("argocd", 5, CLUSTERS[:2], per_namespace=2)
    assert [t.namespace for t in targets if t.cluster == "local-1"] == [
        "apps-0000", "apps-0000", "apps-0001", "apps-0001", "apps-0002"]
    files = fleetgen.application_files("argocd", 5, CLUSTERS[:2], "git://127.0.0.1:1/f.git",
                                       "30s", per_namespace=2)
    spec = yaml.safe_load(files["app-0003-local-2.yaml"])["spec"]
    assert spec["destination"]["namespace"] == "apps-0001"
    work = floor.plan(targets, {i: [] for i in range(5)})
    assert [n["metadata"]["name"] for n in work["local-1"].namespaces] == [
        "apps-0000", "apps-0001", "apps-0002"]
    assert fleetgen.namespace_of(3) == "app-0003"  # by default each app has its own
