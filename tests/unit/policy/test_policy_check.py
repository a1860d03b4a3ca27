"""AppProject policy as Argo CD enforces it: repositories, destinations, kinds, namespaces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.apps import (
    DEFAULT_PROJECT,
    AppProject,
    AppTarget,
    ClusterInfo,
    expand_targets,
    load_documents,
    parse_project,
)
from engine.apps.application import Source
from engine.apps.project import DestinationRule
from engine.apps.targets import TargetOptions
from engine.model import ResourceKey, TargetKey
from engine.policy import check, check_target, destination_permitted, source_permitted

DEMO = Path(__file__).parents[3] / "examples" / "argocd-kustomize-demo" / "apps"
IN_CLUSTER = ClusterInfo("in-cluster", "https://127.0.0.1:6443", {})
PROD = ClusterInfo("prod-eu", "https://10.0.0.1:6443", {"env": "prod"})
DEV = ClusterInfo("dev-1", "https://10.0.0.9:6443", {"env": "dev"})


def project(spec: str) -> AppProject:
    doc = yaml.safe_load(
        f"apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: p}}\nspec:\n{spec}"
    )
    return parse_project(doc, source="p.yaml")


def target(repo: str = "https://git.example/team/web", namespace: str = "web") -> AppTarget:
    return AppTarget(TargetKey("web", "prod-eu"), "p", repo, "main", "", namespace)


def obj(api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


DEPLOYMENT = obj("apps/v1", "Deployment", "web")
CLUSTER_ROLE = obj("rbac.authorization.k8s.io/v1", "ClusterRole", "web-reader")
NAMESPACE = obj("v1", "Namespace", "web")


def test_demo_scenario_is_permitted() -> None:
    catalog = load_documents([DEMO])
    proj = catalog.projects["demo-proj"]
    objects = [obj("apps/v1", "Deployment", "dev-demo"), obj("v1", "Service", "dev-demo")]
    for app in catalog.applications.values():
        (tgt,) = expand_targets(app, [IN_CLUSTER])
        assert check(proj, tgt, [*objects, NAMESPACE], cluster=IN_CLUSTER) == []


def test_demo_project_denies_other_namespaces_and_clusters() -> None:
    proj = load_documents([DEMO]).projects["demo-proj"]
    assert not destination_permitted(proj, IN_CLUSTER, "kube-system")
    assert not destination_permitted(proj, PROD, "dev")


def test_default_project_allows_everything() -> None:
    objects = [DEPLOYMENT, CLUSTER_ROLE, NAMESPACE, obj("v1", "Secret", "s", "elsewhere")]
    assert (
        check(DEFAULT_PROJECT, target("git@github.com:any/repo.git"), objects, cluster=PROD) == []
    )


@pytest.mark.parametrize(
    ("patterns", "repo", "allowed"),
    [
        (["*"], "https://anything.example/x", True),
        (["https://git.example/team/*"], "https://git.example/team/web", True),
        (["https://git.example/team/*"], "https://git.example/team/web.git", True),
        (["https://git.example/team/*"], "https://GIT.example/Team/web", True),
        (["https://git.example/team/*"], "https://git.example/team/sub/web", False),
        (["https://git.example/team/**"], "https://git.example/team/sub/web", True),
        (["https://git.example/other/*"], "https://git.example/team/web", False),
        ([], "https://git.example/team/web", False),
        (["git@github.com:acme/*"], "git@github.com:acme/app.git", True),
        (["*", "!https://git.example/team/secret"], "https://git.example/team/secret", False),
        (["*", "!https://git.example/team/secret"], "https://git.example/team/web", True),
        (["!https://git.example/team/secret"], "https://git.example/team/web", True),
    ],
)
def test_source_repos(patterns: list[str], repo: str, allowed: bool) -> None:
    proj = AppProject("p", source_repos=tuple(patterns))
    assert source_permitted(proj, repo) is allowed
    violations = check(proj, target(repo), [], cluster=PROD)
    assert [v.rule for v in violations if v.rule == "sourceRepos"] == (
        [] if allowed else ["sourceRepos"]
    )


DESTINATIONS = """  sourceRepos: ['*']
  destinations:
  - {server: '*', namespace: 'team-*'}
  - {server: '*', namespace: '!team-secret'}
  - {name: '!prod-*', namespace: 'sandbox'}
