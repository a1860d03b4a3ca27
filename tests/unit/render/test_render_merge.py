"""Strategic merge and JSON merge patch over small fixtures."""

from __future__ import annotations

import pytest
import yaml

from engine.render.merge import apply_patch


def y(text: str) -> dict:
    return yaml.safe_load(text)


POD = """
apiVersion: v1
kind: Pod
metadata: {name: p, finalizers: [a, b]}
spec:
  containers:
  - {name: a, image: a, env: [{name: X, value: "1"}]}
  - {name: b, image: b}
  volumes:
  - {name: v, emptyDir: {}}
"""

A = {"name": "a", "image": "a", "env": [{"name": "X", "value": "1"}]}


@pytest.mark.parametrize(("patch", "expected"), [
    pytest.param("spec: {containers: [{name: b, image: b2}]}",
                 {"containers": [{"name": "b", "image": "b2"}, A]},
                 id="patched-elements-first-then-rest"),
    pytest.param("spec: {containers: [{name: c, image: c}]}",
                 {"containers": [{"name": "c", "image": "c"}, A, {"name": "b", "image": "b"}]},
                 id="new-element-prepended"),
    pytest.param("spec: {containers: [{$patch: replace}, {name: z, image: z}]}",
                 {"containers": [{"name": "z", "image": "z"}]}, id="list-replace-directive"),
    pytest.param("spec: {containers: [{name: a, $patch: delete}]}",
                 {"containers": [{"name": "b", "image": "b"}]}, id="element-delete-directive"),
    pytest.param("spec: {volumes: null}", {}, id="null-removes-field"),
    pytest.param("spec: {containers: [{name: a, command: [sh]}]}",
                 {"containers": [{"name": "a", "image": "a", "command": ["sh"],
                                  "env": [{"name": "X", "value": "1"}]},
                                 {"name": "b", "image": "b"}]}, id="merge-into-element"),
])
def test_strategic_merge_of_pod_spec(patch: str, expected: dict) -> None:
    merged = apply_patch(y(POD), y(patch))
    assert merged is not None
    for key, value in expected.items():
        assert merged["spec"][key] == value
    if "volumes" not in expected and "volumes: null" in patch:
        assert "volumes" not in merged["spec"]


def test_finalizers_take_the_union_patch_first() -> None:
    merged = apply_patch(y(POD), y("metadata: {finalizers: [c, a]}"))
    assert merged is not None
    assert merged["metadata"]["finalizers"] == ["c", "a", "b"]


def test_map_replace_directive_replaces_the_whole_map() -> None:
    merged = apply_patch(y(POD), y("metadata: {$patch: replace, name: q}"))
    assert merged is not None
    assert merged["metadata"] == {"name": "q"}


def test_top_level_delete_directive_deletes_the_object() -> None:
    assert apply_patch(y(POD), y("$patch: delete")) is None


@pytest.mark.parametrize(("target", "patch", "expected"), [
    ("spec: {items: [1, 2]}", "spec: {items: [3]}", {"items": [3]}),
    ("spec: {m: {x: 1, y: 2}}", "spec: {m: {x: null, z: 3}}", {"m": {"y": 2, "z": 3}}),
    ("spec: {a: 1}", "spec: {b: {c: 2}}", {"a": 1, "b": {"c": 2}}),
])
def test_unknown_kinds_merge_as_json_merge_patch(target: str, patch: str, expected: dict) -> None:
    base = {"apiVersion": "example.com/v1", "kind": "Widget", **y(target)}
    merged = apply_patch(base, y(patch))
    assert merged is not None
    assert merged["spec"] == expected
