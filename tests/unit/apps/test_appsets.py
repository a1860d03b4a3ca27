"""ApplicationSets as Argo CD users write them: the list, clusters and matrix generators,
fasttemplate and Go templates, preserveResourcesOnDeletion; what fleetsync does not do is
an error naming the field; and in a file, generated Applications are ordinary definitions,
while a broken ApplicationSet fails its file (so its apps keep their last definitions)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.apps import ClusterInfo
from engine.apps.appsets import Listing, generate, parse_application_set
from engine.apps.catalog import ParsedFile
from engine.apps.loader import expand_application_sets, parse_file
from engine.apps.sources import AppFile
from engine.apps.templates import render
from engine.errors import ConfigError

CLUSTERS = [
    ClusterInfo("dev-1", "https://dev-1:6443", {"env": "dev", "fleetsync.io/default": "true"}),
    ClusterInfo("prod-eu", "https://prod-eu:6443", {"env": "prod", "region": "eu"}),
    ClusterInfo("prod-us", "https://prod-us:6443", {"env": "prod", "region": "us"}),
]


def _set(generators: list[Any], *, go: bool = True, name: str = "{{.name}}-web",
         extra: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    server = "{{.server}}" if go else "{{server}}"
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "web"},
            "spec": {"goTemplate": go, "generators": generators, **(extra or {}),
                     "template": {
                         "metadata": {"name": name,
                                      "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
                         "spec": {"project": "default",
                                  "source": {"repoURL": "https://git.example/web",
                                             "path": "envs/{{.metadata.labels.env}}" if go
                                             else "envs/{{metadata.labels.env}}"},
                                  "destination": {"server": server, "namespace": "web"}}}}}


def _names(doc: dict[str, Any]) -> list[str]:
    return [d["metadata"]["name"] for d in generate(parse_application_set(doc, source="a.yaml"),
                                                    CLUSTERS)]


def test_clusters_generator_selects_by_label_and_gives_name_server_and_labels() -> None:
    doc = _set([{"clusters": {"selector": {"matchLabels": {"env": "prod"}}}}])
    [eu, us] = generate(parse_application_set(doc, source="a.yaml"), CLUSTERS)
    assert eu["metadata"]["name"] == "prod-eu-web" and us["metadata"]["name"] == "prod-us-web"
    assert eu["spec"]["destination"]["server"] == "https://prod-eu:6443"
    assert eu["spec"]["source"]["path"] == "envs/prod"
    assert _names(_set([{"clusters": {}}])) == ["dev-1-web", "prod-eu-web", "prod-us-web"]


def test_list_and_matrix_generators_with_fasttemplate() -> None:
    elements = {"list": {"elements": [{"app": "web"}, {"app": "api"}]}}
    doc = _set([{"matrix": {"generators": [
        {"clusters": {"selector": {"matchLabels": {"region": "eu"}}}}, elements]}}],
        go=False, name="{{name}}-{{app}}")
    assert _names(doc) == ["prod-eu-web", "prod-eu-api"]
    plain = _set([{"list": {"elements": [{"name": "one", "server": "https://x"}]}}], go=False,
                 name="{{name}}-{{ unknown }}")
    assert _names(plain) == ["one-{{ unknown }}"]  # as Argo CD: unresolved stays


def test_go_templates_have_pipelines_and_functions() -> None:
    params = {"name": "Prod EU", "metadata": {"labels": {"tier": "gold"}}}
    assert render("{{ .name | normalize }}-{{ index .metadata.labels \"tier\" | upper }}",
                  params, go=True) == "prod-eu-GOLD"
    assert render("{{ default \"none\" .missing }}", params, go=True) == "none"
    assert render("a {{- .name -}} b", params, go=True) == "aProd EUb"
    assert render("{{ .missing }}", params, go=True) == "<no value>"
    with pytest.raises(ConfigError, match="map has no entry for key 'missing'"):
        render("{{ .missing }}", params, go=True, missing_error=True)
    with pytest.raises(ConfigError, match=r"\{\{ if \}\} is not supported"):
        render("{{ if .name }}x{{ end }}", params, go=True)
    with pytest.raises(ConfigError, match="function 'exec' is not supported"):
        render("{{ exec \"rm\" }}", params, go=True)


def test_preserve_resources_on_deletion_drops_the_finalizer() -> None:
    doc = _set([{"clusters": {}}], extra={"syncPolicy": {"preserveResourcesOnDeletion": True}})
    for generated in generate(parse_application_set(doc, source="a.yaml"), CLUSTERS):
        assert generated["metadata"]["finalizers"] == []


@pytest.mark.parametrize(("change", "message"), [
    ({"generators": [{"git": {"repoURL": "x"}}]}, "git: needs either directories or files"),
    ({"generators": [{"scmProvider": {}}]}, "scmProvider: is not a supported generator"),
    ({"generators": []}, "needs at least one generator"),
    ({"strategy": {"type": "RollingSync"}}, "spec.strategy: is not supported yet"),
    ({"generators": [{"matrix": {"generators": [{"clusters": {}}]}}]}, "exactly two"),
])  # fmt: skip
def test_what_is_not_supported_is_an_error_naming_the_field(change: dict[str, Any],
                                                           message: str) -> None:  # fmt: skip
    doc = _set([{"clusters": {}}])
    doc["spec"].update(change)
    with pytest.raises(ConfigError, match=message):
        parse_application_set(doc, source="a.yaml")


def _file(docs: list[dict[str, Any]]) -> ParsedFile:
    data = yaml.safe_dump_all(docs).encode()
    return parse_file(AppFile("apps/web.yaml", data))


def test_in_a_file_generated_apps_are_definitions_and_a_broken_set_fails_the_file() -> None:
    good = _file([_set([{"clusters": {"selector": {"matchLabels": {"env": "prod"}}}}])])
    [[expanded]] = expand_application_sets([[good]], CLUSTERS)
    assert [(d.kind, d.name) for d in expanded.definitions] == [
        ("Application", "prod-eu-web"), ("Application", "prod-us-web")]
    assert not expanded.failed
    broken = _file([_set([{"clusters": {}}], name="{{ .nope }}", extra={
        "goTemplateOptions": ["missingkey=error"]})])
    [[failed]] = expand_application_sets([[broken]], CLUSTERS)
    assert failed.failed and failed.definitions == ()
    assert "ApplicationSet web: template: map has no entry" in str(failed.errors[0])


LISTING = Listing("f" * 40, {
    "apps/web/kustomization.yaml": b"", "apps/api/kustomization.yaml": b"",
    "apps/old/deploy.yaml": b"", "README.md": b"",
    "config/prod/eu/config.json": b'{"cluster": {"name": "prod-eu"}, "replicas": 3}',
    "config/dev/config.json": b'{"cluster": {"name": "dev-1"}, "replicas": 1}',
})
REPO = ("https://git.example/gitops", "main")


def _git_set(git: dict[str, Any], name: str, go: bool = True) -> Any:
    return parse_application_set(_set([{"git": {"repoURL": REPO[0], "revision": REPO[1],
                                                 **git}}], go=go, name=name), source="a.yaml")


def test_git_directories_generator_with_exclude() -> None:
    appset = _git_set({"directories": [{"path": "apps/*"}, {"path": "apps/old", "exclude": True}]},
                      "{{.path.basename}}")
    found = generate(appset, CLUSTERS, {REPO: LISTING})
    assert [d["metadata"]["name"] for d in found] == ["api", "web"]
    plain = _git_set({"directories": [{"path": "apps/*"}]}, "{{path.basenameNormalized}}",
                     go=False)
    assert len(generate(plain, CLUSTERS, {REPO: LISTING})) == 3
    with pytest.raises(ConfigError, match="not read yet"):
        generate(appset, CLUSTERS, {})


def test_git_files_generator_reads_json_and_the_path() -> None:
    appset = _git_set({"files": [{"path": "config/**/config.json"}]},
                      "{{.cluster.name}}-{{.replicas}}-{{index .path.segments 1}}")
    found = generate(appset, CLUSTERS, {REPO: LISTING})
    assert [d["metadata"]["name"] for d in found] == ["dev-1-1-dev", "prod-eu-3-prod"]


def test_a_matrix_too_large_is_refused_before_it_is_built() -> None:
    many = {"list": {"elements": [{"x": str(i)} for i in range(1000)]}}
    pair = {"list": {"elements": [{"y": "1"}, {"y": "2"}]}}
    doc = _set([{"matrix": {"generators": [many, pair]}}], name="{{.x}}-{{.y}}")
    with pytest.raises(ConfigError, match="a matrix of 1000 by 2 parameter sets"):
        generate(parse_application_set(doc, source="a.yaml"), CLUSTERS)
