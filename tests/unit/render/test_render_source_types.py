"""Only Kubernetes objects are ever rendered: a Helm chart, a Jsonnet file or a document
that is not an object fails with its file named, and an empty render says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import render
from engine.cli import main
from engine.errors import RenderError, UnsupportedSourceError

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n"
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: guestbook\nversion: 0.1.0\n",
    "values.yaml": "replicaCount: 1\nimage:\n  repository: nginx\n",
    "templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                 "  name: {{ .Release.Name }}\n",
}
JSONNET = {
    "guestbook.jsonnet": "local lib = import 'lib.libsonnet';\n[lib.service('guestbook')]\n",
    "lib.libsonnet": "{ service(name):: { apiVersion: 'v1', kind: 'Service' } }\n",
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_helm_chart_directory_is_refused_naming_its_chart(tmp_path: Path) -> None:
    chart = _tree(tmp_path / "repo" / "helm-guestbook", CHART)
    with pytest.raises(UnsupportedSourceError, match=r"^helm-guestbook: a Helm chart \(Chart"):
        render.build(chart, root=tmp_path / "repo")


def test_a_kustomization_beside_a_chart_is_built_as_kustomize(tmp_path: Path) -> None:
    both = _tree(tmp_path, CHART | {"cm.yaml": CONFIGMAP,
                                    "kustomization.yaml": "resources:\n- cm.yaml\n"})
    assert [o["kind"] for o in render.build(both)] == ["ConfigMap"]


def test_a_jsonnet_file_is_refused_not_skipped(tmp_path: Path) -> None:
    directory = _tree(tmp_path, JSONNET)
    with pytest.raises(UnsupportedSourceError, match=r"^guestbook\.jsonnet: a Jsonnet file"):
        render.build(directory)


def test_a_jsonnet_file_beside_manifests_is_refused_too(tmp_path: Path) -> None:
    directory = _tree(tmp_path, JSONNET | {"cm.yaml": CONFIGMAP})
    with pytest.raises(UnsupportedSourceError, match="Jsonnet"):
        render.build(directory)


def test_jsonnet_in_a_subdirectory_is_refused_when_recursing(tmp_path: Path) -> None:
    directory = _tree(tmp_path, {"cm.yaml": CONFIGMAP, "lib/app.jsonnet": "{}\n"})
    assert len(render.build(directory)) == 1  # not read without recurse, as in Argo CD
    with pytest.raises(UnsupportedSourceError, match=r"^lib/app\.jsonnet"):
        render.build(directory, recurse=True)


def test_jsonnet_libraries_alone_are_not_entry_points(tmp_path: Path) -> None:
    directory = _tree(tmp_path, {"lib.libsonnet": JSONNET["lib.libsonnet"], "cm.yaml": CONFIGMAP})
    assert [o["kind"] for o in render.build(directory)] == ["ConfigMap"]


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("replicaCount: 1\n", "no apiVersion and no kind"),
        ("kind: ConfigMap\nmetadata: {name: a}\n", "no apiVersion"),
        ("apiVersion: v1\nmetadata: {name: a}\n", "no kind"),
        ("apiVersion: v1\nkind: ''\nmetadata: {name: a}\n", "no kind"),
        ("apiVersion: 1\nkind: ConfigMap\nmetadata: {name: a}\n", "no apiVersion"),
    ],
)
def test_a_document_that_is_not_an_object_is_an_error_naming_file_and_line(
        tmp_path: Path, text: str, missing: str) -> None:
    directory = _tree(tmp_path, {"a.yaml": CONFIGMAP, "b.yaml": CONFIGMAP + "---\n" + text})
    with pytest.raises(RenderError) as caught:
        render.build(directory)
    assert str(caught.value) == f"b.yaml:8: not a Kubernetes object: {missing}"


def test_a_values_file_in_a_recursed_subdirectory_is_named(tmp_path: Path) -> None:
    directory = _tree(tmp_path, {"cm.yaml": CONFIGMAP, "charts/web/values.yaml": "a: 1\n"})
    with pytest.raises(RenderError, match=r"^charts/web/values\.yaml:1: not a Kubernetes"):
        render.build(directory, recurse=True)


def test_render_cli_refuses_a_chart_and_warns_of_an_empty_render(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = _tree(tmp_path / "chart", CHART)
    assert main(["render", "--root", str(tmp_path), str(chart)]) != 0
    assert "chart: a Helm chart (Chart.yaml)" in capsys.readouterr().err
    empty = _tree(tmp_path / "docs", {"README.md": "# nothing to deploy\n"})
    assert main(["render", "--root", str(tmp_path), str(empty)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "renders no objects" in err
