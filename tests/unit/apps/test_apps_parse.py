"""Parsing Application and AppProject documents: Argo CD's format as is, fleetsync's extensions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from engine.apps import (
    ClusterNames,
    LabelSelector,
    parse_application,
    parse_project,
)
from engine.errors import ConfigError
from engine.render.jsonnet import JsonnetOptions, JsonnetVariable

DEMO = Path(__file__).parents[3] / "examples" / "argocd-kustomize-demo" / "apps"


def app(text: str) -> object:
    return parse_application(yaml.safe_load(text), source="apps.yaml")


MINIMAL = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: https://git.example/web, path: base}
  destination: {server: https://kubernetes.default.svc, namespace: web}
"""


@pytest.mark.parametrize("name", ["argocd-dev-application.yaml", "argocd-prod-application.yaml"])
def test_demo_applications_parse_without_warnings(name: str) -> None:
    doc = yaml.safe_load((DEMO / name).read_text())
    parsed = parse_application(doc, source=name)
    env = parsed.name.removeprefix("demo-")
    assert parsed.warnings == ()
    assert parsed.project == "demo-proj"
    assert parsed.namespace == "argocd"
    assert parsed.source.repo_url == "https://git.example.com/platform/fleetsync-demo.git"
    assert parsed.source.target_revision == "main"
    assert parsed.source.path == f"overlays/{env}"
    assert parsed.destination.server == "https://kubernetes.default.svc"
    assert parsed.destination.namespace == env
    automated = parsed.sync_policy.automated
    assert automated is not None and automated.prune and automated.self_heal
    assert parsed.sync_policy.options.create_namespace
    assert parsed.sync_policy.options.reconcile_interval == 30.0


def test_demo_project_parses_without_warnings() -> None:
    project = parse_project(
        yaml.safe_load((DEMO / "project.yaml").read_text()), source="project.yaml"
    )
    assert project.warnings == ()
    assert project.source_repos == ("*",)
    assert [(d.server, d.namespace) for d in project.destinations] == [
        ("https://kubernetes.default.svc", "dev"),
        ("https://kubernetes.default.svc", "prod"),
    ]
    assert [(k.group, k.kind) for k in project.cluster_whitelist] == [("*", "*")]
    assert project.namespace_whitelist is None


def test_defaults_are_argo_cds() -> None:
    parsed = app(MINIMAL)
    assert parsed.project == "default"
    assert parsed.source.target_revision == "HEAD"
    assert parsed.sync_policy.automated is None
    assert parsed.sync_policy.retry is None
    assert parsed.sync_policy.options.reconcile_interval == 180.0
    assert parsed.revision_history_limit == 10


def test_full_argo_spec_is_kept() -> None:
    parsed = app(
        MINIMAL.replace(
            "spec:\n",
            """metadata:
  name: web
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  info: [{name: owner, value: team-a}]
  revisionHistoryLimit: 3
  ignoreDifferences:
  - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
  syncPolicy:
    automated: {prune: true, allowEmpty: true}
    retry: {limit: 5, backoff: {duration: 10s, factor: 3, maxDuration: 5m}}
    syncOptions: [PruneLast=true, Prune=false, ServerSideApply=true,
                  PrunePropagationPolicy=background]
""",
        ).replace("metadata: {name: web}\n", "")
    )
    assert parsed.warnings == ()
    assert parsed.finalizers == ("resources-finalizer.argocd.argoproj.io",)
    assert parsed.info == (("owner", "team-a"),)
    assert parsed.revision_history_limit == 3
    assert parsed.ignore_differences == (
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
    )
    policy = parsed.sync_policy
    assert policy.automated is not None and policy.automated.allow_empty
    assert not policy.automated.self_heal
    assert policy.retry is not None
    assert (
        policy.retry.limit,
        policy.retry.duration,
        policy.retry.factor,
        policy.retry.max_duration,
    ) == (5, 10.0, 3.0, 300.0)
    assert [policy.retry.backoff().delay(n) for n in range(1, 7)] == [10, 30, 90, 270, 300, None]
    assert policy.options.prune_last and not policy.options.prune
    assert policy.options.prune_propagation == "background"


def test_automated_enabled_false_means_manual_sync() -> None:
    parsed = app(MINIMAL + "  syncPolicy: {automated: {enabled: false, prune: true}}\n")
    assert parsed.sync_policy.automated is None


