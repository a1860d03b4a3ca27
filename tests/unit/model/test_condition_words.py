"""The words of a target's conditions are the exact strings users (and their programs) see."""

from __future__ import annotations

from engine.model import ConditionReason, ConditionType, PolicyRule


def test_condition_types_are_the_words_users_see() -> None:
    assert sorted(ConditionType) == sorted(
        ["InvalidSpecError", "PolicyViolation", "ComparisonError", "SyncError", "Warning"])


def test_condition_reasons_are_the_words_users_see() -> None:
    assert sorted(ConditionReason) == sorted([
        "InvalidSpec", "UnsupportedField", "EmptyRender", "SourceFailed", "RenderFailed",
        "ClusterUnavailable", "ClusterError", "InvalidCluster", "ResolveFailed", "ClusterFailed",
        "PlanFailed", "ApplyFailed", "PruneFailed", "PruneHeld", "HealthCheckFailed", "HookFailed",
    ])  # fmt: skip


def test_a_policy_violation_names_the_argo_cd_field_it_breaks() -> None:
    assert sorted(PolicyRule) == sorted([
        "sourceRepos", "destinations", "InvalidNamespace", "clusterResourceWhitelist",
        "clusterResourceBlacklist", "namespaceResourceWhitelist", "namespaceResourceBlacklist",
    ])  # fmt: skip


def test_condition_words_format_as_their_value() -> None:
    assert f"{ConditionReason.PRUNE_HELD}: x" == "PruneHeld: x"
    assert str(PolicyRule.SOURCE_REPOS) == "sourceRepos"
