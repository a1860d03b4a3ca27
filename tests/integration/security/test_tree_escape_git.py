"""Class 1 against real git: a crafted tree cannot write into the hub's data directory.

The repository, served by git daemon, holds a commit whose root tree lists ``x`` twice:
a symlink to the hub's own mirror of that repository, then a directory ``x`` with
``hooks/reference-transaction``. Written naively, the hook lands in the mirror and the next
fetch runs it. Here (a) the fetch refuses the objects (fsck), (b) objects that got into a
mirror anyway (a mirror fetched before fsck was on) are refused by the tree writer, and
(c) the next fetch runs no hook.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import pytest

from engine.source import GitSource, UnsafeObjects, UnsafeTree
from tests.support.git_remotes import Daemon, git_env

_counter = itertools.count()


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**git_env(repo), "GIT_DIR": str(repo)},
                          input=stdin, capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def blob(repo: Path, text: str) -> str:
    return git(repo, "hash-object", "-w", "--stdin", stdin=text)


def new_url(daemon: Daemon) -> str:
    """The address of a repository not made yet (its mirror's path is needed to craft it)."""
    return f"git://127.0.0.1:{daemon.port}/evil{next(_counter)}.git"


def crafted_repo(daemon: Daemon, url: str, *, dest: Path, mirror: Path,
                 marker: Path) -> tuple[Path, str]:  # fmt: skip
    """The repository at ``url``: its main commit lists ``x`` as a symlink and a directory.

    Each link stays inside the root lexically (what a per-link check sees): ``d/e/up``
    points to the root, ``x`` to ``d/e/up/../<mirror>``, which leaves the root for real, to
    the mirror of this repository next to the written tree. The directory ``x`` holds a
    ``hooks/reference-transaction`` that git would run at the mirror's next ref update.
    ``dest`` is where the tree will be written.
    """
    bare = daemon.base / url.rsplit("/", 1)[1]
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)],
                   env=git_env(bare.parent), check=True)  # fmt: skip
    hook = blob(bare, f"#!/bin/sh\ntouch {marker}\n")
    hooks = git(bare, "mktree", stdin=f"100755 blob {hook}\treference-transaction\n")
    inner = git(bare, "mktree", stdin=f"040000 tree {hooks}\thooks\n")
    up = git(bare, "mktree", stdin=f"120000 blob {blob(bare, '../..')}\tup\n")
    e = git(bare, "mktree", stdin=f"040000 tree {up}\te\n")
    into_mirror = blob(bare, "d/e/up/" + os.path.relpath(mirror, dest))
    root = git(bare, "mktree", stdin=(f"040000 tree {e}\td\n120000 blob {into_mirror}\tx\n"
                                      f"040000 tree {inner}\tx\n"))  # fmt: skip
    sha = git(bare, "commit-tree", "-m", "evil", root)
    git(bare, "update-ref", "refs/heads/main", sha)
    return bare, sha


def clean_commit(bare: Path) -> str:
    """Point main at a new, ordinary commit (so that the next fetch updates a ref)."""
    readme = blob(bare, "clean\n")
    tree = git(bare, "mktree", stdin=f"100644 blob {readme}\tREADME\n")
    sha = git(bare, "commit-tree", "-m", "clean", tree)
    git(bare, "update-ref", "refs/heads/main", sha)
    return sha


def has_object(repo: Path, oid: str) -> bool:
    env = {**git_env(repo), "GIT_DIR": str(repo)}
    done = subprocess.run(["git", "cat-file", "-e", oid], env=env, capture_output=True, check=False)
    return done.returncode == 0


def files_under(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache", network_timeout=10, local_timeout=10)


async def test_tree_escape_duplicate_entries_refused_by_fsck(
    git_daemon: Daemon, source: GitSource, tmp_path: Path
) -> None:
    marker, url = tmp_path / "pwned", new_url(git_daemon)
    mirror = source.mirror_path(url)
    _, sha = crafted_repo(git_daemon, url, dest=tmp_path / "dest", mirror=mirror, marker=marker)
    with pytest.raises(UnsafeObjects, match="duplicateEntries") as info:
        await source.refresh(repo=url)
    assert not info.value.temporary
    assert str(info.value).startswith(url)
    assert not has_object(mirror, sha)
    assert not (mirror / "hooks").exists()


async def test_tree_escape_duplicate_entries_in_a_mirror_are_never_written_through(
    git_daemon: Daemon, source: GitSource, tmp_path: Path
) -> None:
    marker, url = tmp_path / "pwned", new_url(git_daemon)
    mirror = source.mirror_path(url)
    bare, sha = crafted_repo(git_daemon, url, dest=tmp_path / "dest", mirror=mirror,
                             marker=marker)  # fmt: skip
    # a mirror filled before fetches ran fsck: the objects are copied in without it
    with pytest.raises(UnsafeObjects):
        await source.refresh(repo=url)
    git(mirror, "fetch", "--quiet", str(bare), "main:refs/heads/main")
    before = files_under(tmp_path)

    with pytest.raises(UnsafeTree) as info:
        await source.materialise(repo=url, sha=sha, dest=tmp_path / "dest")

    assert not (mirror / "hooks").exists()
    assert not (tmp_path / "dest").exists()
    assert files_under(tmp_path) == before
    # (c) the next fetch (main moved to an ordinary commit) runs no hook planted by the tree
    new = clean_commit(bare)
    assert await source.resolve(repo=url, revision="main", max_age=0) == new
    assert not marker.exists()
    assert "'x' both as a file or symlink and as a directory" in str(info.value)
