"""Resolving revisions against real remotes (git daemon and file://) as they change."""

from pathlib import Path

import pytest

from engine.source import GitSource, InvalidRepository, RevisionNotFound
from tests.support.git_remotes import Daemon, Upstream, git_env, run


async def test_resolves_branch_tags_short_sha_full_sha_and_head(
    upstream: Upstream, source: GitSource
) -> None:
    first = upstream.git("rev-parse", "HEAD")
    upstream.git("tag", "light")
    upstream.git("tag", "-a", "annotated", "-m", "release")
    upstream.push("--tags")
    url = upstream.url
    assert await source.resolve(repo=url, revision="main") == first
    assert await source.resolve(repo=url, revision="refs/heads/main") == first
    assert await source.resolve(repo=url, revision="light") == first
    assert await source.resolve(repo=url, revision="annotated") == first  # peeled
    assert await source.resolve(repo=url, revision="HEAD") == first
    assert await source.resolve(repo=url, revision=first[:8]) == first
    assert await source.resolve(repo=url, revision=first) == first


async def test_head_follows_the_remote_default_branch(
    upstream: Upstream, source: GitSource
) -> None:
    upstream.git("checkout", "--quiet", "-b", "trunk")
    trunk = upstream.commit({"t": "t"})
    upstream.push("trunk")
    run(["git", f"--git-dir={upstream.bare}", "symbolic-ref", "HEAD", "refs/heads/trunk"],
        upstream.env)  # fmt: skip
    assert await source.resolve(repo=upstream.url, revision="HEAD") == trunk


async def test_branch_move_is_seen_after_freshness_window_or_forced(
    upstream: Upstream, source: GitSource
) -> None:
    old = await source.resolve(repo=upstream.url, revision="main")
    new = upstream.commit({"base/deploy.yaml": "kind: Deployment\nv: 2\n"})
    upstream.push("main")
    assert await source.resolve(repo=upstream.url, revision="main") == old  # still fresh
    assert await source.resolve(repo=upstream.url, revision="main", max_age=0) == new


async def test_force_push_moves_the_branch_back_and_old_commit_stays_readable(
    upstream: Upstream, source: GitSource
) -> None:
    base = upstream.git("rev-parse", "HEAD")
    doomed = upstream.commit({"overlays/dev/k.yaml": "dev: doomed\n"})
    upstream.push("main")
    assert await source.resolve(repo=upstream.url, revision="main") == doomed
    upstream.git("reset", "--quiet", "--hard", base)
    rewritten = upstream.commit({"overlays/dev/k.yaml": "dev: rewritten\n"})
    upstream.push("main", force=True)
    assert await source.resolve(repo=upstream.url, revision="main", max_age=0) == rewritten
    files = await source.read_files(repo=upstream.url, sha=doomed, path="overlays/dev")
    assert files["overlays/dev/k.yaml"].data == b"dev: doomed\n"


async def test_deleted_branch_or_tag_is_a_permanent_revision_not_found(
    upstream: Upstream, source: GitSource
) -> None:
    upstream.push("main:refs/heads/feature", "main:refs/tags/gone")
    await source.resolve(repo=upstream.url, revision="feature")
    await source.resolve(repo=upstream.url, revision="gone")
    upstream.push(":refs/heads/feature", ":refs/tags/gone")
    with pytest.raises(RevisionNotFound) as info:
        await source.resolve(repo=upstream.url, revision="feature", max_age=0)
    assert not info.value.temporary
    assert upstream.url in str(info.value)
    with pytest.raises(RevisionNotFound):
        await source.resolve(repo=upstream.url, revision="gone")


async def test_moved_tag_is_followed(upstream: Upstream, source: GitSource) -> None:
    upstream.git("tag", "stable")
    upstream.push("--tags")
    await source.resolve(repo=upstream.url, revision="stable")
    moved = upstream.commit({"x": "x"})
    upstream.git("tag", "--force", "-a", "stable", "-m", "moved")
    upstream.push("--tags", force=True)
    assert await source.resolve(repo=upstream.url, revision="stable", max_age=0) == moved


async def test_unknown_revisions_are_not_found(upstream: Upstream, source: GitSource) -> None:
    for revision in ("no-such-branch", "deadbeef", "0" * 40):
        with pytest.raises(RevisionNotFound, match="names no branch, tag or commit"):
            await source.resolve(repo=upstream.url, revision=revision)


async def test_empty_repository_has_no_head(git_daemon: Daemon, tmp_path: Path) -> None:
    bare = git_daemon.base / "empty.git"
    if not bare.exists():
        run(["git", "init", "--quiet", "--bare", str(bare)], git_env(tmp_path))
    source = GitSource(tmp_path / "cache")
    url = f"git://127.0.0.1:{git_daemon.port}/empty.git"
    assert (await source.refresh(repo=url)).refs == {}
    with pytest.raises(RevisionNotFound, match="HEAD"):
        await source.resolve(repo=url, revision="HEAD")


async def test_file_url_and_plain_path_share_one_mirror(
    upstream: Upstream, local_source: GitSource
) -> None:
    source = local_source
    sha = upstream.git("rev-parse", "HEAD")
    assert await source.resolve(repo=upstream.file_url, revision="main") == sha
    assert await source.resolve(repo=str(upstream.bare), revision="main") == sha
    assert source.mirror_path(upstream.file_url) == source.mirror_path(str(upstream.bare))
    assert source.stats(str(upstream.bare)).fetches == 1


async def test_unchanged_remote_costs_one_ls_remote_and_no_fetch(
    upstream: Upstream, source: GitSource, tmp_path: Path
) -> None:
    await source.refresh(repo=upstream.url)
    await source.refresh(repo=upstream.url, max_age=0)
    assert (source.stats(upstream.url).ls_remotes, source.stats(upstream.url).fetches) == (2, 1)
    restarted = GitSource(tmp_path / "cache")  # a new process reuses the mirror on disk
    await restarted.resolve(repo=upstream.url, revision="main")
    assert restarted.stats(upstream.url).fetches == 0


async def test_full_sha_outside_branches_and_tags_is_fetched_by_sha(
    upstream: Upstream, source: GitSource
) -> None:
    await source.refresh(repo=upstream.url)
    upstream.git("checkout", "--quiet", "-b", "pr")
    pr = upstream.commit({"pr": "1"})
    upstream.push("pr:refs/pull/1/head")
    assert await source.resolve(repo=upstream.url, revision=pr) == pr
    files = await source.read_files(repo=upstream.url, sha=pr, path="pr")
    assert files["pr"].data == b"1"


async def test_an_address_that_is_not_a_url_is_a_permanent_error(source: GitSource) -> None:
    with pytest.raises(InvalidRepository) as info:
        await source.resolve(repo="not/a/url", revision="main")
    assert not info.value.temporary


async def test_a_hex_looking_branch_name_is_the_branch(
    upstream: Upstream, source: GitSource
) -> None:
    branch = upstream.commit({"c": "c"})
    upstream.push("HEAD:refs/heads/cafe")
    assert await source.resolve(repo=upstream.url, revision="cafe") == branch
