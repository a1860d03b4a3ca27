"""``buildMetadata``: origin and transformer annotations, the managed-by label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.errors import RenderError
from engine.render import SecurityError, build
from engine.render.buildmetadata import (
    KUSTOMIZE_VERSION,
    ORIGIN,
    TRANSFORMATIONS,
    Tracking,
    transformer_kinds,
)
from engine.render.resources import Resource
from tests.support.files import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_the_version_in_the_label_is_the_pinned_kustomize() -> None:
    go_mod = Path(__file__).parents[3] / "clusters/local/go/kubernetes/go.mod"
    pinned = re.search(r"sigs\.k8s\.io/kustomize/kustomize/v5 (v\S+)", go_mod.read_text())
    assert pinned is not None and pinned.group(1) == KUSTOMIZE_VERSION


def test_transformers_are_listed_in_kustomize_order_one_per_configured_instance() -> None:
    fields = {"images": [{}, {}], "labels": [{}], "namePrefix": "p-", "patches": [{}],
              "replacements": [{}], "commonAnnotations": {"a": "b"}}
    assert transformer_kinds(fields) == [
        "PatchTransformer", "PrefixTransformer", "LabelTransformer", "LabelTransformer",
        "AnnotationsTransformer", "ImageTagTransformer", "ImageTagTransformer",
        "ReplacementTransformer"]


def _res() -> Resource:
    return Resource({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})


def test_nothing_is_tracked_without_options(tmp_path: Path) -> None:
    res = _res()
    tracking = Tracking(frozenset(), tmp_path)
    tracking.loaded([res], tmp_path / "cm.yaml")
    tracking.transformed([res], tmp_path / "kustomization.yaml", {"namePrefix": "p-"})
    assert res.obj["metadata"] == {"name": "cm"}


def test_origins_and_transformations_are_recorded_then_kept_if_asked(tmp_path: Path) -> None:
    res = _res()
    tracking = Tracking(frozenset({"originAnnotations", "transformerAnnotations"}), tmp_path)
    tracking.loaded([res], tmp_path / "base" / ".." / "base" / "cm.yaml")
    tracking.transformed([res], tmp_path / "kustomization.yaml", {"namePrefix": "p-"})
    tracking.finish([res])
    assert res.annotations() == {
        ORIGIN: "path: base/cm.yaml\n",
        TRANSFORMATIONS: "- configuredIn: kustomization.yaml\n  configuredBy:\n"
                         "    apiVersion: builtin\n    kind: PrefixTransformer\n"}


def test_finish_removes_what_was_not_asked_and_adds_the_label(tmp_path: Path) -> None:
    res = _res()
    res.metadata["annotations"] = {ORIGIN: "path: x\n", TRANSFORMATIONS: "[]"}
    Tracking(frozenset({"managedByLabel"}), tmp_path).finish([res])
    assert res.obj["metadata"] == {
        "name": "cm", "labels": {"app.kubernetes.io/managed-by": f"kustomize-{KUSTOMIZE_VERSION}"}}


def test_a_transformations_annotation_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    res = _res()
    res.metadata["annotations"] = {ORIGIN: "path: x\n", TRANSFORMATIONS: "a: b"}
    tracking = Tracking(frozenset({"transformerAnnotations"}), tmp_path)
    with pytest.raises(RenderError, match="is not a list of origins"):
        tracking.transformed([res], tmp_path / "kustomization.yaml", {"namePrefix": "p-"})


def test_a_transformations_annotation_is_parsed_with_the_yaml_guards(tmp_path: Path) -> None:
    bomb = "- &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"- &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6))
    res = _res()
    res.metadata["annotations"] = {ORIGIN: "path: x\n", TRANSFORMATIONS: bomb}
    tracking = Tracking(frozenset({"transformerAnnotations"}), tmp_path)
    with pytest.raises(SecurityError, match="alias bomb"):
        tracking.transformed([res], tmp_path / "kustomization.yaml", {"namePrefix": "p-"})


def test_only_the_top_kustomization_decides(tmp_path: Path) -> None:
    write(tmp_path, {"base/kustomization.yaml": "resources: [cm.yaml]\n"
                                                "buildMetadata: [managedByLabel]\n",
                     "base/cm.yaml": CM.format(name="cm"),
                     "app/kustomization.yaml": "resources: [../base]\n"})
    assert build(tmp_path / "app", root=tmp_path) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}]


def test_build_metadata_entries_must_be_strings(tmp_path: Path) -> None:
    write(tmp_path, {"kustomization.yaml": "buildMetadata: [[x]]\n"})
    with pytest.raises(RenderError, match="buildMetadata entries must be strings"):
        build(tmp_path)
