"""Statuses as stored and shown: condition messages never carry URL credentials."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.hub import status as st
from engine.model import ConditionReason, ConditionType

TOKEN = "ghp_plantedInStatus0123"


def test_condition_messages_are_stored_without_url_credentials() -> None:
    found = st.conditions(None, [(ConditionType.COMPARISON_ERROR, ConditionReason.SOURCE_FAILED,
                                  f"https://robot:{TOKEN}@git.example/a.git: refused")],
                          datetime.now(UTC))  # fmt: skip
    assert TOKEN not in found[0].message
    assert found[0].message == "https://***@git.example/a.git: refused"


def test_the_hubs_own_directory_never_shows_in_a_condition() -> None:
    data = "/var/lib/fleetsync"
    message = f"cannot list {data}/trees/ab12/0123abcd/overlays/dev; {data} is full"
    shown = st.without_path(message, data)
    assert data not in shown
    assert shown == "cannot list trees/ab12/0123abcd/overlays/dev; <dataDir> is full"


def test_an_out_of_sync_message_names_the_manager_and_the_subresource() -> None:
    from engine.model import ResourceKey, SyncStatus
    from engine.model.diffs import Attribution, ObjectDiff

    diff = ObjectDiff(ResourceKey("apps", "Deployment", "web", "web"), SyncStatus.OUT_OF_SYNC,
                      "Drift", paths=(".spec.replicas",),
                      drift=(Attribution(".spec.replicas", "kubectl", "Update", None, "scale"),))
    assert st._diff_message(diff) == (
        "Drift: .spec.replicas (changed by kubectl via the scale subresource)")
