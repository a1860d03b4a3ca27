"""Sync planning: order, waves, namespaces, tracking, prune candidates and guards."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.model import TRACKING_ANNOTATION, ResourceKey
from engine.model.inventory import Inventory
from engine.plan import PlanError, plan, prune_decision, prune_guard, sync_options

APP = "demo"


def _objs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _no_discovery(group: str, kind: str) -> bool | None:
    return None


def _plan(text: str, previous: Inventory | None = None, **kw: Any) -> Any:
    return plan(
        app=APP,
        objects=_objs(text),
        namespace="dest",
        previous=previous or Inventory(),
        scope=_no_discovery,
        **kw,
    )


def _names(p: Any) -> list[list[str]]:
    return [[f"{s.key.kind}/{s.key.name}" for s in w.steps] for w in p.waves]


MIXED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: v1
kind: Service
metadata: {name: web}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, names: {kind: Widget, plural: widgets}, scope: Namespaced}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: extra}
"""


def test_namespaces_and_crds_first_then_kind_order_then_name() -> None:
    p = _plan(MIXED)
    assert _names(p) == [
        [
            "Namespace/extra",
            "CustomResourceDefinition/widgets.example.com",
            "ConfigMap/a",
            "ConfigMap/b",
            "Service/web",
            "Deployment/web",
            "Widget/w1",
        ]
    ]


WAVES = """
apiVersion: v1
kind: ConfigMap
metadata: {name: late, annotations: {argocd.argoproj.io/sync-wave: "2"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: early, annotations: {fleetsync.io/sync-wave: "-1"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: default}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns, annotations: {argocd.argoproj.io/sync-wave: "5"}}
"""


def test_waves_in_numeric_order_with_namespaces_in_the_first() -> None:
    p = _plan(WAVES)
    assert [w.number for w in p.waves] == [-1, 0, 2]
    assert _names(p) == [
        ["Namespace/ns", "ConfigMap/early"],
        ["ConfigMap/default"],
        ["ConfigMap/late"],
    ]


def test_bad_wave_is_a_plan_error_naming_the_object() -> None:
    with pytest.raises(PlanError, match=r"/ConfigMap:dest/x: argocd\.argoproj\.io/sync-wave"):
        _plan(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n"
            "    argocd.argoproj.io/sync-wave: soon\n"
        )


def test_namespaced_objects_get_the_destination_namespace_cluster_scoped_do_not() -> None:
    p = _plan(MIXED)
    keys = {s.key.name: s.key for s in p.steps}
    assert keys["web"].namespace == "dest"
    assert keys["w1"].namespace == "dest"  # scope from the CRD in the same set
    assert keys["extra"].namespace == ""
    assert keys["widgets.example.com"].namespace == ""


def test_discovery_answer_wins_over_the_builtin_list() -> None:
    p = plan(
        app=APP,
        objects=_objs("apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n"),
        namespace="dest",
        previous=Inventory(),
        scope=lambda g, k: True,
    )
    assert p.steps[0].key.namespace == "dest"


def test_explicit_namespace_is_kept() -> None:
    p = _plan("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: other}\n")
    assert p.steps[0].key == ResourceKey("", "ConfigMap", "other", "c")


def test_applied_objects_carry_tracking_id_and_label_and_input_is_not_mutated() -> None:
    objs = _objs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {x: y}}\n")
    p = plan(app=APP, objects=objs, namespace="dest", previous=Inventory(), scope=_no_discovery)
    meta = p.steps[0].obj["metadata"]
    assert meta["annotations"][TRACKING_ANNOTATION] == "demo:/ConfigMap:dest/c"
    assert meta["labels"] == {"x": "y", "app.kubernetes.io/managed-by": "fleetsync"}
    assert objs[0]["metadata"] == {"name": "c", "labels": {"x": "y"}}


@pytest.mark.parametrize(
    "text",
    [
        "kind: ConfigMap\nmetadata: {name: c}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: dest}\n",
    ],
)
def test_invalid_desired_sets_are_plan_errors(text: str) -> None:
    with pytest.raises(PlanError):
        _plan(text)


