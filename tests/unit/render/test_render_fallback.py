"""Unsupported fields fall back to the kustomize binary only when one is configured
(the fallback itself, sandboxed, is tested in tests/security/test_kustomize_fallback_escape.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.render import UnsupportedFieldError
from engine.render.fallback import build_or_fallback

VARS = """resources: [cm.yaml]
vars:
- name: MODE
  objref: {kind: ConfigMap, name: cm, apiVersion: v1}
  fieldref: {fieldpath: data.mode}
"""


@pytest.fixture()
def app(tmp_path: Path) -> Path:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  mode: fast\n")
    (tmp_path / "kustomization.yaml").write_text(VARS)
    return tmp_path


def test_unsupported_field_is_an_error_without_a_binary(app: Path) -> None:
    with pytest.raises(UnsupportedFieldError, match="vars"):
        build_or_fallback(app)
