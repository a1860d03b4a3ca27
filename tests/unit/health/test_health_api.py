"""The public face of engine.health: aggregate, missing, frozen results, purity, no raising."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.health
from engine.health import RULES, HealthResult, aggregate, assess, missing
from engine.model import HealthStatus

H = HealthStatus


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        ([], H.HEALTHY),
        ([H.HEALTHY, H.HEALTHY], H.HEALTHY),
        ([H.HEALTHY, H.SUSPENDED], H.SUSPENDED),
        ([H.SUSPENDED, H.PROGRESSING, H.HEALTHY], H.PROGRESSING),
        ([H.PROGRESSING, H.MISSING], H.MISSING),
        ([H.DEGRADED, H.MISSING, H.HEALTHY], H.DEGRADED),
        ([H.DEGRADED, H.UNKNOWN], H.UNKNOWN),
    ],
)
def test_aggregate_is_the_worst_by_severity(statuses: list[H], worst: H) -> None:
    assert aggregate(statuses) is worst
    assert aggregate(iter(statuses)) is worst


def test_missing_is_missing_with_a_message() -> None:
    result = missing()
    assert result.status is H.MISSING
    assert "does not exist" in result.message


def test_result_is_frozen() -> None:
    result = HealthResult(H.HEALTHY, "fine")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = H.DEGRADED  # type: ignore[misc]


def test_health_is_pure() -> None:
    """No module of engine.health imports I/O or async libraries."""
    forbidden = {"asyncio", "aiohttp", "kubernetes_asyncio", "anyio", "socket", "subprocess"}
    package = Path(engine.health.__file__).parent
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            roots = {name.split(".")[0] for name in names}
            assert not roots & forbidden, f"{module.name} imports {roots & forbidden}"


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
