"""``fleetsync render PATH`` reaches the kustomizations PATH names, as ``kustomize build``
does: its default root is the Git work tree holding PATH (else the filesystem root), and
files still stay inside their own kustomization's directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.cli import main
from engine.cli.render import default_root

BASE = {
    "base/kustomization.yaml": "resources:\n- deployment.yaml\n",
    "base/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n"),
}
DEV = {"overlays/dev/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: dev-\n"}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _git_work_tree(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def _render(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["render", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_readme_example_renders_from_a_git_work_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = _write(_git_work_tree(tmp_path / "repo"), BASE | DEV)
    monkeypatch.chdir(repo)
    code, out, err = _render(["overlays/dev"], capsys)
    assert (code, err) == (0, "")
    assert "name: dev-web" in out


def test_plain_directory_outside_any_work_tree_renders(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = _write(tmp_path / "plain", BASE | DEV)
    assert default_root(tree) == Path("/") or (default_root(tree) / ".git").exists()
    code, out, _err = _render([str(tree / "overlays/dev")], capsys)
    assert code == 0
    assert "name: dev-web" in out


def test_default_root_is_the_enclosing_work_tree(tmp_path: Path) -> None:
    repo = _write(_git_work_tree(tmp_path / "repo"), BASE | DEV)
    assert default_root(repo / "overlays/dev") == repo.resolve()
    linked = tmp_path / "linked"
    (linked / "app").mkdir(parents=True)
    (linked / ".git").write_text("gitdir: /elsewhere/.git/worktrees/linked\n")
    assert default_root(linked / "app") == linked.resolve()


def test_kustomization_outside_the_work_tree_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, BASE)  # beside the work tree, not in it
    repo = _write(_git_work_tree(tmp_path / "repo"),
                  {"app/kustomization.yaml": "resources:\n- ../../base\n"})
    code, out, err = _render([str(repo / "app")], capsys)
    assert (code, out) == (1, "")
    assert "resolves outside the repository root" in err


def test_files_stay_inside_their_kustomization_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _write(_git_work_tree(tmp_path / "repo"), BASE | {
        "overlays/dev/kustomization.yaml": "resources:\n- ../../base/deployment.yaml\n"})
    code, out, err = _render([str(repo / "overlays/dev")], capsys)
    assert (code, out) == (1, "")
    assert "is not in or below" in err


def test_explicit_root_still_bounds_every_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _write(_git_work_tree(tmp_path / "repo"), BASE | DEV)
    dev = repo / "overlays/dev"
    code, out, err = _render([str(dev), "--root", str(dev)], capsys)
    assert (code, out) == (1, "")
    assert "resolves outside the repository root" in err
