"""Commit trees made from the previous tree on disk, against real commits from git daemon.

A tree no lease holds is turned into the next commit's tree by writing only what the two
commits differ in; the result must be the tree ``materialise`` writes whole.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.hub.trees import TreeCache
from engine.source import GitSource
from tests.support.git_remotes import Upstream


def _snapshot(root: Path) -> dict[str, str]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = path.read_text() + ("+x" if os.access(path, os.X_OK) else "")
    return found


async def _whole(source: GitSource, upstream: Upstream, sha: str, dest: Path) -> dict[str, str]:
    await source.materialise(repo=upstream.url, sha=sha, dest=dest)
    return _snapshot(dest)


async def test_tree_updates_each_commit_is_made_from_the_last_tree(
    upstream: Upstream, source: GitSource, tmp_path: Path
) -> None:
    trees = TreeCache(source, tmp_path / "trees")
    shas = [upstream.git("rev-parse", "HEAD")]
    shas.append(upstream.commit({"overlays/dev/k.yaml": "dev: 2\n", "apps/new/a.yaml": "a\n"}))
    upstream.git("rm", "-q", "-r", "overlays", "base/deploy.yaml")
    shas.append(upstream.commit({"overlays": "now a file\n"}))
    (upstream.work / "apps" / "link").symlink_to("new")
    (upstream.work / "run.sh").write_text("#!/bin/sh\n")
    (upstream.work / "run.sh").chmod(0o755)
    shas.append(upstream.commit({}))
    upstream.push("main")
    await source.refresh(repo=upstream.url, max_age=0)
    for index, sha in enumerate(shas):
        path = await trees.tree(repo=upstream.url, sha=sha)
        assert _snapshot(path) == await _whole(source, upstream, sha, tmp_path / f"whole{index}")
    assert trees.updates == len(shas) - 1
    assert trees.held == 1  # each older tree became the next one


async def test_tree_updates_a_leased_tree_is_left_as_it_is(
    upstream: Upstream, source: GitSource, tmp_path: Path
) -> None:
    trees = TreeCache(source, tmp_path / "trees")
    first = upstream.git("rev-parse", "HEAD")
    second = upstream.commit({"overlays/dev/k.yaml": "dev: 2\n"})
    upstream.push("main")
    await source.refresh(repo=upstream.url, max_age=0)
    async with trees.lease(repo=upstream.url, sha=first) as held:
        await trees.tree(repo=upstream.url, sha=second)
        assert (held / "overlays" / "dev" / "k.yaml").read_text() == "dev: 1\n"
    assert trees.updates == 0


async def test_tree_updates_a_failed_update_writes_the_tree_whole(
    upstream: Upstream, source: GitSource, tmp_path: Path
) -> None:
    trees = TreeCache(source, tmp_path / "trees")
    await source.refresh(repo=upstream.url)
    first = await trees.tree(repo=upstream.url, sha=upstream.git("rev-parse", "HEAD"))
    (first / "apps" / "new" / "a.yaml").mkdir(parents=True)  # where the next commit writes a file
    (first / "apps" / "new" / "a.yaml" / "stray").write_text("x")
    second = upstream.commit({"apps/new/a.yaml": "a\n"})
    upstream.push("main")
    await source.refresh(repo=upstream.url, max_age=0)
    path = await trees.tree(repo=upstream.url, sha=second)
    assert _snapshot(path) == await _whole(source, upstream, second, tmp_path / "whole")
    assert trees.updates == 0
    assert not first.exists()