"""


@pytest.mark.parametrize(
    ("cluster", "namespace", "allowed"),
    [
        (DEV, "team-a", True),
        (DEV, "team-secret", False),  # the ! namespace pattern denies, whatever else allows
        (DEV, "kube-system", True),  # a ! pattern allows all it does not name, as in Argo CD
        (IN_CLUSTER, "sandbox", True),
        (PROD, "sandbox", False),  # the ! name pattern denies prod-* clusters ...
        (PROD, "team-a", False),  # ... in every namespace, as in Argo CD
    ],
)
def test_destinations_with_deny(cluster: ClusterInfo, namespace: str, allowed: bool) -> None:
    proj = project(DESTINATIONS)
    assert destination_permitted(proj, cluster, namespace) is allowed
    violations = check(proj, target(namespace=namespace), [], cluster=cluster)
    assert [v.rule for v in violations] == ([] if allowed else ["destinations"])
    if not allowed:
        assert f"namespace {namespace} on cluster {cluster.name}" in violations[0].message


def test_server_deny_wins_over_allow() -> None:
    proj = project(
        "  destinations:\n  - {server: '*', namespace: '*'}\n"
        "  - {server: '!https://10.0.0.1:6443', namespace: '*'}\n"
    )
    assert destination_permitted(proj, IN_CLUSTER, "x")
    assert not destination_permitted(proj, PROD, "x")


def test_default_cluster_answers_to_in_cluster_url_and_its_own() -> None:
    by_alias = project("  destinations: [{server: 'https://kubernetes.default.svc', namespace: x}]")
    by_url = project("  destinations: [{server: 'https://127.0.0.1:6443', namespace: x}]")
    labelled = ClusterInfo("hub", "https://h:6443", {"fleetsync.io/default": "true"})
    assert destination_permitted(by_alias, IN_CLUSTER, "x")
    assert destination_permitted(by_alias, labelled, "x")
    assert destination_permitted(by_url, IN_CLUSTER, "x")
    assert not destination_permitted(by_alias, PROD, "x")


def test_cluster_scoped_kind_not_whitelisted_is_denied() -> None:
    proj = project(
        "  sourceRepos: ['*']\n  destinations: [{server: '*', namespace: '*'}]\n"
        "  clusterResourceWhitelist: [{group: '', kind: Namespace}]\n"
    )
    violations = check(proj, target(), [NAMESPACE, CLUSTER_ROLE, DEPLOYMENT], cluster=PROD)
    assert [(v.rule, v.key) for v in violations] == [
        (
            "clusterResourceWhitelist",
            ResourceKey("rbac.authorization.k8s.io", "ClusterRole", "", "web-reader"),
        ),
    ]
    assert violations[0].message == (
        "ClusterRole web-reader: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole "
        "is not in the clusterResourceWhitelist of project p"
    )


def test_no_cluster_whitelist_denies_every_cluster_scoped_kind() -> None:
    proj = project("  sourceRepos: ['*']\n  destinations: [{server: '*', namespace: '*'}]\n")
    assert [v.rule for v in check(proj, target(), [NAMESPACE], cluster=PROD)] == [
        "clusterResourceWhitelist"
    ]


def test_cluster_blacklist_by_name_glob() -> None:
    proj = project(
        "  sourceRepos: ['*']\n  destinations: [{server: '*', namespace: '*'}]\n"
        "  clusterResourceWhitelist: [{group: '*', kind: '*'}]\n"
        "  clusterResourceBlacklist: [{group: '', kind: Namespace, name: kube-*}]\n"
    )
    objects = [NAMESPACE, obj("v1", "Namespace", "kube-extra")]
    violations = check(proj, target(), objects, cluster=PROD)
    assert [(v.rule, v.key.name if v.key else "") for v in violations] == [
        ("clusterResourceBlacklist", "kube-extra")
    ]


@pytest.mark.parametrize(
    ("lists", "kind", "rule"),
    [
        (
            "  namespaceResourceBlacklist: [{group: '', kind: ResourceQuota}]",
            "ResourceQuota",
            "namespaceResourceBlacklist",
        ),
        ("  namespaceResourceBlacklist: [{group: '', kind: ResourceQuota}]", "ConfigMap", None),
        ("  namespaceResourceWhitelist: [{group: '', kind: 'Config*'}]", "ConfigMap", None),
        (
            "  namespaceResourceWhitelist: [{group: '', kind: 'Config*'}]",
            "Secret",
            "namespaceResourceWhitelist",
        ),
        ("  namespaceResourceWhitelist: []", "ConfigMap", "namespaceResourceWhitelist"),
    ],
)
def test_namespaced_kinds(lists: str, kind: str, rule: str | None) -> None:
    proj = project(
        f"  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n{lists}\n"
    )
    violations = check(proj, target(), [obj("v1", kind, "x")], cluster=PROD)
    assert [v.rule for v in violations] == ([rule] if rule else [])
    if rule:
        assert violations[0].key == ResourceKey("", kind, "web", "x")


def test_object_namespace_outside_destinations_is_denied() -> None:
    proj = project("  sourceRepos: ['*']\n  destinations: [{server: '*', namespace: web}]\n")
    objects = [DEPLOYMENT, obj("v1", "ConfigMap", "c", "web"), obj("v1", "Secret", "s", "other")]
    violations = check(proj, target(), objects, cluster=PROD)
    assert [(v.rule, v.key) for v in violations] == [
        ("destinations", ResourceKey("", "Secret", "other", "s"))
    ]
    assert violations[0].message.startswith("Secret s in namespace other: namespace other")


def test_scope_comes_from_discovery_then_crds_then_builtins() -> None:
    proj = project(
        "  sourceRepos: ['*']\n  destinations: [{server: '*', namespace: '*'}]\n"
        "  clusterResourceWhitelist: [{group: apiextensions.k8s.io, kind: '*'}]\n"
    )
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget"}, "scope": "Namespaced"},
    }
    widget = obj("example.com/v1", "Widget", "w")
    gadget = obj("example.com/v1", "Gadget", "g")  # unknown, no namespace: cluster-scoped
    assert [
        v.key.kind for v in check(proj, target(), [crd, widget, gadget], cluster=PROD) if v.key
    ] == ["Gadget"]

    def discovery(group: str, kind: str) -> bool | None:
        return True if kind == "Gadget" else None

    assert check(proj, target(), [crd, widget, gadget], cluster=PROD, is_namespaced=discovery) == []


def test_source_repos_match_the_repository_not_the_credentials_in_its_url() -> None:
    project = AppProject(name="p", source_repos=("https://git.example/team-a/*",))
    assert source_permitted(project, "https://robot:tok@git.example/team-a/app.git")
    assert not source_permitted(project, "https://git.example@evil.example/team-a/app.git")


def test_a_sources_violation_names_the_repository_without_its_credentials() -> None:
    target = AppTarget(TargetKey("app", "c1"), "p",
                       "https://robot:tok-9a8b7c@git.example/team-b/app.git", "main", "", "ns")
    found = check_target(AppProject(name="p", source_repos=("https://git.example/team-a/*",)),
                         target, cluster=ClusterInfo("c1", "https://c1"))
    assert [v.rule for v in found] == ["sourceRepos", "destinations"]
    assert "tok-9a8b7c" not in found[0].message and "***@git.example" in found[0].message


def test_every_source_of_a_multi_source_app_must_be_permitted() -> None:
    allowed = "https://git.example/team-a/charts"
    sources = (Source(allowed, path="chart"), Source("https://evil.example/values", ref="v"))
    target = AppTarget(TargetKey("app", "c1"), "p", allowed, "main", "chart", "ns",
                       TargetOptions(sources=sources))
    project = AppProject(name="p", source_repos=("https://git.example/team-a/*",),
                         destinations=(DestinationRule(server="*", namespace="*"),))
    found = check_target(project, target, cluster=ClusterInfo("c1", "https://c1"))
    assert [(v.rule, "evil.example" in v.message) for v in found] == [("sourceRepos", True)]
