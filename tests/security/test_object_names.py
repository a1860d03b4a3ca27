"""Class 11, object identities into REST paths, and project globs (pure).

An object's apiVersion, kind, namespace and name come from Git. Unchecked, a name such as
``../../namespaces/kube-system/secrets/x`` addresses another object, and a namespace
``team-a/../kube-system`` passes the glob ``team-a*``. Identities are held to Kubernetes'
rules before any request (``engine.names``, ``engine.apply.sync.check_identities``), each
path segment is escaped (``ApiResource.path``), and policy treats an invalid namespace as
a violation of its own. The same against a real cluster:
tests/integration/security/test_rest_path_escape.py.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from engine import names
from engine.apply.sync import check_identities
from engine.apps import AppProject, AppTarget, ClusterInfo, parse_project
from engine.clusters.discovery import ApiResource, Discovery, InvalidApiPath
from engine.model import TargetKey
from engine.plan import PlanError
from engine.policy import check, check_target, destination_permitted

TRAVERSAL = "../../namespaces/kube-system/secrets/x"
CONFIGMAPS = ApiResource("", "v1", "ConfigMap", "configmaps", True, frozenset())
WIDGETS = ApiResource("example.com", "v1", "Widget", "widgets", True, frozenset())


def obj(
    name: Any = "web", namespace: Any = None, api_version: Any = "v1", kind: Any = "ConfigMap"
) -> dict[str, Any]:
    meta = {"name": name} | ({"namespace": namespace} if namespace is not None else {})
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


# --- the rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["web", "a.b-c", "system:controller:web", "a?b", "x" * 253, "Web_1"]
)
def test_object_names_valid_path_segment_names_pass(name: str) -> None:
    assert names.name_problem(name) is None


@pytest.mark.parametrize(
    "name", [TRAVERSAL, "..", ".", "a/b", "%2e%2e", "a%2Fb", "", "x" * 254, None, 7]
)
def test_object_names_traversal_and_escapes_are_refused(name: Any) -> None:
    assert names.name_problem(name) is not None


@pytest.mark.parametrize("namespace", ["team-a", "a", "0abc", "x" * 63])
def test_object_names_dns_label_namespaces_pass(namespace: str) -> None:
    assert names.namespace_problem(namespace) is None


@pytest.mark.parametrize(
    "namespace",
    ["team-a/../kube-system", "..", "Team-A", "team_a", "-a", "a-", "a.b", "x" * 64, "", 1],
)
def test_object_names_namespaces_that_are_not_dns_labels_are_refused(namespace: Any) -> None:
    assert names.namespace_problem(namespace) is not None


@pytest.mark.parametrize(
    "api_version", ["v1", "apps/v1", "rbac.authorization.k8s.io/v1", "example.com/v1beta1"]
)
def test_object_names_valid_api_versions_pass(api_version: str) -> None:
    assert names.api_version_problem(api_version) is None


@pytest.mark.parametrize(
    "api_version",
    ["../../api/v1/namespaces/kube-system/secrets", "a/b/c", "/v1", "apps/", "..", "v1?x=1",
     "Apps/v1", "apps/V1", "%2e%2e/v1", "", None],
)  # fmt: skip
def test_object_names_api_versions_that_address_other_paths_are_refused(api_version: Any) -> None:
    assert names.api_version_problem(api_version) is not None


@pytest.mark.parametrize("kind", ["ConfigMap", "Widget2", "My-Kind"])
def test_object_names_valid_kinds_pass(kind: str) -> None:
    assert names.kind_problem(kind) is None


@pytest.mark.parametrize("kind", ["../Secret", "Config Map", "a?b", "-A", "", "K" * 64, None])
def test_object_names_invalid_kinds_are_refused(kind: Any) -> None:
    assert names.kind_problem(kind) is not None


# --- refused before any request -----------------------------------------------------------


def test_object_names_identity_problems_name_each_field() -> None:
    bad = obj(TRAVERSAL, "team-a/../kube-system", "../v1", "Config/Map")
    problems = names.identity_problems(bad)
    assert [p.split(":")[0] for p in problems] == [
        "apiVersion", "kind", "metadata.name", "metadata.namespace"
    ]  # fmt: skip
    assert names.identity_problems(obj("web", "team-a")) == []


def test_object_names_sync_refuses_the_whole_render_naming_object_and_field() -> None:
    objects = [obj("ok"), obj(TRAVERSAL), obj("fine", "team-a/../kube-system")]
    with pytest.raises(PlanError) as caught:
        check_identities(objects, namespace="team-a")
    message = str(caught.value)
    assert "object 2 (ConfigMap '../../namespaces/kube-system/secrets/x'): metadata.name" in message
    assert "object 3 (ConfigMap 'fine'): metadata.namespace" in message
    assert "object 1" not in message


def test_object_names_sync_refuses_an_invalid_destination_namespace() -> None:
    with pytest.raises(PlanError, match=re.escape("destination namespace: 'team-a/../kube-")):
        check_identities([obj("ok")], namespace="team-a/../kube-system")
    check_identities([obj("ok"), obj("cluster-wide", kind="Namespace")], namespace="")


def test_object_names_messages_cut_long_hostile_values() -> None:
    with pytest.raises(PlanError) as caught:
        check_identities([obj("a/" + "x" * 5000)], namespace="")
    assert len(str(caught.value)) < 400


# --- escaped in every path ----------------------------------------------------------------


def test_object_names_path_segments_are_escaped() -> None:
    assert CONFIGMAPS.path(namespace="team-a", name="a?b#c d%") == (
        "/api/v1/namespaces/team-a/configmaps/a%3Fb%23c%20d%25"
    )
    assert WIDGETS.path(namespace="ns") == "/apis/example.com/v1/namespaces/ns/widgets"


def test_object_names_every_character_but_the_unreserved_is_escaped() -> None:
    # Unreserved names skip the escaping: every other character must still be escaped.
    for code in [*range(0x250), 0x2028, 0xFEFF, 0x1F600]:
        if chr(code) == "/":
            continue
        value = f"a{chr(code)}b"
        assert names.path_segment(value) == quote(value, safe=""), hex(code)
    assert names.path_segment("web-1.a_b~") == "web-1.a_b~"
    assert names.path_segment("web-1\n") == "web-1%0A"


@pytest.mark.parametrize(
    ("namespace", "name"), [("ns", ".."), ("ns", "."), ("..", "x"), ("ns", TRAVERSAL), ("a/b", "x")]
)
def test_object_names_segments_no_escape_makes_safe_are_refused(namespace: str, name: str) -> None:
    # "%2E%2E" is normalised away by HTTP clients and "%2F" decoded by the API server.
    with pytest.raises(InvalidApiPath):
        CONFIGMAPS.path(namespace=namespace, name=name)


def test_object_names_resource_with_a_hostile_group_has_no_path() -> None:
    hostile = ApiResource("../../api", "v1", "Secret", "secrets", True, frozenset())
    with pytest.raises(InvalidApiPath):
        hostile.path()


async def test_object_names_discovery_sends_no_request_for_a_hostile_api_version() -> None:
    fetched: list[str] = []

    async def fetch(path: str) -> Any:
        fetched.append(path)
        return {"groupVersion": "apps/v1", "resources": []}

    discovery = Discovery(fetch)
    for api_version in ("../../api/v1/namespaces/kube-system/secrets", "apps/v1?watch=1"):
        with pytest.raises(InvalidApiPath):
            await discovery.lookup(api_version=api_version, kind="Secret")
    with pytest.raises(InvalidApiPath):
        await discovery.preferred_version("../api")
    assert fetched == []
    assert await discovery.lookup(api_version="apps/v1", kind="Deployment") is None
    assert fetched == ["/apis/apps/v1"]


# --- project globs --------------------------------------------------------------------------

CLUSTER = ClusterInfo("prod", "https://10.0.0.1:6443", {})


def project() -> AppProject:
    spec = """
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: 'team-a*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
"""
    doc = yaml.safe_load(
        f"apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: p}}\nspec:{spec}"
    )
    return parse_project(doc, source="p.yaml")


def target(namespace: str = "team-a") -> AppTarget:
    return AppTarget(TargetKey("web", "prod"), "p", "https://git.example/w", "main", "", namespace)


def test_object_names_glob_never_takes_a_namespace_that_traverses() -> None:
    assert destination_permitted(project(), CLUSTER, "team-a-dev")
    assert not destination_permitted(project(), CLUSTER, "team-a/../kube-system")


def test_object_names_policy_reports_an_invalid_object_namespace() -> None:
    found = check(project(), target(), [obj("x", "team-a/../kube-system")], cluster=CLUSTER)
    assert [v.rule for v in found] == ["InvalidNamespace"]
    assert "team-a/../kube-system" in found[0].message


def test_object_names_policy_reports_an_invalid_destination_namespace() -> None:
    found = check_target(project(), target("team-a/../kube-system"), cluster=CLUSTER)
    assert [v.rule for v in found] == ["InvalidNamespace"]
    found = check(project(), target("team-a/../kube-system"), [obj("x")], cluster=CLUSTER)
    assert [v.rule for v in found] == ["InvalidNamespace"]
