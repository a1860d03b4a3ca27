"""Class 11 of issue 8: a symlink loop with directory.recurse, and other input that used to
escape the renderer as something else than a RenderError (a RecursionError made the app
retry forever with a stale status)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.render import RenderError, SecurityError, build, transformers

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def manifests(root: Path, *dirs: str) -> None:
    for index, rel in enumerate(dirs):
        (root / rel).mkdir(parents=True, exist_ok=True)
        (root / rel / "cm.yaml").write_text(CM.format(name=f"cm{index}"))


def test_symlink_to_an_ancestor_is_refused_naming_the_loop(tmp_path: Path) -> None:
    manifests(tmp_path, ".", "a/b")
    os.symlink("../..", tmp_path / "a" / "b" / "up")
    with pytest.raises(RenderError, match=r"^a/b/up: symlink loop: leads to '\.'"):
        build(tmp_path, recurse=True)


def test_two_directories_linking_to_each_other_are_refused(tmp_path: Path) -> None:
    manifests(tmp_path, "a", "b")
    os.symlink("../b", tmp_path / "a" / "to-b")
    os.symlink("../a", tmp_path / "b" / "to-a")
    with pytest.raises(RenderError, match="symlink loop"):
        build(tmp_path, recurse=True)


def test_self_referencing_symlink_is_not_a_crash(tmp_path: Path) -> None:
    manifests(tmp_path, ".")
    os.symlink("self", tmp_path / "self")
    os.symlink("self.yaml", tmp_path / "self.yaml")
    with pytest.raises(RenderError):
        build(tmp_path, recurse=True)


def test_without_recurse_a_loop_is_never_followed(tmp_path: Path) -> None:
    manifests(tmp_path, ".")
    os.symlink(".", tmp_path / "loop")
    assert [o["metadata"]["name"] for o in build(tmp_path)] == ["cm0"]


def test_directories_nested_too_deep_are_refused(tmp_path: Path) -> None:
    deep = Path(*["d"] * 120)
    manifests(tmp_path, str(deep))
    with pytest.raises(SecurityError, match="directories nested deeper than 100 levels"):
        build(tmp_path, recurse=True)


def test_kustomizations_nested_too_deep_are_refused(tmp_path: Path) -> None:
    for level in range(400):
        directory = tmp_path / f"k{level}"
        directory.mkdir()
        (directory / "kustomization.yaml").write_text(f"resources: [../k{level + 1}]\n")
    (tmp_path / "k400").mkdir()
    (tmp_path / "k400" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (tmp_path / "k400" / "cm.yaml").write_text(CM.format(name="deep"))
    with pytest.raises(SecurityError, match="kustomizations nested deeper than 100 levels"):
        build(tmp_path / "k0", root=tmp_path)


def test_an_unexpected_error_leaves_build_as_a_render_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cm.yaml").write_text(CM.format(name="cm"))
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamespace: x\n")

    def broken(*_args: object) -> None:
        raise KeyError(str(tmp_path))  # stands for any bug a hostile input may hit

    monkeypatch.setattr(transformers, "set_namespace", broken)
    with pytest.raises(RenderError, match=r"^\.: render failed on unexpected input "
                                          r"\(KeyError\)$"):
        build(tmp_path)


def test_a_recursion_error_leaves_build_as_a_render_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cm.yaml").write_text(CM.format(name="cm"))
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamespace: x\n")

    def recurse(*_args: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(transformers, "set_namespace", recurse)
    with pytest.raises(SecurityError, match="render nested too deeply"):
        build(tmp_path)
