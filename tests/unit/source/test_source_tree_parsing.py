"""Parsing of ls-tree and cat-file output, path and symlink checks (pure)."""

from pathlib import Path

import pytest

from engine.source.errors import UnsafeTree
from engine.source.tree import (
    SYMLINK_MODE,
    TreeFile,
    link_target,
    normalise_subpath,
    parse_cat_file_batch,
    parse_ls_tree,
    touches,
    write_tree,
)

O1 = "1" * 40
O2 = "2" * 40


def test_parse_ls_tree_keeps_blobs_and_drops_submodules() -> None:
    out = (
        f"100644 blob {O1}     12\tbase/a.yaml\0"
        f"120000 blob {O2}      7\tlink\0"
        f"160000 commit {O2}       -\tvendor/sub\0"
    ).encode()
    entries = parse_ls_tree(out)
    assert [(e.path, e.mode, e.size) for e in entries] == [
        ("base/a.yaml", 0o100644, 12),
        ("link", SYMLINK_MODE, 7),
    ]


def test_parse_ls_tree_keeps_tabs_and_newlines_in_names() -> None:
    entries = parse_ls_tree(f"100644 blob {O1} 1\ta\tb\nc\0".encode())
    assert entries[0].path == "a\tb\nc"


def test_parse_cat_file_batch_handles_binary_content_and_missing() -> None:
    body = b"x\ny\0z"
    out = f"{O1} blob {len(body)}\n".encode() + body + b"\n" + f"{O2} missing\n".encode()
    assert parse_cat_file_batch(out) == {O1: body}


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", ""), (".", ""), ("./overlays/dev/", "overlays/dev"), ("a//b", "a/b")],
)
def test_normalise_subpath(path: str, expected: str) -> None:
    assert normalise_subpath(path, repo="r") == expected


@pytest.mark.parametrize("path", ["/etc", "../x", "a/../../b", "a\\b"])
def test_normalise_subpath_refuses_paths_leaving_the_root(path: str) -> None:
    with pytest.raises(UnsafeTree):
        normalise_subpath(path, repo="r")


@pytest.mark.parametrize(
    ("path", "target", "expected"),
    [
        ("overlays/dev/base", b"../../base", "base"),
        ("a/link", b"b/c", "a/b/c"),
        ("link", b".", ""),
        ("a/link", b"../../x", None),
        ("link", b"/etc/passwd", None),
        ("link", b"..", None),
    ],
)
def test_link_target(path: str, target: bytes, expected: str | None) -> None:
    assert link_target(path, target) == expected


def test_touches_matches_paths_and_their_subtrees() -> None:
    changed = {"overlays/dev/kustomization.yaml"}
    assert touches(changed, ["overlays/dev"])
    assert touches(changed, [""])
    assert not touches(changed, ["overlays/prod", "base"])
    assert not touches(changed, ["overlays/de"])


def file(path: str, data: bytes, mode: int = 0o100644) -> TreeFile:
    return TreeFile(path, mode, data)


def test_write_tree_writes_files_modes_and_links(tmp_path: Path) -> None:
    files = {
        "base/a.yaml": file("base/a.yaml", b"a"),
        "bin/run": file("bin/run", b"#!/bin/sh", 0o100755),
        "dev/base": file("dev/base", b"../base", SYMLINK_MODE),
    }
    write_tree(files, tmp_path / "out", repo="r")
    assert (tmp_path / "out/dev/base/a.yaml").read_bytes() == b"a"
    assert (tmp_path / "out/bin/run").stat().st_mode & 0o111


def test_write_tree_refuses_a_chain_of_links_escaping_and_cleans_up(tmp_path: Path) -> None:
    # each link alone stays inside; followed together they reach the parent of the root
    files = {
        "here": file("here", b".", SYMLINK_MODE),
        "out": file("out", b"here/..", SYMLINK_MODE),
    }
    with pytest.raises(UnsafeTree, match="'out'"):
        write_tree(files, tmp_path / "dest", repo="r")
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("path", [".git/config", "a/.GIT/hooks/x", "a/../b"])
def test_write_tree_refuses_dangerous_paths(tmp_path: Path, path: str) -> None:
    with pytest.raises(UnsafeTree):
        write_tree({path: file(path, b"x")}, tmp_path / "dest", repo="r")
