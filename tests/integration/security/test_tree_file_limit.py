"""Class 11 (tree size) against real git: a small repository cannot fill the hub's disk.

A few KiB of repository can list one blob under thousands of names (or nest one tree in
itself level after level): the file limit refuses it from the listing, before a blob is
read or a file written, and git's listing is cut short. The commit trees kept on disk are
bounded across all repositories.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.hub.trees import TreeCache
from engine.source import GitSource, UnsafeTree
from tests.support.git_remotes import Daemon, git_env

_counter = itertools.count()


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["git", *args], env={**git_env(repo), "GIT_DIR": str(repo)},
                          input=stdin, capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def fan_out_repo(daemon: Daemon, *, width: int, depth: int) -> tuple[str, Path, str]:
    """A served repository whose tree nests ``width`` copies of one tree ``depth`` times:
    ``width ** depth`` names of one tiny blob, in a few hundred bytes of objects."""
    name = f"fanout{next(_counter)}"
    bare = daemon.base / f"{name}.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)],
                   env=git_env(bare.parent), check=True)  # fmt: skip
    oid = git(bare, "hash-object", "-w", "--stdin", stdin="x\n")
    mode, kind = "100644", "blob"
    for _ in range(depth):
        oid = git(bare, "mktree", stdin="".join(f"{mode} {kind} {oid}\tf{i}\n"
                                                for i in range(width)))  # fmt: skip
        mode, kind = "040000", "tree"
    sha = git(bare, "commit-tree", "-m", "many files", oid)
    git(bare, "update-ref", "refs/heads/main", sha)
    return f"git://127.0.0.1:{daemon.port}/{name}.git", bare, sha


def commit_files(bare: Path, text: str) -> str:
    """Point main at a new commit holding one file."""
    blob = git(bare, "hash-object", "-w", "--stdin", stdin=text)
    tree = git(bare, "mktree", stdin=f"100644 blob {blob}\tapp.yaml\n")
    sha = git(bare, "commit-tree", "-m", text, tree)
    git(bare, "update-ref", "refs/heads/main", sha)
    return sha


def entries(root: Path) -> list[Path]:
    return list(root.rglob("*")) if root.exists() else []


async def test_tree_file_limit_refuses_many_names_of_one_blob_from_the_listing(
    git_daemon: Daemon, tmp_path: Path
) -> None:
    url, _, sha = fan_out_repo(git_daemon, width=20, depth=2)  # 400 files
    source = GitSource(tmp_path / "cache", max_tree_files=100, network_timeout=10)
    assert await source.resolve(repo=url, revision="main") == sha
    with pytest.raises(UnsafeTree, match="holds 400 files, over the limit of 100") as info:
        await source.materialise(repo=url, sha=sha, dest=tmp_path / "tree")
    assert not info.value.temporary
    assert entries(tmp_path / "tree") == []
    with pytest.raises(UnsafeTree, match="400 files"):
        await source.read_files(repo=url, sha=sha)


async def test_tree_file_limit_cuts_the_listing_of_a_tree_bomb_short(
    git_daemon: Daemon, tmp_path: Path
) -> None:
    url, _, sha = fan_out_repo(git_daemon, width=10, depth=8)  # 10**8 names, 1 KiB of objects
    source = GitSource(tmp_path / "cache", max_tree_files=100, network_timeout=10,
                       local_timeout=10)  # fmt: skip
    await source.refresh(repo=url)
    with pytest.raises(UnsafeTree, match="more files than the limit of 100"):
        await source.materialise(repo=url, sha=sha, dest=tmp_path / "tree")
    assert entries(tmp_path / "tree") == []


async def test_tree_file_limit_bounds_the_diff_of_a_tree_bomb(
    git_daemon: Daemon, tmp_path: Path
) -> None:
    url, bare, bomb = fan_out_repo(git_daemon, width=10, depth=8)
    source = GitSource(tmp_path / "cache", max_tree_files=100, network_timeout=10,
                       local_timeout=10)  # fmt: skip
    await source.refresh(repo=url)
    clean = commit_files(bare, "one\n")
    await source.refresh(repo=url, max_age=0)
    with pytest.raises(UnsafeTree, match="more files than the limit of 100"):
        await source.changed_paths(repo=url, old_sha=clean, new_sha=bomb)


async def test_tree_file_limit_a_diff_lists_each_tree_once_and_keeps_refusing_a_large_one(
    git_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, bare, large = fan_out_repo(git_daemon, width=11, depth=2)  # 121 files: over 100
    source = GitSource(tmp_path / "cache", max_tree_files=100, network_timeout=10,
                       local_timeout=10)  # fmt: skip
    await source.refresh(repo=url)
    first = commit_files(bare, "one\n")
    await source.refresh(repo=url, max_age=0)
    second = commit_files(bare, "two\n")  # commits without parents: each fetched alone
    await source.refresh(repo=url, max_age=0)
    listed: list[tuple[str, ...]] = []
    mirror = source._mirror(url)
    run = mirror.git

    async def counted(*args: str, **kwargs: Any) -> Any:
        if args[0] == "ls-tree":
            listed.append(args)
        return await run(*args, **kwargs)

    monkeypatch.setattr(mirror, "git", counted)
    for _ in range(2):
        assert await source.changed_paths(repo=url, old_sha=first, new_sha=second) == {"app.yaml"}
    assert len(listed) == 2  # each commit listed once, then known to be within the bound
    for _ in range(2):
        with pytest.raises(UnsafeTree, match="121 files, over the limit of 100"):
            await source.changed_paths(repo=url, old_sha=first, new_sha=large)
    assert len(listed) == 4  # the large tree is listed (and refused) every time


async def test_tree_file_limit_at_the_limit_is_written(git_daemon: Daemon, tmp_path: Path) -> None:
    url, _, sha = fan_out_repo(git_daemon, width=10, depth=2)  # 100 files
    source = GitSource(tmp_path / "cache", max_tree_files=100, network_timeout=10)
    await source.refresh(repo=url)
    await source.materialise(repo=url, sha=sha, dest=tmp_path / "tree")
    assert len([p for p in entries(tmp_path / "tree") if p.is_file()]) == 100


async def test_tree_file_limit_commit_trees_on_disk_are_bounded_across_repositories(
    git_daemon: Daemon, tmp_path: Path
) -> None:
    source = GitSource(tmp_path / "cache", network_timeout=10)
    trees = TreeCache(source, tmp_path / "trees", keep=2, keep_total=3)
    repos = [fan_out_repo(git_daemon, width=1, depth=1) for _ in range(4)]
    held: list[Path] = []
    for url, _, sha in repos:  # four repositories: no tree can be made from another's
        await source.refresh(repo=url)
        held.append(await trees.tree(repo=url, sha=sha))
    on_disk = sorted(p for p in (tmp_path / "trees").glob("*/*") if p.is_dir())
    assert on_disk == sorted(held[-3:])  # the three most recently used, whatever the repo
    assert trees.held == 3


async def test_tree_file_limit_commit_trees_of_one_repository_are_bounded(
    git_daemon: Daemon, tmp_path: Path
) -> None:
    source = GitSource(tmp_path / "cache", network_timeout=10)
    trees = TreeCache(source, tmp_path / "trees", keep=2)
    url, bare, _ = fan_out_repo(git_daemon, width=1, depth=1)
    async with contextlib.AsyncExitStack() as stack:  # leased: none is made into the next
        for text in ("one\n", "two\n", "three\n"):
            sha = commit_files(bare, text)
            await source.refresh(repo=url, max_age=0)
            await stack.enter_async_context(trees.lease(repo=url, sha=sha))
        assert trees.held == 3  # over the bound while all are leased
    sha = commit_files(bare, "four\n")
    await source.refresh(repo=url, max_age=0)
    await trees.tree(repo=url, sha=sha)
    assert trees.held == 2
    assert len([p for p in (tmp_path / "trees").glob("*/*") if p.is_dir()]) == 2


async def test_tree_file_limit_a_leased_tree_is_never_evicted(
    git_daemon: Daemon, tmp_path: Path
) -> None:
    source = GitSource(tmp_path / "cache", network_timeout=10)
    trees = TreeCache(source, tmp_path / "trees", keep=1, keep_total=1)
    url, bare, first = fan_out_repo(git_daemon, width=1, depth=1)
    await source.refresh(repo=url)
    async with trees.lease(repo=url, sha=first) as path:
        second = commit_files(bare, "two\n")
        await source.refresh(repo=url, max_age=0)
        await trees.tree(repo=url, sha=second)
        assert (path / "f0").read_text() == "x\n"  # still there while leased
    third = commit_files(bare, "three\n")
    await source.refresh(repo=url, max_age=0)
    await trees.tree(repo=url, sha=third)
    assert not path.exists()


async def test_tree_file_limit_trees_left_by_an_earlier_run_are_removed(
    git_daemon: Daemon, tmp_path: Path
) -> None:
    stale = tmp_path / "trees" / "0123abcd" / ("f" * 40)
    stale.mkdir(parents=True)
    (stale / "big.bin").write_bytes(b"\0" * 1024)
    source = GitSource(tmp_path / "cache", network_timeout=10)
    url, _, sha = fan_out_repo(git_daemon, width=1, depth=1)
    await source.refresh(repo=url)
    path = await TreeCache(source, tmp_path / "trees").tree(repo=url, sha=sha)
    assert not stale.parent.exists()
    assert sorted(p for p in (tmp_path / "trees").glob("*/*")) == [path]
