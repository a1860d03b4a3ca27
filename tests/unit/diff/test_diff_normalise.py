"""``normalise`` copies what it returns: the caller's object is left as it was, and no map
or list of the result is one of the input's (the diff edits the result in place)."""

from __future__ import annotations

import copy
from typing import Any

from engine.diff.normalise import fingerprint, normalise


def _containers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *(c for child in value.values() for c in _containers(child))]
    if isinstance(value, list):
        return [value, *(c for child in value for c in _containers(child))]
    return []


def _secret() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "uid": "u-1", "resourceVersion": "7",
                         "managedFields": [{"manager": "m", "fieldsV1": {"f:data": {}}}],
                         "annotations": {"deployment.kubernetes.io/revision": "3", "a": "b"},
                         "labels": {"x": "y", "empty": None}},
            "data": {"k": "dg=="}, "stringData": {"n": "v"},
            "spec": {"list": [{"a": [1, {"b": {}}]}], "empty": {}},
            "status": {"phase": "x"}}


def test_normalise_leaves_its_input_unchanged_and_shares_no_container_with_it() -> None:
    obj = _secret()
    before = copy.deepcopy(obj)
    out = normalise(obj)
    assert obj == before
    assert out == {"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "s", "annotations": {"a": "b"}, "labels": {"x": "y"}},
                   "data": {"k": "dg==", "n": "dg=="},
                   "spec": {"list": [{"a": [1, {}]}]}}
    inputs = {id(c) for c in _containers(obj)}
    assert not [c for c in _containers(out) if id(c) in inputs]


def test_a_fingerprint_ignores_server_bookkeeping_and_status() -> None:
    obj = _secret()
    bare = normalise(obj)
    assert fingerprint(obj) == fingerprint({**bare, "status": {"other": 1}})
