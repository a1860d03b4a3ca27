"""Fleet targeting: which clusters an Application deploys to, and the per-cluster overrides."""

from __future__ import annotations

import pytest
import yaml

from engine.apps import ClusterInfo, expand_targets, parse_application
from engine.errors import ConfigError
from engine.model import TargetKey

FLEET = [
    ClusterInfo("in-cluster", "https://127.0.0.1:6443", {"env": "dev"}),
    ClusterInfo("prod-eu", "https://10.0.0.1:6443", {"env": "prod", "region": "eu"}),
    ClusterInfo("prod-us", "https://10.0.0.2:6443/", {"env": "prod", "region": "us"}),
    ClusterInfo("edge-1", "https://10.0.0.3:6443", {"env": "prod", "region": "edge"}),
]


def app(destination: str, overrides: str = "", api: str = "fleetsync.io/v1alpha1") -> object:
    text = f"""
apiVersion: {api}
kind: Application
metadata: {{name: web}}
spec:
  source: {{repoURL: https://git.example/web, targetRevision: main, path: overlays/prod}}
  destination: {destination}
  syncPolicy: {{automated: {{selfHeal: true}}, syncOptions: [timeout.reconcile=45s]}}
{overrides}"""
    return parse_application(yaml.safe_load(text), source="web.yaml")


@pytest.mark.parametrize(
    ("destination", "clusters", "expected"),
    [
        ("{server: 'https://kubernetes.default.svc', namespace: web}", FLEET, ["in-cluster"]),
        (
            "{server: 'https://kubernetes.default.svc', namespace: web}",
            [*FLEET[1:], ClusterInfo("hub", "https://h:6443", {"fleetsync.io/default": "true"})],
            ["hub"],
        ),
        ("{server: 'https://10.0.0.2:6443', namespace: web}", FLEET, ["prod-us"]),
        ("{name: edge-1, namespace: web}", FLEET, ["edge-1"]),
        (
            "{clusterSelector: {matchLabels: {env: prod}}, namespace: web}",
            FLEET,
            ["prod-eu", "prod-us", "edge-1"],
        ),
        (
            "{clusterSelector: {matchExpressions: "
            "[{key: region, operator: NotIn, values: [edge]}]}, namespace: web}",
            FLEET,
            ["in-cluster", "prod-eu", "prod-us"],
        ),
        ("{clusterSelector: {}, namespace: web}", FLEET, [c.name for c in FLEET]),
        ("{clusterSelector: {matchLabels: {env: staging}}, namespace: web}", FLEET, []),
    ],
)
def test_destination_selects_clusters(
    destination: str, clusters: list[ClusterInfo], expected: list[str]
) -> None:
    targets = expand_targets(app(destination), clusters)
    assert [t.key for t in targets] == [TargetKey("web", name) for name in expected]


@pytest.mark.parametrize(
    ("destination", "clusters", "field"),
    [
        ("{name: nowhere, namespace: web}", FLEET, "spec.destination.name"),
        ("{server: 'https://10.9.9.9', namespace: web}", FLEET, "spec.destination.server"),
        (
            "{server: 'https://kubernetes.default.svc', namespace: web}",
            FLEET[1:],
            "spec.destination.server",
        ),
    ],
)
def test_unknown_destination_is_an_error_of_this_app(
    destination: str, clusters: list[ClusterInfo], field: str
) -> None:
    with pytest.raises(ConfigError, match=f"^web.yaml: Application web: {field}: "):
        expand_targets(app(destination), clusters)


def test_target_carries_source_and_options() -> None:
    (target,) = expand_targets(app("{name: prod-eu, namespace: web}"), FLEET)
    assert (target.repo_url, target.revision, target.path, target.namespace, target.project) == (
        "https://git.example/web",
        "main",
        "overlays/prod",
        "web",
        "default",
    )
    assert target.options.automated is not None and target.options.automated.self_heal
    assert target.options.reconcile_interval == 45.0


OVERRIDES = """  overrides:
  - clusters: {matchLabels: {region: eu}}
    path: overlays/prod-eu
  - clusters: [edge-1, prod-eu]
    targetRevision: v1.2.3
    namespace: web-edge
  - clusters: [edge-1]
    path: overlays/edge
"""


def test_overrides_apply_in_order_per_cluster() -> None:
    web = app("{clusterSelector: {matchLabels: {env: prod}}, namespace: web}", OVERRIDES)
    got = {t.key.cluster: (t.path, t.revision, t.namespace) for t in expand_targets(web, FLEET)}
    assert got == {
        "prod-eu": ("overlays/prod-eu", "v1.2.3", "web-edge"),
        "prod-us": ("overlays/prod", "main", "web"),
        "edge-1": ("overlays/edge", "v1.2.3", "web-edge"),
    }
