"""Class 1: a commit tree is never written outside its directory (write_tree, no git).

Each crafted listing is what a hostile repository can make git hand out: a symlink and a
directory of one name (duplicateEntries), files below a symlink, links leading out alone
or in a chain, ``.git`` paths. After each refusal nothing exists outside ``dest`` and
``dest`` itself is gone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.source import UnsafeTree
from engine.source.treefiles import SYMLINK_MODE, TreeFile, check_listing
from engine.source.treewrite import write_tree


def blob(path: str, data: bytes = b"#!/bin/sh\ntouch pwned\n") -> TreeFile:
    return TreeFile(path, 0o100755, data)


def link(path: str, target: str | bytes) -> TreeFile:
    return TreeFile(path, SYMLINK_MODE, target if isinstance(target, bytes) else target.encode())


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory beside ``dest`` standing for the hub's data (a mirror's hooks/)."""
    hooks = tmp_path / "mirror.git" / "hooks"
    hooks.mkdir(parents=True)
    return hooks


def everything_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def refused(files: list[TreeFile], tmp_path: Path, match: str) -> None:
    before = everything_under(tmp_path)
    with pytest.raises(UnsafeTree, match=match):
        write_tree(files, tmp_path / "dest", repo="https://git.example/evil")
    assert everything_under(tmp_path) == before  # nothing new, anywhere, dest included


def test_tree_escape_duplicate_symlink_then_directory_is_refused(
    tmp_path: Path, victim: Path
) -> None:
    # git ls-tree -r of a tree {x -> hooks (symlink), x/ (tree)} lists x and x/post-merge
    files = [link("x", str(victim)), blob("x/post-merge")]
    refused(files, tmp_path, "'x' both as a file or symlink and as a directory")
    assert not (victim / "post-merge").exists()


def test_tree_escape_links_inside_lexically_then_a_directory_is_refused(
    tmp_path: Path, victim: Path
) -> None:
    # d/e/up -> the root; x -> d/e/up/../mirror.git: inside for a per-link lexical check,
    # the real mirror for the file system. The old writer planted x/hooks/... there.
    files = [link("d/e/up", "../.."), link("x", "d/e/up/../mirror.git"),
             blob("x/hooks/reference-transaction")]  # fmt: skip
    refused(files, tmp_path, "'x' both as a file or symlink and as a directory")
    assert list(victim.iterdir()) == []


def test_tree_escape_relative_prefix_symlink_is_refused(tmp_path: Path, victim: Path) -> None:
    # a link that stays inside lexically still must not be written through
    files = [link("a", "b"), link("b", "."), blob("a/hooks/post-merge"), blob("b/c")]
    refused(files, tmp_path, "'a' both as a file")


def test_tree_escape_file_below_a_file_is_refused(tmp_path: Path) -> None:
    refused([blob("conf"), blob("conf/x")], tmp_path, "'conf' both as a file")


def test_tree_escape_same_path_twice_is_refused(tmp_path: Path) -> None:
    refused([blob("a/b", b"one"), blob("a/b", b"two")], tmp_path, "'a/b' twice")


@pytest.mark.parametrize("target", ["/etc", "../../outside", "b/../../../x", "", b"x\0y"])
def test_tree_escape_link_leaving_the_root_is_refused(
    tmp_path: Path, target: str | bytes
) -> None:
    refused([link("a/l", target)], tmp_path, "'a/l' points outside")


def test_tree_escape_chain_of_links_leaving_the_root_is_refused(tmp_path: Path) -> None:
    # each link alone stays inside; followed together they reach the parent of the root
    refused([link("here", "."), link("out", "here/..")], tmp_path, "'out' points outside")


@pytest.mark.parametrize(
    "path", [".git/hooks/post-checkout", "a/.GIT/config", "a/../b", "./a", "a//b", "/abs"]
)
def test_tree_escape_git_dirs_and_dot_paths_are_refused(tmp_path: Path, path: str) -> None:
    refused([blob(path)], tmp_path, "refusing to write the path")


def test_tree_escape_writes_never_follow_a_link_even_past_the_checks(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with the listing and link checks gone, the no-follow writer alone must stop the escape
    monkeypatch.setattr("engine.source.treewrite.check_listing", lambda *a, **k: None)
    monkeypatch.setattr("engine.source.treewrite.check_links", lambda *a, **k: None)
    files = [link("d/e/up", "../.."), link("x", "d/e/up/../mirror.git"),
             link("y", os.path.relpath(victim, tmp_path / "dest")),
             blob("x/hooks/post-merge"), blob("y/post-merge")]  # fmt: skip
    with pytest.raises(UnsafeTree, match="cannot write 'x/hooks/post-merge'"):
        write_tree(files, tmp_path / "dest", repo="r")
    assert list(victim.iterdir()) == []
    assert not (tmp_path / "dest").exists()


def test_tree_escape_listing_check_is_whole_before_any_write() -> None:
    # the clash is found even when the directory's files come before the link
    with pytest.raises(UnsafeTree, match="'x'"):
        check_listing([("x/post-merge", False), ("x", True)], repo="r")


def test_an_ordinary_tree_with_inner_links_is_written(tmp_path: Path) -> None:
    files = [blob("base/a.yaml", b"a"), link("overlays/dev/base", "../../base"),
             link("root", "."), blob("bin/run")]  # fmt: skip
    write_tree(files, tmp_path / "dest", repo="r")
    assert (tmp_path / "dest/overlays/dev/base/a.yaml").read_bytes() == b"a"
    assert os.access(tmp_path / "dest/bin/run", os.X_OK)
    assert os.readlink(tmp_path / "dest/root") == "."
