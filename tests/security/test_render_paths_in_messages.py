"""Class 11 of issue 8: conditions showed the hub's own file paths.

A render error reaches the API, the dashboard and the store. It must name files relative
to the repository root (``app/kustomization.yaml``), never the absolute path of the commit
tree in the hub's data directory. Each case renders a broken app from a tree under a
hub-like data directory and checks the message names the file but not the directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.render import RenderBudget, RenderError, build, transformers
from engine.renderer.fallback import build_or_fallback
from engine.renderer.sandbox import find_bwrap
from tests.security.test_kustomize_fallback_escape import KUSTOMIZE
from tests.security.test_render_guards import CM
from tests.support.files import write

HUB_TREE = Path("var/lib/fleetsync/trees/6f1e0c/0123456789abcdef0123456789abcdef01234567")


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / HUB_TREE
    root.mkdir(parents=True)
    (tmp_path / "var/lib/fleetsync/trees/other.yaml").write_text(CM.format(name="x"))
    return root


def kustomization(text: str, **files: str | bytes) -> Callable[[Path], Path]:
    """An app at ``app/`` with this kustomization and these files (relative to the root)."""
    def make(root: Path) -> Path:
        write(root, {"app/kustomization.yaml": text})
        for rel, content in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            data = content if isinstance(content, bytes) else content.encode()
            (root / rel).write_bytes(data)
        return root / "app"
    return make


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "resource leaving the root": (
        kustomization("resources: [../../other.yaml]\n"), "app/kustomization.yaml"),
    "directory leaving the root": (
        kustomization("resources: [../..]\n"), "app/kustomization.yaml"),
    "missing resource": (kustomization("resources: [gone.yaml]\n"), "app/kustomization.yaml"),
    "invalid YAML": (kustomization("resources: [cm.yaml]\n", **{"app/cm.yaml": "a: [\n"}),
                     "app/cm.yaml"),
    "not UTF-8": (kustomization("resources: [cm.yaml]\n", **{"app/cm.yaml": b"a: \xff\n"}),
                  "app/cm.yaml"),
    "cycle": (kustomization("resources: [../b]\n",
                            **{"b/kustomization.yaml": "resources: [../app]\n"}), "app"),
    "file outside the kustomization": (
        kustomization("resources: [../shared/cm.yaml]\n",
                      **{"shared/cm.yaml": CM.format(name="s")}), "app/kustomization.yaml"),
    "missing patch file": (kustomization("patches:\n- path: p.yaml\n"),
                           "app/kustomization.yaml"),
    "missing generator file": (
        kustomization("configMapGenerator:\n- name: c\n  files: [gone.txt]\n"),
        "app/kustomization.yaml"),
    "missing base kustomization": (
        kustomization("resources: [../base]\n", **{"base/cm.yaml": CM.format(name="b")}),
        "base"),
    "unknown field": (kustomization("nonsense: 1\n"), "app/kustomization.yaml"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_render_errors_name_files_relative_to_the_repository(tree: Path, name: str) -> None:
    make, shown = CASES[name]
    target = make(tree)
    with pytest.raises(RenderError) as info:
        build(target, root=tree)
    _check(str(info.value), tree, shown)


def _check(message: str, tree: Path, shown: str) -> None:
    assert str(tree.parents[len(HUB_TREE.parts) - 1]) not in message, message
    assert "/var/lib/fleetsync" not in message, message
    assert shown in message, message


def test_symlink_out_of_the_tree_is_named_by_the_link(tree: Path) -> None:
    write(tree, {"app/kustomization.yaml": "resources: [cm.yaml]\n"})
    os.symlink(tree.parent / "../other.yaml", tree / "app" / "cm.yaml")
    with pytest.raises(RenderError) as info:
        build(tree / "app", root=tree)
    _check(str(info.value), tree, "app/kustomization.yaml")


def test_symlink_loop_is_named_relative(tree: Path) -> None:
    write(tree, {"m/cm.yaml": CM.format(name="a")})
    os.symlink("..", tree / "m" / "loop")
    with pytest.raises(RenderError) as info:
        build(tree / "m", root=tree, recurse=True)
    _check(str(info.value), tree, "m/loop")


def test_target_that_is_a_file_or_outside_is_named_relative(tree: Path) -> None:
    write(tree, {"app/cm.yaml": CM.format(name="a")})
    with pytest.raises(RenderError) as info:
        build(tree / "app" / "cm.yaml", root=tree)
    _check(str(info.value), tree, "app/cm.yaml")
    with pytest.raises(RenderError) as info:
        build(tree.parent, root=tree)
    assert str(tree.parent) not in str(info.value)


def test_missing_root_is_not_named_by_its_path(tree: Path) -> None:
    with pytest.raises(RenderError) as info:
        build(tree / "gone", root=tree / "gone")
    assert str(tree) not in str(info.value)


def test_budget_errors_are_named_relative(tree: Path) -> None:
    write(tree, {"app/kustomization.yaml": "resources: [../b]\n",
                 "b/kustomization.yaml": "resources: [cm.yaml]\n",
                 "b/cm.yaml": CM.format(name="b")})
    with pytest.raises(RenderError) as info:
        build(tree / "app", root=tree, budget=RenderBudget(max_visits=1))
    _check(str(info.value), tree, "b")


def test_unexpected_errors_are_named_relative(tree: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    write(tree, {"app/kustomization.yaml": "resources: [cm.yaml]\nnamespace: n\n",
                 "app/cm.yaml": CM.format(name="a")})

    def broken(*_args: object) -> None:
        raise OSError(2, "No such file or directory", str(tree / "app" / "x"))

    monkeypatch.setattr(transformers, "set_namespace", broken)
    with pytest.raises(RenderError) as info:
        build(tree / "app", root=tree)
    _check(str(info.value), tree, "app")


def test_fallback_errors_are_named_relative(tree: Path) -> None:
    write(tree, {"app/kustomization.yaml": "helmGlobals: {}\nresources: [https://x.example/a.yaml]\n"})
    with pytest.raises(RenderError) as info:
        build_or_fallback(tree / "app", root=tree, kustomize="/no/kustomize")
    _check(str(info.value), tree, "app/kustomization.yaml")


@pytest.mark.skipif(KUSTOMIZE is None or find_bwrap() is None,
                    reason="needs the built kustomize and bwrap")
def test_kustomize_binary_errors_are_named_relative(tree: Path) -> None:
    write(tree, {"app/kustomization.yaml": "helmGlobals: {}\nresources: [gone.yaml]\n"})
    with pytest.raises(RenderError) as info:
        build_or_fallback(tree / "app", root=tree, kustomize=KUSTOMIZE)
    _check(str(info.value), tree, "app")
    assert "/src" not in str(info.value)


def test_invalid_env_line_does_not_show_its_value(tree: Path) -> None:
    write(tree, {"app/kustomization.yaml": "secretGenerator:\n- name: s\n  envs: [s.env]\n",
                 "app/s.env": "DB PASSWORD=hunter2-value\n"})
    with pytest.raises(RenderError) as info:
        build(tree / "app", root=tree)
    _check(str(info.value), tree, "s.env:1")
    assert "hunter2" not in str(info.value)
