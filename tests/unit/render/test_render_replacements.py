"""``replacements``: field paths, ``path:`` files, selection, creation and value types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import RenderError
from engine.render import SecurityError, build, paths
from engine.render.replacements import apply_replacements, expand_entries
from engine.render.resources import Resource, ResourceList
from tests.support.files import write


@pytest.mark.parametrize(("path", "parts"), [
    ("a.b.c", ["a", "b", "c"]),
    ("metadata.annotations.[a.b/c]", ["metadata", "annotations", "a.b/c"]),
    ("spec.containers.[name=a.b].image", ["spec", "containers", "[name=a.b]", "image"]),
    ("a\\.b.c", ["a.b", "c"]),
    (".a.b", ["a", "b"]),
    ("x.[y]", ["x", "[y]"]),
])
def test_paths_split_as_kustomize_splits_them(path: str, parts: list[str]) -> None:
    assert paths.split(path) == parts


def test_split_indexes_turns_bracketed_numbers_into_parts() -> None:
    assert paths.split_indexes(["ports[0]", "port", "[1]", "a[b]"]) == [
        "ports", "0", "port", "1", "a[b]"]


OBJ = {"spec": {"containers": [{"name": "app", "image": "a", "ports": [{"port": 80}]},
                               {"name": "myapp", "image": "b"}, {"name": "x", "image": "c"}],
                "args": ["-v", "run"], "empty": {}}}


@pytest.mark.parametrize(("path", "value"), [
    ("spec.containers.[name=app].image", "a"),
    ("spec.containers.1.image", "b"),
    ("spec.containers.-.image", "c"),
    ("spec.args.[=run]", "run"),
    ("spec.containers.[name=ap].image", paths.MISSING),  # the source side matches exactly
    ("spec.nothing", paths.MISSING),
    ("spec.empty", paths.MISSING),
    ("spec.containers.9", paths.MISSING),
])
def test_lookup_finds_one_value(path: str, value: Any) -> None:
    assert paths.lookup(OBJ, path) == value


def test_lookup_refuses_a_wildcard() -> None:
    with pytest.raises(RenderError, match=r"wildcard is not supported"):
        paths.lookup(OBJ, "spec.containers.*.image")


def test_targets_match_items_by_unanchored_regular_expression() -> None:
    places = paths.Matcher("spec.containers.[name=app].image").places(OBJ)
    assert [p.value for p in places] == ["a", "b"]  # "myapp" matches as Go's MatchString


def test_wildcards_reach_every_item_and_skip_items_without_the_field() -> None:
    places = paths.Matcher("spec.containers.*.ports.0.port").places(OBJ)
    assert [p.value for p in places] == [80]


def test_create_makes_fields_list_items_and_selected_items() -> None:
    obj: dict[str, Any] = {}
    places = paths.Matcher("spec.list.[name=x].values.0", create=lambda: "").places(obj)
    assert obj == {"spec": {"list": [{"name": "x", "values": [""]}]}}
    assert len(places) == 1


def _res(kind: str, name: str, **fields: Any) -> Resource:
    return Resource({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, **fields})


def _apply(resources: ResourceList, *replacements: dict[str, Any]) -> None:
    apply_replacements(resources, [(f"r{i}", r) for i, r in enumerate(replacements)])


def test_a_scalar_target_keeps_its_type_and_a_created_one_reads_the_text() -> None:
    cm = _res("ConfigMap", "cm", data={"port": "8080"})
    svc = _res("Service", "svc", spec={"name": "x", "port": 80})
    _apply(ResourceList([cm, svc]), {
        "source": {"kind": "ConfigMap", "fieldPath": "data.port"},
        "targets": [{"select": {"kind": "Service"}, "fieldPaths": ["spec.name", "spec.port"]},
                    {"select": {"kind": "Service"}, "fieldPaths": ["spec.new"],
                     "options": {"create": True}}]})
    assert svc.obj["spec"] == {"name": "8080", "port": 8080, "new": 8080}


def test_a_missing_target_field_is_an_error_unless_created() -> None:
    resources = ResourceList([_res("ConfigMap", "cm", data={"k": "v"})])
    with pytest.raises(RenderError, match=r"unable to find field 'data.x' in replacement"):
        _apply(resources, {"source": {"kind": "ConfigMap", "fieldPath": "data.k"},
                           "targets": [{"select": {"kind": "ConfigMap"},
                                        "fieldPaths": ["data.x"]}]})


def test_reject_by_id_and_by_label_selector() -> None:
    a = _res("ConfigMap", "a", data={"k": "a"})
    b = _res("ConfigMap", "b", data={"k": "b"})
    c = _res("ConfigMap", "c", data={"k": "c"})
    c.metadata["labels"] = {"keep": "yes"}
    _apply(ResourceList([a, b, c]), {
        "sourceValue": "new",
        "targets": [{"select": {"kind": "ConfigMap"}, "fieldPaths": ["data.k"],
                     "reject": [{"name": "a"}, {"labelSelector": "keep=yes"}]}]})
    assert [r.obj["data"]["k"] for r in (a, b, c)] == ["a", "new", "c"]


def test_source_and_source_value_are_exclusive() -> None:
    with pytest.raises(RenderError, match=r"mutually exclusive"):
        _apply(ResourceList([]), {"source": {"kind": "X"}, "sourceValue": "v", "targets": []})


def test_replacements_check_the_render_budget_at_each_target() -> None:
    steps: list[str] = []
    targets = [{"select": {"kind": "Nothing"}}] * 3
    apply_replacements(ResourceList([]), [("r0", {"sourceValue": "v", "targets": targets})],
                       step=steps.append)
    assert steps == ["r0"] * 4


def test_path_entries_expand_to_the_replacements_of_their_file() -> None:
    loaded = {"one.yaml": [{"sourceValue": "a", "targets": []}],
              "many.yaml": [{"sourceValue": "b", "targets": []},
                            {"sourceValue": "c", "targets": []}]}
    entries = expand_entries([{"path": "one.yaml"}, {"sourceValue": "i", "targets": []},
                              {"path": "many.yaml"}], "k.yaml", loaded.__getitem__)
    assert [e["sourceValue"] for _, e in entries] == ["a", "i", "b", "c"]


def test_replacements_file_outside_the_kustomization_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"app/kustomization.yaml": "replacements:\n- path: ../r.yaml\n",
                     "r.yaml": "[]\n"})
    with pytest.raises(SecurityError, match=r"'../r.yaml' is not in or below 'app'"):
        build(tmp_path / "app", root=tmp_path)
