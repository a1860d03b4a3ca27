"""Helm charts rendered by the pinned helm binary (``fleetsync local build``) in the render
sandbox: release name, namespace, value files, inline values and parameters in Helm's
order, CRDs in or out, Helm's hooks kept for the sync; and what a hostile chart or
Application cannot do: read a value file outside the repository, pass a parameter that
turns into several, fetch a dependency over the network, or run past the render's
deadline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.apps.helm import HelmOptions, HelmParameter
from engine.errors import HelmChartFound
from engine.render import RenderBudget, RenderError, SecurityError
from engine.renderer import sandbox
from engine.renderer.fallback import build_or_fallback
from engine.renderer.helm import HelmRun
from tests.support.binaries import built
from tests.support.files import write

HELM = built("helm")
pytestmark = [
    pytest.mark.skipif(HELM is None, reason="helm not built (fleetsync local build)"),
    pytest.mark.skipif(sandbox.find_bwrap() is None, reason="bwrap not installed (make test "
                       "installs Debian's bubblewrap)"),
]

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "values.yaml": "replicas: 1\ncolour: blue\ntag: latest\nnote: none\n",
    "values-prod.yaml": "replicas: 2\ncolour: green\n",
    "templates/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\n"
        "  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers:\n      - name: web\n        image: web:{{ .Values.tag }}\n"),
    "templates/settings.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n"
        "  colour: {{ .Values.colour | quote }}\n  note: {{ .Values.note | quote }}\n"),
    "templates/migrate.yaml": (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n"
        "    helm.sh/hook: pre-upgrade,pre-install\nspec:\n  template:\n    spec:\n"
        "      restartPolicy: Never\n      containers: [{name: m, image: busybox}]\n"),
    "crds/widgets.yaml": (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n"
        "  names: {kind: Widget, plural: widgets}\n  versions:\n  - name: v1\n    served: true\n"
        "    storage: true\n    schema: {openAPIV3Schema: {type: object}}\n"),
}


def _chart(root: Path, files: dict[str, str] | None = None) -> Path:
    write(root / "charts" / "web", files or CHART)
    return root / "charts" / "web"


def _render(root: Path, options: HelmOptions, *, budget: RenderBudget | None = None,
            reads: set[str] | None = None) -> dict[str, dict[str, Any]]:  # fmt: skip
    assert HELM is not None
    run = HelmRun(HELM, options, options.release_name or "app", "prod")
    objects = build_or_fallback(root / "charts" / "web", root=root, helm=run, budget=budget,
                                reads=reads)  # fmt: skip
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


def test_a_chart_renders_with_values_in_helm_order(tmp_path: Path) -> None:
    _chart(tmp_path)
    reads: set[str] = set()
    options = HelmOptions(
        release_name="shop", value_files=("values-prod.yaml",),
        values="colour: red\ntag: '1.0'\n",
        parameters=(HelmParameter("tag", "1.1"), HelmParameter("note", "a,b", force_string=True)))
    found = _render(tmp_path, options, reads=reads)

    assert sorted(found) == ["ConfigMap/settings", "CustomResourceDefinition/widgets.example.com",
                             "Deployment/shop-web", "Job/migrate"]
    web = found["Deployment/shop-web"]
    assert web["metadata"]["namespace"] == "prod"
    assert web["spec"]["replicas"] == 2  # from the value file
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1.1"  # --set wins
    assert found["ConfigMap/settings"]["data"] == {"colour": "red", "note": "a,b"}  # literal
    hook = found["Job/migrate"]["metadata"]["annotations"]
    assert hook["helm.sh/hook"] == "pre-upgrade,pre-install"  # left to engine.hooks
    assert "charts/web" in reads  # any change in the chart re-renders the app
    assert "charts/web/values-prod.yaml" in reads


def test_skip_crds_leaves_the_charts_crds_out(tmp_path: Path) -> None:
    _chart(tmp_path)
    assert "CustomResourceDefinition/widgets.example.com" not in _render(
        tmp_path, HelmOptions(skip_crds=True))


def test_without_a_helm_binary_a_chart_is_refused(tmp_path: Path) -> None:
    _chart(tmp_path)
    with pytest.raises(HelmChartFound, match=r"^charts/web: a Helm chart \(Chart.yaml\)"):
        build_or_fallback(tmp_path / "charts" / "web", root=tmp_path)


def test_value_files_stay_inside_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _chart(repo)
    write(tmp_path, {"secret-values.yaml": "colour: stolen\n"})
    (repo / "charts" / "web" / "link.yaml").symlink_to(tmp_path / "secret-values.yaml")
    for name in ("../../../secret-values.yaml", "link.yaml"):
        with pytest.raises(SecurityError, match="resolves outside the repository root"):
            _render(repo, HelmOptions(value_files=(name,)))
    # helm itself cannot follow the link: outside the tree there is nothing in the sandbox.
    with pytest.raises(RenderError, match=r"helm template failed: .*link\.yaml"):
        _render(repo, HelmOptions())
    (repo / "charts" / "web" / "link.yaml").unlink()
    with pytest.raises(RenderError, match=r"value file nope\.yaml: no such file"):
        _render(repo, HelmOptions(value_files=("nope.yaml",)))
    assert "Deployment/app-web" in _render(
        repo, HelmOptions(value_files=("nope.yaml",), ignore_missing_value_files=True))


def test_a_dependency_is_never_downloaded(tmp_path: Path) -> None:
    files = dict(CHART)
    files["Chart.yaml"] += ("dependencies:\n- name: redis\n  version: 1.0.0\n"
                            "  repository: https://charts.example.com\n")
    _chart(tmp_path, files)
    with pytest.raises(RenderError, match=r"helm template failed: .*redis"):
        _render(tmp_path, HelmOptions())


def test_a_chart_that_loops_is_stopped_by_the_render_deadline(tmp_path: Path) -> None:
    files = dict(CHART)
    files["templates/loop.yaml"] = (
        "{{- range $i := until 100000 }}{{- range $j := until 100000 }}{{ end }}{{ end }}\n")
    _chart(tmp_path, files)
    with pytest.raises(RenderError, match="render"):
        _render(tmp_path, HelmOptions(), budget=RenderBudget(timeout=3))



KUSTOMIZE = built("kustomize")
HELM_CHARTS = """\
helmCharts:
- name: web
  releaseName: shop
  namespace: prod
  valuesInline: {replicas: 3}
  includeCRDs: false
