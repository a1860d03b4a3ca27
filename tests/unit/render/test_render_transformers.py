"""Image references, selectors and legacy order."""

from __future__ import annotations

import pytest

from engine.render.order import legacy_order
from engine.render.patches import select
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import new_image, split_image


@pytest.mark.parametrize(("image", "parts"), [
    ("nginx", ("nginx", "", "")),
    ("nginx:1.25", ("nginx", "1.25", "")),
    ("nginx@sha256:ab", ("nginx", "", "sha256:ab")),
    ("nginx:1@sha256:ab", ("nginx", "1", "sha256:ab")),
    ("reg.io:5000/team/app:2", ("reg.io:5000/team/app", "2", "")),
    ("reg.io:5000/team/app", ("reg.io:5000/team/app", "", "")),
])
def test_split_image(image: str, parts: tuple[str, str, str]) -> None:
    assert split_image(image) == parts


@pytest.mark.parametrize(("current", "entry", "expected"), [
    ("nginx:1", {"newTag": "2"}, "nginx:2"),
    ("nginx:1", {"newName": "mirror/nginx"}, "mirror/nginx:1"),
    ("nginx:1", {"digest": "sha256:ff"}, "nginx@sha256:ff"),
    ("nginx@sha256:aa", {"newTag": "3"}, "nginx:3"),
    ("nginx:1", {"tagSuffix": "-rc"}, "nginx:1-rc"),
])
def test_new_image(current: str, entry: dict, expected: str) -> None:
    assert new_image(current, {"name": "nginx", **entry}) == expected


def _res(kind: str, name: str, labels: dict | None = None, api: str = "v1") -> Resource:
    return Resource({"apiVersion": api, "kind": kind,
                     "metadata": {"name": name, "labels": labels or {}}})


@pytest.mark.parametrize(("target", "names"), [
    ({"kind": "ConfigMap"}, ["a", "b"]),
    ({"name": "a|svc"}, ["a", "svc"]),
    ({"labelSelector": "tier=fe"}, ["a"]),
    ({"labelSelector": "tier in (fe, be)"}, ["a", "b"]),
    ({"labelSelector": "!tier"}, ["svc"]),
    ({"labelSelector": "tier!=fe"}, ["b", "svc"]),
    ({"version": "v1", "kind": "Service"}, ["svc"]),
])
def test_patch_target_selection(target: dict, names: list[str]) -> None:
    resources = ResourceList([_res("ConfigMap", "a", {"tier": "fe"}),
                              _res("ConfigMap", "b", {"tier": "be"}), _res("Service", "svc")])
    assert [r.name for r in select(resources, target, "t")] == names


def test_legacy_order_puts_namespaces_first_and_webhooks_last() -> None:
    resources = [
        _res("ValidatingWebhookConfiguration", "w", api="admissionregistration.k8s.io/v1"),
        _res("Widget", "x", api="example.com/v1"), _res("Deployment", "d", api="apps/v1"),
        _res("Service", "s"), _res("ConfigMap", "b"), _res("ConfigMap", "a"),
        _res("Namespace", "ns"),
    ]
    assert [r.name for r in legacy_order(resources)] == ["ns", "a", "b", "s", "d", "x", "w"]
