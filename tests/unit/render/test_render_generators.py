"""Generated ConfigMap/Secret names carry kustomize's exact hash suffix."""

from __future__ import annotations

import pytest

from engine.render.generators import content_hash


@pytest.mark.parametrize(("obj", "expected"), [
    # values produced by kustomize v5.7.1 (see tests/conformance/kustomize)
    ({"kind": "ConfigMap", "data": {"a": "1", "b": "on"}}, "7hh9764tdg"),
    ({"kind": "ConfigMap"}, "6ct58987ht"),
    ({"kind": "Secret", "type": "kubernetes.io/tls", "data": {"a": "Yg=="}}, "92982c4m8f"),
])
def test_hash_matches_kustomize(obj: dict, expected: str) -> None:
    assert content_hash({"apiVersion": "v1", "metadata": {"name": "ignored"}, **obj}) == expected


def test_hash_ignores_name_and_labels() -> None:
    a = {"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}}
    b = {"kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"k": "v"}}
    assert content_hash(a) == content_hash(b)


def test_hash_never_contains_vowels_or_ambiguous_digits() -> None:
    for i in range(200):
        suffix = content_hash({"kind": "ConfigMap", "data": {"k": str(i)}})
        assert not set(suffix) & set("013ae")
