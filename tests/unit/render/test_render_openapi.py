"""``openapi``: a custom schema's list strategies, which schema wins, and its scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RenderError
from engine.render import SecurityError, build, merge
from engine.render.openapi import ListStrategy, SchemaState, parse_schema
from engine.render.resid import Gvk
from tests.support.files import write

SCHEMA = {"definitions": {
    "x.v1.Pool": {"x-kubernetes-group-version-kind": [
        {"group": "x.example.com", "version": "v1", "kind": "Pool"}],
        "properties": {"spec": {"$ref": "#/definitions/x.v1.Spec"}}},
    "x.v1.Spec": {"properties": {
        "workers": {"type": "array", "items": {"$ref": "#/definitions/x.v1.Worker"},
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name"},
        "zones": {"type": "array", "x-kubernetes-patch-strategy": "merge"},
        "groups": {"additionalProperties": {"properties": {"hosts": {
            "type": "array", "x-kubernetes-patch-strategy": "retainKeys,merge",
            "x-kubernetes-patch-merge-key": "ip",
            "x-kubernetes-list-map-keys": ["ip", "port"]}}}},
        "plain": {"type": "array"}}},
    "x.v1.Worker": {"properties": {"env": {
        "type": "array", "x-kubernetes-patch-strategy": "merge",
        "x-kubernetes-patch-merge-key": "key"}}},
}}


@pytest.mark.parametrize(("path", "strategy"), [
    (("spec", "workers"), ListStrategy(("name",))),
    (("spec", "workers", "env"), ListStrategy(("key",))),
    (("spec", "zones"), ListStrategy(())),
    (("spec", "groups", "any-name", "hosts"), ListStrategy(("ip", "port"))),
    (("spec", "plain"), None),
    (("spec", "unknown"), None),
])
def test_list_strategies_follow_refs_items_and_map_values(
        path: tuple[str, ...], strategy: ListStrategy | None) -> None:
    kind = parse_schema(json.dumps(SCHEMA), "s.json").kind(Gvk("x.example.com", "v1", "Pool"))
    assert kind is not None and kind.list_strategy(path) == strategy


def test_a_kind_without_group_version_kind_is_not_in_the_schema() -> None:
    schema = parse_schema("definitions:\n  a: {properties: {}}\n", "s.yaml")
    assert schema.kind(Gvk("", "v1", "ConfigMap")) is None


def test_a_ref_chain_is_bounded() -> None:
    gvk = [{"group": "", "version": "v1", "kind": "K"}]
    loop = {"definitions": {
        "k": {"x-kubernetes-group-version-kind": gvk,
              "properties": {"a": {"$ref": "#/definitions/a"}}},
        "a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}}
    kind = parse_schema(json.dumps(loop), "s.json").kind(Gvk("", "v1", "K"))
    assert kind is not None
    with pytest.raises(SecurityError, match=r"\$ref chain longer than"):
        kind.list_strategy(("a",))


def _read(text: str) -> Any:
    return lambda path: (text, path)


def test_the_first_schema_named_wins() -> None:
    state = SchemaState()
    state.declare({"version": "v1.21.2"}, "a", _read(""))
    state.declare({"version": "v9"}, "b", _read(""))  # ignored: already decided
    assert state.decided and merge.CUSTOM_SCHEMA.get() is None


def test_version_and_path_together_are_refused_even_after_a_schema_was_chosen() -> None:
    state = SchemaState(decided=True)
    with pytest.raises(RenderError, match="cannot use both"):
        state.declare({"version": "v1.21.2", "path": "s.json"}, "k.yaml", _read(""))


def test_only_the_built_in_version_is_known() -> None:
    with pytest.raises(RenderError, match=r"k.yaml: openapi version 'v1.14.1'"):
        SchemaState().declare({"version": "v1.14.1"}, "k.yaml", _read(""))


DEPLOY = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
          "  template:\n    spec:\n      containers:\n      - {name: a, image: a}\n"
          "      - {name: b, image: b}\n")


def test_a_schema_ends_with_its_render(tmp_path: Path) -> None:
    write(tmp_path, {"kustomization.yaml": "resources: [d.yaml]\nopenapi: {path: s.json}\n",
                     "d.yaml": DEPLOY, "s.json": json.dumps(SCHEMA)})
    build(tmp_path)
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"containers": [{"name": "a", "image": "a"}, {"name": "b"}]}}
    patch = {"spec": {"containers": [{"name": "b", "image": "b2"}]}}
    merged = merge.apply_patch(target, patch)
    assert merged is not None and len(merged["spec"]["containers"]) == 2  # built-in again


def test_openapi_file_outside_the_kustomization_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"app/kustomization.yaml": "openapi: {path: ../s.json}\n",
                     "s.json": "{}"})
    with pytest.raises(SecurityError, match=r"'../s.json' is not in or below 'app'"):
        build(tmp_path / "app", root=tmp_path)


def test_remote_openapi_schema_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"kustomization.yaml": "openapi: {path: 'https://example.com/s.json'}\n"})
    with pytest.raises(RenderError, match=r"openapi: remote file .* not supported"):
        build(tmp_path)
