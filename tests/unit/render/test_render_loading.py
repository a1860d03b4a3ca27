"""Reading manifests: YAML 1.2 scalars, plain directories, kustomization validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RenderError
from engine.render import UnsupportedFieldError, build
from engine.render.loader import parse_documents
from tests.support.files import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


@pytest.mark.parametrize(("text", "value"), [
    ("on", "on"), ("yes", "yes"), ("y", "y"), ("2024-01-01", "2024-01-01"), ("0755", 755),
    ("0x1F", 31), ("1.5", 1.5), ("true", True), ("null", None), ("'1'", "1"),
])
def test_scalars_follow_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert parse_documents(f"v: {text}\n", "t.yaml")[0].value == {"v": value}


def test_invalid_yaml_names_file_and_line() -> None:
    with pytest.raises(RenderError, match=r"bad.yaml:4: invalid YAML"):
        parse_documents("a: 1\nb: 2\nc: [\n", "bad.yaml")


@pytest.mark.parametrize(("recurse", "names"), [(False, ["a", "b", "j"]),
                                                (True, ["a", "b", "j", "deep"])])
def test_plain_directory_renders_files_in_name_order(
        tmp_path: Path, recurse: bool, names: list[str]) -> None:
    write(tmp_path, {
        "b.yml": CM.format(name="b"),
        "a.yaml": CM.format(name="a"),
        "c.json": '{"apiVersion": "v1", "kind": "List", "items": [' +
                  '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}]}',
        "notes.txt": "ignored",
        "sub/d.yaml": CM.format(name="deep"),
    })
    objects = build(tmp_path, recurse=recurse)
    assert [o["metadata"]["name"] for o in objects] == names


@pytest.mark.parametrize(("kustomization", "error", "match"), [
    ("helmCharts: []\n", UnsupportedFieldError, "helmCharts"),
    ("namePrefx: x\n", RenderError, "namePrefx"),
    ("resources: x.yaml\n", RenderError, "must be a list"),
    ("kind: Component\napiVersion: kustomize.config.k8s.io/v1beta1\n", RenderError,
     "apiVersion"),
])
def test_invalid_kustomizations_name_the_field(
        tmp_path: Path, kustomization: str, error: type[Exception], match: str) -> None:
    write(tmp_path, {"kustomization.yaml": kustomization})
    with pytest.raises(error, match=match):
        build(tmp_path)


def test_two_kustomization_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {"kustomization.yaml": "resources: []\n",
                     "kustomization.yml": "resources: []\n"})
    with pytest.raises(RenderError, match="multiple kustomization files"):
        build(tmp_path)


def test_cycle_between_kustomizations_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"a/kustomization.yaml": "resources: [../b]\n",
                     "b/kustomization.yaml": "resources: [../a]\n"})
    with pytest.raises(RenderError, match="cycle"):
        build(tmp_path / "a", root=tmp_path)
