"""The public face of engine.health: aggregate, missing, frozen results, purity, no raising."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.health import RULES, HealthResult, aggregate, assess, missing, summarize
from engine.model import HealthStatus

H = HealthStatus


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        ([], H.HEALTHY),
        ([H.HEALTHY, H.HEALTHY], H.HEALTHY),
        ([H.SUSPENDED, H.PROGRESSING, H.HEALTHY], H.PROGRESSING),
        ([H.PROGRESSING, H.MISSING], H.MISSING),
        ([H.DEGRADED, H.MISSING, H.HEALTHY], H.DEGRADED),
        ([H.DEGRADED, H.UNKNOWN], H.UNKNOWN),
        ([H.SUSPENDED, H.DEGRADED], H.DEGRADED),
    ],
)
def test_aggregate_is_the_worst_by_severity(statuses: list[H], worst: H) -> None:
    assert aggregate(statuses) is worst
    assert aggregate(iter(statuses)) is worst


@pytest.mark.parametrize("statuses", [[H.SUSPENDED], [H.HEALTHY, H.SUSPENDED, H.SUSPENDED]])
def test_suspended_objects_leave_the_app_healthy(statuses: list[H]) -> None:
    """A suspended CronJob (or paused Deployment) is a decision, not a fault of the app."""
    assert aggregate(statuses) is H.HEALTHY


def test_an_app_with_a_suspended_cronjob_is_healthy_and_says_why() -> None:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "backup"},
        "spec": {"suspend": True, "schedule": "0 3 * * *"},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                   "availableReplicas": 1},
    }  # fmt: skip
    objects = [("CronJob/backup", assess(cronjob)), ("Deployment/web", assess(deployment))]
    assert objects[0][1].status is H.SUSPENDED
    app = summarize(objects)
    assert app.status is H.HEALTHY
    assert app.message.startswith("CronJob/backup: CronJob is suspended")


def test_summarize_names_the_worst_objects_first_and_at_most_limit() -> None:
    results = [
        ("CronJob/backup", HealthResult(H.SUSPENDED, "suspended")),
        ("Deployment/web", HealthResult(H.PROGRESSING, "rolling out")),
        ("Service/web", HealthResult(H.HEALTHY, "ClusterIP Service")),
        ("Pod/web-1", HealthResult(H.DEGRADED, "CrashLoopBackOff")),
        ("Job/migrate", HealthResult(H.DEGRADED, "")),
    ]
    app = summarize(results, limit=2)
    assert app.status is H.DEGRADED
    assert app.message == "Pod/web-1: CrashLoopBackOff; Deployment/web: rolling out"
    assert summarize([("Service/web", HealthResult(H.HEALTHY, "fine"))]) == HealthResult(H.HEALTHY)


class _Checks:
    """Custom checks that answer for one kind only, and record what they were asked."""

    def __init__(self, answer: HealthResult | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def assess(self, obj: Mapping[str, Any]) -> HealthResult | None:
        self.asked.append(obj["kind"])
        return self.answer if obj["kind"] == "Deployment" else None


PAUSED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {"paused": True},
}


def test_a_custom_check_wins_over_the_built_in_rule() -> None:
    custom = _Checks(HealthResult(H.DEGRADED, "said the user's check"))
    assert assess(PAUSED).status is H.SUSPENDED
    assert assess(PAUSED, custom) == HealthResult(H.DEGRADED, "said the user's check")


def test_a_custom_check_without_a_verdict_leaves_it_to_the_built_in_rule() -> None:
    custom = _Checks(None)
    assert assess(PAUSED, custom).status is H.SUSPENDED
    assert custom.asked == ["Deployment"]


def test_an_object_being_deleted_is_progressing_before_any_custom_check() -> None:
    custom = _Checks(HealthResult(H.HEALTHY, "fine"))
    deleting = {**PAUSED, "metadata": {"name": "web", "deletionTimestamp": "2026-12-01T00:00:00Z"}}
    assert assess(deleting, custom).status is H.PROGRESSING
    assert custom.asked == []


def test_missing_is_missing_with_a_message() -> None:
    result = missing()
    assert result.status is H.MISSING
    assert "does not exist" in result.message


def test_result_is_frozen() -> None:
    result = HealthResult(H.HEALTHY, "fine")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = H.DEGRADED  # type: ignore[misc]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "status",
                    "spec",
                    "conditions",
                    "type",
                    "phase",
                    "replicas",
                    "reason",
                    "state",
                    "containerStatuses",
                    "waiting",
                    "terminated",
                    "generation",
                    "observedGeneration",
                    "loadBalancer",
                    "ingress",
                    "updateStrategy",
                    "rollingUpdate",
                    "partition",
                    "annotations",
                    "deletionTimestamp",
                    "finalizers",
                    "suspend",
                    "lastState",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from([*sorted(RULES), ("example.com", "Widget")]),
    metadata=_json,
    spec=_json,
    status=_json,
)
def test_assess_never_raises_on_malformed_objects(
    kind: tuple[str, str], metadata: object, spec: object, status: object
) -> None:
    group, name = kind
    obj = {
        "apiVersion": f"{group}/v1" if group else "v1",
        "kind": name,
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }
    result = assess(obj)
    assert isinstance(result.status, HealthStatus)
    assert isinstance(result.message, str)