labels:
- pairs: {team: shop}
"""


@pytest.mark.skipif(KUSTOMIZE is None, reason="kustomize not built (fleetsync local build)")
def test_kustomize_helm_charts_are_inflated_by_the_same_helm_in_the_sandbox(
    tmp_path: Path
) -> None:
    _chart(tmp_path / "app")
    write(tmp_path, {"app/kustomization.yaml": HELM_CHARTS})
    assert KUSTOMIZE is not None and HELM is not None
    objects = build_or_fallback(tmp_path / "app", root=tmp_path, kustomize=KUSTOMIZE,
                                helm_binary=HELM)  # fmt: skip
    found = {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}
    assert sorted(found) == ["ConfigMap/settings", "Deployment/shop-web", "Job/migrate"]
    web = found["Deployment/shop-web"]
    assert web["spec"]["replicas"] == 3 and web["metadata"]["labels"] == {"team": "shop"}
    with pytest.raises(RenderError, match="kustomize build failed"):  # no helm: not inflated
        build_or_fallback(tmp_path / "app", root=tmp_path, kustomize=KUSTOMIZE)


def test_fleetsync_render_renders_a_chart_with_helm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    _chart(tmp_path)
    assert HELM is not None
    assert main(["render", str(tmp_path / "charts" / "web"), "--root", str(tmp_path),
                 "--helm", HELM, "--release", "shop", "--namespace", "prod"]) == 0
    out = capsys.readouterr().out
    assert "name: shop-web" in out and "namespace: prod" in out
