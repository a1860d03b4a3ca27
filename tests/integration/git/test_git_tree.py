"""Reading files at a commit without a checkout; materialising; changed paths."""

import os
import subprocess
from pathlib import Path

import anyio
import pytest

from engine.source import GitSource, PathNotFound, RevisionNotFound, UnsafeTree
from tests.support.git_remotes import Upstream


async def test_reads_a_subtree_with_paths_from_the_root(
    upstream: Upstream, source: GitSource
) -> None:
    sha = await source.resolve(repo=upstream.url, revision="main")
    files = await source.read_files(repo=upstream.url, sha=sha, path="./overlays/dev/")
    assert {p: f.data for p, f in files.items()} == {"overlays/dev/k.yaml": b"dev: 1\n"}
    everything = await source.read_files(repo=upstream.url, sha=sha)
    assert set(everything) == {"base/deploy.yaml", "overlays/dev/k.yaml"}


async def test_symlinks_binary_files_and_modes_are_preserved(
    upstream: Upstream, source: GitSource
) -> None:
    (upstream.work / "overlays/dev/base").symlink_to("../../base")
    (upstream.work / "overlays/dev/escape").symlink_to("../../../etc")
    (upstream.work / "bin.dat").write_bytes(b"\x00\xff\n\x00")
    (upstream.work / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(upstream.work / "run.sh", 0o755)
    upstream.commit({})
    upstream.push("main")
    sha = await source.resolve(repo=upstream.url, revision="main")
    files = await source.read_files(repo=upstream.url, sha=sha)
    assert files["overlays/dev/base"].is_symlink
    assert files["overlays/dev/base"].data == b"../../base"
    assert files["overlays/dev/escape"].is_symlink
    assert files["bin.dat"].data == b"\x00\xff\n\x00"
    assert files["run.sh"].mode == 0o100755
    assert not files["run.sh"].is_symlink


async def test_a_path_is_read_at_an_old_sha_after_the_branch_moved(
    upstream: Upstream, source: GitSource
) -> None:
    old = await source.resolve(repo=upstream.url, revision="main")
    upstream.commit({"overlays/dev/k.yaml": "dev: 2\n"})
    upstream.push("main")
    new = await source.resolve(repo=upstream.url, revision="main", max_age=0)
    assert new != old
    files = await source.read_files(repo=upstream.url, sha=old, path="overlays/dev")
    assert files["overlays/dev/k.yaml"].data == b"dev: 1\n"


async def test_two_shas_of_one_repo_are_read_concurrently(
    upstream: Upstream, source: GitSource
) -> None:
    shas = [upstream.git("rev-parse", "HEAD")]
    for i in range(2, 4):
        shas.append(upstream.commit({"overlays/dev/k.yaml": f"dev: {i}\n"}))
    upstream.push("main")
    await source.refresh(repo=upstream.url)
    seen: dict[str, bytes] = {}

    async def read(sha: str) -> None:
        files = await source.read_files(repo=upstream.url, sha=sha, path="overlays/dev")
        seen[sha] = files["overlays/dev/k.yaml"].data

    async with anyio.create_task_group() as tg:
        for sha in shas * 3:
            tg.start_soon(read, sha)
    assert [seen[s] for s in shas] == [b"dev: 1\n", b"dev: 2\n", b"dev: 3\n"]


async def test_missing_path_and_unknown_commit_are_permanent_errors(
    upstream: Upstream, source: GitSource
) -> None:
    sha = await source.resolve(repo=upstream.url, revision="main")
    with pytest.raises(PathNotFound, match="overlays/prod") as info:
        await source.read_files(repo=upstream.url, sha=sha, path="overlays/prod")
    assert not info.value.temporary
    with pytest.raises(RevisionNotFound):
        await source.read_files(repo=upstream.url, sha="1" * 40)
    with pytest.raises(UnsafeTree):
        await source.read_files(repo=upstream.url, sha=sha, path="../outside")


async def test_tree_over_the_size_limit_is_refused(upstream: Upstream, tmp_path: Path) -> None:
    small = GitSource(tmp_path / "small", max_tree_bytes=10)
    sha = await small.resolve(repo=upstream.url, revision="main")
    with pytest.raises(UnsafeTree, match="over the limit"):
        await small.read_files(repo=upstream.url, sha=sha)


async def test_materialise_writes_the_tree_of_a_commit(
    upstream: Upstream, source: GitSource, tmp_path: Path
) -> None:
    (upstream.work / "overlays/dev/base").symlink_to("../../base")
    sha = upstream.commit({})
    upstream.push("main")
    await source.refresh(repo=upstream.url)
    dest = tmp_path / "tree"
    await source.materialise(repo=upstream.url, sha=sha, dest=dest)
    assert (dest / "overlays/dev/k.yaml").read_text() == "dev: 1\n"
    assert (dest / "overlays/dev/base/deploy.yaml").read_text() == "kind: Deployment\n"
    assert not (dest / ".git").exists()


async def test_materialise_refuses_a_symlink_leaving_the_repository(
    upstream: Upstream, source: GitSource, tmp_path: Path
) -> None:
    (upstream.work / "leak").symlink_to("/etc/passwd")
    sha = upstream.commit({})
    upstream.push("main")
    await source.refresh(repo=upstream.url)
    with pytest.raises(UnsafeTree, match="'leak' points outside"):
        await source.materialise(repo=upstream.url, sha=sha, dest=tmp_path / "tree")
    assert not (tmp_path / "tree").exists()


async def test_changed_paths_between_two_commits(upstream: Upstream, source: GitSource) -> None:
    old = await source.resolve(repo=upstream.url, revision="main")
    upstream.commit({"overlays/dev/k.yaml": "dev: 2\n", "base/deploy.yaml": None, "new": "n"})
    upstream.push("main")
    new = await source.resolve(repo=upstream.url, revision="main", max_age=0)
    changed = await source.changed_paths(repo=upstream.url, old_sha=old, new_sha=new)
    assert changed == {"overlays/dev/k.yaml", "base/deploy.yaml", "new"}
    assert await source.changed_paths(repo=upstream.url, old_sha=new, new_sha=new) == frozenset()


def _old_style_commit(bare: Path, env: dict[str, str]) -> str:
    """A commit as old tools wrote them: a zero-padded tree mode and an odd time zone."""

    def git(*args: str, stdin: bytes) -> str:
        done = subprocess.run(["git", *args], env={**env, "GIT_DIR": str(bare)}, input=stdin,
                              capture_output=True, check=True)  # fmt: skip
        return done.stdout.decode().strip()

    blob = git("hash-object", "-w", "--stdin", stdin=b"kind: ConfigMap\n")
    inner = git("mktree", stdin=f"100644 blob {blob}\tcm.yaml\n".encode())
    tree = git("hash-object", "-t", "tree", "--literally", "-w", "--stdin",
               stdin=b"040000 base\0" + bytes.fromhex(inner))  # fmt: skip
    person = "Old Tool <old@example.com> 1100000000 +05"
    commit = f"tree {tree}\nauthor {person}\ncommitter {person}\n\nold\n".encode()
    sha = git("hash-object", "-t", "commit", "--literally", "-w", "--stdin", stdin=commit)
    git("update-ref", "refs/heads/main", sha, stdin=b"")
    return sha


async def test_fetches_check_objects_yet_accept_old_harmless_oddities(
    upstream: Upstream, source: GitSource
) -> None:
    sha = _old_style_commit(upstream.bare, upstream.env)
    assert await source.resolve(repo=upstream.url, revision="main") == sha
    files = await source.read_files(repo=upstream.url, sha=sha)
    assert files["base/cm.yaml"].data == b"kind: ConfigMap\n"
