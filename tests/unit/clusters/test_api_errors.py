"""API errors are mapped once from HTTP status; discovery documents parse to resources."""

from __future__ import annotations

import orjson
import pytest

from engine.clusters import errors
from engine.clusters.discovery import parse_resource_list
from engine.errors import ClusterError


@pytest.mark.parametrize(
    ("status", "cls", "temporary"),
    [
        (400, errors.Unprocessable, False),
        (401, errors.Forbidden, False),
        (403, errors.Forbidden, False),
        (404, errors.NotFound, False),
        (409, errors.Conflict, False),
        (422, errors.Unprocessable, False),
        (429, errors.TooManyRequests, True),
        (500, errors.ServerError, True),
        (503, errors.ServerError, True),
        (418, errors.ApiError, False),
    ],
)
def test_status_codes_map_to_one_class_each(status: int, cls: type, temporary: bool) -> None:
    body = orjson.dumps({"kind": "Status", "reason": "Why", "message": "what happened"})
    err = errors.api_error(cluster="c1", request="GET /api/v1/x", status=status, body=body)
    assert type(err) is cls
    assert isinstance(err, ClusterError)
    assert err.temporary is temporary
    assert err.message == "what happened"
    assert str(err) == f"c1: GET /api/v1/x: {status} Why: what happened"


def test_non_status_body_is_kept_short() -> None:
    err = errors.api_error(cluster="c", request="GET /", status=502, body=b"<html>" * 100)
    assert isinstance(err, errors.ServerError)
    assert len(err.message) <= 200


def test_unreachable_is_temporary() -> None:
    assert errors.ClusterUnreachable("x").temporary


def test_resource_list_parses_kinds_and_skips_subresources() -> None:
    doc = {
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "kind": "Deployment",
                "namespaced": True,
                "verbs": ["get", "patch"],
            },
            {"name": "deployments/status", "kind": "Deployment", "namespaced": True},
        ],
    }
    [(kind, res)] = parse_resource_list(doc).items()
    assert kind == "Deployment"
    assert (res.group, res.version, res.plural, res.namespaced) == (
        "apps",
        "v1",
        "deployments",
        True,
    )
    assert res.path(namespace="ns", name="web") == "/apis/apps/v1/namespaces/ns/deployments/web"


def test_core_and_cluster_scoped_paths() -> None:
    doc = {
        "groupVersion": "v1",
        "resources": [
            {"name": "namespaces", "kind": "Namespace", "namespaced": False, "verbs": []}
        ],
    }
    res = parse_resource_list(doc)["Namespace"]
    assert res.api_version == "v1"
    assert res.path(namespace="ignored", name="dev") == "/api/v1/namespaces/dev"
