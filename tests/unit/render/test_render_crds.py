"""``crds``: OpenAPI definitions whose x-kubernetes extensions declare transformer fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import RenderError
from engine.render import SecurityError, build
from engine.render.crds import parse_crds
from engine.render.fieldspecs import FieldSpec
from engine.render.resid import Gvk
from tests.support.files import write

TYPE = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"}}


def _schema(**definitions: dict) -> str:
    return json.dumps({name: {"Schema": {"properties": props}}
                       for name, props in definitions.items()})


def _never(_where: str) -> None:
    return None


def test_object_references_become_name_references_of_the_kind() -> None:
    text = _schema(**{
        "ex.com/v1.Db": {**TYPE, "spec": {"$ref": "ex.com/v1.DbSpec"}},
        "ex.com/v1.DbSpec": {"creds": {"x-kubernetes-object-ref-api-version": "v1",
                                       "x-kubernetes-object-ref-kind": "Secret",
                                       "x-kubernetes-object-ref-name-key": "secretName"}}})
    (backref,) = parse_crds(text, "s.json", _never).name_references
    assert backref.target == Gvk("", "v1", "Secret")
    assert backref.referrers == (FieldSpec("spec/creds/secretName", kind="Db"),)


def test_markers_become_label_annotation_and_prefix_specs() -> None:
    text = _schema(**{"ex.com/v1.Pool": {**TYPE, "sel": {"x-kubernetes-label-selector": ""},
                                         "notes": {"x-kubernetes-annotation": ""},
                                         "worker": {"x-kubernetes-identity": ""},
                                         "other": {"x-kubernetes-identity": True}}})
    config = parse_crds(text, "s.json", _never)
    assert config.effective("commonLabels") == (FieldSpec("sel", kind="Pool"),)
    assert config.effective("commonAnnotations") == (FieldSpec("notes", kind="Pool"),)
    assert config.effective("namePrefix") == (FieldSpec("worker", kind="Pool"),)


def test_definitions_that_are_not_kubernetes_types_are_skipped() -> None:
    text = _schema(**{"ex.com/v1.Part": {"x": {"x-kubernetes-identity": ""}}})
    assert parse_crds(text, "s.json", _never).specs == {}


def test_a_ref_that_loops_back_is_not_followed() -> None:
    text = _schema(**{"ex.com/v1.Node": {**TYPE, "next": {"$ref": "ex.com/v1.Node"},
                                         "id": {"x-kubernetes-identity": ""}}})
    config = parse_crds(text, "s.json", _never)
    assert config.effective("namePrefix") == (FieldSpec("id", kind="Node"),)


def test_refs_fanning_out_are_refused_not_walked_for_ever() -> None:
    chain = {f"ex.com/v1.T{i}": {"a": {"$ref": f"ex.com/v1.T{i + 1}"},
                                  "b": {"$ref": f"ex.com/v1.T{i + 1}"}} for i in range(40)}
    text = _schema(**{"ex.com/v1.Top": {**TYPE, "t": {"$ref": "ex.com/v1.T0"}}}, **chain)
    with pytest.raises(SecurityError, match=r"more than \d+ steps"):
        parse_crds(text, "s.json", _never)


def test_the_walk_checks_the_render_budget() -> None:
    def stop(where: str) -> None:
        raise RenderError(f"{where}: stopped")

    with pytest.raises(RenderError, match=r"s.json: stopped"):
        parse_crds(_schema(**{"ex.com/v1.A": TYPE}), "s.json", stop)


def test_a_file_that_is_not_a_map_is_refused() -> None:
    with pytest.raises(RenderError, match=r"s.yaml: unable to parse open API definition"):
        parse_crds("- a\n- b\n", "s.yaml", _never)


def test_crds_file_outside_the_kustomization_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"app/kustomization.yaml": "crds: [../s.json]\n", "s.json": "{}\n"})
    with pytest.raises(SecurityError, match=r"'../s.json' is not in or below 'app'"):
        build(tmp_path / "app", root=tmp_path)
