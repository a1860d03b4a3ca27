"""The watches' drift fingerprint is the diff's normal form: they agree on what changed."""

from __future__ import annotations

import copy
from typing import Any

from engine.diff.normalise import fingerprint

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "dev", "labels": {"app": "web"},
                 "annotations": {"team": "a"}, "resourceVersion": "1", "generation": 1,
                 "uid": "u-1", "managedFields": [{"manager": "fleetsync"}]},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web"}]}}},
    "status": {"readyReplicas": 2},
}  # fmt: skip


def changed(**edits: Any) -> dict[str, Any]:
    obj = copy.deepcopy(DEPLOYMENT)
    for path, value in edits.items():
        *parents, leaf = path.split("__")
        node = obj
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return obj


def test_server_bookkeeping_status_and_noisy_annotations_are_no_change() -> None:
    noise = changed(metadata__resourceVersion="9", metadata__generation=5,
                    metadata__managedFields=[{"manager": "kubectl"}],
                    status={"readyReplicas": 0},
                    metadata__annotations={"team": "a",
                                           "deployment.kubernetes.io/revision": "7"})
    assert fingerprint(noise) == fingerprint(DEPLOYMENT)


def test_empty_maps_and_lists_count_as_absent_as_in_the_diff() -> None:
    bare = copy.deepcopy(DEPLOYMENT)
    del bare["metadata"]["annotations"]
    emptied = changed(metadata__annotations={}, spec__template__metadata={"labels": {}})
    assert fingerprint(emptied) == fingerprint(bare)


def test_secret_string_data_is_the_data_it_becomes() -> None:
    plain = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
             "data": {"k": "dg=="}}  # fmt: skip
    written = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
               "stringData": {"k": "v"}}  # fmt: skip
    assert fingerprint(written) == fingerprint(plain)


def test_what_users_declare_changes_it() -> None:
    for edit in ({"spec__replicas": 3}, {"metadata__labels": {"app": "other"}},
                 {"metadata__annotations": {"team": "b"}}):  # fmt: skip
        assert fingerprint(changed(**edit)) != fingerprint(DEPLOYMENT), edit
