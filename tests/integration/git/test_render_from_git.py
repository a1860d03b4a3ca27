"""``fleetsync render --repo`` renders a path of a commit served by git daemon, as kustomize."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from engine.local import toolchain
from engine.local.demo import default_example
from tests.support.git_remotes import Upstream

DEMO = default_example()


def _demo_files() -> dict[str, str]:
    repo = DEMO / "repo"
    return {str(p.relative_to(repo)): p.read_text() for p in repo.rglob("*") if p.is_file()}


def _render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "render", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_render_from_git_matches_kustomize_build_of_the_same_overlay(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.commit(_demo_files(), "demo scenario")
    upstream.push("main")

    result = _render("--repo", upstream.url, "--revision", "main", "--path", "overlays/prod")

    assert result.returncode == 0, result.stderr
    kustomize = toolchain.find_binaries() / "kustomize"
    expected = subprocess.run(
        [str(kustomize), "build", str(DEMO / "repo" / "overlays" / "prod")],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert list(yaml.safe_load_all(result.stdout)) == list(yaml.safe_load_all(expected))


def test_render_from_git_of_broken_yaml_fails_with_one_line_naming_the_file(
    upstream: Upstream,
) -> None:
    files = _demo_files()
    files["base/deployment.yaml"] = "apiVersion: apps/v1\nkind: Deployment\nmetadata: [oops\n"
    upstream.commit(files, "broken")
    upstream.push("main")

    result = _render("--repo", upstream.url, "--revision", "main", "--path", "overlays/dev")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "base/deployment.yaml" in lines[0]


def test_render_from_a_local_repository_path_is_allowed_on_the_command_line(
    upstream: Upstream,
) -> None:
    upstream.commit(_demo_files(), "demo scenario")
    upstream.push("main")

    result = _render("--repo", str(upstream.bare), "--revision", "main", "--path", "overlays/dev")

    assert result.returncode == 0, result.stderr
    assert "kind: Deployment" in result.stdout
