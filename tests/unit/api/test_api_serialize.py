"""The API's JSON shapes: whitelisted fields only, no credentials, no object bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.api import serialize
from engine.api.views import AppView, ClusterView, TargetDiff, TargetView
from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.model.diffs import DRIFT, EXTRA, IN_SYNC, MISSING, ObjectDiff
from engine.model.status import Condition, Operation, ResourceStatus, SyncSource, TargetStatus

KEY = TargetKey("web", "dev")
T = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
VIEW = AppView(
    name="web",
    project="default",
    repo_url="https://tok:x@git.example/web.git",
    target_revision="main",
    path="overlays/dev",
    destination="name dev",
    namespace="web",
    targets=(TargetView(KEY, "web", "overlays/dev", "main"),),
)


def status() -> TargetStatus:
    secret = ResourceStatus(
        ResourceKey("", "Secret", "web", "token"), SyncStatus.OUT_OF_SYNC, None, "data differs"
    )
    op = Operation(
        7,
        KEY,
        "abc",
        "manual:alice",
        SyncSource("https://u:p@git.example/w", "p"),
        OperationPhase.SUCCEEDED,
        "done",
        T,
        T,
    )
    return TargetStatus(
        KEY,
        SyncStatus.OUT_OF_SYNC,
        HealthStatus.HEALTHY,
        revision="abc",
        operation=op,
        resources=(secret,),
        conditions=(Condition("Drift", "Edited", "by kubectl", T),),
        inventory=frozenset({secret.key}),
        live_version="42",
        reconciled_at=T,
    )


def test_resources_carry_identity_sync_health_and_message_only() -> None:
    [target] = serialize.app_detail(VIEW, {KEY: status()})["targets"]
    [secret] = target["resources"]
    assert set(secret) == {"group", "kind", "namespace", "name", "sync", "health", "message"}
    assert secret["health"] is None
    assert "inventory" not in target and "liveVersion" not in target


def test_repository_and_server_urls_lose_their_credentials() -> None:
    detail = serialize.app_detail(VIEW, {KEY: status()})
    assert detail["source"]["repoURL"] == "https://git.example/web.git"
    assert detail["targets"][0]["operation"]["source"]["repoURL"] == "https://git.example/w"
    cluster = serialize.cluster(ClusterView("dev", "https://admin:pw@10.0.0.1:6443"))
    assert cluster["server"] == "https://10.0.0.1:6443"
    assert "pw" not in repr(detail) + repr(cluster)


@pytest.mark.parametrize(
    ("url", "clean_url"),
    [
        ("https://h:6443", "https://h:6443"),
        ("https://a:b@h/p?q=1", "https://h/p?q=1"),
        ("https://a@b@h", "https://h"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),  # scp-like: no scheme, kept
        ("ssh://git@h/r.git", "ssh://h/r.git"),
    ],
)
def test_without_userinfo(url: str, clean_url: str) -> None:
    assert serialize.without_userinfo(url) == clean_url


def test_a_target_without_status_is_unknown() -> None:
    [target] = serialize.app_summary(VIEW, {})["targets"]
    assert (target["sync"], target["health"], target["revision"]) == ("Unknown", "Unknown", None)


def test_times_are_utc_iso() -> None:
    [target] = serialize.app_detail(VIEW, {KEY: status()})["targets"]
    assert target["reconciledAt"] == "2025-03-04T05:06:07Z"
    assert target["conditions"][0]["lastTransitionTime"] == "2025-03-04T05:06:07Z"


def _compared(kind: str, name: str, status: SyncStatus, reason: str,
              namespace: str = "web") -> ObjectDiff:
    return ObjectDiff(ResourceKey("", kind, namespace, name), status, reason)


COMPARED = TargetDiff("dev", "OutOfSync", (
    _compared("ConfigMap", "same", SyncStatus.SYNCED, IN_SYNC),
    _compared("ConfigMap", "new", SyncStatus.OUT_OF_SYNC, MISSING),
    _compared("Service", "edited", SyncStatus.OUT_OF_SYNC, DRIFT),
    _compared("Secret", "dropped", SyncStatus.OUT_OF_SYNC, EXTRA),
))


@pytest.mark.parametrize(("prune", "dropped"), [(True, "prune"), (False, "keep")])
def test_a_dry_run_names_what_the_sync_would_do_to_each_object(prune: bool,
                                                               dropped: str) -> None:
    shown = serialize.dry_run_target(COMPARED, prune=prune, only=None)
    assert [(o["name"], o["action"]) for o in shown["objects"]] == [
        ("same", "none"), ("new", "create"), ("edited", "update"), ("dropped", dropped)]
    assert shown["cluster"] == "dev" and shown["error"] is None


def test_a_selective_dry_run_shows_only_the_objects_selected() -> None:
    # A selection without a namespace matches the object in any namespace, as a sync's does.
    only = frozenset({ResourceKey("", "Service", "", "edited"),
                      ResourceKey("", "ConfigMap", "web", "new")})
    shown = serialize.dry_run_target(COMPARED, prune=True, only=only)
    assert [(o["name"], o["action"]) for o in shown["objects"]] == [
        ("new", "create"), ("edited", "update")]
