"""Path formatting, list keys and structural comparison."""

from __future__ import annotations

from typing import Any

import pytest

from engine.diff.compare import differences, overlay
from engine.diff.paths import Item, format_path, list_keys


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("data", "colour"), ".data.colour"),
        (
            ("metadata", "labels", "app.kubernetes.io/name"),
            '.metadata.labels["app.kubernetes.io/name"]',
        ),
        (
            ("spec", "containers", Item(keys=(("name", "web"),)), "image"),
            ".spec.containers[name=web].image",
        ),
        (
            ("ports", Item(keys=(("containerPort", 53), ("protocol", "UDP")))),
            "ports[containerPort=53,protocol=UDP]",
        ),
        (("args", Item(index=2)), "args[2]"),
        (("x", Item(keys=(("name", "a b"),))), '.x[name="a b"]'),
        ((), "."),
    ],
)
def test_format_path(path: Any, text: str) -> None:
    assert format_path(path).lstrip(".") == text.lstrip(".")


@pytest.mark.parametrize(
    ("lists", "keys"),
    [
        (([{"name": "a"}], [{"name": "b"}]), ("name",)),
        (
            ([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 80, "protocol": "UDP"}],),
            ("containerPort", "protocol"),
        ),
        (([{"name": "v", "mountPath": "/a"}, {"name": "v", "mountPath": "/b"}],), ("mountPath",)),
        ((["a", "b"],), None),
        (([{"x": 1}],), None),
    ],
)
def test_list_keys_are_inferred_present_and_unique(lists: Any, keys: Any) -> None:
    assert list_keys(*lists) == keys


def test_keyed_lists_compare_by_key_not_order() -> None:
    live = {"c": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}
    target = {"c": [{"name": "b", "v": 3}, {"name": "a", "v": 1}, {"name": "n"}]}
    assert [format_path(p) for p in differences(live, target)] == [".c[name=b].v", ".c[name=n]"]


def test_scalar_lists_differ_as_a_whole_and_bool_is_not_int() -> None:
    assert [
        format_path(p) for p in differences({"a": [1, 2], "b": True}, {"a": [2, 1], "b": 1})
    ] == [".a", ".b"]


def test_overlay_keeps_live_only_fields_and_items() -> None:
    live = {"spec": {"replicas": 1, "extra": "x", "c": [{"name": "a", "i": "1"}, {"name": "side"}]}}
    desired = {"spec": {"replicas": 2, "c": [{"name": "a", "i": "2"}, {"name": "new"}]}}
    assert overlay(live, desired) == {
        "spec": {
            "replicas": 2,
            "extra": "x",
            "c": [{"name": "a", "i": "2"}, {"name": "side"}, {"name": "new"}],
        }
    }
