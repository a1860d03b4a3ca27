"""Which rendered objects are hooks (Argo CD's annotation, Helm's mapped as Argo CD maps
it), when they are deleted, and how the plan keeps them apart from the app's resources:
ordered by phase and wave, never in the inventory, never pruned."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import PlanError
from engine.hooks import DeletePolicy, Hook, Phase, hook_of, hook_wave
from engine.model import ResourceKey
from engine.model.inventory import Inventory
from engine.names import identity_problems
from engine.plan import plan

BEFORE = frozenset({DeletePolicy.BEFORE_CREATION})


def _job(name: str, annotations: dict[str, str], *, generate: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"annotations": annotations}
    meta["generateName" if generate else "name"] = name
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}


def _cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


@pytest.mark.parametrize(("annotations", "expected"), [
    ({}, None),
    ({"argocd.argoproj.io/hook": "PreSync"},
     Hook(frozenset({Phase.PRE_SYNC}), frozenset({DeletePolicy.BEFORE_CREATION}))),
    ({"argocd.argoproj.io/hook": "PreSync, PostSync",
      "argocd.argoproj.io/hook-delete-policy": "HookSucceeded,HookFailed"},
     Hook(frozenset({Phase.PRE_SYNC, Phase.POST_SYNC}),
          frozenset({DeletePolicy.SUCCEEDED, DeletePolicy.FAILED}))),
    ({"argocd.argoproj.io/hook": "Skip"}, Hook(frozenset(), BEFORE)),
    ({"argocd.argoproj.io/hook": "Skip,Sync"},
     Hook(frozenset({Phase.SYNC}), frozenset({DeletePolicy.BEFORE_CREATION}))),
    ({"argocd.argoproj.io/hook": "PostDelete"}, Hook(frozenset(), BEFORE)),
    ({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "hook-succeeded"},
     Hook(frozenset({Phase.PRE_SYNC}), frozenset({DeletePolicy.SUCCEEDED}))),
    ({"helm.sh/hook": "post-upgrade"},
     Hook(frozenset({Phase.POST_SYNC}), frozenset({DeletePolicy.BEFORE_CREATION}))),
    ({"helm.sh/hook": "test"}, Hook(frozenset(), frozenset({DeletePolicy.BEFORE_CREATION}))),
    # Argo CD's annotation wins over Helm's.
    ({"argocd.argoproj.io/hook": "Sync", "helm.sh/hook": "pre-install"},
     Hook(frozenset({Phase.SYNC}), frozenset({DeletePolicy.BEFORE_CREATION}))),
])  # fmt: skip
def test_hook_annotations(annotations: dict[str, str], expected: Hook | None) -> None:
    assert hook_of(_job("j", annotations), lambda: "Job j") == expected


def test_an_ordinary_object_is_not_named() -> None:
    def where() -> str:
        raise AssertionError("named without a hook annotation")

    assert hook_of(_job("j", {"argocd.argoproj.io/sync-wave": "1"}), where) is None


@pytest.mark.parametrize(("annotations", "message"), [
    ({"argocd.argoproj.io/hook": "Presync"},
     "Job j: annotation argocd.argoproj.io/hook: 'Presync'"),
    ({"argocd.argoproj.io/hook": ""}, "is not a hook phase"),
    ({"argocd.argoproj.io/hook": "PreSync",
      "argocd.argoproj.io/hook-delete-policy": "OnSuccess"}, "'OnSuccess' is not a hook deletion"),
])  # fmt: skip
def test_a_misspelt_hook_is_an_error_not_a_resource(annotations: dict[str, str],
                                                    message: str) -> None:  # fmt: skip
    with pytest.raises(PlanError, match=message):
        hook_of(_job("j", annotations), lambda: "Job j")
    with pytest.raises(PlanError, match=message.removeprefix("Job j: ")):  # the plan too
        plan(app="a", objects=[_job("j", annotations)], namespace="ns",
             previous=Inventory(), scope=lambda _group, _kind: True)


def test_the_plan_orders_hooks_by_phase_and_wave_and_never_prunes_them() -> None:
    objects = [
        _cm("settings"),
        _job("smoke", {"argocd.argoproj.io/hook": "PostSync"}),
        _job("migrate-", {"argocd.argoproj.io/hook": "PreSync",
                          "argocd.argoproj.io/sync-wave": "1"}, generate=True),
        _job("backup", {"helm.sh/hook": "pre-upgrade", "helm.sh/hook-weight": "-1"}),
        _job("skipped", {"argocd.argoproj.io/hook": "Skip"}),
        _job("cleanup", {"argocd.argoproj.io/hook": "SyncFail"}),
    ]
    # "smoke" was an ordinary resource before: now a hook, it is not pruned.
    previous = Inventory({ResourceKey("batch", "Job", "web", "smoke"): "batch/v1",
                          ResourceKey("", "ConfigMap", "web", "old"): "v1"})
    found = plan(app="web", objects=objects, namespace="web", previous=previous,
                 scope=lambda group, kind: True)
    assert [(h.phase, h.wave, h.key.name, h.generated) for h in found.hooks] == [
        (Phase.PRE_SYNC, -1, "backup", False), (Phase.PRE_SYNC, 1, "migrate-", True),
        (Phase.POST_SYNC, 0, "smoke", False), (Phase.SYNC_FAIL, 0, "cleanup", False)]
    assert [s.key.name for s in found.steps] == ["settings"]
    assert set(found.desired.keys()) == {ResourceKey("", "ConfigMap", "web", "settings")}
    assert found.prune == (ResourceKey("", "ConfigMap", "web", "old"),)
    generated = found.hooks_of(Phase.PRE_SYNC)[1].obj["metadata"]
    assert "name" not in generated and generated["generateName"] == "migrate-"
    assert generated["namespace"] == "web"


def test_generate_name_is_for_hooks_only() -> None:
    with pytest.raises(PlanError, match="generateName is for hooks only"):
        plan(app="web", objects=[_job("x-", {}, generate=True)], namespace="web",
             previous=Inventory(), scope=lambda group, kind: True)
    assert identity_problems(_job("migrate-", {}, generate=True)) == []
    assert identity_problems(_job("a/b", {}, generate=True)) == [
        "metadata.generateName: 'a/bx' may not contain '/' or '%'"]


@pytest.mark.parametrize("first_is_hook", [True, False])
def test_a_hook_and_a_resource_of_one_key_are_declared_twice(first_is_hook: bool) -> None:
    hook, resource = _job("j", {"argocd.argoproj.io/hook": "PreSync"}), _job("j", {})
    objects = [hook, resource] if first_is_hook else [resource, hook]
    with pytest.raises(PlanError, match="j: declared twice"):
        plan(app="web", objects=objects, namespace="web", previous=Inventory(),
             scope=lambda group, kind: True)


def test_a_helm_hook_weight_that_is_no_integer_names_its_object() -> None:
    job = _job("j", {"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "first"})
    with pytest.raises(PlanError, match=r"Job j: annotation helm\.sh/hook-weight: 'first' is not"):
        hook_wave(job, 0, lambda: "Job j")
    with pytest.raises(PlanError, match=r"Job 'j': annotation helm\.sh/hook-weight: 'first'"):
        plan(app="a", objects=[job], namespace="ns", previous=Inventory(),
             scope=lambda _group, _kind: True)
    assert hook_wave({**job, "metadata": {"annotations": {"helm.sh/hook-weight": " -2 "}}}, 0,
                     lambda: "Job j") == -2
