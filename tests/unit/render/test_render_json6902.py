"""RFC 6902 operations."""

from __future__ import annotations

import pytest

from engine.errors import RenderError
from engine.render.json6902 import apply_ops


@pytest.mark.parametrize(("op", "expected"), [
    ({"op": "add", "path": "/a/-", "value": 9}, {"a": [1, 2, 9], "b": {"c": 1}}),
    ({"op": "add", "path": "/a/0", "value": 0}, {"a": [0, 1, 2], "b": {"c": 1}}),
    ({"op": "remove", "path": "/b/c"}, {"a": [1, 2], "b": {}}),
    ({"op": "replace", "path": "/a/1", "value": 5}, {"a": [1, 5], "b": {"c": 1}}),
    ({"op": "move", "from": "/b/c", "path": "/d"}, {"a": [1, 2], "b": {}, "d": 1}),
    ({"op": "copy", "from": "/a", "path": "/e"}, {"a": [1, 2], "b": {"c": 1}, "e": [1, 2]}),
    ({"op": "test", "path": "/b/c", "value": 1}, {"a": [1, 2], "b": {"c": 1}}),
    ({"op": "add", "path": "/x~1y", "value": 1}, {"a": [1, 2], "b": {"c": 1}, "x/y": 1}),
])
def test_operation(op: dict, expected: dict) -> None:
    assert apply_ops({"a": [1, 2], "b": {"c": 1}}, [op], "t") == expected


@pytest.mark.parametrize("op", [
    {"op": "replace", "path": "/missing", "value": 1},
    {"op": "remove", "path": "/a/5"},
    {"op": "test", "path": "/b/c", "value": 2},
    {"op": "add", "path": "/nope/deeper", "value": 1},
])
def test_failing_operation_names_the_op(op: dict) -> None:
    with pytest.raises(RenderError, match=op["op"]):
        apply_ops({"a": [1, 2], "b": {"c": 1}}, [op], "t")
