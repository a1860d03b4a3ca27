"""Deleting Applications, the pure parts: which finalizer cascades how, when a deletion of
many apps at once is held, what a deletion may delete, and the held deletions' life
(held, restored, confirmed without cascade) without any cluster."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.apps import AppTarget, ClusterInfo, expand_targets, parse_application
from engine.apps.application import cascade_propagation
from engine.apps.targets import TargetOptions
from engine.hub.deletions import Deletions, DeletionState, NotHeld
from engine.model import TRACKING_ANNOTATION, ResourceKey, TargetKey
from engine.plan import deletion_decision, deletion_guard

FINALIZER = "resources-finalizer.argocd.argoproj.io"


@pytest.mark.parametrize(
    ("finalizers", "expected"),
    [
        ((), None),
        ((FINALIZER,), "Foreground"),
        ((f"{FINALIZER}/foreground",), "Foreground"),
        ((f"{FINALIZER}/background",), "Background"),
        (("example.com/other", f"{FINALIZER}/background"), "Background"),
        (("example.com/other",), None),
        ((f"{FINALIZER}/sideways",), None),
    ],
)
def test_the_resources_finalizer_says_how_objects_are_deleted(
    finalizers: tuple[str, ...], expected: str | None
) -> None:
    assert cascade_propagation(finalizers) == expected


def test_an_argo_cd_application_with_the_finalizer_cascades_on_every_target() -> None:
    doc = yaml.safe_load(f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, finalizers: [{FINALIZER}/background]}}
spec:
  source: {{repoURL: https://git.example/web, path: web}}
  destination: {{name: dev, namespace: web}}
""")
    (target,) = expand_targets(parse_application(doc, source="web.yaml"),
                               [ClusterInfo("dev", "https://10.0.0.1:6443", {})])
    assert target.options.cascade == "Background"


@pytest.mark.parametrize(
    ("deleting", "apps", "held"),
    [(1, 1, False), (1, 100, False), (2, 8, False), (3, 8, True), (2, 2, True),
     (25, 100, False), (26, 100, True), (0, 0, False)],
)
def test_deleting_more_than_a_share_of_the_apps_at_once_is_held(
    deleting: int, apps: int, held: bool
) -> None:
    reason = deletion_guard(deleting=deleting, apps=apps, share=0.25)
    assert (reason is not None) == held
    if held:
        assert f"{deleting} of {apps}" in str(reason) and "25%" in str(reason)


KEY = ResourceKey("", "ConfigMap", "dest", "c")


def _live(**annotations: str) -> dict[str, Any]:
    return {"metadata": {"name": "c", "annotations": annotations}}


def test_a_deletion_deletes_only_what_the_app_tracks_and_honours_delete_false() -> None:
    mine = {TRACKING_ANNOTATION: "demo:/ConfigMap:dest/c"}
    assert deletion_decision(app="demo", key=KEY, live=_live(**mine)) is None
    assert "not tracked" in str(deletion_decision(app="other", key=KEY, live=_live(**mine)))
    assert deletion_decision(app="demo", key=KEY, live=None) == "already gone"
    kept = _live(**mine, **{"argocd.argoproj.io/sync-options": "Delete=false"})
    assert deletion_decision(app="demo", key=KEY, live=kept) == "sync option Delete=false"
    # Prune=false stops a prune, not the deletion of the whole app (as in Argo CD).
    unpruned = _live(**mine, **{"argocd.argoproj.io/sync-options": "Prune=false"})
    assert deletion_decision(app="demo", key=KEY, live=unpruned) is None


def _gone(apps: list[str], *, cascade: str | None = "Foreground",
          clusters: tuple[str, ...] = ("a", "b")) -> dict[TargetKey, AppTarget]:  # fmt: skip
    return {TargetKey(app, c): AppTarget(key=TargetKey(app, c), project="team", repo_url="r",
                                          revision="main", path=app, namespace=app,
                                          options=TargetOptions(cascade=cascade))
            for app in apps for c in clusters}  # fmt: skip


def _held() -> Deletions:
    # No pool: every test here keeps its deletions held, so none ever reaches a cluster.
    return Deletions(pool=None, share=0.25)  # type: ignore[arg-type]


def test_many_apps_removed_at_once_are_held_and_none_is_deleted() -> None:
    deletions = _held()
    deletions.removed(_gone(["x", "y", "z"]), defined={"keep"}, apps=4)
    pending = deletions.pending()
    assert [p.app for p in pending] == ["x", "y", "z"]
    assert all(p.state is DeletionState.HELD and "3 of 4" in p.message for p in pending)
    assert sorted(pending[0].targets) == ["a", "b"]
    assert not deletions._tasks  # nothing runs


def test_only_removed_apps_with_the_finalizer_are_deleted() -> None:
    deletions = _held()
    deletions.removed(_gone(["plain", "other"], cascade=None), defined=set(), apps=2)
    deletions.removed(_gone(["moved"]), defined={"moved"}, apps=1)  # still defined
    assert deletions.pending() == []


def test_a_definition_that_comes_back_ends_its_held_deletion() -> None:
    deletions = _held()
    deletions.removed(_gone(["x", "y"]), defined=set(), apps=2)
    deletions.restored({"x", "unrelated"})
    assert [p.app for p in deletions.pending()] == ["y"]


def test_a_held_deletion_confirmed_without_cascade_only_forgets_it() -> None:
    deletions = _held()
    deletions.removed(_gone(["x", "y"]), defined=set(), apps=2)
    deletions.confirm("x", cascade=False, propagation=None, who="alice")
    assert [p.app for p in deletions.pending()] == ["y"]
    with pytest.raises(NotHeld):
        deletions.confirm("x", cascade=True, propagation=None, who="alice")
