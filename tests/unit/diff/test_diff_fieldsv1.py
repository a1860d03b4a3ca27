"""fieldsV1 parsing and ownership depth."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.diff import fieldsv1
from engine.diff.paths import Item

FIELDS = yaml.safe_load("""
f:metadata:
  f:labels: {.: {}, f:app: {}}
f:spec:
  f:selector: {}
  f:template:
    f:spec:
      f:containers:
        k:{"name":"web"}:
          .: {}
          f:ports:
            k:{"containerPort":80,"protocol":"TCP"}: {.: {}, f:containerPort: {}}
      f:finalizers: {v:"example.com/guard": {}}
      f:tolerations: {i:0: {f:key: {}}}
""")
LIVE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "ports": [{"containerPort": 80, "protocol": "TCP"}]}
                ],
                "finalizers": ["example.com/guard"],
                "tolerations": [{"key": "gpu"}],
            }
        }
    },
}
CONTAINER = ("spec", "template", "spec", "containers", Item(keys=(("name", "web"),)))


def test_owned_paths_lists_leaves_and_dot_marked_nodes() -> None:
    owned = fieldsv1.owned_paths(fieldsv1.parse(FIELDS))
    assert (("f", "metadata"), ("f", "labels")) in owned
    assert (("f", "metadata"), ("f", "labels"), ("f", "app")) in owned
    assert (("f", "spec"), ("f", "selector")) in owned
    assert (("f", "spec"), ("f", "template")) not in owned


@pytest.mark.parametrize(
    ("path", "depth"),
    [
        (("metadata", "labels", "app"), 3),
        (("metadata", "labels", "tier"), 2),  # a removed label: the owned map is the answer
        (("spec", "selector", "matchLabels", "app"), 2),  # atomic field owned as a whole
        (("spec", "replicas"), 0),
        ((*CONTAINER, "image"), 5),
        ((*CONTAINER, "ports", Item(keys=(("containerPort", 80),)), "containerPort"), 8),
        (("spec", "template", "spec", "finalizers", Item(index=0)), 5),
        (("spec", "template", "spec", "tolerations", Item(index=0), "key"), 6),
        (("spec", "template", "spec", "containers", Item(keys=(("name", "db"),))), 0),
    ],
)
def test_depth_owned_follows_keyed_set_and_index_items(path: Any, depth: int) -> None:
    assert fieldsv1.depth_owned(fieldsv1.parse(FIELDS), path, LIVE) == depth


def test_empty_or_missing_fields_own_nothing_below() -> None:
    assert fieldsv1.parse(None).children == {}
    assert fieldsv1.parse({"x:bogus": {}}).children == {}