def _inv(*names: str) -> Inventory:
    return Inventory({ResourceKey("", "ConfigMap", "dest", n): "v1" for n in names})


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {}}}\n"


def test_prune_set_is_previous_inventory_minus_desired() -> None:
    p = _plan(CM.format("a") + "---\n" + CM.format("b"), previous=_inv("a", "b", "c"))
    assert p.prune == (ResourceKey("", "ConfigMap", "dest", "c"),)
    assert p.held is None
    assert p.desired.keys() == _inv("a", "b").keys()


def test_empty_desired_set_never_prunes() -> None:
    p = _plan("", previous=_inv("a", "b"))
    assert p.held is not None and "empty" in p.held


def test_prune_of_more_than_half_the_inventory_is_held_unless_allowed() -> None:
    p = _plan(CM.format("a"), previous=_inv("a", "b", "c", "d"))
    assert p.held is not None and "exceeds" in p.held
    assert (
        _plan(CM.format("a"), previous=_inv("a", "b", "c", "d"), allow_large_prune=True).held
        is None
    )


@pytest.mark.parametrize(
    ("previous", "prune", "held"),
    [
        (4, 2, False),
        (4, 3, True),
        (10, 5, False),
        (1, 1, True),
        (3, 0, False),
    ],
)
def test_prune_share_guard_boundary(previous: int, prune: int, held: bool) -> None:
    reason = prune_guard(previous=previous, desired=1, prune=prune, share=0.5, allow_large=False)
    assert (reason is not None) == held


def test_prunes_run_workloads_before_namespaces_and_crds() -> None:
    previous = Inventory(
        {
            ResourceKey("", "Namespace", "", "n"): "v1",
            ResourceKey("apiextensions.k8s.io", "CustomResourceDefinition", "", "w.x"): "v1",
            ResourceKey("apps", "Deployment", "dest", "d"): "apps/v1",
            ResourceKey("", "ConfigMap", "dest", "c"): "v1",
            ResourceKey("", "ConfigMap", "dest", "keep"): "v1",
        }
    )
    p = _plan(CM.format("keep"), previous=previous, allow_large_prune=True)
    assert [k.kind for k in p.prune] == [
        "Deployment",
        "ConfigMap",
        "CustomResourceDefinition",
        "Namespace",
    ]


def _live(annotations: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "c", "annotations": annotations}}


KEY = ResourceKey("", "ConfigMap", "dest", "c")


def test_prune_decision_requires_this_apps_tracking_id() -> None:
    mine = {TRACKING_ANNOTATION: "demo:/ConfigMap:dest/c"}
    assert prune_decision(app=APP, key=KEY, live=_live(mine)) is None
    assert "not tracked" in str(prune_decision(app=APP, key=KEY, live=_live({})))
    other = {TRACKING_ANNOTATION: "other:/ConfigMap:dest/c"}
    assert "not tracked" in str(prune_decision(app=APP, key=KEY, live=_live(other)))
    assert prune_decision(app=APP, key=KEY, live=None) == "already gone"


def test_prune_false_sync_option_is_honoured() -> None:
    live = _live(
        {
            TRACKING_ANNOTATION: "demo:/ConfigMap:dest/c",
            "argocd.argoproj.io/sync-options": "ServerSideApply=true, Prune=false",
        }
    )
    assert sync_options(live) == {"ServerSideApply=true", "Prune=false"}
    assert prune_decision(app=APP, key=KEY, live=live) == "sync option Prune=false"


def test_a_selected_plan_keeps_the_chosen_applies_and_prunes_only() -> None:
    previous = _inv("a", "b", "gone-1", "gone-2")
    whole = _plan(CM.format("a") + "---\n" + CM.format("b"), previous=previous,
                  allow_large_prune=True)
    chosen = frozenset({ResourceKey("", "ConfigMap", "dest", "b"),
                        ResourceKey("", "ConfigMap", "", "gone-2")})  # any namespace
    cut = whole.selected(chosen)
    assert [s.key.name for s in cut.steps] == ["b"]
    assert [k.name for k in cut.prune] == ["gone-2"]
    assert cut.desired == whole.desired and cut.previous == whole.previous
    assert whole.selected(frozenset()).waves == ()
