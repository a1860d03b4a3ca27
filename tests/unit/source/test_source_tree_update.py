"""Turning a written commit tree into another commit's in place (pure: files on tmp_path).

Each case writes the old tree, updates it with the paths the two listings differ in, and
compares it with the new tree written whole: same files, modes, links and directories.
"""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

import pytest

from engine.source.errors import UnsafeTree
from engine.source.tree import EXECUTABLE_MODE, SYMLINK_MODE, TreeFile, write_tree
from engine.source.treewrite import update_tree

FILE = 0o100644
Listing = dict[str, tuple[int, bytes]]


def _files(listing: Listing) -> list[TreeFile]:
    return [TreeFile(path, mode, data) for path, (mode, data) in listing.items()]


def _snapshot(root: Path) -> dict[str, tuple[str, bytes | bool]]:
    """Every entry below ``root``: directories, files (content, executable) and links."""
    found: dict[str, tuple[str, bytes | bool]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                found[rel] = ("dir", True)
            else:
                found[rel] = ("file", path.read_bytes())
                found[rel + "#x"] = ("mode", bool(path.stat().st_mode & stat.S_IXUSR))
    return found


def _update(tmp_path: Path, old: Listing, new: Listing) -> Path:
    """The old tree updated into the new one; checked against the new tree written whole."""
    dest, whole = tmp_path / "updated", tmp_path / "whole"
    write_tree(_files(old), dest, repo="r")
    changed = {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}
    written = [f for f in _files(new) if f.path in changed]
    links = [f for f in _files(new) if f.is_symlink]
    update_tree(dest, removed=changed, written=written, links=links, repo="r")
    write_tree(_files(new), whole, repo="r")
    assert _snapshot(dest) == _snapshot(whole)
    return dest


def test_tree_update_changes_adds_and_removes_files(tmp_path: Path) -> None:
    old = {"apps/a/k.yaml": (FILE, b"a"), "apps/b/k.yaml": (FILE, b"b"),
           "base/k.yaml": (FILE, b"1")}  # fmt: skip
    new = {"apps/a/k.yaml": (FILE, b"a2"), "base/k.yaml": (FILE, b"1"),
           "apps/c/k.yaml": (FILE, b"c")}  # fmt: skip
    dest = _update(tmp_path, old, new)
    assert not (dest / "apps" / "b").exists()  # git keeps no empty directory, nor does this


def test_tree_update_turns_a_file_into_a_directory_and_back(tmp_path: Path) -> None:
    _update(tmp_path / "1", {"d": (FILE, b"f"), "x/y/z": (FILE, b"z")},
            {"d/f": (FILE, b"f"), "x/y": (FILE, b"y")})  # fmt: skip
    _update(tmp_path / "2", {"d/f": (FILE, b"f"), "d/g/h": (FILE, b"h")}, {"d": (FILE, b"d")})


def test_tree_update_changes_links_and_executable_bits(tmp_path: Path) -> None:
    old = {"bin/run": (FILE, b"#!"), "base/k": (FILE, b"k"), "cur": (SYMLINK_MODE, b"base"),
           "dir/x": (FILE, b"x")}  # fmt: skip
    new = {"bin/run": (EXECUTABLE_MODE, b"#!"), "base/k": (FILE, b"k"),
           "cur": (SYMLINK_MODE, b"base/k"), "dir": (SYMLINK_MODE, b"base")}  # fmt: skip
    _update(tmp_path, old, new)


def test_tree_update_matches_whole_writes_over_random_commits(tmp_path: Path) -> None:
    rng = random.Random(11)
    names = ["a", "b", "c"]
    listing: Listing = {}
    for step in range(40):
        new = dict(listing)
        for _ in range(rng.randint(1, 4)):
            path = "/".join(rng.choice(names) for _ in range(rng.randint(1, 3)))
            if rng.random() < 0.3:
                for other in [p for p in new if p == path or p.startswith(path + "/")]:
                    del new[other]
                continue
            # a path may not sit below another listed path, nor have one below it
            clash = [p for p in new if p != path and (p.startswith(path + "/")
                                                      or path.startswith(p + "/"))]  # fmt: skip
            for other in clash:
                del new[other]
            mode = rng.choice([FILE, FILE, EXECUTABLE_MODE])
            new[path] = (mode, rng.choice([b"1", b"2", b"3"]))
        _update(tmp_path / str(step), listing, new)
        listing = new


def test_tree_update_refuses_a_chain_of_links_out_and_removes_the_tree(tmp_path: Path) -> None:
    old = {"a": (FILE, b"a")}
    new = {"a": (FILE, b"a"), "l1": (SYMLINK_MODE, b"."), "l2": (SYMLINK_MODE, b"l1/..")}
    dest = tmp_path / "tree"
    write_tree(_files(old), dest, repo="r")
    links = [f for f in _files(new) if f.is_symlink]
    with pytest.raises(UnsafeTree, match="outside"):
        update_tree(dest, removed={"l1", "l2"}, written=links, links=links, repo="r")
    assert not dest.exists()


def test_tree_update_never_writes_through_a_link_on_disk(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "tree"
    write_tree(_files({"keep": (FILE, b"k")}), dest, repo="r")
    (dest / "d").symlink_to(outside)  # not what any commit wrote: a tampered tree
    with pytest.raises(UnsafeTree, match="inside the tree"):
        update_tree(dest, removed={"d/x"}, written=_files({"d/x": (FILE, b"x")}), links=[],
                    repo="r")  # fmt: skip
    assert list(outside.iterdir()) == []


def test_tree_update_never_removes_through_a_link_on_disk(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x").write_text("theirs")
    dest = tmp_path / "tree"
    write_tree(_files({"keep": (FILE, b"k")}), dest, repo="r")
    (dest / "d").symlink_to(outside)
    update_tree(dest, removed={"d/x"}, written=[], links=[], repo="r")
    assert (outside / "x").read_text() == "theirs"
