"""Unsupported fields fall back to the kustomize binary only when one is configured
(the fallback itself, sandboxed, is tested in tests/security/test_kustomize_fallback_escape.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.render import UnsupportedFieldError
from engine.renderer.fallback import build_or_fallback

HELM = """resources: [cm.yaml]
helmCharts:
- name: minecraft
  repo: https://itzg.github.io/minecraft-server-charts
"""


@pytest.fixture()
def app(tmp_path: Path) -> Path:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  mode: fast\n")
    (tmp_path / "kustomization.yaml").write_text(HELM)
    return tmp_path


def test_unsupported_field_is_an_error_without_a_binary(app: Path) -> None:
    with pytest.raises(UnsupportedFieldError, match="helmCharts"):
        build_or_fallback(app)


def test_cli_render_keeps_recurse_when_a_kustomize_binary_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    nested = tmp_path / "manifests" / "nested"
    nested.mkdir(parents=True)
    (nested / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n")
    code = main(["render", str(tmp_path / "manifests"), "--recurse",
                 "--kustomize", "/nonexistent/kustomize"])  # fmt: skip
    assert code == 0 and "name: deep" in capsys.readouterr().out
