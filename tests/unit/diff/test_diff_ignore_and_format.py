"""ignoreDifferences parsing and matching, normalisation, app summary and CLI text."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.diff import IgnoreRule, format_diff, summarise, unsupported
from engine.diff.ignore import remove_pointer
from engine.diff.normalise import normalise
from engine.errors import ConfigError
from engine.model import ResourceKey, SyncStatus
from engine.model.diffs import Attribution, ObjectDiff

ARGO = yaml.safe_load("""
- group: apps
  kind: Deployment
  jsonPointers: [/spec/replicas]
- kind: ConfigMap
  name: cfg
  namespace: shop
  jqPathExpressions: ['.data.x']
- group: "*"
  kind: "*"
  managedFieldsManagers: [kube-controller-manager]
""")
DEPLOY = ResourceKey("apps", "Deployment", "shop", "web")
CM = ResourceKey("", "ConfigMap", "shop", "cfg")


def test_from_argo_reads_every_field() -> None:
    rules = [IgnoreRule.from_argo(r) for r in ARGO]
    assert rules[0] == IgnoreRule(
        group="apps", kind="Deployment", json_pointers=("/spec/replicas",)
    )
    assert rules[1].jq_path_expressions == (".data.x",)
    assert rules[2].managed_fields_managers == ("kube-controller-manager",)


@pytest.mark.parametrize(
    ("index", "key", "applies"),
    [
        (0, DEPLOY, True),
        (0, CM, False),
        (1, CM, True),
        (1, ResourceKey("", "ConfigMap", "other", "cfg"), False),
        (2, DEPLOY, True),
        (2, CM, True),
    ],
)
def test_rule_selects_by_group_kind_name_namespace(
    index: int, key: ResourceKey, applies: bool
) -> None:
    assert IgnoreRule.from_argo(ARGO[index]).applies_to(key) is applies


def test_core_group_rule_does_not_match_apps() -> None:
    assert not IgnoreRule(kind="Deployment").applies_to(DEPLOY)


def test_jq_path_expressions_are_reported_unsupported() -> None:
    messages = unsupported([IgnoreRule.from_argo(r) for r in ARGO])
    assert len(messages) == 1 and "jqPathExpressions" in messages[0]


@pytest.mark.parametrize("bad", [{"kind": 3}, {"jsonPointers": "/spec"}, "Deployment"])
def test_from_argo_rejects_wrong_types(bad: Any) -> None:
    with pytest.raises(ConfigError):
        IgnoreRule.from_argo(bad)


def test_json_pointer_unescapes_and_indexes_lists() -> None:
    obj = {"metadata": {"annotations": {"a/b": "1", "c": "2"}}, "l": [1, 2]}
    remove_pointer(obj, "/metadata/annotations/a~1b")
    remove_pointer(obj, "/l/0")
    remove_pointer(obj, "/not/there")
    assert obj == {"metadata": {"annotations": {"c": "2"}}, "l": [2]}


def test_normalise_treats_empty_as_absent_and_folds_string_data() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "labels": {}},
        "stringData": {"k": "v"},
        "data": {"k": "b2xk"},
        "status": {},
    }
    assert normalise(secret) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"k": "dg=="},
    }


def _diff(status: SyncStatus, reason: str = "Drift") -> ObjectDiff:
    return ObjectDiff(DEPLOY, status, reason)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], SyncStatus.SYNCED),
        ([SyncStatus.SYNCED, SyncStatus.SYNCED], SyncStatus.SYNCED),
        ([SyncStatus.SYNCED, SyncStatus.UNKNOWN], SyncStatus.UNKNOWN),
        ([SyncStatus.UNKNOWN, SyncStatus.OUT_OF_SYNC], SyncStatus.OUT_OF_SYNC),
    ],
)
def test_summarise_is_out_of_sync_if_any_object_differs(
    statuses: Any, expected: SyncStatus
) -> None:
    assert summarise(_diff(s) for s in statuses) == expected


def test_format_diff_names_key_reason_paths_and_managers() -> None:
    path = ".spec.template.spec.containers[name=web].image"
    diff = ObjectDiff(
        DEPLOY,
        SyncStatus.OUT_OF_SYNC,
        "Drift",
        paths=(path, ".spec.paused"),
        sides=({"spec": {"paused": False}}, {"spec": {"paused": True}}),
        drift=(
            Attribution(path, "kubectl-edit", "Update", "2026-11-28T00:03:36Z"),
            Attribution(".spec.paused", "", "", None),
        ),
    )
    text = format_diff([diff, _diff(SyncStatus.SYNCED, "InSync")])
    assert text.splitlines() == [
        "apps/Deployment:shop/web: OutOfSync (Drift)",
        f"  {path} changed by kubectl-edit (Update) at 2026-11-28T00:03:36Z",
        "  .spec.paused (no other field manager owns it)",
        "--- live/apps/Deployment:shop/web",
        "+++ desired/apps/Deployment:shop/web",
        "@@ -1,2 +1,2 @@",
        " spec:",
        "-  paused: false",
        "+  paused: true",
    ]


def test_format_diff_when_everything_is_in_sync() -> None:
    assert format_diff([_diff(SyncStatus.SYNCED, "InSync")]) == "in sync: 1 object(s)\n"


def test_diff_object_needs_desired_or_live() -> None:
    from engine.diff import diff_object

    with pytest.raises(ValueError, match="desired or a live"):
        diff_object(desired=None, predicted=None, live=None)
