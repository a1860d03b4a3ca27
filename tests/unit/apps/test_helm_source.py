"""An Application's ``source.helm`` as Argo CD users write it: every field read, Argo CD's
precedence (``valuesObject`` over ``values``), and a clear error naming the file and field
for what fleetsync cannot or will not do (a value file outside the repository or on the
network, a ``$ref`` without multiple sources, Helm 2, a parameter that is not a name)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.apps import parse_application
from engine.apps.helm import HelmOptions, HelmParameter
from engine.errors import ConfigError


def _parse(helm: dict[str, Any]) -> Any:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "web"},
           "spec": {"source": {"repoURL": "https://git.example/web", "path": "chart",
                               "helm": helm},
                    "destination": {"server": "https://kubernetes.default.svc",
                                    "namespace": "web"}}}
    return parse_application(doc, source="apps/web.yaml")


def test_every_field_is_read() -> None:
    parsed = _parse({"releaseName": "shop", "valueFiles": ["values-prod.yaml", "./x/../v.yaml"],
                     "values": "replicas: 2\n", "skipCrds": True, "version": "v3",
                     "ignoreMissingValueFiles": True,
                     "parameters": [{"name": "image.tag", "value": "1.2"},
                                    {"name": "debug", "value": True, "forceString": True}]})
    assert parsed.source.helm == HelmOptions(
        release_name="shop", value_files=("values-prod.yaml", "v.yaml"), values="replicas: 2\n",
        parameters=(HelmParameter("image.tag", "1.2"),
                    HelmParameter("debug", "true", force_string=True)),
        skip_crds=True, ignore_missing_value_files=True)
    assert parsed.warnings == ()


def test_values_object_wins_over_values_as_in_argo_cd() -> None:
    parsed = _parse({"values": "a: 1\n", "valuesObject": {"a": 2, "b": [1]}})
    assert yaml.safe_load(parsed.source.helm.values) == {"a": 2, "b": [1]}
    assert parsed.warnings == (
        "Application web: spec.source.helm.values is ignored because valuesObject is set "
        "(as in Argo CD)",)


@pytest.mark.parametrize(("helm", "message"), [
    ({"valueFiles": ["$values/web/values.yaml"]}, "no source has ref 'values'"),
    ({"valueFiles": ["$values/../x.yaml"]}, "must be $<ref>/<path in that source>"),
    ({"valueFiles": ["https://evil.example/v.yaml"]}, "read from the repository only"),
    ({"valueFiles": ["/etc/passwd"]}, "must be a relative path"),
    ({"version": "v2"}, "spec.source.helm.version: only v3"),
    ({"values": "- a\n- b\n"}, "spec.source.helm.values: must be a YAML mapping"),
    ({"values": "a: [\n"}, "spec.source.helm.values: is not YAML"),
    ({"parameters": [{"name": "--post-renderer=x", "value": "y"}]}, "is not a value name"),
    ({"parameters": [{"name": "a=b", "value": "y"}]}, "parameters[0].name"),
])  # fmt: skip
def test_what_cannot_be_done_is_an_error_naming_file_and_field(
    helm: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(helm)
    assert str(caught.value).startswith("apps/web.yaml: ")
    assert message in str(caught.value)


def _chart_app(repo: str, chart: str) -> Any:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "web"},
           "spec": {"source": {"repoURL": repo, "chart": chart, "targetRevision": "1.*"},
                    "destination": {"server": "https://kubernetes.default.svc",
                                    "namespace": "web"}}}
    return parse_application(doc, source="apps/web.yaml")


def test_a_chart_from_a_repository_is_read_and_bad_ones_named() -> None:
    parsed = _chart_app("https://charts.example.com", "web")
    assert (parsed.source.chart, parsed.source.target_revision) == ("web", "1.*")
    with pytest.raises(ConfigError, match=r"spec\.source\.chart: '\.\./x' is not a chart name"):
        _chart_app("https://charts.example.com", "../x")
    with pytest.raises(ConfigError, match="OCI registries are not supported yet"):
        _chart_app("oci://registry.example.com/charts", "web")


def test_multiple_sources_with_a_values_ref() -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "web"},
           "spec": {"sources": [
               {"repoURL": "https://charts.example.com", "chart": "web", "targetRevision": "1.*",
                "helm": {"valueFiles": ["$values/envs/prod.yaml"]}},
               {"repoURL": "https://git.example/config", "ref": "values"}],
               "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}}
    parsed = parse_application(doc, source="apps/web.yaml")
    assert parsed.source.chart == "web" and len(parsed.sources) == 2
    assert [s.renders for s in parsed.sources] == [True, False]
    assert parsed.sources[0].helm.value_files == ("$values/envs/prod.yaml",)
