"""Unsupported fields fall back to the kustomize binary only when one is configured."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.render import UnsupportedFieldError
from engine.render.fallback import build_or_fallback

KUSTOMIZE = next((p for p in ("/tmp/kbuild/kustomize", shutil.which("kustomize"))
                  if p and Path(p).is_file()), None)
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


@pytest.mark.skipif(KUSTOMIZE is None, reason="kustomize binary not built")
def test_unsupported_field_is_rendered_by_the_binary_when_configured(app: Path) -> None:
    objects = build_or_fallback(app, kustomize=KUSTOMIZE)
    assert [o["metadata"]["name"] for o in objects] == ["cm"]