@pytest.mark.parametrize(
    ("extra", "warning"),
    [
        (
            "  source: {repoURL: r, helm: {valueFiles: [v.yaml], passCredentials: true}}\n",
            "spec.source.helm.passCredentials is not supported",
        ),
        (
            "  source: {repoURL: r, kustomize: {namePrefix: x-}}\n",
            "spec.source.kustomize is not supported",
        ),
        (
            "  source: {repoURL: r, directory: {recurse: true, include: '*.yaml'}}\n",
            "spec.source.directory.include is not supported",
        ),
        ("  syncPolicy: {syncOptions: [Replace=true]}\n", "'Replace=true' is not supported"),
        ("  syncPolicy: {syncOptions: [Validate=false]}\n", "'Validate=false' is not supported"),
        ("  syncPolicy: {syncOptions: [Frobnicate=true]}\n", "unknown sync option"),
        ("  syncPolicy: {syncOptions: [ServerSideApply=false]}\n", "always applies server-side"),
        (
            "  syncPolicy: {managedNamespaceMetadata: {labels: {a: b}}}\n",
            "spec.syncPolicy.managedNamespaceMetadata is not supported",
        ),
        (
            "  syncPolicy: {retry: {limit: 2, refresh: true}}\n",
            "spec.syncPolicy.retry.refresh is not supported",
        ),
        ("  sourceHydrator: {}\n", "spec.sourceHydrator is not supported"),
    ],
)
def test_unsupported_fields_are_reported(extra: str, warning: str) -> None:
    text = (
        MINIMAL.replace("  source: {repoURL: https://git.example/web, path: base}\n", "")
        if extra.startswith("  source:")
        else MINIMAL
    )
    parsed = app(text + extra)
    assert any(warning in w and w.startswith("Application web: ") for w in parsed.warnings), (
        parsed.warnings
    )


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (MINIMAL.replace("metadata: {name: web}", "metadata: {}"), "metadata.name"),
        (MINIMAL.replace("name: web", "name: Web_App"), "metadata.name"),
        (MINIMAL.replace("argoproj.io/v1alpha1", "argoproj.io/v1beta1"), "apiVersion"),
        (MINIMAL.replace("repoURL: https://git.example/web, ", ""), "spec.source.repoURL"),
        (MINIMAL.replace("server: https://kubernetes.default.svc, ", ""), "spec.destination"),
        (
            MINIMAL.replace("namespace: web}", "namespace: web, name: in-cluster}"),
            "spec.destination",
        ),
        (
            MINIMAL + "  syncPolicy: {automated: {prune: maybe}}\n",
            "spec.syncPolicy.automated.prune",
        ),
        (
            MINIMAL + "  syncPolicy: {syncOptions: [CreateNamespace=yes]}\n",
            "spec.syncPolicy.syncOptions[0]",
        ),
        (
            MINIMAL + "  syncPolicy: {syncOptions: [timeout.reconcile=soon]}\n",
            "spec.syncPolicy.syncOptions[0]",
        ),
        (
            MINIMAL + "  syncPolicy: {retry: {backoff: {duration: 5 minutes}}}\n",
            "spec.syncPolicy.retry.backoff.duration",
        ),
        (
            MINIMAL + "  ignoreDifferences: [{jsonPointers: [/a]}]\n",
            "spec.ignoreDifferences[0].kind",
        ),
        (
            MINIMAL + "  ignoreDifferences: [{kind: Deployment, jsonPointers: /spec}]\n",
            "spec.ignoreDifferences[0]",
        ),
        (MINIMAL + "  sources: [{repoURL: a, ref: x}, {repoURL: b, ref: x}]\n", "spec.sources"),
        (MINIMAL.replace("path: base", "chart: ../nginx"), "spec.source.chart"),
        (MINIMAL.replace("namespace: web}", "namespace: web}\n  overrides: []"), "spec.overrides"),
        (
            MINIMAL.replace(
                "server: https://kubernetes.default.svc",
                "clusterSelector: {matchLabels: {env: prod}}",
            ),
            "spec.destination.clusterSelector",
        ),
    ],
)
def test_invalid_application_names_file_document_and_field(doc: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        app(doc)
    message = str(caught.value)
    assert message.startswith("apps.yaml: Application"), message
    assert f": {field}" in message, message


def test_single_entry_sources_is_used() -> None:
    parsed = app(
        MINIMAL.replace(
            "  source: {repoURL: https://git.example/web, path: base}",
            "  sources: [{repoURL: https://git.example/web, path: other, targetRevision: v1}]",
        )
    )
    assert (parsed.source.path, parsed.source.target_revision) == ("other", "v1")


FLEET = """
apiVersion: fleetsync.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: https://git.example/web, targetRevision: main, path: overlays/prod}
  destination:
    namespace: web
    clusterSelector:
      matchLabels: {env: prod}
      matchExpressions:
      - {key: region, operator: In, values: [eu, us]}
      - {key: frozen, operator: DoesNotExist}
  overrides:
  - clusters: {matchLabels: {region: eu}}
    path: overlays/prod-eu
  - clusters: [edge-1, edge-2]
    targetRevision: v1.2.3
    namespace: web-edge
"""


def test_fleetsync_format_parses_selector_and_overrides() -> None:
    parsed = app(FLEET)
    assert parsed.warnings == ()
    selector = parsed.destination.cluster_selector
    assert isinstance(selector, LabelSelector)
    assert selector.matches({"env": "prod", "region": "eu"})
    assert not selector.matches({"env": "prod", "region": "ap"})
    assert not selector.matches({"env": "prod", "region": "eu", "frozen": "yes"})
    first, second = parsed.overrides
    assert isinstance(first.clusters, LabelSelector) and first.path == "overlays/prod-eu"
    assert second.clusters == ClusterNames(("edge-1", "edge-2"))
    assert (second.target_revision, second.namespace, second.path) == ("v1.2.3", "web-edge", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("operator: In", "operator: Near"), "matchExpressions[0].operator"),
        (("values: [eu, us]", "values: []"), "matchExpressions[0].values"),
        (("matchLabels: {env: prod}", "matchLabels: {env: true}"), "matchLabels.env"),
        (("path: overlays/prod-eu", "paths: overlays/prod-eu"), "spec.overrides[0].paths"),
        (("clusters: [edge-1, edge-2]", "clusters: []"), "spec.overrides[1].clusters"),
    ],
)
def test_invalid_fleetsync_extensions_name_the_field(change: tuple[str, str], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        app(FLEET.replace(*change))


def test_directory_jsonnet_is_argo_cd_s() -> None:
    text = MINIMAL.replace("path: base}", "path: base, directory: {jsonnet: {"
                           "extVars: [{name: env, value: prod}, {name: n, value: '3', code: true}],"
                           " tlas: [{name: size, value: big}], libs: [vendor, lib/k]}}}")
    options = app(text).source.jsonnet
    assert options == JsonnetOptions(
        ext_vars=(JsonnetVariable("env", "prod"), JsonnetVariable("n", "3", code=True)),
        tlas=(JsonnetVariable("size", "big"),), libs=("vendor", "lib/k"))


@pytest.mark.parametrize(("jsonnet", "field"), [
    ("{libs: [../outside]}", "directory.jsonnet.libs[0]"),
    ("{libs: [/etc]}", "directory.jsonnet.libs[0]"),
    ("{extVars: [{value: x}]}", "directory.jsonnet.extVars[0].name"),
    ("{tlas: [{name: a, code: maybe}]}", "directory.jsonnet.tlas[0].code"),
])
def test_invalid_directory_jsonnet_names_the_field(jsonnet: str, field: str) -> None:
    text = MINIMAL.replace("path: base}", f"path: base, directory: {{jsonnet: {jsonnet}}}}}")
    with pytest.raises(ConfigError, match=re.escape(field)):
        app(text)


ROLLING = """
apiVersion: fleetsync.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: https://git.example/web, targetRevision: main, path: base}
  destination:
    namespace: web
    clusterSelector: {matchLabels: {env: prod}}
  syncPolicy: {automated: {}}
  strategy:
    rollout:
      steps:
      - {clusters: [canary], pause: approval}
      - {clusters: {matchLabels: {region: eu}}, maxParallel: 25%, pause: 10m}
      - {clusters: {matchLabels: {region: us}}, maxParallel: 2}
      soak: 2m
      progressDeadline: 5m
      onFailure: rollback
"""


def test_a_rollout_parses_steps_gates_and_failure_policy() -> None:
    rollout = app(ROLLING).rollout
    assert rollout is not None and len(rollout.steps) == 3
    canary, eu, us = rollout.steps
    assert canary.clusters == ClusterNames(("canary",)) and canary.approval
    assert (eu.max_percent, eu.pause, eu.approval) == (25, 600.0, False)
    assert (us.max_parallel, us.pause) == (2, 0.0)
    assert (rollout.soak, rollout.progress_deadline, rollout.rollback) == (120.0, 300.0, True)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (("fleetsync.io/v1alpha1", "argoproj.io/v1alpha1"), "spec.strategy", "needs apiVersion"),
        (("clusterSelector: {matchLabels: {env: prod}}", "name: prod"), "spec.strategy.rollout",
         "clusterSelector"),
        (("syncPolicy: {automated: {}}", "syncPolicy: {}"), "spec.strategy.rollout",
         "automated"),
        (("maxParallel: 25%", "maxParallel: 0%"), "steps[1].maxParallel", "percentage"),
        (("maxParallel: 2}", "maxParallel: 0}"), "steps[2].maxParallel", "positive count"),
        (("pause: 10m", "pause: later"), "steps[1].pause", "duration"),
        (("onFailure: rollback", "onFailure: retry"), "rollout.onFailure", "halt or rollback"),
        (("      steps:", "      stages:"), "rollout.stages", "not a rollout field"),
        (("- {clusters: [canary], pause: approval}", "- {pause: approval}"),
         "steps[0].clusters", "required"),
        (("      - {clusters: [canary], pause: approval}",
          "\n".join(["      - {clusters: [canary]}"] * 21)), "rollout.steps", "1 to 20 steps"),
    ],
)
def test_an_invalid_rollout_names_the_field(change: tuple[str, str], field: str,
                                            problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        app(ROLLING.replace(*change))
    assert field in str(err.value) and problem in str(err.value), str(err.value)


PROJECT = """
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team}
spec:
  sourceRepos: ['https://git.example/team/*', '!https://git.example/team/secret']
  destinations:
  - {server: '*', namespace: 'team-*'}
  - {name: '!prod-*', namespace: '*'}
  clusterResourceWhitelist: [{group: '', kind: Namespace}]
  clusterResourceBlacklist: [{group: '', kind: Namespace, name: kube-*}]
  namespaceResourceWhitelist: []
  namespaceResourceBlacklist: [{group: '', kind: ResourceQuota}]
  roles:
  - name: ci
    description: deploys from CI
    policies: ['p, proj:team:ci, applications, sync, team/*, allow']
    groups: [team-ci, release-bots]
    jwtTokens: [{iat: 1}]
  syncWindows: [{kind: deny, schedule: '* * * * *', duration: 1h}]
"""


def test_project_parses_lists_and_reports_unsupported() -> None:
    project = parse_project(yaml.safe_load(PROJECT), source="p.yaml")
    assert project.namespace_whitelist == ()
    assert project.cluster_blacklist[0].name == "kube-*"
    assert [d.name for d in project.destinations] == ["", "!prod-*"]
    assert project.warnings == (
        "AppProject team: spec.syncWindows is not supported; ignored",
        "AppProject team: spec.roles[0].jwtTokens (project role tokens) is not supported; "
        "ignored",
    )
    assert project.policy_lines() == [
        "p, proj:team:ci, applications, sync, team/*, allow",
        "g, team-ci, proj:team:ci", "g, release-bots, proj:team:ci"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("{server: '*', namespace: 'team-*'}", "{namespace: 'team-*'}"), "spec.destinations[0]"),
        (
            ("[{group: '', kind: ResourceQuota}]", "[{group: ''}]"),
            "spec.namespaceResourceBlacklist[0].kind",
        ),
        (("sourceRepos: [", "sourceRepos: [3, "), "spec.sourceRepos[0]"),
        (("proj:team:ci, applications", "proj:other:ci, applications"),
         "spec.roles[0].policies[0]"),
        (("team/*, allow", "other/*, allow"), "spec.roles[0].policies[0]"),
        (("- name: ci", "- name: 'c i'"), "spec.roles[0].name"),
        (("groups: [team-ci,", "groups: ['a,b',"), "spec.roles[0].groups[0]"),
    ],
)
def test_invalid_project_names_the_field(change: tuple[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_project(yaml.safe_load(PROJECT.replace(*change)), source="p.yaml")
    assert str(caught.value).startswith(f"p.yaml: AppProject team: {field}:"), str(caught.value)
