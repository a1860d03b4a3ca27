"""One mapping from (step, error) to a condition: each names the real cause."""

from __future__ import annotations

import pytest

from engine.clusters.errors import ClusterUnreachable, Forbidden
from engine.errors import ConfigError, FleetsyncError, RenderError, SourceError
from engine.hub.failures import Step, condition, definition, violation, warning
from engine.model import ConditionReason, ConditionType, PolicyRule
from engine.store.errors import StoreError

WHERE = "apps/web.yaml: Application web"


@pytest.mark.parametrize(("step", "error", "kind", "reason"), [
    (Step.OPTIONS, ConfigError("spec.ignoreDifferences[0]: bad"), "InvalidSpecError",
     "InvalidSpec"),
    (Step.RESOLVE, SourceError("no such branch"), "ComparisonError", "SourceFailed"),
    (Step.RENDER, RenderError("bad YAML"), "ComparisonError", "RenderFailed"),
    (Step.RENDER, SourceError("tree too large"), "ComparisonError", "RenderFailed"),
    (Step.CLUSTER, ConfigError("no cluster named x"), "SyncError", "InvalidCluster"),
    (Step.CLUSTER, StoreError("disk full", path="/data/db"), "SyncError", "ClusterFailed"),
])  # fmt: skip
def test_each_step_and_error_has_its_own_condition(
    step: Step, error: FleetsyncError, kind: str, reason: str
) -> None:
    assert condition(step, error)[:2] == (kind, reason)


def test_a_bad_option_names_the_application_and_its_file() -> None:
    found = condition(Step.OPTIONS, ConfigError("spec.ignoreDifferences[0]: bad"), where=WHERE)
    assert found[2] == "apps/web.yaml: Application web: spec.ignoreDifferences[0]: bad"


def test_only_a_temporary_cluster_error_is_unavailable() -> None:
    down = ClusterUnreachable("dev: connection refused")
    refused = Forbidden(cluster="dev", request="GET /api", status=403, reason="Forbidden",
                        message="no")  # fmt: skip
    assert condition(Step.CLUSTER, down)[:2] == ("SyncError", "ClusterUnavailable")
    assert condition(Step.CLUSTER, refused)[:2] == ("SyncError", "ClusterError")


def test_checks_without_an_exception_have_their_own_words() -> None:
    assert definition("project 'x' not defined")[:2] == (ConditionType.INVALID_SPEC,
                                                         ConditionReason.INVALID_SPEC)
    assert violation(PolicyRule.SOURCE_REPOS, "no")[:2] == ("PolicyViolation", "sourceRepos")
    assert warning("Application web: spec.x is not supported")[:2] == ("Warning",
                                                                       "UnsupportedField")
